// damage.cpp — the image damage of damage.h: holes, Gaussian blur, noise, lost tones and Sobel sketches, each a
// plain loop over [B, C, H, W] pixels.
#include "data/damage.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace hd {

namespace {

// The sizes of a batch of images [B, C, H, W].
struct ImageSizes {
  int64_t batch, channels, height, width;
  int64_t plane() const { return height * width; }
};

// Throws "<op>: expected images [B, C, H, W] with C, H, W >= 1, got <shape>" unless x is such a batch.
ImageSizes check_images(const Tensor& x, const char* op) {
  if (!x.defined() || x.dim() != 4 || x.size(1) < 1 || x.size(2) < 1 || x.size(3) < 1)
    throw std::invalid_argument(fmt::format("{}: expected images [B, C, H, W] with C, H, W >= 1, got {}", op,
                                            x.defined() ? shape_str(x.shape()) : "an undefined tensor"));
  return {x.size(0), x.size(1), x.size(2), x.size(3)};
}

// A mask [B, 1, H, W] of all zeros (nothing damaged yet).
Tensor empty_mask(const ImageSizes& s) { return Tensor::zeros({s.batch, 1, s.height, s.width}); }

// The image with every pixel where mask = 1 set to fill, in every channel.
Damaged apply_mask(const Tensor& x, const ImageSizes& s, Tensor mask, float fill) {
  Tensor image = x.clone();
  const float* m = mask.data();
  float* out = image.data();
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t c = 0; c < s.channels; ++c)
      for (int64_t p = 0; p < s.plane(); ++p)
        if (m[b * s.plane() + p] != 0.f) out[(b * s.channels + c) * s.plane() + p] = fill;
  return {image, mask};
}

void check_fill(float fill, const char* op) {
  if (!std::isfinite(fill)) throw std::invalid_argument(fmt::format("{}: fill must be finite, got {}", op, fill));
}

// One integer uniform in [lo, hi] (both included), from the generator's stream.
int64_t uniform_int(Generator& rng, int64_t lo, int64_t hi) {
  int64_t v = 0;
  rng.fill_randint(&v, 1, lo, hi + 1);
  return v;
}

// One number uniform in [lo, hi).
double uniform_real(Generator& rng, double lo, double hi) {
  float v = 0.f;
  rng.fill_uniform(&v, 1, 0.f, 1.f);
  return lo + (hi - lo) * v;
}

// Marks in plane [H, W] every pixel (r, c) whose point (c, r) lies within `radius` of the segment from (x0, y0) to
// (x1, y1): the distance to the nearest point x0 + t (x1 - x0), t clamped to [0, 1]. Only the segment's bounding box,
// grown by the radius, is visited.
void draw_segment(float* plane, int64_t height, int64_t width, double x0, double y0, double x1, double y1,
                  double radius) {
  const int64_t r_lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(std::min(y0, y1) - radius)));
  const int64_t r_hi = std::min<int64_t>(height - 1, static_cast<int64_t>(std::ceil(std::max(y0, y1) + radius)));
  const int64_t c_lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(std::min(x0, x1) - radius)));
  const int64_t c_hi = std::min<int64_t>(width - 1, static_cast<int64_t>(std::ceil(std::max(x0, x1) + radius)));
  const double dx = x1 - x0, dy = y1 - y0, length_sq = dx * dx + dy * dy;
  for (int64_t r = r_lo; r <= r_hi; ++r)
    for (int64_t c = c_lo; c <= c_hi; ++c) {
      const double t = length_sq > 0 ? std::clamp(((c - x0) * dx + (r - y0) * dy) / length_sq, 0.0, 1.0) : 0.0;
      const double ex = c - (x0 + t * dx), ey = r - (y0 + t * dy);
      if (ex * ex + ey * ey <= radius * radius) plane[r * width + c] = 1.f;
    }
}

// The normalised Gaussian taps G(-R..R), R = ceil(3 sigma).
std::vector<double> gaussian_kernel(double sigma) {
  const int64_t radius = static_cast<int64_t>(std::ceil(3 * sigma));
  std::vector<double> taps(2 * radius + 1);
  double total = 0;
  for (int64_t i = -radius; i <= radius; ++i) total += taps[i + radius] = std::exp(-(i * i) / (2 * sigma * sigma));
  for (double& t : taps) t /= total;
  return taps;
}

// Whole-image damage: every pixel of every image is damaged.
Damaged whole_image(const Tensor& image) {
  return {image, Tensor::ones({image.size(0), 1, image.size(2), image.size(3)})};
}

}  // namespace

