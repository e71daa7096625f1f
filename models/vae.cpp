#include "models/vae.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "autograd/activation.h"
#include "autograd/elementwise.h"
#include "autograd/shape.h"
#include "models/autoencoder.h"
#include "tensor/elementwise.h"
#include "tensor/random.h"

namespace hd {

constexpr int64_t kPixels = 28 * 28;

VAE::VAE(VaeOptions opts, Generator& gen) : options(opts) {
  if (options.latent_dim <= 0 || options.hidden <= 0)
    throw std::invalid_argument(fmt::format("VAE: latent_dim and hidden must be positive, got {} and {}",
                                            options.latent_dim, options.hidden));
  if (options.likelihood == Likelihood::Gaussian && !(options.sigma > 0.f))
    throw std::invalid_argument(fmt::format("VAE: the Gaussian decoder's sigma must be positive, got {}", options.sigma));
  // Built in pytorch/examples' order, so that after the same seed the weights are PyTorch's.
  fc1 = register_module("fc1", std::make_shared<Linear>(kPixels, options.hidden, gen));
  fc21 = register_module("fc21", std::make_shared<Linear>(options.hidden, options.latent_dim, gen));
  fc22 = register_module("fc22", std::make_shared<Linear>(options.hidden, options.latent_dim, gen));
  fc3 = register_module("fc3", std::make_shared<Linear>(options.latent_dim, options.hidden, gen));
  fc4 = register_module("fc4", std::make_shared<Linear>(options.hidden, kPixels, gen));
  if (options.likelihood == Likelihood::Gaussian && options.learn_sigma)
    log_sigma = register_parameter("log_sigma", Tensor::full({1}, std::log(options.sigma)));
}

VAE::Posterior VAE::encode(const Variable& images) {
  Variable x = as_images(images, *this);
  x = reshape(x, {x.size(0), kPixels});
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
  return reshape((*fc4)(h3), {z.size(0), 1, 28, 28});
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
  Variable x = as_images(images, *this);
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

Tensor VAE::sample_prior(int64_t n, Generator& gen) {
  if (n <= 0) throw std::invalid_argument(fmt::format("VAE::sample_prior: n must be positive, got {}", n));
  return decode_images(randn({n, options.latent_dim}, gen));
}

Tensor VAE::reconstruct(const Tensor& images, Generator& gen) {
  NoGradGuard no_grad;
  return hd::sigmoid(forward(images, gen).logits.data());
}

Tensor VAE::interpolate(const Tensor& x_a, const Tensor& x_b, int64_t steps) {
  if (x_a.numel() != kPixels || x_b.numel() != kPixels || steps < 2)
    throw std::invalid_argument(fmt::format("VAE::interpolate: expected one 28 x 28 image each and steps >= 2, got {}, {} "
                                            "and steps = {}",
                                            shape_str(x_a.shape()), shape_str(x_b.shape()), steps));
  NoGradGuard no_grad;
  Tensor mu_a = encode(x_a.reshape({1, kPixels})).mu.data(), mu_b = encode(x_b.reshape({1, kPixels})).mu.data();
  Tensor z({steps, options.latent_dim});
  for (int64_t i = 0; i < steps; ++i) {
    const float t = static_cast<float>(i) / static_cast<float>(steps - 1);
    for (int64_t j = 0; j < options.latent_dim; ++j)
      z.data()[i * options.latent_dim + j] = (1.f - t) * mu_a.data()[j] + t * mu_b.data()[j];
  }
  return decode_images(z);
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
  return fmt::format("VAE(latent_dim={}, hidden={}, decoder={}, beta={})", options.latent_dim, options.hidden, decoder,
                     options.beta);
}

}  // namespace hd
