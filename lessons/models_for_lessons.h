// models_for_lessons.h — where lessons 05-07 get their trained models: the project's shipped weights
// (weights/<name>.safetensors, written by `hundun train ...`) or a short training run of their own.
//
//   --pretrained   load the shipped weights; if the file is missing or does not fit, say so and train instead
//   --train        train here, with the budget the lesson chose (a few epochs on a subset; --full: longer)
//   neither        the shipped weights when the file exists, else train; --smoke always trains (tiny), so that
//                  `make test` keeps the training code working whether or not weights ship
//
// A shipped file is a checkpoint (nn/checkpoint.h): its "model.<name>" tensors are the model's state_dict.
// The architecture is read from their shapes (an Mlp or Conv autoencoder, the latent size...), so a
// lesson loads whatever `hundun train` was asked to build.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"
#include "data/loader.h"
#include "data/progress.h"
#include "lessons/lesson.h"
#include "models/autoencoder.h"
#include "models/classifier.h"
#include "models/vae.h"
#include "nn/checkpoint.h"
#include "nn/optim.h"
#include "tensor/safetensors.h"

namespace hd::lesson {

// <repo>/weights/<name>.safetensors (HUNDUN_SOURCE_DIR is the repository root, set by the Makefile).
inline std::string shipped_weights_path(const std::string& name) {
  return std::string(HUNDUN_SOURCE_DIR) + "/weights/" + name + ".safetensors";
}

// Whether this run should try the shipped weights (see the table at the top). Prints the reason when
// the answer is no although --pretrained asked for them.
inline bool wants_shipped_weights(const Options& opt, const std::string& name) {
  if (opt.train) return false;
  if (opt.smoke && !opt.pretrained) return false;
  const std::string path = shipped_weights_path(name);
  if (std::filesystem::exists(path)) return true;
  if (opt.pretrained)
    fmt::print("  --pretrained: {} is missing (`hundun train ...` makes it)\n  training a short run instead\n", path);
  return false;
}

// Whether a checkpoint holds the model entry "model.<name>".
inline bool has_entry(const TensorFile& file, const std::string& name) {
  return file.tensors.count("model." + name) > 0;
}

// The shape of the model entry "model.<name>"; throws when the file has none.
inline Shape entry_shape(const TensorFile& file, const std::string& name) {
  auto it = file.tensors.find("model." + name);
  if (it == file.tensors.end())
    throw std::runtime_error("no entry 'model." + name + "' (is it a checkpoint of this kind of model?)");
  return it->second.shape();
}

// Builds the model the file describes and loads it. On any problem (damaged file, unknown layout) prints
// why and returns nullptr, and the lesson trains its own.
template <typename Model>
std::shared_ptr<Model> load_shipped(const std::string& name,
                                    const std::function<std::shared_ptr<Model>(const TensorFile&)>& build) {
  const std::string path = shipped_weights_path(name);
  try {
    std::shared_ptr<Model> model = build(load_safetensors(path));
    CheckpointInfo info = load_checkpoint(path, *model);
    model->eval();
    fmt::print("  loaded the shipped weights {}\n    {}, {} parameters{}\n", path, model->describe(),
               model->num_parameters(), info.epoch > 0 ? fmt::format(", trained for {} epochs", info.epoch) : "");
    return model;
  } catch (const std::exception& e) {
    fmt::print("  could not use {}: {}\n  training a short run instead\n", path, e.what());
    return nullptr;
  }
}

// Mlp: encoder.1 = Linear(784, hidden), encoder.3 = Linear(hidden, latent).
// Conv: encoder.0 = Conv2d(1, 32, 4, 4), encoder.5 = Linear(3136, latent).
inline std::shared_ptr<Autoencoder> shipped_autoencoder(const Options& opt, const std::string& name = "ae") {
  if (!wants_shipped_weights(opt, name)) return nullptr;
  return load_shipped<Autoencoder>(name, [](const TensorFile& file) {
    AutoencoderOptions o;
    if (has_entry(file, "encoder.0.weight")) {
      o.kind = AutoencoderKind::Conv;
      o.latent_dim = entry_shape(file, "encoder.5.weight").at(0);
    } else {
      o.hidden = entry_shape(file, "encoder.1.weight").at(0);
      o.latent_dim = entry_shape(file, "encoder.3.weight").at(0);
    }
    return std::make_shared<Autoencoder>(o);
  });
}

// fc21 = Linear(hidden, latent) gives mu; a "log_sigma" entry means a Gaussian decoder with learned sigma.
inline std::shared_ptr<VAE> shipped_vae(const Options& opt, const std::string& name = "vae") {
  if (!wants_shipped_weights(opt, name)) return nullptr;
  return load_shipped<VAE>(name, [](const TensorFile& file) {
    VaeOptions o;
    Shape fc21 = entry_shape(file, "fc21.weight");  // [latent, hidden]
    o.latent_dim = fc21.at(0);
    o.hidden = fc21.at(1);
    if (has_entry(file, "log_sigma")) {
      o.likelihood = Likelihood::Gaussian;
      o.learn_sigma = true;
    }
    return std::make_shared<VAE>(o);
  });
}

// "cnn" (models/classifier.h's Classifier, with conv1) or "mlp".
inline std::shared_ptr<ImageClassifier> shipped_classifier(const Options& opt, const std::string& name = "classifier") {
  if (!wants_shipped_weights(opt, name)) return nullptr;
  return load_shipped<ImageClassifier>(
      name, [](const TensorFile& file) { return make_classifier(has_entry(file, "conv1.weight") ? "cnn" : "mlp"); });
}

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
inline std::vector<double> train_short(Module& model, const Dataset& data, const TrainingBudget& budget, uint64_t seed,
                                       const std::string& label,
                                       const std::function<Variable(const Tensor& x, const Tensor& y)>& loss_of_batch) {
  Dataset part = budget.images < data.images.size(0) ? subset(data, budget.images, seed + 1) : data;
  DataLoader loader(part, budget.batch, /*shuffle=*/true, seed);
  Adam adam(model.parameters(), budget.lr);
  fmt::print("  training {} on {} images, {} epoch{}, batch {}, Adam lr {}\n", label, part.images.size(0),
             budget.epochs, budget.epochs == 1 ? "" : "s", budget.batch, budget.lr);
  model.train();
  std::vector<double> losses;
  Progress progress("  " + label, loader.num_batches(), budget.epochs);
  for (int epoch = 0; epoch < budget.epochs; ++epoch) {
    progress.set_epoch(epoch);
    loader.start_epoch();
    Tensor x, y;
    for (int64_t step = 0; loader.next(x, y); ++step) {
      adam.zero_grad();
      Variable loss = loss_of_batch(x, y);
      loss.backward();
      adam.step();
      losses.push_back(loss.item());
      progress.update(step, loss.item(), x.size(0));
    }
  }
  progress.finish();
  model.eval();
  return losses;
}

// Applies f to images [N, ...] `batch` rows at a time and stacks the results along the first axis
// (keeps memory small for convolutional models on the whole test set).
inline Tensor map_in_batches(const Tensor& images, const std::function<Tensor(const Tensor&)>& f,
                             int64_t batch = 1000) {
  Tensor out;
  const int64_t n = images.size(0);
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t end = std::min(n, begin + batch);
    Tensor part = f(images.narrow0(begin, end));
    if (!out.defined()) {
      Shape shape = part.shape();
      shape[0] = n;
      out = Tensor(shape);
    }
    out.narrow0(begin, end).copy_(part);
  }
  return out;
}

}  // namespace hd::lesson