Damaged mask_centre(const Tensor& x, double fraction, float fill) {
  const char* op = "mask_centre";
  const ImageSizes s = check_images(x, op);
  if (!(fraction > 0 && fraction <= 1))
    throw std::invalid_argument(fmt::format("{}: fraction must be in (0, 1], got {}", op, fraction));
  check_fill(fill, op);
  const int64_t rows = std::clamp<int64_t>(std::llround(fraction * s.height), 1, s.height);
  const int64_t cols = std::clamp<int64_t>(std::llround(fraction * s.width), 1, s.width);
  const int64_t top = (s.height - rows) / 2, left = (s.width - cols) / 2;
  Tensor mask = empty_mask(s);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t r = top; r < top + rows; ++r)
      for (int64_t c = left; c < left + cols; ++c) mask.data()[b * s.plane() + r * s.width + c] = 1.f;
  return apply_mask(x, s, mask, fill);
}

Damaged mask_boxes(const Tensor& x, int64_t count, int64_t max_side, Generator& rng, float fill) {
  const char* op = "mask_boxes";
  const ImageSizes s = check_images(x, op);
  if (count < 0) throw std::invalid_argument(fmt::format("{}: count must be >= 0, got {}", op, count));
  if (max_side < 1) throw std::invalid_argument(fmt::format("{}: max_side must be >= 1, got {}", op, max_side));
  check_fill(fill, op);
  Tensor mask = empty_mask(s);
  for (int64_t b = 0; b < s.batch; ++b) {
    float* plane = mask.data() + b * s.plane();
    for (int64_t k = 0; k < count; ++k) {
      const int64_t rows = uniform_int(rng, 1, std::min(max_side, s.height));
      const int64_t cols = uniform_int(rng, 1, std::min(max_side, s.width));
      const int64_t top = uniform_int(rng, 0, s.height - rows), left = uniform_int(rng, 0, s.width - cols);
      for (int64_t r = top; r < top + rows; ++r)
        for (int64_t c = left; c < left + cols; ++c) plane[r * s.width + c] = 1.f;
    }
  }
  return apply_mask(x, s, mask, fill);
}

Damaged mask_strokes(const Tensor& x, int64_t strokes, double width, Generator& rng, float fill) {
  const char* op = "mask_strokes";
  const ImageSizes s = check_images(x, op);
  if (strokes < 0) throw std::invalid_argument(fmt::format("{}: strokes must be >= 0, got {}", op, strokes));
  if (!(width > 0) || !std::isfinite(width))
    throw std::invalid_argument(fmt::format("{}: width must be a finite number > 0, got {}", op, width));
  check_fill(fill, op);
  const double longer_side = static_cast<double>(std::max(s.height, s.width));
  Tensor mask = empty_mask(s);
  for (int64_t b = 0; b < s.batch; ++b) {
    float* plane = mask.data() + b * s.plane();
    for (int64_t k = 0; k < strokes; ++k) {
      // Algorithm 1 of Yu et al.: a start point, then segments in random directions; the walk stays inside.
      double px = uniform_real(rng, 0, static_cast<double>(s.width - 1));
      double py = uniform_real(rng, 0, static_cast<double>(s.height - 1));
      const int64_t segments = uniform_int(rng, 1, 4);
      for (int64_t j = 0; j < segments; ++j) {
        const double angle = uniform_real(rng, 0, 2 * std::numbers::pi);
        const double length = uniform_real(rng, 0.1, 0.4) * longer_side;
        const double qx = std::clamp(px + length * std::cos(angle), 0.0, static_cast<double>(s.width - 1));
        const double qy = std::clamp(py + length * std::sin(angle), 0.0, static_cast<double>(s.height - 1));
        draw_segment(plane, s.height, s.width, px, py, qx, qy, width / 2);
        px = qx;
        py = qy;
      }
    }
  }
  return apply_mask(x, s, mask, fill);
}

Tensor gaussian_blur(const Tensor& x, double sigma) {
  const char* op = "gaussian_blur";
  const ImageSizes s = check_images(x, op);
  if (!(sigma > 0 && sigma <= 1000))
    throw std::invalid_argument(fmt::format("{}: sigma must be in (0, 1000], got {}", op, sigma));
  const std::vector<double> taps = gaussian_kernel(sigma);
  const int64_t radius = static_cast<int64_t>(taps.size() / 2);
  Tensor out(x.shape());
  std::vector<double> rows_done(s.plane());  // one plane blurred along its rows
  for (int64_t p = 0; p < s.batch * s.channels; ++p) {
    const float* in = x.data() + p * s.plane();
    float* o = out.data() + p * s.plane();
    for (int64_t r = 0; r < s.height; ++r)
      for (int64_t c = 0; c < s.width; ++c) {
        double sum = 0;
        for (int64_t i = -radius; i <= radius; ++i)
          sum += taps[i + radius] * in[r * s.width + std::clamp<int64_t>(c + i, 0, s.width - 1)];
        rows_done[r * s.width + c] = sum;
      }
    for (int64_t r = 0; r < s.height; ++r)
      for (int64_t c = 0; c < s.width; ++c) {
        double sum = 0;
        for (int64_t i = -radius; i <= radius; ++i)
          sum += taps[i + radius] * rows_done[std::clamp<int64_t>(r + i, 0, s.height - 1) * s.width + c];
        o[r * s.width + c] = static_cast<float>(sum);
      }
  }
  return out;
}

