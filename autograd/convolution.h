// autograd/convolution.h — differentiable convolutions, pooling and upsampling (PyTorch layouts,
// see tensor/conv.h for shapes and output sizes).
//
// The convolution ops close over each other under differentiation:
//   conv2d(x, w)            dx = conv2d_input(g, w)       dw = conv2d_weight(x, g)
//   conv_transpose2d(x, w)  dx = conv2d(g, w)             dw = conv2d_weight(g, x)
//   conv2d_weight(x, g)     dx = conv2d_input(g, G)       dg = conv2d(x, G)
//   conv2d_input(g, w)      dg = conv2d(G, w)             dw = conv2d_weight(G, g)
// (conv2d_input is conv_transpose2d with the output size given exactly), so gradients of
// gradients (a GAN's gradient penalty) need nothing more.
#pragma once

#include "autograd/variable.h"

namespace hd {

// x: [B, C_in, H, W], weight: [C_out, C_in, kH, kW], bias: [C_out] or undefined -> [B, C_out, H_out, W_out]
Variable conv2d(const Variable& x, const Variable& weight, const Variable& bias = Variable(), int64_t stride = 1,
                int64_t padding = 0, int64_t dilation = 1);
// x: [B, C_in, H, W], weight: [C_in, C_out, kH, kW] -> [B, C_out, H_out, W_out]
Variable conv_transpose2d(const Variable& x, const Variable& weight, const Variable& bias = Variable(),
                          int64_t stride = 1, int64_t padding = 0, int64_t output_padding = 0, int64_t dilation = 1);
// The weight gradient of conv2d as an op of its own: x: [B, C_in, H, W], gy: [B, C_out, H_out, W_out]
// -> weight_shape [C_out, C_in, kH, kW].
Variable conv2d_weight(const Variable& x, const Variable& gy, const Shape& weight_shape, int64_t stride = 1,
                       int64_t padding = 0, int64_t dilation = 1);
// The input gradient of conv2d as an op of its own: gy: [B, C_out, H_out, W_out],
// weight: [C_out, C_in, kH, kW] -> input_shape [B, C_in, H, W].
Variable conv2d_input(const Variable& gy, const Variable& weight, const Shape& input_shape, int64_t stride = 1,
                      int64_t padding = 0, int64_t dilation = 1);

// x: [B, C, H, W] -> [B, C, H_out, W_out]. max_pool2d's backward is first-order only.
Variable max_pool2d(const Variable& x, int64_t kernel, int64_t stride = -1, int64_t padding = 0);
Variable avg_pool2d(const Variable& x, int64_t kernel, int64_t stride = -1, int64_t padding = 0);
// [B, C, H, W] -> [B, C, H*scale, W*scale], each pixel repeated.
Variable upsample_nearest2d(const Variable& x, int64_t scale);

// The backward kernels of avg_pool2d and upsample_nearest2d as differentiable ops (each is the
// other's adjoint, so their rules call each other).
Variable avg_pool2d_grad(const Variable& g, const Shape& x_shape, int64_t kernel, int64_t stride, int64_t padding = 0);
Variable upsample_nearest2d_grad(const Variable& g, int64_t scale);

}  // namespace hd
