// generative.h — what the autoencoder and VAE commands share (train, sample, reconstruct, interpolate,
// eval, export): one interface over both models, the checkpoint metadata that says which model a file
// holds, the judge classifier, and a few picture helpers.
//
// A checkpoint written by `hundun train ae|vae` records its model in the metadata (nn/checkpoint.h):
//   "trained_by"  "hundun train ae" or "hundun train vae"
//   "model"       "ae" or "vae"
//   "arch"        "mlp" or "conv" (conv: autoencoder only)
//   "latent_dim"  "20", "2", ...
//   "hidden"      "400" (mlp only: width of the hidden layers)
// so every other command rebuilds the same network before loading the weights, and refuses a file that
// holds another model with one line saying which command fits it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"
#include "models/autoencoder.h"
#include "models/classifier.h"
#include "models/frechet.h"
#include "models/vae.h"
#include "nn/checkpoint.h"

namespace hd::cli {

// Which network: enough to build it again.
struct ModelSpec {
  std::string model = "vae";  // "ae" or "vae"
  std::string arch = "mlp";   // "mlp" or "conv"
  int64_t latent_dim = 20;
  int64_t hidden = 400;
};

// The metadata entries above, and back. spec_from_metadata throws std::runtime_error naming `path`
// and the missing or damaged entry.
std::map<std::string, std::string> spec_metadata(const ModelSpec& spec);
ModelSpec spec_from_metadata(const std::map<std::string, std::string>& metadata, const std::string& path);

// An autoencoder or a VAE, seen through what the commands do with either. Exactly one of ae, vae is set.
class GenerativeModel {
 public:
  explicit GenerativeModel(const ModelSpec& spec, Generator& gen = default_generator());

  Module& module();
  const ModelSpec& spec() const { return spec_; }
  std::string describe() const;

  // The loss one training step minimises, for a batch x: [B, 1, 28, 28]:
  //   ae   reconstruction BCE summed over each image's pixels, averaged over the batch
  //   vae  negative ELBO summed over the whole batch, as pytorch/examples' vae/main.py (gen draws eps)
  Variable training_loss(const Tensor& x, Generator& gen);
  // How training_loss is turned into "per image": 1 for ae, the batch size for vae.
  int64_t loss_divisor(int64_t batch) const { return vae ? batch : 1; }

  // Per image, averaged over `images` [N, 1, 28, 28] taken `batch` at a time, without a graph:
  //   ae   total = reconstruction (BCE, nats), kl = 0
  //   vae  total = negative ELBO with one z per image drawn from gen (pytorch/examples' test loss / N)
  struct TestLoss {
    double total = 0, reconstruction = 0, kl = 0;
  };
  TestLoss test_loss(const Tensor& images, Generator& gen, int64_t batch = 500);

  // --- pictures, pixels in [0, 1], all without a graph ---
  // z ~ N(0, I) from gen, decoded: [n, 1, 28, 28]. For the VAE the prior; for the autoencoder a guess
  // at a prior it was never trained to have (lesson 07).
  Tensor generate(int64_t n, Generator& gen);
  // z: [n, latent_dim] -> [n, 1, 28, 28]
  Tensor decode(const Tensor& z);
  // images [N, 1, 28, 28] -> reconstructions (the VAE's use one sampled z per image, from gen)
  Tensor reconstruct(const Tensor& images, Generator& gen);
  // images [N, 1, 28, 28] -> their codes [N, latent_dim] (the VAE's posterior means mu)
  Tensor encode(const Tensor& images);
  // From image a to image b ([1, 28, 28] each) along the straight line between their codes: [steps, 1, 28, 28]
  Tensor interpolate(const Tensor& a, const Tensor& b, int64_t steps);

  std::shared_ptr<Autoencoder> ae;
  std::shared_ptr<VAE> vae;

 private:
  ModelSpec spec_;
};

// A model loaded from a checkpoint, with the checkpoint's step, epoch and metadata.
struct LoadedModel {
  GenerativeModel model;
  CheckpointInfo info;
};

// The check load_generative makes: a checkpoint whose metadata names another model than `expected` is a
// UsageError, e.g. "out/vae/checkpoint.safetensors holds a VAE, not an autoencoder: use 'hundun sample vae'"
// (`verb` is "sample"), or "... holds a 'cnn' model written by 'hundun train classifier', not a VAE".
void check_model(const CheckpointInfo& info, const std::string& path, const std::string& expected,
                 const std::string& verb);

// Opens a checkpoint written by `hundun train <expected>` (expected "ae" or "vae") and loads its weights
// (not the optimizer), in evaluation mode. A file that holds another model is refused (check_model).
// A damaged or foreign file is a std::runtime_error naming the file.
LoadedModel load_generative(const std::string& path, const std::string& expected, const std::string& verb);

// --- the judge: the classifier whose features the Fréchet distance compares ---

// <repository>/weights/classifier.safetensors, written by `make weights`.
std::string default_classifier_path();
// Loads a checkpoint of `hundun train classifier` (architecture from its metadata). A checkpoint of
// another model is a UsageError; a missing file a std::runtime_error that says how to make one.
std::shared_ptr<ImageClassifier> load_classifier(const std::string& path);
// (features, class probabilities) of images, for models/frechet.h's quality_report.
FeatureClassifier feature_classifier(ImageClassifier& classifier);

// --- the commands ---

// A command's body for either model: model is "ae" or "vae", words what follows the command's name.
using ModelCommand = std::function<int(const std::string& model, const std::vector<std::string>& words)>;
// Registers the pair "<verb> ae" and "<verb> vae" (cli/command.h), each running run("ae" or "vae", words).
// Returns true, for the `const bool registered = ...` idiom.
bool register_ae_and_vae(const std::string& verb, const std::string& ae_summary, const std::string& vae_summary,
                         const ModelCommand& run);

// --- data and pictures ---

// n test images covering the classes in turn: image k is the (k / 10)-th image of class k % 10, so any
// 10 consecutive ones show all ten kinds of clothes. [n, 1, 28, 28]
Tensor images_by_class(const Dataset& data, int64_t n);
// A grid whose rows alternate: `cols` originals, then their reconstructions below them (a short last
// group is padded with black tiles). originals, reconstructions: [N, 1, 28, 28]
void save_comparison_grid(const Tensor& originals, const Tensor& reconstructions, const std::string& path,
                          int64_t cols = 8, int64_t upscale = 1);

}  // namespace hd::cli
