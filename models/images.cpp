#include "models/images.h"

#include <fmt/format.h>

#include <stdexcept>

#include "autograd/shape.h"

namespace hd {

std::string ImageShape::str() const { return fmt::format("{}x{}x{}", channels, height, width); }

void add_image_shape(const ImageShape& shape, std::map<std::string, std::string>& metadata) {
  metadata["image_shape"] = fmt::format("{},{},{}", shape.channels, shape.height, shape.width);
}

ImageShape image_shape_from(const Metadata& metadata) {
  ImageShape shape;
  if (!metadata.has("image_shape")) return shape;
  const std::vector<int64_t> v = metadata.integers("image_shape");
  if (v.size() != 3)
    throw std::runtime_error(fmt::format("{}: metadata 'image_shape' should be C,H,W, got '{}'", metadata.path(),
                                         metadata.text("image_shape")));
  shape = {v[0], v[1], v[2]};
  if (shape.channels < 1 || shape.channels > 4 || shape.height < 1 || shape.height > 1024 || shape.width < 1 ||
      shape.width > 1024)
    throw std::runtime_error(fmt::format("{}: metadata 'image_shape' {} is outside 1..4 channels and 1..1024 pixels "
                                         "a side",
                                         metadata.path(), shape.str()));
  return shape;
}

Variable as_images(const Variable& x, const ImageShape& shape, const Module& model) {
  const Shape& s = x.shape();
  const int64_t c = shape.channels, h = shape.height, w = shape.width;
  bool ok = (s.size() == 4 && s[1] == c && s[2] == h && s[3] == w) ||
            (s.size() == 3 && c == 1 && s[1] == h && s[2] == w) || (s.size() == 2 && s[1] == shape.pixels());
  if (!ok || s[0] == 0)
    throw std::invalid_argument(fmt::format("{}: expected images [B, {}, {}, {}] or [B, {}] with B >= 1, got {}",
                                            model.describe(), c, h, w, shape.pixels(), shape_str(s)));
  return reshape(x, shape.batch(s[0]));
}

void check_latents(const Variable& z, int64_t latent_dim, const Module& model) {
  if (z.dim() != 2 || z.size(1) != latent_dim || z.size(0) == 0)
    throw std::invalid_argument(
        fmt::format("{}: expected latents [B, {}] with B >= 1, got {}", model.describe(), latent_dim, shape_str(z.shape())));
}

}  // namespace hd
