#include "models/classifier.h"

#include <fmt/format.h>

#include <stdexcept>

#include "autograd/activation.h"
#include "autograd/convolution.h"
#include "autograd/loss.h"
#include "autograd/shape.h"
#include "nn/batches.h"
#include "nn/checkpoint.h"
#include "tensor/reduce.h"
#include "tensor/shape_ops.h"

namespace hd {

// ----------------------------------------------------------------------------------------- options

std::map<std::string, std::string> ClassifierOptions::to_metadata() const {
  std::map<std::string, std::string> m = {{"trained_by", "hundun train classifier"}, {"model", arch}};
  if (arch == "mlp") m["hidden"] = std::to_string(hidden);
  add_image_shape(image, m);
  return m;
}

ClassifierOptions ClassifierOptions::from_metadata(const Metadata& m) {
  ClassifierOptions o;
  o.arch = m.choice("model", {"cnn", "mlp"});
  if (o.arch == "mlp" && m.has("hidden")) o.hidden = m.integer("hidden", 1, 16384);
  o.image = image_shape_from(m);
  if (o.arch == "cnn" && (o.image.height % 4 != 0 || o.image.width % 4 != 0))
    throw std::runtime_error(fmt::format("{}: metadata 'image_shape' {} does not fit the CNN: its two 2x2 poolings need H "
                                         "and W divisible by 4",
                                         m.path(), o.image.str()));
  // The tensors that pin down every size read above (see the layers below).
  if (o.arch == "mlp") {
    m.expect_shape("fc1.weight", {o.hidden, o.image.pixels()});
  } else {
    m.expect_shape("conv1.weight", {32, o.image.channels, 3, 3});
    m.expect_shape("fc1.weight", {128, 64 * (o.image.height / 4) * (o.image.width / 4)});
  }
  return o;
}

// ----------------------------------------------------------------------------------------- the CNN

Classifier::Classifier(const ImageShape& image, Generator& gen) {
  if (image.height % 4 != 0 || image.width % 4 != 0)
    throw std::invalid_argument(fmt::format("Classifier: two 2x2 poolings need H and W divisible by 4, got {}",
                                            image.str()));
  options.image = image;
  conv1 = register_module("conv1",
                          std::make_shared<Conv2d>(image.channels, 32, 3, /*stride=*/1, /*padding=*/1, 1, false, gen));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(32));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(32, 64, 3, /*stride=*/1, /*padding=*/1, 1, false, gen));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(64));
  fc1 = register_module("fc1", std::make_shared<Linear>(64 * (image.height / 4) * (image.width / 4), 128, gen));
  fc2 = register_module("fc2", std::make_shared<Linear>(128, 10, gen));
}

Variable Classifier::features(const Variable& x) {
  const ImageShape& im = options.image;
  if (x.dim() != 4 || x.size(1) != im.channels || x.size(2) != im.height || x.size(3) != im.width)
    throw std::invalid_argument(fmt::format("Classifier: expected images [B, {}, {}, {}], got {}", im.channels,
                                            im.height, im.width, shape_str(x.shape())));
  Variable h = max_pool2d(relu(bn1->forward(conv1->forward(x))), 2);  // [B, 32, H/2, W/2]  (28: 14)
  h = max_pool2d(relu(bn2->forward(conv2->forward(h))), 2);           // [B, 64, H/4, W/4]  (28: 7)
  return relu(fc1->forward(flatten(h, 1)));                            // [B, 128]
}

// ----------------------------------------------------------------------------------------- the MLP

MLPClassifier::MLPClassifier(int64_t hidden, Generator& gen, const ImageShape& image) : hidden(hidden) {
  options = {"mlp", hidden, image};
  fc1 = register_module("fc1", std::make_shared<Linear>(image.pixels(), hidden, gen));
  fc2 = register_module("fc2", std::make_shared<Linear>(hidden, 10, gen));
}

Variable MLPClassifier::features(const Variable& x) {
  const ImageShape& im = options.image;
  if (x.dim() < 2 || x.numel() != x.size(0) * im.pixels())
    throw std::invalid_argument(fmt::format("MLPClassifier: expected images [B, {}, {}, {}], got {}", im.channels,
                                            im.height, im.width, shape_str(x.shape())));
  return relu(fc1->forward(flatten(x, 1)));  // [B, C*H*W] -> [B, hidden]
}

