// image_commands.h — the commands every family with the same ability shares, registered by each family with one
// line in its own cli/<family>/ folder:
//
//   hundun sample <family>        any GenerativeModel: new images from noise, a PNG grid (and --tensor)
//   hundun reconstruct <family>   an EncoderDecoderModel: test images and their reconstructions
//   hundun interpolate <family>   an EncoderDecoderModel: the straight line between two images' codes, decoded
//   hundun eval <family>          any GenerativeModel: the family's own test loss, then the judge's quality rows
//
// Each takes an `open` function, the family's loader (models/<family>.h's load_...), and runs the family check
// (cli/model_files.h) before calling it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/args.h"
#include "data/fashion_mnist.h"
#include "models/generative_model.h"

namespace hd::cli {

// What a family's sample command says about its noise, e.g. "z ~ N(0, I), decoded by the VAE's decoder".
// A family whose sampling has settings of its own (the diffusion model's sampler, steps, eta) declares their flags
// in add_flags and applies them in configure, which runs on the opened model before it samples and returns what
// the command prints about them (e.g. "DDIM, 50 steps, eta 0"); after_sampling writes any extra picture (out is
// the grid's path) and returns the lines it printed. All three are optional.
struct SampleCommand {
  std::string family, summary, about;
  std::function<std::shared_ptr<GenerativeModel>(const std::string& path)> open;
  std::function<void(ArgParser& args)> add_flags = {};
  std::function<std::string(const ArgParser& args, GenerativeModel& model)> configure = {};
  std::function<void(const ArgParser& args, GenerativeModel& model, const std::string& out, int64_t seed)>
      after_sampling = {};
};
bool register_sample_command(SampleCommand command);

// A trained autoencoder or VAE, with its family's reconstruction loss per image (the reconstruct command prints
// it; gen draws any noise it needs), bound to the concrete model by the family's file.
struct OpenedEncoderDecoder {
  std::shared_ptr<EncoderDecoderModel> model;
  std::function<double(const Tensor& images, Generator& gen)> reconstruction_loss;
};
struct EncoderDecoderCommand {
  std::string family, summary;
  std::function<OpenedEncoderDecoder(const std::string& path)> open;
};
bool register_reconstruct_command(EncoderDecoderCommand command);
bool register_interpolate_command(EncoderDecoderCommand command);

// A trained model as `hundun eval` sees it, bound to the concrete model by the family's file.
struct OpenedForEval {
  std::shared_ptr<GenerativeModel> model;
  // Prints the family's own test loss on `test`: e.g. the VAE's negative ELBO. Optional.
  std::function<void(const Dataset& test, Generator& gen)> print_test_loss;
  // Sets of images judged after "generated": e.g. {"reconstructed test images (10000)", ...}. Optional.
  std::function<std::vector<std::pair<std::string, Tensor>>(const Dataset& test, Generator& gen)> extra_rows;
};
struct EvalCommand {
  std::string family, summary, about;
  std::function<OpenedForEval(const std::string& path)> open;
};
bool register_eval_command(EvalCommand command);

// --- shared by these commands and the training commands' pictures ---

// n test images covering the classes in turn: image k is the (k / 10)-th image of class k % 10, so any 10
// consecutive ones show all ten kinds of clothes. A class with fewer images than asked for is a UsageError
// naming `flag`. [n, C, H, W]
Tensor images_by_class(const Dataset& data, int64_t n, const std::string& flag = "-n");
// Up to n test images for pictures: images_by_class where every class has enough images, else the first n.
Tensor shown_test_images(const Dataset& data, int64_t n);
// Generated in batches of 1000, so that a large n never needs one huge activation: [n, C, H, W]. label >= 0: only
// that class (model.sample_class), for a class-conditional model.
Tensor sample_in_batches(GenerativeModel& model, int64_t n, Generator& gen, int64_t label = -1);

}  // namespace hd::cli
