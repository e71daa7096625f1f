// `hundun eval classifier` — the test accuracy of a trained classifier, overall and per class.
//
//   hundun eval classifier --ckpt out/classifier/checkpoint.safetensors
//
// The architecture ("cnn" or "mlp") is read from the checkpoint's metadata (written by
// `hundun train classifier`; models/classifier.h's load_classifier).
#include <fmt/format.h>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/model_files.h"
#include "data/fashion_mnist.h"
#include "data/loader.h"
#include "models/classifier.h"
#include "nn/checkpoint.h"

namespace hd::cli {
namespace {

int eval_classifier(const std::vector<std::string>& words) {
  ArgParser args("hundun eval classifier", "Evaluates a classifier checkpoint on the Fashion-MNIST test set.");
  args.option("--ckpt", "FILE", "checkpoint written by 'hundun train classifier'");
  args.option("--data", "DIR", "folder of the Fashion-MNIST IDX files", default_fashion_mnist_dir());
  args.option("--test-size", "N", "evaluate on the first N test images only, 0 for all", "0");
  args.option("--batch", "B", "images per forward pass", "250");
  if (parse_or_print_help(args, words)) return 0;
  const std::string ckpt = args.get_required("--ckpt");
  const int64_t test_size = args.get_int("--test-size", 0, 1 << 30);
  const int64_t batch = args.get_int("--batch", 1, 1 << 20);

  const CheckpointInfo info = check_family(ckpt, "classifier", "eval");
  std::shared_ptr<ImageClassifier> model = load_classifier(ckpt);  // weights only: no optimizer, no generator

  Dataset test = load_fashion_mnist(false, args.get("--data"));
  if (test_size > test.images.size(0))
    throw UsageError(fmt::format("--test-size {} is more than the {} test images", test_size, test.images.size(0)));
  if (test_size > 0) test = subset(test, test_size, /*seed=*/0);

  const ClassifierMetrics m = evaluate(*model, test, batch);
  fmt::print("{} ({}, epoch {}): test accuracy {:.2f}%  test loss {:.4f}  on {} images\n", ckpt,
             model->options.arch, info.epoch, 100 * m.accuracy, m.loss,
             test.images.size(0));

  // Per class: which kinds of clothes the judge confuses (shirts with T-shirts and pullovers, mostly).
  const Tensor guess = predict(*model, test.images, batch);
  const auto& names = fashion_mnist_classes();
  std::vector<int64_t> total(names.size()), correct(names.size());
  for (int64_t i = 0; i < test.images.size(0); ++i) {
    const auto label = static_cast<size_t>(test.labels.data()[i]);
    if (label >= names.size()) continue;
    ++total[label];
    correct[label] += guess.data()[i] == test.labels.data()[i];
  }
  for (size_t c = 0; c < names.size(); ++c)
    if (total[c] > 0)
      fmt::print("  {:<12} {:6.2f}%  ({} images)\n", names[c], 100.0 * static_cast<double>(correct[c]) / total[c],
                 total[c]);
  return 0;
}

const bool registered =
    register_command({"eval classifier", "test accuracy of a classifier checkpoint, overall and per class",
                      eval_classifier});

}  // namespace
}  // namespace hd::cli
