#include "cli/image_commands.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/judge.h"
#include "cli/model_files.h"
#include "cli/paths.h"
#include "data/image.h"
#include "data/loader.h"
#include "report/comparison_grid.h"
#include "report/labels.h"
#include "tensor/safetensors.h"
#include "tensor/shape_ops.h"

namespace hd::cli {

// --------------------------------------------------------------------------------- shared helpers

Tensor images_by_class(const Dataset& data, int64_t n, const std::string& flag) {
  std::vector<std::vector<int64_t>> of_class(10);
  for (int64_t i = 0; i < data.images.size(0); ++i) {
    const auto label = static_cast<int64_t>(data.labels.data()[i]);
    if (label >= 0 && label < 10) of_class[static_cast<size_t>(label)].push_back(i);
  }
  std::vector<int64_t> picked;
  for (int64_t k = 0; k < n; ++k) {
    const auto& pool = of_class[static_cast<size_t>(k % 10)];
    const auto rank = static_cast<size_t>(k / 10);
    if (rank >= pool.size())
      throw UsageError(fmt::format("{} {}: the {} images at hand have only {} of class {} ({}), and {} images shown "
                                   "by class need {}",
                                   flag, n, data.images.size(0), pool.size(), k % 10,
                                   fashion_mnist_classes()[static_cast<size_t>(k % 10)], n, rank + 1));
    picked.push_back(pool[rank]);
  }
  return gather_rows(data.images, picked);
}

Tensor shown_test_images(const Dataset& data, int64_t n) {
  n = std::min(n, data.images.size(0));
  try {
    return images_by_class(data, n);
  } catch (const UsageError&) {
    return data.images.narrow0(0, n);  // a test set too small to show every class in turn
  }
}

Tensor sample_in_batches(GenerativeModel& model, int64_t n, Generator& gen, int64_t label) {
  std::vector<Tensor> parts;
  for (int64_t done = 0; done < n; done += 1000) {
    const int64_t k = std::min<int64_t>(1000, n - done);
    parts.push_back(label >= 0 ? model.sample_class(k, label, gen) : model.sample(k, gen));
  }
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

// --------------------------------------------------------------------------------- hundun sample <family>

// At most this many images in the grid: 256 make a 16 x 16 picture of 482 x 482 pixels.
constexpr int64_t kMaxShown = 256;

static int sample(const SampleCommand& c, const std::vector<std::string>& words) {
  ArgParser args("hundun sample " + c.family,
                 fmt::format("{}\nThe grid shows the first {} of them; --tensor holds all.", c.about, kMaxShown));
  args.option("--ckpt", "FILE", fmt::format("checkpoint of 'hundun train {}'", c.family));
  args.option("-n", "N", "how many images", "64");
  args.option("--out", "PNG", "where the grid of samples goes");
  args.option("--tensor", "FILE", "also write the samples as a safetensors tensor \"samples\" [N, C, H, W]");
  args.option("--seed", "S", "seeds the noise", "0");
  args.option("--class", "K", "only class K (0-9: T-shirt/top ... Ankle boot), for a class-conditional model");
  if (c.add_flags) c.add_flags(args);
  if (parse_or_print_help(args, words)) return 0;
  const std::string ckpt = args.get_required("--ckpt"), out = args.get_required("--out");
  const int64_t n = args.get_int("-n", 1, 100000);
  const int64_t seed = args.get_int("--seed", 0, INT64_MAX);
  const std::string tensor_path = args.get("--tensor");
  refuse_overwriting_inputs({{"--out", out}, {"--tensor", tensor_path}}, {{"--ckpt", ckpt}});

  check_family(ckpt, c.family, "sample");
  std::shared_ptr<GenerativeModel> model = c.open(ckpt);
  int64_t label = -1;
  if (args.given("--class")) {
    if (model->num_classes() == 0)
      throw UsageError(fmt::format("--class: {} holds an unconditional model ({}), which cannot be asked for a class; "
                                   "train one with --conditional",
                                   ckpt, model->describe()));
    label = args.get_int("--class", 0, model->num_classes() - 1);
  }
  const std::string settings = c.configure ? c.configure(args, *model) : "";
  Generator gen(static_cast<uint64_t>(seed));
  const Tensor samples = sample_in_batches(*model, n, gen, label);
  const ImageShape shape = model->image_shape();

  // The tensor first: if it cannot be written, no PNG is left behind either.
  if (!tensor_path.empty()) {
    TensorFile file;
    file.tensors["samples"] = samples;
    file.metadata = {{"model", c.family}, {"checkpoint", ckpt}, {"seed", std::to_string(seed)}, {"pixels", "[0, 1]"}};
    const std::filesystem::path parent = std::filesystem::path(tensor_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    save_safetensors(tensor_path, file);
  }
  const int64_t shown = std::min(n, kMaxShown);
  GridOptions grid;
  grid.nrow = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(shown))));
  GridLabels labels;
  labels.caption = fmt::format("{}: {} samples{}, seed {}", std::filesystem::path(ckpt).filename().string(), shown,
                               label >= 0 ? " of class " + fashion_mnist_classes()[static_cast<size_t>(label)] : "", seed);
  save_labelled_grid(samples.narrow0(0, shown), out, labels, grid);
  fmt::print("{}: {}, {} samples with seed {}{}\n", ckpt, model->describe(), n, seed,
             settings.empty() ? "" : ", " + settings);
  print_wrote(out, shown < n ? fmt::format("the first {} of the {} samples", shown, n) : fmt::format("{} samples", n));
  if (!tensor_path.empty())
    print_wrote(tensor_path, fmt::format("tensor \"samples\" [{}, {}, {}, {}], float32", n, shape.channels,
                                         shape.height, shape.width));
  if (c.after_sampling) c.after_sampling(args, *model, out, seed);
  return 0;
}

