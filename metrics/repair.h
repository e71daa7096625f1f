// repair.h — how well a repair model (圖像修復, image repair) restored what was damaged: the L1 distance and the
// PSNR between the repaired images and the truth, counted only inside the damaged region.
//
// repaired, truth: [B, C, H, W] with pixels in [0, 1]; mask: [B, 1, H, W] (shared by the channels) or
// [B, C, H, W], 1 = damaged (see data/damage.h). A pixel is in the region when its mask value is >= 0.5, so a mask
// read back from a PNG counts the same. With a mask of all ones (blur, noise, tones) the region is the whole image.
// The figures pool every region pixel of the batch (one mean, not a mean of per-image figures).
#pragma once

#include "tensor/tensor.h"

namespace hd {

// mean |repaired - truth| over the region's pixels (every channel). Throws std::invalid_argument naming the function
// when the shapes do not fit or the mask marks no pixel.
double l1_in_region(const Tensor& repaired, const Tensor& truth, const Tensor& mask);

// Peak signal-to-noise ratio over the region, in dB: 10 log10(1 / MSE), the peak being 1 (pixels in [0, 1]),
// MSE = mean (repaired - truth)^2 over the region's pixels. +infinity when the MSE is 0 (a perfect repair). Errors as
// l1_in_region.
double psnr_in_region(const Tensor& repaired, const Tensor& truth, const Tensor& mask);

}  // namespace hd
