#include "cli/generative.h"

#include <fmt/format.h>

#include <filesystem>

#include "autograd/variable.h"
#include "cli/args.h"
#include "cli/command.h"
#include "data/image.h"
#include "tensor/random.h"
#include "tensor/reduce.h"
#include "tensor/shape_ops.h"

namespace hd::cli {

// --------------------------------------------------------------------------------- metadata

std::map<std::string, std::string> spec_metadata(const ModelSpec& spec) {
  return {{"trained_by", "hundun train " + spec.model},
          {"model", spec.model},
          {"arch", spec.arch},
          {"latent_dim", std::to_string(spec.latent_dim)},
          {"hidden", std::to_string(spec.hidden)}};
}

static int64_t positive_entry(const std::map<std::string, std::string>& m, const std::string& key,
                              const std::string& path) {
  auto it = m.find(key);
  int64_t value = 0;
  if (it == m.end() || !parse_int(it->second, &value) || value <= 0)
    throw std::runtime_error(fmt::format("{}: metadata '{}' should be a positive integer, got '{}'", path, key,
                                         it == m.end() ? "(nothing)" : it->second));
  return value;
}

ModelSpec spec_from_metadata(const std::map<std::string, std::string>& m, const std::string& path) {
  auto model = m.find("model");
  if (model == m.end() || (model->second != "ae" && model->second != "vae"))
    throw std::runtime_error(fmt::format("{}: not a checkpoint of 'hundun train ae' or 'hundun train vae' "
                                         "(its metadata has no model 'ae' or 'vae')",
                                         path));
  ModelSpec spec;
  spec.model = model->second;
  auto arch = m.find("arch");
  spec.arch = arch == m.end() ? "" : arch->second;
  if (spec.arch != "mlp" && !(spec.arch == "conv" && spec.model == "ae"))
    throw std::runtime_error(fmt::format("{}: metadata 'arch' should be mlp{}, got '{}'", path,
                                         spec.model == "ae" ? " or conv" : "", spec.arch));
  spec.latent_dim = positive_entry(m, "latent_dim", path);
  spec.hidden = positive_entry(m, "hidden", path);
  return spec;
}

// --------------------------------------------------------------------------------- the models

GenerativeModel::GenerativeModel(const ModelSpec& spec, Generator& gen) : spec_(spec) {
  if (spec.model == "ae") {
    AutoencoderOptions o;
    o.kind = spec.arch == "conv" ? AutoencoderKind::Conv : AutoencoderKind::Mlp;
    o.latent_dim = spec.latent_dim;
    o.hidden = spec.hidden;
    ae = std::make_shared<Autoencoder>(o, gen);
  } else if (spec.model == "vae") {
    if (spec.arch != "mlp") throw std::invalid_argument("GenerativeModel: the VAE is an MLP, got arch " + spec.arch);
    VaeOptions o;
    o.latent_dim = spec.latent_dim;
    o.hidden = spec.hidden;
    vae = std::make_shared<VAE>(o, gen);
  } else {
    throw std::invalid_argument("GenerativeModel: model must be ae or vae, got " + spec.model);
  }
}

Module& GenerativeModel::module() { return ae ? static_cast<Module&>(*ae) : static_cast<Module&>(*vae); }

std::string GenerativeModel::describe() const { return ae ? ae->describe() : vae->describe(); }

Variable GenerativeModel::training_loss(const Tensor& x, Generator& gen) {
  if (ae) return ae->loss(x);
  return vae->loss(x, gen, Reduction::Sum).total;
}

GenerativeModel::TestLoss GenerativeModel::test_loss(const Tensor& images, Generator& gen, int64_t batch) {
  NoGradGuard no_grad;
  const int64_t n = images.size(0);
  TestLoss sum;
  for (int64_t begin = 0; begin < n; begin += batch) {
    const Tensor x = images.narrow0(begin, std::min(n, begin + batch));
    if (ae) {
      // ae->loss averages over the batch; times its size gives the batch's sum
      const double batch_sum = static_cast<double>(ae->loss(x).item()) * static_cast<double>(x.size(0));
      sum.total += batch_sum;
      sum.reconstruction += batch_sum;
    } else {
      VAE::Loss l = vae->loss(x, gen, Reduction::Sum);
      sum.total += l.total.item();
      sum.reconstruction += l.reconstruction.item();
      sum.kl += l.kl.item();
    }
  }
  const double count = static_cast<double>(n);
  return {sum.total / count, sum.reconstruction / count, sum.kl / count};
}

Tensor GenerativeModel::decode(const Tensor& z) { return ae ? ae->decode_images(z) : vae->decode_images(z); }

Tensor GenerativeModel::generate(int64_t n, Generator& gen) { return decode(randn({n, spec_.latent_dim}, gen)); }

Tensor GenerativeModel::reconstruct(const Tensor& images, Generator& gen) {
  return ae ? ae->reconstruct(images) : vae->reconstruct(images, gen);
}

Tensor GenerativeModel::encode(const Tensor& images) {
  NoGradGuard no_grad;
  return ae ? ae->encode(images).data() : vae->encode(images).mu.data();
}

Tensor GenerativeModel::interpolate(const Tensor& a, const Tensor& b, int64_t steps) {
  if (vae) return vae->interpolate(a, b, steps);
  if (steps < 2) throw std::invalid_argument(fmt::format("interpolate: steps must be at least 2, got {}", steps));
  // z_t = (1 - t) z_a + t z_b, t = 0, 1/(steps-1), ..., 1
  const Tensor za = encode(a.reshape({1, 1, 28, 28})), zb = encode(b.reshape({1, 1, 28, 28}));
  const int64_t d = spec_.latent_dim;
  Tensor z({steps, d});
  for (int64_t i = 0; i < steps; ++i) {
    const float t = static_cast<float>(i) / static_cast<float>(steps - 1);
    for (int64_t j = 0; j < d; ++j) z.data()[i * d + j] = (1.f - t) * za.data()[j] + t * zb.data()[j];
  }
  return decode(z);
}

// "an autoencoder", "a VAE": for messages.
static std::string model_name(const std::string& model) { return model == "ae" ? "an autoencoder" : "a VAE"; }

void check_model(const CheckpointInfo& info, const std::string& path, const std::string& expected,
                 const std::string& verb) {
  auto model = info.metadata.find("model");
  if (model == info.metadata.end() || model->second == expected) return;  // no "model": spec_from_metadata says so
  const std::string& found = model->second;
  if (found == "ae" || found == "vae")
    throw UsageError(fmt::format("{} holds {}, not {}: use 'hundun {} {}'", path, model_name(found),
                                 model_name(expected), verb, found));
  auto trained_by = info.metadata.find("trained_by");
  throw UsageError(fmt::format("{} holds a '{}' model{}, not {}", path, found,
                               trained_by != info.metadata.end() ? " written by '" + trained_by->second + "'" : "",
                               model_name(expected)));
}

LoadedModel load_generative(const std::string& path, const std::string& expected, const std::string& verb) {
  CheckpointInfo info = read_checkpoint_info(path);
  check_model(info, path, expected, verb);
  LoadedModel loaded{GenerativeModel(spec_from_metadata(info.metadata, path)), info};
  load_checkpoint(path, loaded.model.module());  // weights only: no optimizer, no generator
  loaded.model.module().eval();
  return loaded;
}

// --------------------------------------------------------------------------------- the judge

std::string default_classifier_path() { return std::string(HUNDUN_SOURCE_DIR) + "/weights/classifier.safetensors"; }

std::shared_ptr<ImageClassifier> load_classifier(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw std::runtime_error(fmt::format("{}: no such classifier checkpoint (write it with 'make weights' or "
                                         "'hundun train classifier', or pass --classifier CKPT)",
                                         path));
  const CheckpointInfo info = read_checkpoint_info(path);
  auto trained_by = info.metadata.find("trained_by");
  if (trained_by != info.metadata.end() && trained_by->second != "hundun train classifier")
    throw UsageError(fmt::format("--classifier {} holds a model written by '{}', not a classifier", path,
                                 trained_by->second));
  auto arch = info.metadata.find("model");
  std::shared_ptr<ImageClassifier> classifier = make_classifier(arch != info.metadata.end() ? arch->second : "cnn");
  load_checkpoint(path, *classifier);
  classifier->eval();
  return classifier;
}

// Both of hundun's classifiers end in logits = fc2(features): the probabilities follow from the features
// without a second pass over the images (which halves the time of `hundun eval`).
static std::shared_ptr<Linear> last_layer(ImageClassifier& classifier) {
  if (auto* cnn = dynamic_cast<Classifier*>(&classifier)) return cnn->fc2;
  if (auto* mlp = dynamic_cast<MLPClassifier*>(&classifier)) return mlp->fc2;
  return nullptr;
}

FeatureClassifier feature_classifier(ImageClassifier& classifier) {
  return [&classifier](const Tensor& images) {
    const Tensor features = extract_features(classifier, images);  // [N, D]
    std::shared_ptr<Linear> fc2 = last_layer(classifier);
    if (!fc2) return std::pair{features, predict_probabilities(classifier, images)};
    NoGradGuard no_grad;
    return std::pair{features, hd::softmax(fc2->forward(features).data(), 1)};  // [N, D], [N, C]
  };
}

// --------------------------------------------------------------------------------- the commands

bool register_ae_and_vae(const std::string& verb, const std::string& ae_summary, const std::string& vae_summary,
                         const ModelCommand& run) {
  for (const std::string model : {"ae", "vae"})
    register_command({verb + " " + model, model == "ae" ? ae_summary : vae_summary,
                      [run, model](const std::vector<std::string>& words) { return run(model, words); }});
  return true;
}

// --------------------------------------------------------------------------------- data and pictures

Tensor images_by_class(const Dataset& data, int64_t n) {
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
      throw std::invalid_argument(fmt::format("images_by_class: class {} has only {} images, {} asked for", k % 10,
                                              pool.size(), n));
    picked.push_back(pool[rank]);
  }
  return gather_rows(data.images, picked);
}

void save_comparison_grid(const Tensor& originals, const Tensor& reconstructions, const std::string& path,
                          int64_t cols, int64_t upscale) {
  const int64_t n = originals.size(0);
  std::vector<Tensor> tiles;
  for (int64_t begin = 0; begin < n; begin += cols) {
    for (const Tensor* source : {&originals, &reconstructions})
      for (int64_t i = begin; i < begin + cols; ++i)
        tiles.push_back(i < n ? (*source)[i] : Tensor::zeros({1, 28, 28}));
  }
  GridOptions grid;
  grid.nrow = std::min(n, cols);
  grid.upscale = upscale;
  save_image_grid(stack(tiles, 0), path, grid);
}

}  // namespace hd::cli
