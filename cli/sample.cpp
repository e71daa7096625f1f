// `hundun sample ae|vae` — new images from noise: z ~ N(0, I), decoded.
//
//   hundun sample vae --ckpt weights/vae.safetensors -n 64 --out vae_samples.png
//   hundun sample ae --ckpt weights/ae.safetensors -n 64 --out ae_samples.png --tensor ae_samples.safetensors
//
// For the VAE, N(0, I) is the prior its training pulled every code towards (the KL term), so decoded
// draws look like clothes. The autoencoder was never asked to put its codes anywhere in particular: the
// same draws land where no training image's code lies and decode to smudges (lesson 07).
//
// --tensor writes the samples as one float32 tensor "samples" [N, 1, 28, 28], pixels in [0, 1], in a
// safetensors file (tensor/safetensors.h) that other tools (numpy, PyTorch) can read.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/generative.h"
#include "data/image.h"
#include "tensor/safetensors.h"
#include "tensor/shape_ops.h"

namespace hd::cli {
namespace {

// At most this many images in the grid: 256 make a 16 x 16 picture of 482 x 482 pixels.
constexpr int64_t kMaxShown = 256;

int sample(const std::string& model_name, const std::vector<std::string>& words) {
  ArgParser args("hundun sample " + model_name,
                 fmt::format("Decodes N draws z ~ N(0, I) with the {} in a checkpoint of 'hundun train {}'.\n"
                             "The grid shows the first {} of them; --tensor holds all.",
                             model_name == "vae" ? "VAE's decoder" : "autoencoder's decoder", model_name, kMaxShown));
  args.option("--ckpt", "FILE", fmt::format("checkpoint of 'hundun train {}'", model_name));
  args.option("-n", "N", "how many images", "64");
  args.option("--out", "PNG", "where the grid of samples goes");
  args.option("--tensor", "FILE", "also write the samples as a safetensors tensor \"samples\" [N, 1, 28, 28]");
  args.option("--seed", "S", "seeds the draws of z", "0");
  if (parse_or_print_help(args, words)) return 0;
  const std::string ckpt = args.get_required("--ckpt"), out = args.get_required("--out");
  const int64_t n = args.get_int("-n", 1, 100000);
  const int64_t seed = args.get_int("--seed", 0, INT64_MAX);
  const std::string tensor_path = args.get("--tensor");

  LoadedModel loaded = load_generative(ckpt, model_name, "sample");
  Generator gen(static_cast<uint64_t>(seed));
  // In batches, so that a large N never needs one huge activation.
  std::vector<Tensor> parts;
  for (int64_t done = 0; done < n; done += 1000)
    parts.push_back(loaded.model.generate(std::min<int64_t>(1000, n - done), gen));
  const Tensor samples = parts.size() == 1 ? parts[0] : concat(parts, 0);

  const int64_t shown = std::min(n, kMaxShown);
  GridOptions grid;
  grid.nrow = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(shown))));
  save_image_grid(samples.narrow0(0, shown), out, grid);
  fmt::print("{}: {}, {} samples, z ~ N(0, I) with seed {}\n", ckpt, loaded.model.describe(), n, seed);
  print_wrote(out, shown < n ? fmt::format("the first {} of the {} samples", shown, n) : fmt::format("{} samples", n));
  if (!tensor_path.empty()) {
    TensorFile file;
    file.tensors["samples"] = samples;
    file.metadata = {{"model", model_name}, {"checkpoint", ckpt}, {"seed", std::to_string(seed)},
                     {"pixels", "[0, 1]"}};
    const std::filesystem::path parent = std::filesystem::path(tensor_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    save_safetensors(tensor_path, file);
    print_wrote(tensor_path, fmt::format("tensor \"samples\" [{}, 1, 28, 28], float32", n));
  }
  return 0;
}

const bool registered = register_ae_and_vae("sample",
                                             "decode z ~ N(0, I) with an autoencoder (it was never trained for this)",
                                             "new images from a VAE: z ~ N(0, I), decoded", sample);

}  // namespace
}  // namespace hd::cli
