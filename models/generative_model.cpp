#include "models/generative_model.h"

#include <fmt/format.h>

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
