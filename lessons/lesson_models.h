// lesson_models.h — where lessons 05-07 get their trained models: the project's shipped weights
// (weights/<name>.safetensors, written by `hundun train ...`) or a short training run of their own.
//
//   --pretrained   load the shipped weights; if the file is missing or does not fit, say so and train instead
//   --train        train here, with the budget the lesson chose (a few epochs on a subset; --full: longer)
//   neither        the shipped weights when the file exists, else train; --smoke always trains (tiny), so that
//                  `make test` keeps the training code working whether or not weights ship
//
// A shipped file is loaded exactly as the `hundun` command loads it: models/<family>.h's load_... builds the model
// its metadata describes and loads the weights. A short run goes through train/loop.h, as every training does.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"
#include "lessons/lesson.h"
#include "models/autoencoder.h"
#include "models/classifier.h"
#include "models/gan.h"
#include "models/vae.h"

namespace hd::lesson {

// <repo>/weights/<name>.safetensors (HUNDUN_SOURCE_DIR is the repository root, set by the Makefile).
std::string shipped_weights_path(const std::string& name);

// The shipped model of that name, or nullptr when this run should train its own (see the table above; the
// reason is printed when --pretrained asked for weights it cannot use).
std::shared_ptr<Autoencoder> shipped_autoencoder(const Options& opt, const std::string& name = "ae");
std::shared_ptr<VAE> shipped_vae(const Options& opt, const std::string& name = "vae");
std::shared_ptr<ImageClassifier> shipped_classifier(const Options& opt, const std::string& name = "classifier");
std::shared_ptr<gan::GAN> shipped_gan(const Options& opt, const std::string& name = "gan");

// --- a short training run ---

struct TrainingBudget {
  int64_t images = 0;  // the first `images` of a random permutation of the training set (all if larger)
  int epochs = 1;
  int64_t batch = 128;
  float lr = 1e-3f;
};

// Adam over mini-batches of `data` for budget.epochs, with a progress line labelled `label`.
// loss_of_batch(x [B, 1, 28, 28], y [B]) is the model's loss on one batch; it is all that differs
// between an autoencoder, a VAE and a classifier. Returns the loss of every step (for a loss curve).
std::vector<double> train_short(Module& model, const Dataset& data, const TrainingBudget& budget, uint64_t seed,
                                const std::string& label,
                                const std::function<Variable(const Tensor& x, const Tensor& y)>& loss_of_batch);

// The GAN's short run: Algorithm 1 (gan::train_step, both Adams at 2e-4, betas (0.5, 0.999)) over mini-batches
// of `data` scaled to [-1, 1], budget.lr and budget.batch as given. Returns D's and G's loss at every step.
struct GanLosses {
  std::vector<double> d, g;
};
GanLosses train_short_gan(gan::GAN& model, const Dataset& data, const TrainingBudget& budget, uint64_t seed,
                          const std::string& label);

}  // namespace hd::lesson