std::shared_ptr<ImageClassifier> make_classifier(const ClassifierOptions& options, Generator& gen) {
  if (options.arch == "cnn") return std::make_shared<Classifier>(options.image, gen);
  if (options.arch == "mlp") return std::make_shared<MLPClassifier>(options.hidden, gen, options.image);
  throw std::invalid_argument(
      fmt::format("make_classifier: unknown architecture '{}' (expected cnn or mlp)", options.arch));
}

std::shared_ptr<ImageClassifier> make_classifier(const std::string& arch, Generator& gen) {
  ClassifierOptions options;
  options.arch = arch;
  return make_classifier(options, gen);
}

std::shared_ptr<ImageClassifier> load_classifier(const std::string& path) {
  std::shared_ptr<ImageClassifier> model =
      make_classifier(ClassifierOptions::from_metadata(read_model_metadata(path, "classifier", {"cnn", "mlp"})));
  load_checkpoint(path, *model);
  model->eval();
  return model;
}

// ------------------------------------------------------------------------------- using a classifier

static void check_images(const Tensor& images, int64_t batch_size, const char* op) {
  if (!images.defined() || images.dim() == 0 || images.size(0) == 0)
    throw std::invalid_argument(fmt::format("{}: expected a non-empty batch of images [N, C, H, W]", op));
  if (batch_size < 1) throw std::invalid_argument(fmt::format("{}: batch_size must be >= 1, got {}", op, batch_size));
}

ClassifierMetrics evaluate(Module& model, const Dataset& data, int64_t batch_size) {
  check_images(data.images, batch_size, "evaluate");
  if (!data.labels.defined() || data.labels.numel() != data.images.size(0))
    throw std::invalid_argument("evaluate: the data set needs one label per image");
  NoGradGuard no_grad;
  EvalModeGuard eval_mode(model);
  const int64_t n = data.images.size(0);
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(n, begin + batch_size);
    const Tensor labels = data.labels.narrow0(begin, end);
    const Variable logits = model.forward(Variable(data.images.narrow0(begin, end)));  // [b, 10]
    loss_sum += cross_entropy(logits, labels, Reduction::Sum).item();
    const Tensor guess = argmax(logits.data(), 1);  // [b]
    for (int64_t i = 0; i < end - begin; ++i) correct += guess.data()[i] == labels.data()[i];
  }
  return {static_cast<double>(correct) / static_cast<double>(n), loss_sum / static_cast<double>(n)};
}

Tensor predict(Module& model, const Tensor& images, int64_t batch_size) {
  check_images(images, batch_size, "predict");
  const Tensor classes = map_batches(model, images, batch_size, [&](const Tensor& x) {
    return argmax(model.forward(Variable(x)).data(), 1, /*keepdim=*/true);  // [b, 1]
  });
  return classes.reshape({images.size(0)});
}

Tensor predict_probabilities(Module& model, const Tensor& images, int64_t batch_size) {
  check_images(images, batch_size, "predict_probabilities");
  return map_batches(model, images, batch_size,
                     [&](const Tensor& x) { return softmax(model.forward(Variable(x)).data(), 1); });
}

Tensor extract_features(ImageClassifier& model, const Tensor& images, int64_t batch_size) {
  check_images(images, batch_size, "extract_features");
  return map_batches(model, images, batch_size, [&](const Tensor& x) { return model.features(Variable(x)).data(); });
}

std::pair<Tensor, Tensor> features_and_probabilities(ImageClassifier& model, const Tensor& images, int64_t batch_size) {
  const Tensor features = extract_features(model, images, batch_size);  // [N, D]
  NoGradGuard no_grad;
  EvalModeGuard eval_mode(model);
  return {features, softmax(model.logits_of_features(Variable(features)).data(), 1)};  // [N, D], [N, C]
}

// ------------------------------------------------------------------------------------------ training

float classifier_step(Module& model, Optimizer& optimizer, const Tensor& x, const Tensor& y) {
  optimizer.zero_grad();
  Variable loss = cross_entropy(model.forward(Variable(x)), y);  // mean over the batch
  loss.backward();
  optimizer.step();
  return loss.item();
}

}  // namespace hd
