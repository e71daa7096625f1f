#include "models/classifier.h"

#include <fmt/format.h>

#include <stdexcept>

#include "autograd/activation.h"
#include "autograd/convolution.h"
#include "autograd/loss.h"
#include "autograd/shape.h"
#include "tensor/reduce.h"

namespace hd {

// ----------------------------------------------------------------------------------------- the CNN

Classifier::Classifier(Generator& gen) {
  conv1 = register_module("conv1", std::make_shared<Conv2d>(1, 32, 3, /*stride=*/1, /*padding=*/1, 1, false, gen));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(32));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(32, 64, 3, /*stride=*/1, /*padding=*/1, 1, false, gen));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(64));
  fc1 = register_module("fc1", std::make_shared<Linear>(64 * 7 * 7, 128, gen));
  fc2 = register_module("fc2", std::make_shared<Linear>(128, 10, gen));
}

Variable Classifier::features(const Variable& x) {
  if (x.dim() != 4 || x.size(1) != 1 || x.size(2) != 28 || x.size(3) != 28)
    throw std::invalid_argument(
        fmt::format("Classifier: expected images [B, 1, 28, 28], got {}", shape_str(x.shape())));
  Variable h = max_pool2d(relu(bn1->forward(conv1->forward(x))), 2);  // [B, 32, 14, 14]
  h = max_pool2d(relu(bn2->forward(conv2->forward(h))), 2);           // [B, 64, 7, 7]
  return relu(fc1->forward(flatten(h, 1)));                            // [B, 128]
}

Variable Classifier::forward(const Variable& x) { return fc2->forward(features(x)); }

// ----------------------------------------------------------------------------------------- the MLP

MLPClassifier::MLPClassifier(int64_t hidden, Generator& gen) : hidden(hidden) {
  fc1 = register_module("fc1", std::make_shared<Linear>(28 * 28, hidden, gen));
  fc2 = register_module("fc2", std::make_shared<Linear>(hidden, 10, gen));
}

Variable MLPClassifier::features(const Variable& x) {
  if (x.dim() < 2 || x.numel() != x.size(0) * 28 * 28)
    throw std::invalid_argument(
        fmt::format("MLPClassifier: expected images [B, 1, 28, 28], got {}", shape_str(x.shape())));
  return relu(fc1->forward(flatten(x, 1)));  // [B, 784] -> [B, hidden]
}

Variable MLPClassifier::forward(const Variable& x) { return fc2->forward(features(x)); }

std::shared_ptr<ImageClassifier> make_classifier(const std::string& arch, Generator& gen) {
  if (arch == "cnn") return std::make_shared<Classifier>(gen);
  if (arch == "mlp") return std::make_shared<MLPClassifier>(128, gen);
  throw std::invalid_argument(fmt::format("make_classifier: unknown architecture '{}' (expected cnn or mlp)", arch));
}

// ------------------------------------------------------------------------------- using a classifier

namespace {

// Switches a module to evaluation mode and back to its previous mode when the scope ends.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(Module& model) : model_(model), was_training_(model.is_training()) { model.eval(); }
  ~EvalModeGuard() { model_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  Module& model_;
  bool was_training_;
};

void check_images(const Tensor& images, int64_t batch_size, const char* op) {
  if (!images.defined() || images.dim() == 0 || images.size(0) == 0)
    throw std::invalid_argument(fmt::format("{}: expected a non-empty batch of images [N, 1, 28, 28]", op));
  if (batch_size < 1) throw std::invalid_argument(fmt::format("{}: batch_size must be >= 1, got {}", op, batch_size));
}

// Runs `compute` on consecutive slices of at most batch_size rows of `images` (no graph, evaluation
// mode) and stacks the [b, K] results into [N, K].
Tensor map_batches(Module& model, const Tensor& images, int64_t batch_size,
                   const std::function<Tensor(const Tensor&)>& compute) {
  NoGradGuard no_grad;
  EvalModeGuard eval_mode(model);
  const int64_t n = images.size(0);
  Tensor out;
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(n, begin + batch_size);
    Tensor part = compute(images.narrow0(begin, end));  // [b, K]
    if (!out.defined()) out = Tensor({n, part.size(1)});
    out.narrow0(begin, end).copy_(part);
  }
  return out;
}

}  // namespace

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
  Tensor classes = map_batches(model, images, batch_size, [&](const Tensor& x) {
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

// ------------------------------------------------------------------------------------------ training

double train_classifier_epoch(Module& model, Optimizer& optimizer, DataLoader& loader, const StepCallback& on_step) {
  model.train();
  loader.start_epoch();
  Tensor x, y;  // x: [B, 1, 28, 28], y: [B]
  double loss_sum = 0;
  int64_t seen = 0;
  for (int64_t step = 0; loader.next(x, y); ++step) {
    optimizer.zero_grad();
    Variable loss = cross_entropy(model.forward(Variable(x)), y);  // mean over the batch
    loss.backward();
    optimizer.step();
    const float value = loss.item();
    loss_sum += static_cast<double>(value) * static_cast<double>(x.size(0));
    seen += x.size(0);
    if (on_step) on_step(step, value, x.size(0));
  }
  return seen > 0 ? loss_sum / static_cast<double>(seen) : 0.0;
}

}  // namespace hd
