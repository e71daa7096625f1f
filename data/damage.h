// damage.h — the damage an image-repair model learns to undo (圖像修復, image repair): holes to fill (填補), blur to
// remove (去糊), noise, tones lost (the grayscale analogue of 上色, colouring), and the edge sketch a sketch -> item
// model draws from (edges2shoes, Isola et al. 2017).
//
// Every function takes a batch x: [B, C, H, W] with pixels in [0, 1] (Fashion-MNIST's [B, 1, 28, 28]), returns a new
// tensor and never writes into x. Those that draw random numbers draw them from the Generator they are given, in a
// fixed order, so the same seed gives the same damage. Pixel values are not checked (a NaN stays a NaN).
//
// The masks are [B, 1, H, W], shared by the image's channels: 1 = the pixel is damaged (missing), 0 = kept. For
// damage that touches every pixel (blur, noise, tones, sketch) damage_by_name returns a mask of all ones.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace hd {

// A damaged batch and where it is damaged. image: [B, C, H, W]; mask: [B, 1, H, W], 1 = damaged, 0 = kept.
struct Damaged {
  Tensor image;
  Tensor mask;
};

// --- masked regions (填補, filling; inpainting) ---
// The masked pixels of every channel are set to `fill` (0 = black, Fashion-MNIST's background, by default).

// A centred rectangle whose sides are `fraction` of the image's, rounded to whole pixels (at least 1): on 28 x 28
// with fraction 0.5, rows and columns 7..20, 14 x 14 = 196 pixels. The same hole in every image; fraction in (0, 1].
Damaged mask_centre(const Tensor& x, double fraction = 0.5, float fill = 0.f);

// `count` random rectangles per image (count >= 0), each of height and width uniform in [1, max_side] (max_side >= 1,
// cut to the image's size) at a uniform position where it fits whole. Boxes may overlap.
Damaged mask_boxes(const Tensor& x, int64_t count, int64_t max_side, Generator& rng, float fill = 0.f);

// Free-form strokes, a simpler form of the training masks of free-form inpainting (Yu et al. 2019, "Free-Form Image
// Inpainting with Gated Convolution", Algorithm 1): each of the `strokes` strokes (>= 0) per image is a random walk
// from a uniform start point, of 1 to 4 segments, each in a uniform direction with a length uniform in [0.1, 0.4] of
// the image's longer side (the walk stays inside the image). A pixel (row r, column c) is masked when the point
// (c, r) lies within width / 2 of a segment: width > 0 is the line's thickness in pixels, round at the joints.
Damaged mask_strokes(const Tensor& x, int64_t strokes, double width, Generator& rng, float fill = 0.f);

// --- damage of the whole image ---

// 去糊's input: each channel convolved with the Gaussian G(i) = exp(-i^2 / (2 sigma^2)) / sum, i in [-R, R],
// R = ceil(3 sigma), along the rows and then the columns (the 2-D Gaussian is separable). Pixels beyond the border
// repeat the edge pixel (replicate padding), so a constant image stays constant. sigma in (0, 1000].
Tensor gaussian_blur(const Tensor& x, double sigma);

// x + std * N(0, 1), drawn per pixel (rng.fill_normal over the whole batch), then clamped to [0, 1]. std >= 0.
Tensor add_noise(const Tensor& x, double std, Generator& rng);

// Heavy quantisation to `levels` gray levels (levels >= 2): q = floor(x (L - 1) + 0.5) / (L - 1), x first clamped
// to [0, 1]. levels = 2 is binarisation: x >= 0.5 -> 1, else 0.
Tensor lose_tones(const Tensor& x, int64_t levels);

// The sketch of sketch -> item, drawn as edges2shoes draws its sketches: dark lines on white, 1 = background and
// 0 = edge line, the same in every channel ([B, C, H, W] like x). The edges are those of the channels' mean m:
// Sobel's gx = [-1 0 1; -2 0 2; -1 0 1] * m and gy its transpose (replicate padding), magnitude
// sqrt(gx^2 + gy^2) / 4 so that a full 0 -> 1 step scores 1 (on both pixels beside it); a pixel is on an edge when
// that magnitude is >= threshold, threshold in (0, 1]. A flat image has no edges.
Tensor sobel_edges(const Tensor& x, double threshold = 0.25);

// --- by name: what `hundun repair --damage NAME` and `hundun train repair --task ...` call ---
// name -> damage with these defaults (H, W: the image's size):
//   centre  mask_centre(x, 0.5)                      boxes   mask_boxes(x, 3, min(H, W) / 2 (>= 1), rng)
//   strokes mask_strokes(x, 4, 3.0, rng)             blur    gaussian_blur(x, 1.0)
//   noise   add_noise(x, 0.3, rng)                   tones   lose_tones(x, 2)
//   sketch  sobel_edges(x, 0.25)
// blur, noise, tones and sketch come back with a mask of all ones. Any other name throws std::invalid_argument
// naming the valid ones.
Damaged damage_by_name(const std::string& name, const Tensor& x, Generator& rng);
// The names damage_by_name knows, in the order above.
const std::vector<std::string>& damage_names();

}  // namespace hd