Tensor add_noise(const Tensor& x, double std, Generator& rng) {
  const char* op = "add_noise";
  check_images(x, op);
  if (!(std >= 0) || !std::isfinite(std))
    throw std::invalid_argument(fmt::format("{}: std must be a finite number >= 0, got {}", op, std));
  Tensor out(x.shape());
  rng.fill_normal(out.data(), out.numel(), 0.0, std);
  const float* in = x.data();
  float* o = out.data();
  for (int64_t i = 0; i < out.numel(); ++i) o[i] = std::clamp(in[i] + o[i], 0.f, 1.f);
  return out;
}

Tensor lose_tones(const Tensor& x, int64_t levels) {
  const char* op = "lose_tones";
  check_images(x, op);
  if (levels < 2 || levels > 65536)
    throw std::invalid_argument(fmt::format("{}: levels must be in [2, 65536], got {}", op, levels));
  const double steps = static_cast<double>(levels - 1);
  Tensor out(x.shape());
  const float* in = x.data();
  float* o = out.data();
  for (int64_t i = 0; i < out.numel(); ++i)
    o[i] = static_cast<float>(std::floor(std::clamp(static_cast<double>(in[i]), 0.0, 1.0) * steps + 0.5) / steps);
  return out;
}

Tensor sobel_edges(const Tensor& x, double threshold) {
  const char* op = "sobel_edges";
  const ImageSizes s = check_images(x, op);
  if (!(threshold > 0 && threshold <= 1))
    throw std::invalid_argument(fmt::format("{}: threshold must be in (0, 1], got {}", op, threshold));
  Tensor out(x.shape());
  std::vector<double> mean(s.plane());
  for (int64_t b = 0; b < s.batch; ++b) {
    std::fill(mean.begin(), mean.end(), 0.0);
    for (int64_t c = 0; c < s.channels; ++c)
      for (int64_t p = 0; p < s.plane(); ++p)
        mean[p] += x.data()[(b * s.channels + c) * s.plane() + p] / static_cast<double>(s.channels);
    // m(r, c) with the border repeated.
    auto m = [&](int64_t r, int64_t c) {
      return mean[std::clamp<int64_t>(r, 0, s.height - 1) * s.width + std::clamp<int64_t>(c, 0, s.width - 1)];
    };
    for (int64_t r = 0; r < s.height; ++r)
      for (int64_t c = 0; c < s.width; ++c) {
        const double gx = (m(r - 1, c + 1) + 2 * m(r, c + 1) + m(r + 1, c + 1)) -
                          (m(r - 1, c - 1) + 2 * m(r, c - 1) + m(r + 1, c - 1));
        const double gy = (m(r + 1, c - 1) + 2 * m(r + 1, c) + m(r + 1, c + 1)) -
                          (m(r - 1, c - 1) + 2 * m(r - 1, c) + m(r - 1, c + 1));
        const float value = std::sqrt(gx * gx + gy * gy) / 4 >= threshold ? 0.f : 1.f;  // dark line on white
        for (int64_t ch = 0; ch < s.channels; ++ch)
          out.data()[(b * s.channels + ch) * s.plane() + r * s.width + c] = value;
      }
  }
  return out;
}

const std::vector<std::string>& damage_names() {
  static const std::vector<std::string> names = {"centre", "boxes", "strokes", "blur", "noise", "tones", "sketch"};
  return names;
}

Damaged damage_by_name(const std::string& name, const Tensor& x, Generator& rng) {
  const ImageSizes s = check_images(x, "damage_by_name");
  if (name == "centre") return mask_centre(x, 0.5);
  if (name == "boxes") return mask_boxes(x, 3, std::max<int64_t>(1, std::min(s.height, s.width) / 2), rng);
  if (name == "strokes") return mask_strokes(x, 4, 3.0, rng);
  if (name == "blur") return whole_image(gaussian_blur(x, 1.0));
  if (name == "noise") return whole_image(add_noise(x, 0.3, rng));
  if (name == "tones") return whole_image(lose_tones(x, 2));
  if (name == "sketch") return whole_image(sobel_edges(x, 0.25));
  std::string valid;
  for (const std::string& n : damage_names()) valid += (valid.empty() ? "" : "|") + n;
  throw std::invalid_argument(fmt::format("damage_by_name: unknown damage '{}', expected one of {}", name, valid));
}

}  // namespace hd
