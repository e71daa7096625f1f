// encoder_decoder.h — what `hundun train ae` and `hundun train vae` share: both train an EncoderDecoderModel
// (models/generative_model.h) on Fashion-MNIST with Adam, one loss per batch, through train/loop.h, and write the
// same files. Each family (cli/autoencoder/, cli/vae/) says only what is its own: how to build its model, its loss,
// its test loss and its extra pictures, bound to the concrete model in an EncoderDecoderRun.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/generative_model.h"
#include "nn/metadata.h"

namespace hd::cli {

// Per image, averaged over a set of images: total = reconstruction + kl (kl is 0 for the autoencoder).
struct TestLoss {
  double total = 0, reconstruction = 0, kl = 0;
};

// The loss one training step minimises and the number of images it is summed over (1 when it is already a mean
// per image): the progress line and the log show loss / images_summed.
struct TrainingLoss {
  Variable loss;
  double images_summed = 1;
};

// A model of the family, with what training does with it.
struct EncoderDecoderRun {
  std::shared_ptr<EncoderDecoderModel> model;
  std::function<TrainingLoss(const Tensor& x, Generator& gen)> training_loss;
  std::function<TestLoss(const Tensor& images, Generator& gen)> test_loss;  // no graph
  // Optional: pictures of its own after each epoch ("samples_epoch03.png"), given the folder and "epoch03".
  std::function<void(const std::string& out_dir, const std::string& tag)> epoch_pictures;
};

struct EncoderDecoderFamily {
  std::string name;          // "vae"
  std::string summary;       // one line for `hundun --help`
  std::string about;         // the help text's first lines
  std::string loss_title;    // the loss plot's title: "VAE: negative ELBO per image"
  std::string test_loss_name;  // "negative ELBO"
  std::vector<std::string> archs;  // the choices of --arch (empty: the family has no such flag)
  // A new model from its options (as metadata: "latent_dim", "hidden", "arch", ...).
  std::function<EncoderDecoderRun(const Metadata& options, Generator& gen)> build;
  // Prints one epoch's test loss line.
  std::function<void(int64_t epoch, int64_t epochs, double train_loss, const TestLoss& test, double seconds)> print_epoch;
};

// Registers "train <name>".
bool register_encoder_decoder_training(EncoderDecoderFamily family);

// The test loss of `loss_of_batch` (summed over a batch) over `images` in batches of 500, per image, no graph.
TestLoss test_loss_in_batches(const Tensor& images, const std::function<TestLoss(const Tensor& batch)>& loss_of_batch);

}  // namespace hd::cli
