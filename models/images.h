// images.h — the shape of the images a model makes or judges, and the checks every image model shares.
//
// Every model family takes an ImageShape in its options, (C, H, W) = (1, 28, 28) by default: Fashion-MNIST's
// grayscale 28 x 28. Batches of images are [B, C, H, W] with pixels in [0, 1].
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "autograd/variable.h"
#include "nn/metadata.h"
#include "nn/module.h"

namespace hd {

struct ImageShape {
  int64_t channels = 1, height = 28, width = 28;

  int64_t pixels() const { return channels * height * width; }  // C * H * W
  Shape batch(int64_t b) const { return {b, channels, height, width}; }
  std::string str() const;  // "1x28x28"
  bool operator==(const ImageShape&) const = default;
};

// The checkpoint metadata entry "image_shape" = "C,H,W"; a checkpoint without it holds 1x28x28 images (every
// checkpoint written before image shapes were options). Sizes are bounded (C <= 4, H, W <= 1024) so that a
// damaged file can never make a model allocate more than a sane amount.
void add_image_shape(const ImageShape& shape, std::map<std::string, std::string>& metadata);
ImageShape image_shape_from(const Metadata& metadata);

// Accepts images as [B, C, H, W], [B, H, W] (C = 1) or [B, C*H*W] and returns them as [B, C, H, W] (a view).
// Throws std::invalid_argument "<model.describe()>: expected images [B, 1, 28, 28] or [B, 784], got <shape>".
Variable as_images(const Variable& x, const ImageShape& shape, const Module& model);
// Checks z: [B, latent_dim]; throws "<model.describe()>: expected latents [B, <latent_dim>], got <shape>".
void check_latents(const Variable& z, int64_t latent_dim, const Module& model);

}  // namespace hd
