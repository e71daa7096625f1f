// autoencoder.h — the autoencoder (自編碼器): an encoder (編碼器) squeezes an image into a few numbers,
// its code in the latent space (潛在空間), and a decoder (解碼器) rebuilds the image from the code.
//
//     x [B, C, H, W] --encoder--> z [B, latent_dim] --decoder--> logits [B, C, H, W] --sigmoid--> x_hat
// ((C, H, W) = options.image, Fashion-MNIST's 1 x 28 x 28 by default)
//
// Training asks only that x_hat be close to x. Nothing shapes the latent space itself, so codes of real
// images lie wherever training happened to put them: decoding a random z (say from N(0, I)) gives no
// usable image. That is the gap the VAE (models/vae.h) closes.
//
// Two architectures:
//   Mlp   CHW -> hidden (ReLU) -> latent_dim -> hidden (ReLU) -> CHW        (default 784-400-20-400-784)
//   Conv  Conv C->32 (4x4, stride 2) ReLU -> Conv 32->64 (stride 2) ReLU -> Linear 64*H/4*W/4 -> latent_dim;
//         the decoder mirrors it: Linear -> [64, H/4, W/4] -> ConvTranspose 64->32 (stride 2) ReLU -> 32->C
//         (H and W divisible by 4)
// The decoder ends in logits (no sigmoid): the loss takes logits, which is exact and never overflows.
#pragma once

#include <memory>
#include <string>

#include "models/generative_model.h"
#include "nn/layers.h"
#include "nn/metadata.h"

namespace hd {

enum class AutoencoderKind { Mlp, Conv };

// How "close to x" is measured, per image, summed over its 784 pixels:
//   BinaryCrossEntropy  -(x log x_hat + (1 - x) log(1 - x_hat)), from the logits (pixels in [0, 1] as
//                       probabilities of "ink"; the usual choice for Fashion-MNIST, and the VAE's Bernoulli decoder)
//   MeanSquaredError    (x - x_hat)^2 with x_hat = sigmoid(logits)
// Either way the loss is summed over each image's pixels and averaged over the batch.
enum class ReconstructionLoss { BinaryCrossEntropy, MeanSquaredError };

struct AutoencoderOptions {
  AutoencoderKind kind = AutoencoderKind::Mlp;
  int64_t latent_dim = 20;
  int64_t hidden = 400;  // Mlp only: width of the hidden layers
  ReconstructionLoss loss = ReconstructionLoss::BinaryCrossEntropy;
  ImageShape image = {};

  // As checkpoint metadata: "model" "ae", "arch" "mlp"|"conv", "latent_dim", "hidden", "image_shape"; and back,
  // each entry checked against its bounds (latent_dim 1..4096, hidden 1..16384) before anything is built.
  std::map<std::string, std::string> to_metadata() const;
  static AutoencoderOptions from_metadata(const Metadata& metadata);
};

class Autoencoder : public EncoderDecoderModel {
 public:
  explicit Autoencoder(AutoencoderOptions options = {}, Generator& gen = default_generator());

  // images: [B, C, H, W] (or [B, H, W], [B, C*H*W]) -> z: [B, latent_dim]
  Variable encode(const Variable& images);
  // z: [B, latent_dim] -> logits: [B, C, H, W]
  Variable decode(const Variable& z);
  // decode(encode(images)): reconstruction logits [B, C, H, W].
  Variable forward(const Variable& images) override;
  // The reconstruction loss (see ReconstructionLoss): summed per image, averaged over the batch.
  Variable loss(const Variable& images);

  // --- without gradients, for pictures ---
  // z: [B, latent_dim] -> images [B, C, H, W] with pixels sigmoid(logits) in [0, 1]
  Tensor decode_images(const Tensor& z) override;
  // images -> their codes z [B, latent_dim]
  Tensor encode_images(const Tensor& images) override;
  // images -> their reconstructions, pixels in [0, 1] (deterministic: gen is not used)
  Tensor reconstruct(const Tensor& images);
  Tensor reconstruct(const Tensor& images, Generator&) override { return reconstruct(images); }

  int64_t latent_dim() const override { return options.latent_dim; }
  ImageShape image_shape() const override { return options.image; }
  std::map<std::string, std::string> metadata() const override { return options.to_metadata(); }
  std::string describe() const override;

  AutoencoderOptions options;
  std::shared_ptr<Sequential> encoder, decoder;
};

// The autoencoder a checkpoint of `hundun train ae` holds: built from its metadata, weights loaded (not the
// optimizer), in evaluation mode. Throws std::runtime_error naming the file for a damaged file or another model.
std::shared_ptr<Autoencoder> load_autoencoder(const std::string& path);

}  // namespace hd