bool register_sample_command(SampleCommand c) {
  return register_command({"sample " + c.family, c.summary, [c](const std::vector<std::string>& w) { return sample(c, w); }});
}

// --------------------------------------------------------------------------------- hundun reconstruct <family>

// The grid's rows alternate: up to 8 test images, then their reconstructions right below them. The images take
// the ten classes in turn (T-shirt, trouser, pullover, ...), so every kind of clothes shows.
static int reconstruct(const EncoderDecoderCommand& c, const std::vector<std::string>& words) {
  ArgParser args("hundun reconstruct " + c.family,
                 fmt::format("Encodes N Fashion-MNIST test images and decodes them again with a checkpoint of\n"
                             "'hundun train {}'; writes the originals above their reconstructions.",
                             c.family));
  args.option("--ckpt", "FILE", fmt::format("checkpoint of 'hundun train {}'", c.family));
  args.option("-n", "N", "how many test images (the classes in turn)", "16");
  args.option("--out", "PNG", "where the grid goes");
  args.option("--seed", "S", "seeds any noise the model draws (the VAE's eps)", "0");
  args.option("--data", "DIR", "folder of the Fashion-MNIST IDX files", default_fashion_mnist_dir());
  if (parse_or_print_help(args, words)) return 0;
  const std::string ckpt = args.get_required("--ckpt"), out = args.get_required("--out");
  const int64_t n = args.get_int("-n", 1, 500);
  const int64_t seed = args.get_int("--seed", 0, INT64_MAX);
  refuse_overwriting_inputs({{"--out", out}}, {{"--ckpt", ckpt}});

  check_family(ckpt, c.family, "reconstruct");
  const OpenedEncoderDecoder opened = c.open(ckpt);
  EncoderDecoderModel* model = opened.model.get();
  const Tensor images = images_by_class(load_fashion_mnist(false, args.get("--data")), n);
  Generator gen(static_cast<uint64_t>(seed));
  const Tensor reconstructions = model->reconstruct(images, gen);
  save_comparison_grid(images, reconstructions, out, /*cols=*/8, /*upscale=*/2);
  // The same number the training log reports, on just these images.
  Generator loss_gen(static_cast<uint64_t>(seed));
  fmt::print("{}: {}, {} test images, reconstruction loss {:.2f} nats per image\n", ckpt, model->describe(), n,
             opened.reconstruction_loss(images, loss_gen));
  print_wrote(out, "test images (rows 1, 3, ...) above their reconstructions");
  return 0;
}

bool register_reconstruct_command(EncoderDecoderCommand c) {
  return register_command(
      {"reconstruct " + c.family, c.summary, [c](const std::vector<std::string>& w) { return reconstruct(c, w); }});
}

// --------------------------------------------------------------------------------- hundun interpolate <family>

