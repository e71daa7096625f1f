#include "models/generative_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace hd {

Tensor GenerativeModel::sample_class(int64_t, int64_t, Generator&) {
  throw std::invalid_argument(describe() + " is not class-conditional: it cannot be asked for a class");
}

Tensor LatentVariableModel::sample(int64_t n, Generator& gen) {
  if (n <= 0) throw std::invalid_argument(fmt::format("{}: sample needs n >= 1 images, got {}", describe(), n));
  return decode_images(randn({n, latent_dim()}, gen));
}

Tensor lerp_latents(const Tensor& z_a, const Tensor& z_b, int64_t steps) {
  if (steps < 2 || z_a.numel() != z_b.numel() || z_a.numel() == 0)
    throw std::invalid_argument(fmt::format("lerp_latents: expected two codes of one size and steps >= 2, got {}, {} "
                                            "and steps = {}",
                                            shape_str(z_a.shape()), shape_str(z_b.shape()), steps));
  const int64_t d = z_a.numel();
  const Tensor& a = z_a, &b = z_b;
  Tensor z({steps, d});
  for (int64_t i = 0; i < steps; ++i) {
    const float t = static_cast<float>(i) / static_cast<float>(steps - 1);
    for (int64_t j = 0; j < d; ++j) z.data()[i * d + j] = (1.f - t) * a.data()[j] + t * b.data()[j];
  }
  return z;
}

Tensor slerp_latents(const Tensor& z_a, const Tensor& z_b, int64_t steps) {
  Tensor z = lerp_latents(z_a, z_b, steps);  // checks the arguments; kept where the angle is too small for slerp
  const int64_t d = z_a.numel();
  double ab = 0, aa = 0, bb = 0;
  for (int64_t j = 0; j < d; ++j) {
    ab += static_cast<double>(z_a.data()[j]) * z_b.data()[j];
    aa += static_cast<double>(z_a.data()[j]) * z_a.data()[j];
    bb += static_cast<double>(z_b.data()[j]) * z_b.data()[j];
  }
  const double omega = std::acos(std::clamp(ab / std::sqrt(aa * bb + 1e-30), -1.0, 1.0));  // the angle between them
  if (std::sin(omega) < 1e-6) return z;
  for (int64_t i = 0; i < steps; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(steps - 1);
    const double wa = std::sin((1 - t) * omega) / std::sin(omega), wb = std::sin(t * omega) / std::sin(omega);
    for (int64_t j = 0; j < d; ++j)
      z.data()[i * d + j] = static_cast<float>(wa * z_a.data()[j] + wb * z_b.data()[j]);
  }
  return z;
}

Tensor interpolate_images(EncoderDecoderModel& model, const Tensor& a, const Tensor& b, int64_t steps) {
  const ImageShape shape = model.image_shape();
  if (a.numel() != shape.pixels() || b.numel() != shape.pixels() || steps < 2)
    throw std::invalid_argument(fmt::format("{}: interpolate expects one {} image each and steps >= 2, got {}, {} and "
                                            "steps = {}",
                                            model.describe(), shape.str(), shape_str(a.shape()), shape_str(b.shape()),
                                            steps));
  const Tensor z_a = model.encode_images(a.reshape(shape.batch(1))), z_b = model.encode_images(b.reshape(shape.batch(1)));
  return model.decode_images(lerp_latents(z_a, z_b, steps));
}

}  // namespace hd
