// diversity.h — how different a set of images is from itself: the mean distance between two of them. A
// generator that collapsed onto a few images (mode collapse, 模式崩潰) has a small one; real data a large one.
#pragma once

#include "tensor/tensor.h"

namespace hd {

// images [N, ...] (N >= 2) -> the mean Euclidean distance ||x_i - x_j|| over the N (N - 1) / 2 pairs i < j, the
// images flattened. Through ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b: one matrix product for all pairs.
double mean_pairwise_distance(const Tensor& images);

}  // namespace hd
