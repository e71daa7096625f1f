// autoencoder.h — the autoencoder (自編碼器): an encoder (編碼器) squeezes an image into a few numbers,
// its code in the latent space (潛在空間), and a decoder (解碼器) rebuilds the image from the code.
//
//     x [B, 1, 28, 28] --encoder--> z [B, latent_dim] --decoder--> logits [B, 1, 28, 28] --sigmoid--> x_hat
//
// Training asks only that x_hat be close to x. Nothing shapes the latent space itself, so codes of real
// images lie wherever training happened to put them: decoding a random z (say from N(0, I)) gives no
// usable image. That is the gap the VAE (models/vae.h) closes.
//
// Two architectures:
//   Mlp   784 -> hidden (ReLU) -> latent_dim -> hidden (ReLU) -> 784        (default 784-400-20-400-784)
//   Conv  Conv 1->32 (4x4, stride 2) ReLU -> Conv 32->64 (stride 2) ReLU -> Linear 3136 -> latent_dim;
//         the decoder mirrors it: Linear -> [64, 7, 7] -> ConvTranspose 64->32 (stride 2) ReLU -> 32->1
// The decoder ends in logits (no sigmoid): the loss takes logits, which is exact and never overflows.
#pragma once

#include <memory>
#include <string>

#include "nn/layers.h"

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
};

class Autoencoder : public Module {
 public:
  explicit Autoencoder(AutoencoderOptions options = {}, Generator& gen = default_generator());

  // images: [B, 1, 28, 28] (or [B, 28, 28], [B, 784]) -> z: [B, latent_dim]
  Variable encode(const Variable& images);
  // z: [B, latent_dim] -> logits: [B, 1, 28, 28]
  Variable decode(const Variable& z);
  // decode(encode(images)): reconstruction logits [B, 1, 28, 28].
  Variable forward(const Variable& images) override;
  // The reconstruction loss (see ReconstructionLoss): summed per image, averaged over the batch.
  Variable loss(const Variable& images);

  // --- without gradients, for pictures ---
  // z: [B, latent_dim] -> images [B, 1, 28, 28] with pixels sigmoid(logits) in [0, 1]
  Tensor decode_images(const Tensor& z);
  // images -> their reconstructions, pixels in [0, 1]
  Tensor reconstruct(const Tensor& images);

  std::string describe() const override;

  AutoencoderOptions options;
  std::shared_ptr<Sequential> encoder, decoder;
};

// Shared by the autoencoder and the VAE: accepts images as [B, 1, 28, 28], [B, 28, 28] or [B, 784]
// and returns them as [B, 1, 28, 28] (a view). Throws std::invalid_argument "<model.describe()>: expected
// images [B, 1, 28, 28] or [B, 784], got <shape>" for anything else.
Variable as_images(const Variable& x, const Module& model);

// Checks z: [B, latent_dim]; throws "<model.describe()>: expected latents [B, <latent_dim>], got <shape>".
void check_latents(const Variable& z, int64_t latent_dim, const Module& model);

}  // namespace hd
