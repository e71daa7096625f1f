#include "models/autoencoder.h"

#include <fmt/format.h>

#include <stdexcept>

#include "autograd/activation.h"
#include "autograd/elementwise.h"
#include "autograd/loss.h"
#include "autograd/shape.h"
#include "tensor/elementwise.h"

namespace hd {

constexpr int64_t kSide = 28, kPixels = kSide * kSide;

Variable as_images(const Variable& x, const Module& model) {
  const Shape& s = x.shape();
  bool ok = (s.size() == 4 && s[1] == 1 && s[2] == kSide && s[3] == kSide) ||
            (s.size() == 3 && s[1] == kSide && s[2] == kSide) || (s.size() == 2 && s[1] == kPixels);
  if (!ok || s[0] == 0)
    throw std::invalid_argument(
        fmt::format("{}: expected images [B, 1, 28, 28] or [B, 784] with B >= 1, got {}", model.describe(), shape_str(s)));
  return reshape(x, {s[0], 1, kSide, kSide});
}

void check_latents(const Variable& z, int64_t latent_dim, const Module& model) {
  if (z.dim() != 2 || z.size(1) != latent_dim || z.size(0) == 0)
    throw std::invalid_argument(
        fmt::format("{}: expected latents [B, {}] with B >= 1, got {}", model.describe(), latent_dim, shape_str(z.shape())));
}

Autoencoder::Autoencoder(AutoencoderOptions opts, Generator& gen) : options(opts) {
  if (options.latent_dim <= 0 || options.hidden <= 0)
    throw std::invalid_argument(fmt::format("Autoencoder: latent_dim and hidden must be positive, got {} and {}",
                                            options.latent_dim, options.hidden));
  const int64_t latent = options.latent_dim, hidden = options.hidden;
  // Layers are built encoder first, in order, so a PyTorch twin built in the same order after the same
  // seed starts from the same weights.
  if (options.kind == AutoencoderKind::Mlp) {
    encoder = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
        std::make_shared<Flatten>(), std::make_shared<Linear>(kPixels, hidden, gen), std::make_shared<ReLU>(),
        std::make_shared<Linear>(hidden, latent, gen)});
    decoder = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
        std::make_shared<Linear>(latent, hidden, gen), std::make_shared<ReLU>(),
        std::make_shared<Linear>(hidden, kPixels, gen), std::make_shared<Unflatten>(1, Shape{1, kSide, kSide})});
  } else {
    // [B, 1, 28, 28] -> [B, 32, 14, 14] -> [B, 64, 7, 7] -> [B, 3136] -> [B, latent]
    encoder = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
        std::make_shared<Conv2d>(1, 32, 4, 2, 1, 1, true, gen), std::make_shared<ReLU>(),
        std::make_shared<Conv2d>(32, 64, 4, 2, 1, 1, true, gen), std::make_shared<ReLU>(),
        std::make_shared<Flatten>(), std::make_shared<Linear>(64 * 7 * 7, latent, gen)});
    // [B, latent] -> [B, 3136] -> [B, 64, 7, 7] -> [B, 32, 14, 14] -> [B, 1, 28, 28]
    decoder = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
        std::make_shared<Linear>(latent, 64 * 7 * 7, gen), std::make_shared<ReLU>(),
        std::make_shared<Unflatten>(1, Shape{64, 7, 7}),
        std::make_shared<ConvTranspose2d>(64, 32, 4, 2, 1, 0, true, 1, gen), std::make_shared<ReLU>(),
        std::make_shared<ConvTranspose2d>(32, 1, 4, 2, 1, 0, true, 1, gen)});
  }
  register_module("encoder", encoder);
  register_module("decoder", decoder);
}

Variable Autoencoder::encode(const Variable& images) { return encoder->forward(as_images(images, *this)); }

Variable Autoencoder::decode(const Variable& z) {
  check_latents(z, options.latent_dim, *this);
  return decoder->forward(z);
}

Variable Autoencoder::forward(const Variable& images) { return decode(encode(images)); }

Variable Autoencoder::loss(const Variable& images) {
  Variable x = as_images(images, *this);
  Variable logits = forward(x);
  const float per_image = 1.f / static_cast<float>(x.size(0));  // sum over pixels and batch, / B
  if (options.loss == ReconstructionLoss::BinaryCrossEntropy)
    return binary_cross_entropy_with_logits(logits, x, Reduction::Sum) * per_image;
  return mse_loss(sigmoid(logits), x, Reduction::Sum) * per_image;
}

Tensor Autoencoder::decode_images(const Tensor& z) {
  NoGradGuard no_grad;
  return hd::sigmoid(decode(z).data());
}

Tensor Autoencoder::reconstruct(const Tensor& images) {
  NoGradGuard no_grad;
  return hd::sigmoid(forward(images).data());
}

std::string Autoencoder::describe() const {
  const char* loss = options.loss == ReconstructionLoss::BinaryCrossEntropy ? "bce" : "mse";
  if (options.kind == AutoencoderKind::Conv)
    return fmt::format("Autoencoder(kind=conv, latent_dim={}, loss={})", options.latent_dim, loss);
  return fmt::format("Autoencoder(kind=mlp, latent_dim={}, hidden={}, loss={})", options.latent_dim, options.hidden,
                     loss);
}

}  // namespace hd