// Both images are encoded (the VAE's codes are its posterior means mu), the straight line between the two codes is
// cut into --steps points, z_t = (1 - t) z_a + t z_b, and each point is decoded. The row shows image a, the decoded
// points, image b. A VAE's path passes through plausible clothes, because the KL term packs the codes together; an
// autoencoder's crosses gaps in which its decoder never learned anything.
static int interpolate(const EncoderDecoderCommand& c, const std::vector<std::string>& words) {
  ArgParser args("hundun interpolate " + c.family,
                 fmt::format("Decodes the straight line between the codes of two Fashion-MNIST test images,\n"
                             "with a checkpoint of 'hundun train {}'.",
                             c.family));
  args.option("--ckpt", "FILE", fmt::format("checkpoint of 'hundun train {}'", c.family));
  args.option("--from", "I", "index of the first test image (0 is an ankle boot)", "0");
  args.option("--to", "J", "index of the last test image (2 is a pair of trousers)", "2");
  args.option("--steps", "K", "points on the line, both ends included", "10");
  args.option("--out", "PNG", "where the row of images goes");
  args.option("--data", "DIR", "folder of the Fashion-MNIST IDX files", default_fashion_mnist_dir());
  if (parse_or_print_help(args, words)) return 0;
  const std::string ckpt = args.get_required("--ckpt"), out = args.get_required("--out");
  const int64_t from = args.get_int("--from", 0, 1 << 30), to = args.get_int("--to", 0, 1 << 30);
  const int64_t steps = args.get_int("--steps", 2, 100);
  refuse_overwriting_inputs({{"--out", out}}, {{"--ckpt", ckpt}});

  check_family(ckpt, c.family, "interpolate");
  const std::shared_ptr<EncoderDecoderModel> model = c.open(ckpt).model;
  const Dataset test = load_fashion_mnist(false, args.get("--data"));
  const int64_t count = test.images.size(0);
  if (from >= count || to >= count)
    throw UsageError(fmt::format("--from {} --to {}: the test set has images 0 to {}", from, to, count - 1));
  const Shape one = model->image_shape().batch(1);
  const Tensor a = test.images[from].reshape(one), b = test.images[to].reshape(one);
  const Tensor path = interpolate_images(*model, a, b, steps);  // [steps, C, H, W]
  GridOptions grid;
  grid.nrow = steps + 2;
  grid.upscale = 2;
  const auto& names = fashion_mnist_classes();
  // Above each image: a, the fraction t of the way, b; below: which test images a and b are.
  GridLabels labels;
  labels.pixel_height = 12;
  labels.column_labels.push_back("a");
  for (int64_t i = 0; i < steps; ++i)
    labels.column_labels.push_back(fmt::format("t={:.2g}", static_cast<double>(i) / static_cast<double>(steps - 1)));
  labels.column_labels.push_back("b");
  labels.caption = fmt::format("a = test image {} ({}), b = test image {} ({})", from,
                               names[static_cast<size_t>(test.labels.data()[from])], to,
                               names[static_cast<size_t>(test.labels.data()[to])]);
  save_labelled_grid(concat({a, path, b}, 0), out, labels, grid);
  fmt::print("{}: {}, from test image {} ({}) to {} ({}) in {} steps\n", ckpt, model->describe(), from,
             names[static_cast<size_t>(test.labels.data()[from])], to,
             names[static_cast<size_t>(test.labels.data()[to])], steps);
  print_wrote(out, "image a, the decoded path, image b");
  return 0;
}

bool register_interpolate_command(EncoderDecoderCommand c) {
  return register_command(
      {"interpolate " + c.family, c.summary, [c](const std::vector<std::string>& w) { return interpolate(c, w); }});
}

// --------------------------------------------------------------------------------- hundun eval <family>

// "made the asked class: 87.3% (T-shirt/top 91%, Trouser 99%, ...)", the judge's verdict on a conditional model.
static void print_asked_class_accuracy(const std::vector<int64_t>& asked, const std::vector<int>& predicted, int64_t K) {
  std::vector<int64_t> right(static_cast<size_t>(K), 0), total(static_cast<size_t>(K), 0);
  for (size_t i = 0; i < asked.size(); ++i) ++total[asked[i]], right[asked[i]] += predicted[i] == asked[i];
  const auto& names = fashion_mnist_classes();
  std::string per_class;
  int64_t all_right = 0;
  for (int64_t k = 0; k < K; ++k) {
    all_right += right[k];
    if (total[k] == 0) continue;
    const std::string name = k < static_cast<int64_t>(names.size()) ? names[k] : fmt::format("class {}", k);
    per_class += fmt::format("{}{} {:.0f}%", per_class.empty() ? "" : ", ", name,
                             100.0 * static_cast<double>(right[k]) / static_cast<double>(total[k]));
  }
  fmt::print("made the asked class (--class K, judged by the classifier): {:.1f}% ({})\n",
             100.0 * static_cast<double>(all_right) / static_cast<double>(asked.size()), per_class);
}

