// `hundun eval ae|vae` — how good is a trained autoencoder or VAE, in numbers.
//
//   hundun eval vae --ckpt weights/vae.safetensors
//   hundun eval ae --ckpt weights/ae.safetensors --classifier weights/classifier.safetensors
//
// 1. The test-set loss, per image: for the VAE the negative ELBO with one z per image (pytorch/examples'
//    test loss divided by the size of the test set) and its two parts; for the autoencoder the
//    reconstruction BCE. With --seed 0 it is the number the training log printed for the last epoch.
// 2. The quality of N generated images (z ~ N(0, I), decoded), judged by the classifier
//    (models/frechet.h): the Fréchet distance between their features and the test images' features,
//    the classifier's mean confidence, and how many of the ten classes they cover. Two reference rows
//    put the FD on a scale: the test images' own reconstructions, and real training images (the
//    smallest FD a model could hope for with this many images).
#include <fmt/format.h>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/generative.h"
#include "data/fashion_mnist.h"
#include "data/loader.h"

namespace hd::cli {
namespace {

int eval_generative(const std::string& model_name, const std::vector<std::string>& words) {
  ArgParser args("hundun eval " + model_name,
                 fmt::format("Evaluates a checkpoint of 'hundun train {}': the test-set loss, then the Frechet\n"
                             "distance, confidence and class coverage of generated images, judged by a classifier.",
                             model_name));
  args.option("--ckpt", "FILE", fmt::format("checkpoint of 'hundun train {}'", model_name));
  args.option("--classifier", "CKPT", "the judge, a checkpoint of 'hundun train classifier'",
              default_classifier_path());
  args.option("-n", "N", "generated images to judge (0: only the test loss)", "10000");
  args.option("--seed", "S", "seeds the VAE's eps and the draws of z", "0");
  args.option("--data", "DIR", "folder of the Fashion-MNIST IDX files", default_fashion_mnist_dir());
  args.option("--test-size", "N", "use the first N test images only, 0 for all", "0");
  if (parse_or_print_help(args, words)) return 0;
  const std::string ckpt = args.get_required("--ckpt"), classifier_path = args.get("--classifier");
  const int64_t n = args.get_int("-n", 0, 100000);
  const int64_t seed = args.get_int("--seed", 0, INT64_MAX);
  const int64_t test_size = args.get_int("--test-size", 0, 1 << 30);
  if (n == 1) throw UsageError("-n 1: the Frechet distance needs at least 2 images (or 0 for none)");

  LoadedModel loaded = load_generative(ckpt, model_name, "eval");
  GenerativeModel& model = loaded.model;
  // The judge is loaded before the slow part, so that a missing classifier fails at once.
  std::shared_ptr<ImageClassifier> judge = n > 0 ? load_classifier(classifier_path) : nullptr;
  Dataset test = load_fashion_mnist(false, args.get("--data"));
  if (test_size > test.images.size(0))
    throw UsageError(fmt::format("--test-size {} is more than the {} test images", test_size, test.images.size(0)));
  if (test_size > 0) test = subset(test, test_size, /*seed=*/0);
  const int64_t count = test.images.size(0);

  fmt::print("{}: {}, after epoch {}\n", ckpt, model.describe(), loaded.info.epoch);
  Generator loss_gen(static_cast<uint64_t>(seed));
  const GenerativeModel::TestLoss loss = model.test_loss(test.images, loss_gen);
  if (model.vae)
    fmt::print("test loss ({} images): negative ELBO {:.2f} nats per image = reconstruction {:.2f} + KL {:.2f}\n",
               count, loss.total, loss.reconstruction, loss.kl);
  else
    fmt::print("test loss ({} images): reconstruction BCE {:.2f} nats per image\n", count, loss.total);
  if (n == 0) return 0;

  const FeatureClassifier classify = feature_classifier(*judge);
  const FeatureStatistics real = feature_statistics(classify_in_batches(test.images, classify).first);
  fmt::print("judged by {} (features of the {} test images as the reference)\n", classifier_path, count);
  auto report = [&](const std::string& what, const Tensor& images) {
    const QualityReport r = quality_report(images, classify, real);
    fmt::print("  {:<40} {}\n", what, describe(r));
    return r;
  };

  Generator sample_gen(static_cast<uint64_t>(seed));
  const QualityReport generated = report(fmt::format("generated ({} images, z ~ N(0, I)):", n),
                                         model.generate(n, sample_gen));
  Generator recon_gen(static_cast<uint64_t>(seed));
  report(fmt::format("reconstructed test images ({}):", count), model.reconstruct(test.images, recon_gen));
  const Dataset train = load_fashion_mnist(true, args.get("--data"));
  report(fmt::format("real training images ({}, the floor):", std::min<int64_t>(n, train.images.size(0))),
         subset(train, std::min<int64_t>(n, train.images.size(0)), /*seed=*/1).images);

  const auto& names = fashion_mnist_classes();
  std::string histogram;
  for (size_t c = 0; c < generated.class_counts.size() && c < names.size(); ++c)
    histogram += fmt::format("{}{} {}", c == 0 ? "" : ", ", names[c], generated.class_counts[c]);
  fmt::print("classes of the generated images: {}\n", histogram);
  return 0;
}

const bool registered = register_ae_and_vae(
    "eval", "test loss of an autoencoder, and FD of its decoded N(0, I) draws",
    "negative ELBO of a VAE on the test set, and FD, confidence, coverage of its samples", eval_generative);

}  // namespace
}  // namespace hd::cli
