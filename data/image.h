// image.h — tensors to PNG pictures and back: a grid of samples, as torchvision.utils.make_grid /
// save_image do it.
//
// A picture here is a tensor [C, H, W] with C = 1 (grey) or 3 (RGB), values in a range [lo, hi] that
// maps linearly onto the bytes 0..255 (lo = 0, hi = 1 by default; a tanh generator would use -1, 1).
// Values outside the range are clamped and NaN is drawn as 0 (black), so a diverged model still
// gives a picture. PNG encoding and decoding come from Debian's compiled stb library (libstb, -lstb).
#pragma once

#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace hd {

struct GridOptions {
  int64_t nrow = 8;         // images per row of the grid
  int64_t padding = 2;      // pixels between images and around the border
  float pad_value = 1.f;    // colour of the padding, in the images' units ([0, 1] after normalising)
  bool normalize = false;   // rescale by min/max to [0, 1] (then lo and hi are ignored)
  bool scale_each = false;  // with normalize: each image by its own min/max
  float lo = 0.f;           // when not normalising: the value range drawn as 0..255
  float hi = 1.f;
  int64_t upscale = 1;  // nearest-neighbour zoom of each image, e.g. 3 so 28x28 digits are visible
};

// images: [N, C, H, W] with C = 1 or 3 -> [C, rows * (H*upscale + padding) + padding,
//                                          cols * (W*upscale + padding) + padding],
// cols = min(nrow, N), rows = ceil(N / cols); images fill the grid row by row.
Tensor make_grid(const Tensor& images, const GridOptions& options = {});

// image: [C, H, W] (C = 1 or 3) or [H, W]; values in [lo, hi]. Creates missing parent folders and
// writes through a temporary file renamed over `path`, so a reader never sees half a picture.
void save_png(const Tensor& image, const std::string& path, float lo = 0.f, float hi = 1.f);

// make_grid, then save_png with the grid's range ([0, 1] when normalising, else [lo, hi]).
void save_image_grid(const Tensor& images, const std::string& path, const GridOptions& options = {});

// -> [C, H, W] in [0, 1]: C = 1 for grey files, 3 for colour files (an alpha channel is dropped).
// The size is read from the header and checked against the limits before anything is decoded.
Tensor load_png(const std::string& path, int64_t max_width = 4096, int64_t max_height = 4096);

// Any PNG or JPEG file (told apart by their first bytes, not the name) -> [C, H, W] in [0, 1], channels as
// load_png. An image of more than `max_pixels` (width * height) is refused from its header, before anything is
// decoded, and so is anything but a regular file (a FIFO, a device, a folder). Before stb reads the file, the checks
// Debian's stb 2.27 lacks (image.cpp): every PNG chunk within the file, every JPEG Huffman table of at most 256 codes
// and defined before a scan uses it. Every problem is a std::runtime_error "read_image_file: '<path>': <what is
// wrong>".
Tensor read_image_file(const std::string& path, int64_t max_pixels);

}  // namespace hd