// 1. The family's test-set loss, per image. 2. The quality of N generated images judged by the classifier
// (metrics/frechet.h): FD to the test images' features, mean confidence, classes covered; the family's extra rows
// (e.g. reconstructions) and real training images put the FD on a scale.
static int eval(const EvalCommand& c, const std::vector<std::string>& words) {
  ArgParser args("hundun eval " + c.family, c.about);
  args.option("--ckpt", "FILE", fmt::format("checkpoint of 'hundun train {}'", c.family));
  args.option("--classifier", "CKPT", "the judge, a checkpoint of 'hundun train classifier'",
              default_classifier_path());
  args.option("-n", "N", "generated images to judge (0: only the test loss)", "10000");
  args.option("--seed", "S", "seeds the noise of the samples and of the loss", "0");
  args.option("--data", "DIR", "folder of the Fashion-MNIST IDX files", default_fashion_mnist_dir());
  args.option("--test-size", "N", "use the first N test images only, 0 for all", "0");
  if (parse_or_print_help(args, words)) return 0;
  const std::string ckpt = args.get_required("--ckpt"), classifier_path = args.get("--classifier");
  const int64_t n = args.get_int("-n", 0, 100000);
  const int64_t seed = args.get_int("--seed", 0, INT64_MAX);
  const int64_t test_size = args.get_int("--test-size", 0, 1 << 30);
  if (n == 1) throw UsageError("-n 1: the Frechet distance needs at least 2 images (or 0 for none)");

  const CheckpointInfo info = check_family(ckpt, c.family, "eval");
  const OpenedForEval opened = c.open(ckpt);
  GenerativeModel* model = opened.model.get();
  // The judge is loaded before the slow part, so that a missing classifier fails at once.
  std::shared_ptr<ImageClassifier> judge = n > 0 ? load_judge(classifier_path) : nullptr;
  Dataset test = load_fashion_mnist(false, args.get("--data"));
  if (test_size > test.images.size(0))
    throw UsageError(fmt::format("--test-size {} is more than the {} test images", test_size, test.images.size(0)));
  if (test_size == 1 && n > 0) throw UsageError("--test-size 1: the Frechet distance needs at least 2 test images");
  if (test_size > 0) test = subset(test, test_size, /*seed=*/0);

  fmt::print("{}: {}, after epoch {}\n", ckpt, model->describe(), info.epoch);
  Generator loss_gen(static_cast<uint64_t>(seed));
  if (opened.print_test_loss) opened.print_test_loss(test, loss_gen);
  if (n == 0) return 0;

  Generator sample_gen(static_cast<uint64_t>(seed));
  // A class-conditional model is asked for each class in turn, n / K images each (the first n mod K classes one
  // more), so that the judge can also say how often it made the class it was asked for.
  const int64_t K = model->num_classes();
  std::vector<int64_t> asked;
  Tensor generated;
  if (K > 0) {
    std::vector<Tensor> parts;
    for (int64_t k = 0; k < K; ++k) {
      const int64_t count = n / K + (k < n % K ? 1 : 0);
      if (count == 0) continue;
      parts.push_back(sample_in_batches(*model, count, sample_gen, k));
      asked.insert(asked.end(), static_cast<size_t>(count), k);
    }
    generated = parts.size() == 1 ? parts[0] : concat(parts, 0);
  } else {
    generated = sample_in_batches(*model, n, sample_gen);
  }
  std::vector<std::pair<std::string, Tensor>> rows = {{fmt::format("generated ({} images)", n), generated}};
  Generator extra_gen(static_cast<uint64_t>(seed));
  if (opened.extra_rows)
    for (auto& row : opened.extra_rows(test, extra_gen)) rows.push_back(std::move(row));
  const std::vector<QualityReport> reports =
      print_quality_rows(*judge, classifier_path, test, load_fashion_mnist(true, args.get("--data")), rows);
  if (K > 0) print_asked_class_accuracy(asked, reports[0].predicted, K);
  return 0;
}

bool register_eval_command(EvalCommand c) {
  return register_command({"eval " + c.family, c.summary, [c](const std::vector<std::string>& w) { return eval(c, w); }});
}

}  // namespace hd::cli
