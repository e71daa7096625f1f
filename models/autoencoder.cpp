#include "models/autoencoder.h"

#include <fmt/format.h>

#include <stdexcept>

#include "autograd/activation.h"
#include "autograd/elementwise.h"
#include "autograd/loss.h"
#include "autograd/shape.h"
#include "nn/checkpoint.h"
#include "tensor/elementwise.h"

namespace hd {

std::map<std::string, std::string> AutoencoderOptions::to_metadata() const {
  std::map<std::string, std::string> m = {{"trained_by", "hundun train ae"},
                                          {"model", "ae"},
                                          {"arch", kind == AutoencoderKind::Conv ? "conv" : "mlp"},
                                          {"latent_dim", std::to_string(latent_dim)},
                                          {"hidden", std::to_string(hidden)}};
  add_image_shape(image, m);
  return m;
}

AutoencoderOptions AutoencoderOptions::from_metadata(const Metadata& m) {
  AutoencoderOptions o;
  o.kind = m.choice("arch", {"mlp", "conv"}) == "conv" ? AutoencoderKind::Conv : AutoencoderKind::Mlp;
  o.latent_dim = m.integer("latent_dim", 1, 4096);
  o.hidden = m.integer("hidden", 1, 16384);
  o.image = image_shape_from(m);
  if (o.kind == AutoencoderKind::Conv && (o.image.height % 4 != 0 || o.image.width % 4 != 0))
    throw std::runtime_error(fmt::format("{}: metadata 'image_shape' {} does not fit the conv architecture: it halves the "
                                         "image twice, so H and W must be divisible by 4",
                                         m.path(), o.image.str()));
  // The tensors that pin down every size read above (see the layers below).
  if (o.kind == AutoencoderKind::Mlp) {
    m.expect_shape("encoder.1.weight", {o.hidden, o.image.pixels()});
    m.expect_shape("encoder.3.weight", {o.latent_dim, o.hidden});
  } else {
    m.expect_shape("encoder.0.weight", {32, o.image.channels, 4, 4});
    m.expect_shape("encoder.5.weight", {o.latent_dim, 64 * (o.image.height / 4) * (o.image.width / 4)});
  }
  return o;
}

Autoencoder::Autoencoder(AutoencoderOptions opts, Generator& gen) : options(opts) {
  if (options.latent_dim <= 0 || options.hidden <= 0)
    throw std::invalid_argument(fmt::format("Autoencoder: latent_dim and hidden must be positive, got {} and {}",
                                            options.latent_dim, options.hidden));
  const ImageShape& img = options.image;
  if (options.kind == AutoencoderKind::Conv && (img.height % 4 != 0 || img.width % 4 != 0))
    throw std::invalid_argument(
        fmt::format("Autoencoder: the conv architecture halves the image twice, so H and W must be divisible by 4; "
                    "got {}",
                    img.str()));
  const int64_t latent = options.latent_dim, hidden = options.hidden, pixels = img.pixels();
  const int64_t h4 = img.height / 4, w4 = img.width / 4;  // the conv encoder's last feature map
  // Layers are built encoder first, in order, so a PyTorch twin built in the same order after the same
  // seed starts from the same weights.
  if (options.kind == AutoencoderKind::Mlp) {
    encoder = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
        std::make_shared<Flatten>(), std::make_shared<Linear>(pixels, hidden, gen), std::make_shared<ReLU>(),
        std::make_shared<Linear>(hidden, latent, gen)});
    decoder = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
        std::make_shared<Linear>(latent, hidden, gen), std::make_shared<ReLU>(),
        std::make_shared<Linear>(hidden, pixels, gen), std::make_shared<Unflatten>(1, Shape{img.channels, img.height, img.width})});
  } else {
    // [B, C, H, W] -> [B, 32, H/2, W/2] -> [B, 64, H/4, W/4] -> [B, 64 H/4 W/4] -> [B, latent]  (28: 3136)
    encoder = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
        std::make_shared<Conv2d>(img.channels, 32, 4, 2, 1, 1, true, gen), std::make_shared<ReLU>(),
        std::make_shared<Conv2d>(32, 64, 4, 2, 1, 1, true, gen), std::make_shared<ReLU>(),
        std::make_shared<Flatten>(), std::make_shared<Linear>(64 * h4 * w4, latent, gen)});
    // [B, latent] -> [B, 64 H/4 W/4] -> [B, 64, H/4, W/4] -> [B, 32, H/2, W/2] -> [B, C, H, W]
    decoder = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
        std::make_shared<Linear>(latent, 64 * h4 * w4, gen), std::make_shared<ReLU>(),
        std::make_shared<Unflatten>(1, Shape{64, h4, w4}),
        std::make_shared<ConvTranspose2d>(64, 32, 4, 2, 1, 0, true, 1, gen), std::make_shared<ReLU>(),
        std::make_shared<ConvTranspose2d>(32, img.channels, 4, 2, 1, 0, true, 1, gen)});
  }
  register_module("encoder", encoder);
  register_module("decoder", decoder);
}

Variable Autoencoder::encode(const Variable& images) { return encoder->forward(as_images(images, options.image, *this)); }

Variable Autoencoder::decode(const Variable& z) {
  check_latents(z, options.latent_dim, *this);
  return decoder->forward(z);
}

Variable Autoencoder::forward(const Variable& images) { return decode(encode(images)); }

Variable Autoencoder::loss(const Variable& images) {
  Variable x = as_images(images, options.image, *this);
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

Tensor Autoencoder::encode_images(const Tensor& images) {
  NoGradGuard no_grad;
  return encode(images).data();
}

Tensor Autoencoder::reconstruct(const Tensor& images) {
  NoGradGuard no_grad;
  return hd::sigmoid(forward(images).data());
}

std::string Autoencoder::describe() const {
  const char* loss = options.loss == ReconstructionLoss::BinaryCrossEntropy ? "bce" : "mse";
  const std::string image = options.image == ImageShape{} ? "" : ", image=" + options.image.str();
  if (options.kind == AutoencoderKind::Conv)
    return fmt::format("Autoencoder(kind=conv, latent_dim={}, loss={}{})", options.latent_dim, loss, image);
  return fmt::format("Autoencoder(kind=mlp, latent_dim={}, hidden={}, loss={}{})", options.latent_dim, options.hidden,
                     loss, image);
}

std::shared_ptr<Autoencoder> load_autoencoder(const std::string& path) {
  auto model = std::make_shared<Autoencoder>(AutoencoderOptions::from_metadata(read_model_metadata(path, "ae")));
  load_checkpoint(path, *model);  // weights only: no optimizer, no generator
  model->eval();
  return model;
}

}  // namespace hd
