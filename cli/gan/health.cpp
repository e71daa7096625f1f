#include "cli/gan/health.h"

#include <fmt/format.h>

#include <algorithm>

#include "cli/judge.h"
#include "metrics/diversity.h"
#include "tensor/random.h"

namespace hd::cli {

constexpr int64_t kSamples = 500, kRealFeatures = 2000;
constexpr uint64_t kHealthSeed = 12345;  // the same 500 z every epoch, whatever the run's seed

GanHealthCheck::GanHealthCheck(const Dataset& train, int64_t latent_dim, const std::string& judge_path) {
  Generator rng(kHealthSeed);
  z_ = randn({kSamples, latent_dim}, rng);
  const int64_t n = train.images.size(0);
  real_pairwise_ = mean_pairwise_distance(train.images.narrow0(0, std::min(kSamples, n)));
  try {
    judge_ = load_judge(judge_path);
  } catch (const std::exception& e) {
    fmt::print("health check without FD and classes: {}\n", e.what());
    return;
  }
  const FeatureClassifier classify = feature_classifier(*judge_);
  real_features_ = feature_statistics(classify_in_batches(train.images.narrow0(0, std::min(kRealFeatures, n)), classify).first);
}

GanHealth GanHealthCheck::measure(gan::GAN& model, double d_accuracy, double mean_d_fake) {
  GanHealth h;
  h.d_accuracy = d_accuracy;
  h.mean_d_fake = mean_d_fake;
  const Tensor samples = model.decode_images(z_);  // a conditional GAN: the classes in turn
  h.pairwise = mean_pairwise_distance(samples);
  h.real_pairwise = real_pairwise_;
  if (!judge_) {
    h.fd = -1;
    return h;
  }
  const QualityReport q = quality_report(samples, feature_classifier(*judge_), real_features_);
  h.fd = q.fd;
  h.classes_covered = q.classes_covered;
  h.largest_class_share =
      static_cast<double>(*std::max_element(q.class_counts.begin(), q.class_counts.end())) / static_cast<double>(kSamples);
  if (model.num_classes() > 0) {  // did G make the class it was asked for? (sample i was asked for i mod K)
    int64_t right = 0;
    for (int64_t i = 0; i < kSamples; ++i) right += q.predicted[i] == i % model.num_classes();
    h.class_accuracy = static_cast<double>(right) / static_cast<double>(kSamples);
  }
  return h;
}

std::string GanHealthCheck::describe(const GanHealth& h) {
  std::string s = "health:";
  if (h.classes_covered >= 0)
    s += fmt::format(" FD {:.1f} (500 samples), {}/10 classes (largest {:.0f}%),", h.fd, h.classes_covered,
                     100 * h.largest_class_share);
  if (h.class_accuracy >= 0) s += fmt::format(" asked class made {:.0f}%,", 100 * h.class_accuracy);
  s += fmt::format(" pairwise distance {:.2f} (real {:.2f}), D accuracy {:.0f}%", h.pairwise, h.real_pairwise,
                   100 * h.d_accuracy);
  return s;
}

std::vector<std::string> GanHealthCheck::warnings(const GanHealth& h, gan::GanLoss loss) {
  std::vector<std::string> out;
  const bool few_classes = h.classes_covered >= 0 && (h.classes_covered <= 6 || h.largest_class_share > 0.4);
  if (few_classes || h.pairwise < 0.6 * h.real_pairwise)
    out.push_back(fmt::format(
        "warning: the samples look alike ({}pairwise distance {:.2f} against the data's {:.2f}): mode collapse "
        "(模式崩潰), G found a few images that fool D and makes only those. Remedies: --pack 2, --mbstd, --r1 1; "
        "see lessons/08_gan/README.md, \"Mode collapse\"",
        few_classes ? fmt::format("{}/10 classes, ", h.classes_covered) : "", h.pairwise, h.real_pairwise));
  // D wins when it is nearly always right and sure of it: G's gradient through a saturated D is tiny
  // (WGAN-GP's critic has no such threshold: its scores are not probabilities).
  if (loss != gan::GanLoss::WassersteinGP && h.d_accuracy > 0.97 && h.mean_d_fake < -4)
    out.push_back(fmt::format(
        "warning: the discriminator is winning (right {:.0f}% of the time, mean logit D(G(z)) {:.1f}): G learns "
        "little from a D that is this sure; try a lower --lr or another --loss; see lessons/08_gan/README.md, "
        "\"Reading D and G losses\"",
        100 * h.d_accuracy, h.mean_d_fake));
  if (h.class_accuracy >= 0 && h.class_accuracy < 0.5)
    out.push_back(fmt::format("warning: G makes the asked class only {:.0f}% of the time: it has not yet learned "
                              "to obey the label (early epochs) or ignores it; see lessons/08_gan/README.md, "
                              "\"Conditional GAN\"",
                              100 * h.class_accuracy));
  return out;
}

}  // namespace hd::cli
