// health.h — the health check of `hundun train gan`: after every epoch, what the two losses alone cannot say.
//
// A GAN's losses do not fall as a VAE's do (D and G compete: oscillating curves are normal), so the log reports,
// for a fixed set of 500 samples (the same z every epoch):
//   FD          the Frechet distance of their classifier features to 2000 training images' (metrics/frechet.h;
//               with 500 samples it reads higher than `hundun eval gan`'s 10000, but it falls as G learns)
//   classes     how many of the 10 classes the classifier finds among them, and the largest class's share
//   pairwise    their mean pairwise pixel distance, beside that of 500 real images (metrics/diversity.h)
//   D accuracy  the share of the epoch's calls D got right (D(x) > 0 on real, D(G(z)) < 0 on fake)
// and a conditional GAN's class accuracy: the share of samples the classifier puts in the class G was asked for.
// From these, plain-words warnings name the likely failure and the lesson that explains it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"
#include "models/classifier.h"
#include "models/gan.h"
#include "metrics/frechet.h"

namespace hd::cli {

struct GanHealth {
  double fd = 0;                // -1 without the judge
  int classes_covered = -1;     // -1 without the judge
  double largest_class_share = 0;
  double class_accuracy = -1;   // conditional GANs only, else -1
  double pairwise = 0, real_pairwise = 0;
  double d_accuracy = 0;        // over the epoch's discriminator steps
  double mean_d_fake = 0;       // the epoch's mean logit D(G(z))
};

class GanHealthCheck {
 public:
  // train: the training images ([0, 1] pixels); judge_path: a classifier checkpoint. Without that file the check
  // runs without FD and classes, and says so once.
  GanHealthCheck(const Dataset& train, int64_t latent_dim, const std::string& judge_path);

  // The model in evaluation mode; d_accuracy and mean_d_fake from the epoch's steps.
  GanHealth measure(gan::GAN& model, double d_accuracy, double mean_d_fake);

  // "health: FD 85.3, 10/10 classes (largest 14%), pairwise distance 9.10 (real 10.21), D accuracy 78%"
  static std::string describe(const GanHealth& h);
  // The warnings the numbers call for (none when healthy), each naming the lesson that explains it.
  static std::vector<std::string> warnings(const GanHealth& h, gan::GanLoss loss);

 private:
  std::shared_ptr<ImageClassifier> judge_;
  FeatureStatistics real_features_;
  Tensor z_;
  double real_pairwise_ = 0;
};

}  // namespace hd::cli
