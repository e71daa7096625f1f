#include "models/vae.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "autograd/activation.h"
#include "autograd/elementwise.h"
#include "autograd/shape.h"
#include "nn/checkpoint.h"
#include "tensor/elementwise.h"
#include "tensor/random.h"

namespace hd {

std::map<std::string, std::string> VaeOptions::to_metadata() const {
  std::map<std::string, std::string> m = {{"trained_by", "hundun train vae"},
                                          {"model", "vae"},
                                          {"arch", "mlp"},
                                          {"latent_dim", std::to_string(latent_dim)},
                                          {"hidden", std::to_string(hidden)}};
  add_image_shape(image, m);
  if (likelihood == Likelihood::Gaussian) {
    m["likelihood"] = "gaussian";
    m["sigma"] = fmt::format("{}", sigma);
    m["learn_sigma"] = learn_sigma ? "1" : "0";
  }
  return m;
}

VaeOptions VaeOptions::from_metadata(const Metadata& m) {
  VaeOptions o;
  m.choice("arch", {"mlp"});
  o.latent_dim = m.integer("latent_dim", 1, 4096);
  o.hidden = m.integer("hidden", 1, 16384);
  o.image = image_shape_from(m);
  m.expect_shape("fc1.weight", {o.hidden, o.image.pixels()});  // pins hidden and the image size
  m.expect_shape("fc21.weight", {o.latent_dim, o.hidden});     // pins latent_dim
  if (m.has("likelihood") && m.choice("likelihood", {"bernoulli", "gaussian"}) == "gaussian") {
    o.likelihood = Likelihood::Gaussian;
    o.sigma = static_cast<float>(m.number("sigma"));
    if (!(o.sigma > 0.f) || !std::isfinite(o.sigma))
      throw std::runtime_error(fmt::format("{}: metadata 'sigma' should be a positive finite number, got '{}'", m.path(),
                                           m.text("sigma")));
    o.learn_sigma = m.integer("learn_sigma", 0, 1) == 1;
  }
  return o;
}

VAE::VAE(VaeOptions opts, Generator& gen) : options(opts) {
  if (options.latent_dim <= 0 || options.hidden <= 0)
    throw std::invalid_argument(fmt::format("VAE: latent_dim and hidden must be positive, got {} and {}",
                                            options.latent_dim, options.hidden));
  if (options.likelihood == Likelihood::Gaussian && !(options.sigma > 0.f))
    throw std::invalid_argument(fmt::format("VAE: the Gaussian decoder's sigma must be positive, got {}", options.sigma));
  const int64_t pixels = options.image.pixels();
  // Built in pytorch/examples' order, so that after the same seed the weights are PyTorch's.
  fc1 = register_module("fc1", std::make_shared<Linear>(pixels, options.hidden, gen));
  fc21 = register_module("fc21", std::make_shared<Linear>(options.hidden, options.latent_dim, gen));
  fc22 = register_module("fc22", std::make_shared<Linear>(options.hidden, options.latent_dim, gen));
  fc3 = register_module("fc3", std::make_shared<Linear>(options.latent_dim, options.hidden, gen));
  fc4 = register_module("fc4", std::make_shared<Linear>(options.hidden, pixels, gen));
  if (options.likelihood == Likelihood::Gaussian && options.learn_sigma)
    log_sigma = register_parameter("log_sigma", Tensor::full({1}, std::log(options.sigma)));
}

VAE::Posterior VAE::encode(const Variable& images) {
  Variable x = as_images(images, options.image, *this);
  x = reshape(x, {x.size(0), options.image.pixels()});
  Variable h1 = relu((*fc1)(x));
  return {(*fc21)(h1), (*fc22)(h1)};
}

Variable VAE::reparameterize(const Variable& mu, const Variable& logvar, Generator& gen) {
  Tensor eps = randn(mu.shape(), gen);
  // z = mu + sigma * eps, eps ~ N(0, I)  (重參數化)
  Variable z = mu + exp(0.5f * logvar) * eps;
  return z;
}

Variable VAE::decode(const Variable& z) {
  check_latents(z, options.latent_dim, *this);
  Variable h3 = relu((*fc3)(z));
  return reshape((*fc4)(h3), options.image.batch(z.size(0)));
}

VAE::Output VAE::forward(const Variable& images, Generator& gen) {
  auto [mu, logvar] = encode(images);
  Variable z = reparameterize(mu, logvar, gen);
  return {decode(z), mu, logvar, z};
}

Variable VAE::forward(const Variable& images) { return decode(encode(images).mu); }

VAE::Loss VAE::loss(const Variable& images, Generator& gen, Reduction reduction) {
  if (reduction == Reduction::None)
    throw std::invalid_argument("VAE::loss: reduction must be Mean (per image) or Sum (over the batch)");
  Variable x = as_images(images, options.image, *this);
  Output out = forward(x, gen);

  // -log p(x | z), summed over every pixel of the batch
  Variable reconstruction;
  if (options.likelihood == Likelihood::Bernoulli) {
    reconstruction = binary_cross_entropy_with_logits(out.logits, x, Reduction::Sum);
  } else {
    const float half_log_2pi = 0.5f * std::log(2.f * static_cast<float>(M_PI));
    Variable squared = mse_loss(sigmoid(out.logits), x, Reduction::Sum);
    const float n = static_cast<float>(x.numel());
    if (log_sigma.defined())  // sum (x - x_hat)^2 / (2 sigma^2) + n (log sigma + log(2 pi) / 2)
      reconstruction = squared * (0.5f * exp(-2.f * log_sigma)) + n * (log_sigma + half_log_2pi);
    else
      reconstruction = squared * (0.5f / (options.sigma * options.sigma)) + n * (std::log(options.sigma) + half_log_2pi);
    reconstruction = reshape(reconstruction, {});
  }
  // KL( N(mu, e^logvar) || N(0, I) ), summed over latents and batch
  Variable kl = gaussian_kl(out.mu, out.logvar, Reduction::Sum);

  if (reduction == Reduction::Mean) {
    const float per_image = 1.f / static_cast<float>(x.size(0));
    reconstruction = reconstruction * per_image;
    kl = kl * per_image;
  }
  Variable total = options.beta == 1.f ? reconstruction + kl : reconstruction + options.beta * kl;
  return {total, reconstruction, kl};
}

Tensor VAE::decode_images(const Tensor& z) {
  NoGradGuard no_grad;
  return hd::sigmoid(decode(z).data());
}

Tensor VAE::encode_images(const Tensor& images) {
  NoGradGuard no_grad;
  return encode(images).mu.data();
}

Tensor VAE::reconstruct(const Tensor& images, Generator& gen) {
  NoGradGuard no_grad;
  return hd::sigmoid(forward(images, gen).logits.data());
}

Tensor VAE::latent_grid(int64_t per_side, float range) {
  if (options.latent_dim != 2 || per_side < 2 || !(range > 0.f))
    throw std::invalid_argument(fmt::format("VAE::latent_grid: needs latent_dim = 2, per_side >= 2 and range > 0; got "
                                            "latent_dim = {}, per_side = {}, range = {}",
                                            options.latent_dim, per_side, range));
  Tensor z({per_side * per_side, 2});
  const float step = 2.f * range / static_cast<float>(per_side - 1);
  for (int64_t row = 0; row < per_side; ++row)
    for (int64_t col = 0; col < per_side; ++col) {
      z.data()[(row * per_side + col) * 2 + 0] = -range + step * static_cast<float>(col);
      z.data()[(row * per_side + col) * 2 + 1] = range - step * static_cast<float>(row);
    }
  return decode_images(z);
}

std::string VAE::describe() const {
  std::string decoder = options.likelihood == Likelihood::Bernoulli ? "bernoulli"
                        : options.learn_sigma ? "gaussian(learned sigma)"
                                              : fmt::format("gaussian(sigma={})", options.sigma);
  const std::string image = options.image == ImageShape{} ? "" : ", image=" + options.image.str();
  return fmt::format("VAE(latent_dim={}, hidden={}, decoder={}, beta={}{})", options.latent_dim, options.hidden, decoder,
                     options.beta, image);
}

std::shared_ptr<VAE> load_vae(const std::string& path) {
  auto model = std::make_shared<VAE>(VaeOptions::from_metadata(read_model_metadata(path, "vae")));
  load_checkpoint(path, *model);  // weights only: no optimizer, no generator
  model->eval();
  return model;
}

}  // namespace hd
