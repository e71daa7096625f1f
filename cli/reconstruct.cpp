// `hundun reconstruct ae|vae` — test images through the encoder and back through the decoder.
//
//   hundun reconstruct vae --ckpt weights/vae.safetensors -n 16 --out vae_recon.png
//
// The grid's rows alternate: up to 8 test images, then their reconstructions right below them. The
// images take the ten classes in turn (T-shirt, trouser, pullover, ...), so every kind of clothes shows.
// The VAE decodes one sampled z per image (z = mu + sigma * eps, eps from --seed), as in training.
#include <fmt/format.h>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/generative.h"
#include "data/fashion_mnist.h"

namespace hd::cli {
namespace {

int reconstruct(const std::string& model_name, const std::vector<std::string>& words) {
  ArgParser args("hundun reconstruct " + model_name,
                 fmt::format("Encodes N Fashion-MNIST test images and decodes them again with a checkpoint of\n"
                             "'hundun train {}'; writes the originals above their reconstructions.",
                             model_name));
  args.option("--ckpt", "FILE", fmt::format("checkpoint of 'hundun train {}'", model_name));
  args.option("-n", "N", "how many test images (the classes in turn)", "16");
  args.option("--out", "PNG", "where the grid goes");
  args.option("--seed", "S", "seeds the VAE's eps", "0");
  args.option("--data", "DIR", "folder of the Fashion-MNIST IDX files", default_fashion_mnist_dir());
  if (parse_or_print_help(args, words)) return 0;
  const std::string ckpt = args.get_required("--ckpt"), out = args.get_required("--out");
  const int64_t n = args.get_int("-n", 1, 500);
  const int64_t seed = args.get_int("--seed", 0, INT64_MAX);

  LoadedModel loaded = load_generative(ckpt, model_name, "reconstruct");
  const Tensor images = images_by_class(load_fashion_mnist(false, args.get("--data")), n);
  Generator gen(static_cast<uint64_t>(seed));
  const Tensor reconstructions = loaded.model.reconstruct(images, gen);
  save_comparison_grid(images, reconstructions, out, /*cols=*/8, /*upscale=*/2);

  // The same number the training log reports, on just these images.
  Generator loss_gen(static_cast<uint64_t>(seed));
  const GenerativeModel::TestLoss loss = loaded.model.test_loss(images, loss_gen);
  fmt::print("{}: {}, {} test images, reconstruction loss {:.2f} nats per image\n", ckpt, loaded.model.describe(), n,
             loss.reconstruction);
  print_wrote(out, "test images (rows 1, 3, ...) above their reconstructions");
  return 0;
}

const bool registered = register_ae_and_vae("reconstruct", "test images and their autoencoder reconstructions",
                                             "test images and their VAE reconstructions", reconstruct);

}  // namespace
}  // namespace hd::cli
