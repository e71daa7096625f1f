// `hundun interpolate ae|vae` — a walk through the latent space from one test image to another.
//
//   hundun interpolate vae --ckpt weights/vae.safetensors --from 0 --to 2 --steps 10 --out walk.png
//
// Both images are encoded (the VAE's codes are its posterior means mu), the straight line between the
// two codes is cut into --steps points, z_t = (1 - t) z_a + t z_b, and each point is decoded. The row
// shows image a, the decoded points, image b. A VAE's path passes through plausible clothes, because the
// KL term packs the codes together; an autoencoder's crosses gaps in which its decoder never learned anything.
#include <fmt/format.h>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/generative.h"
#include "data/fashion_mnist.h"
#include "data/image.h"
#include "tensor/shape_ops.h"

namespace hd::cli {
namespace {

int interpolate(const std::string& model_name, const std::vector<std::string>& words) {
  ArgParser args("hundun interpolate " + model_name,
                 fmt::format("Decodes the straight line between the codes of two Fashion-MNIST test images,\n"
                             "with a checkpoint of 'hundun train {}'.",
                             model_name));
  args.option("--ckpt", "FILE", fmt::format("checkpoint of 'hundun train {}'", model_name));
  args.option("--from", "I", "index of the first test image (0 is an ankle boot)", "0");
  args.option("--to", "J", "index of the last test image (2 is a pair of trousers)", "2");
  args.option("--steps", "K", "points on the line, both ends included", "10");
  args.option("--out", "PNG", "where the row of images goes");
  args.option("--data", "DIR", "folder of the Fashion-MNIST IDX files", default_fashion_mnist_dir());
  if (parse_or_print_help(args, words)) return 0;
  const std::string ckpt = args.get_required("--ckpt"), out = args.get_required("--out");
  const int64_t from = args.get_int("--from", 0, 1 << 30), to = args.get_int("--to", 0, 1 << 30);
  const int64_t steps = args.get_int("--steps", 2, 100);

  LoadedModel loaded = load_generative(ckpt, model_name, "interpolate");
  const Dataset test = load_fashion_mnist(false, args.get("--data"));
  const int64_t count = test.images.size(0);
  if (from >= count || to >= count)
    throw UsageError(fmt::format("--from {} --to {}: the test set has images 0 to {}", from, to, count - 1));
  const Tensor a = test.images[from], b = test.images[to];  // [1, 28, 28] each
  const Tensor path = loaded.model.interpolate(a, b, steps);  // [steps, 1, 28, 28]

  const Tensor row = concat({a.reshape({1, 1, 28, 28}), path, b.reshape({1, 1, 28, 28})}, 0);
  GridOptions grid;
  grid.nrow = steps + 2;
  grid.upscale = 2;
  save_image_grid(row, out, grid);
  const auto& names = fashion_mnist_classes();
  fmt::print("{}: {}, from test image {} ({}) to {} ({}) in {} steps\n", ckpt, loaded.model.describe(), from,
             names[static_cast<size_t>(test.labels.data()[from])], to,
             names[static_cast<size_t>(test.labels.data()[to])], steps);
  print_wrote(out, "image a, the decoded path, image b");
  return 0;
}

const bool registered = register_ae_and_vae("interpolate", "walk the autoencoder's latent space between two images",
                                             "walk the VAE's latent space between two images", interpolate);

}  // namespace
}  // namespace hd::cli
