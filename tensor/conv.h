// conv.h — 2-D convolution, transposed convolution, pooling and upsampling kernels.
//
// Layouts are PyTorch's: images x: [B, C, H, W]; conv2d weight: [C_out, C_in, kH, kW];
// conv_transpose2d weight: [C_in, C_out, kH, kW]. Square stride/padding/dilation.
// Output size of a convolution along one axis:
//   H_out = floor((H + 2*padding - dilation*(kH - 1) - 1) / stride) + 1
// The convolutions run on the GEMM (gemm.h) after unfolding patches (im2col).
//
// Each forward has the kernels its gradients need beside it. They close over each
// other: the input gradient of conv2d is a transposed convolution, and the input
// gradient of a transposed convolution is a convolution.
#pragma once

#include <utility>

#include "tensor/tensor.h"

namespace hd {

// x: [B, C_in, H, W], w: [C_out, C_in, kH, kW], bias: [C_out] or undefined -> [B, C_out, H_out, W_out]
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride = 1, int64_t padding = 0,
              int64_t dilation = 1);
// d(loss)/dx of conv2d: gy: [B, C_out, H_out, W_out], w: [C_out, C_in, kH, kW] -> x_shape [B, C_in, H, W]
Tensor conv2d_input_grad(const Tensor& gy, const Tensor& w, const Shape& x_shape, int64_t stride = 1,
                         int64_t padding = 0, int64_t dilation = 1);
// d(loss)/dw of conv2d: x: [B, C_in, H, W], gy: [B, C_out, H_out, W_out] -> w_shape [C_out, C_in, kH, kW]
Tensor conv2d_weight_grad(const Tensor& x, const Tensor& gy, const Shape& w_shape, int64_t stride = 1,
                          int64_t padding = 0, int64_t dilation = 1);

// x: [B, C_in, H, W], w: [C_in, C_out, kH, kW], bias: [C_out] or undefined -> [B, C_out, H_out, W_out]
//   H_out = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1
// output_padding must be smaller than stride or dilation (PyTorch's rule). Its gradients are conv2d kernels:
//   dL/dx = conv2d(gy, w, {}, stride, padding, dilation)
//   dL/dw = conv2d_weight_grad(gy, x, w.shape(), stride, padding, dilation)
// When output_padding >= stride, conv2d(gy, ...) comes out larger than x: dL/dx is its top-left H x W
// corner, and dL/dw takes x with zeros appended at the bottom and right up to that larger size.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride = 1,
                        int64_t padding = 0, int64_t output_padding = 0, int64_t dilation = 1);

// The same two convolutions written as plain nested loops (double accumulation, no im2col, no GEMM),
// for the tests to compare the fast versions against. Same arguments, checks and results.
Tensor conv2d_reference(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride = 1,
                        int64_t padding = 0, int64_t dilation = 1);
Tensor conv_transpose2d_reference(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride = 1,
                                  int64_t padding = 0, int64_t output_padding = 0, int64_t dilation = 1);

// Max over kernel x kernel windows: x: [B, C, H, W] -> {values [B, C, H_out, W_out], indices}
// where indices hold, as floats, the flat position h*W + w of each maximum inside its (b, c) plane
// (padding counts as -infinity, as in PyTorch).
std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding = 0);
// Routes gy back to the positions in `indices`: -> x_shape.
Tensor max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape);
// Kernel 2, stride 2, padding 0 (non-overlapping 2x2 windows) takes a branch-free path in both; these are
// the general window loops behind everything else, with the same results, for the tests to compare against.
std::pair<Tensor, Tensor> max_pool2d_general(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding = 0);
Tensor max_pool2d_backward_general(const Tensor& gy, const Tensor& indices, const Shape& x_shape);
// Mean over windows, padding counted as zeros in the mean (PyTorch's count_include_pad=True).
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding = 0);
Tensor avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, int64_t kernel, int64_t stride,
                           int64_t padding = 0);
// Each pixel repeated scale x scale times: [B, C, H, W] -> [B, C, H*scale, W*scale].
Tensor upsample_nearest2d(const Tensor& x, int64_t scale);
// Its gradient: sums each scale x scale block -> [B, C, H, W].
Tensor upsample_nearest2d_backward(const Tensor& gy, int64_t scale);

}  // namespace hd
