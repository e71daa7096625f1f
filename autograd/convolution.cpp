// Convolution family: forward kernels from tensor/conv.h, backward rules beside them.
#include "autograd/convolution.h"

#include <fmt/format.h>

#include <stdexcept>

#include "autograd/reduction.h"
#include "autograd/shape.h"
#include "tensor/conv.h"

namespace hd {

using Grads = std::vector<Variable>;

Variable conv2d(const Variable& x, const Variable& w, const Variable& bias, int64_t stride, int64_t padding,
                int64_t dilation) {
  Tensor out = hd::conv2d(x.data(), w.data(), bias.defined() ? bias.data() : Tensor(), stride, padding, dilation);
  bool need_x = x.requires_grad(), need_w = w.requires_grad();
  std::vector<Variable> inputs{x, w};
  if (bias.defined()) inputs.push_back(bias);
  return record_op("conv2d", out, inputs, [=](const Variable& g, const Variable&) {
    Grads grads(inputs.size());
    if (need_x) grads[0] = conv2d_input(g, w, x.shape(), stride, padding, dilation);
    if (need_w) grads[1] = conv2d_weight(x, g, w.shape(), stride, padding, dilation);
    if (inputs.size() == 3) grads[2] = sum(g, {0, 2, 3});  // the bias is added at every pixel
    return grads;
  });
}

Variable conv_transpose2d(const Variable& x, const Variable& w, const Variable& bias, int64_t stride,
                          int64_t padding, int64_t output_padding, int64_t dilation) {
  Tensor out = hd::conv_transpose2d(x.data(), w.data(), bias.defined() ? bias.data() : Tensor(), stride, padding,
                                    output_padding, dilation);
  bool need_x = x.requires_grad(), need_w = w.requires_grad();
  std::vector<Variable> inputs{x, w};
  if (bias.defined()) inputs.push_back(bias);
  return record_op("conv_transpose2d", out, inputs, [=](const Variable& g, const Variable&) {
    Grads grads(inputs.size());
    // A transposed convolution is conv2d's input gradient, so its own input gradient is conv2d, and
    // its weight gradient is conv2d_weight with the roles of input and output gradient swapped.
    // With output_padding >= stride (allowed when it is below the dilation) conv2d(g) has rows and
    // columns at the bottom and right that belong to no input pixel (tensor/conv.h): the input
    // gradient drops them, and the weight gradient sees x with zeros appended there.
    const int64_t H = x.size(2), W = x.size(3);
    const int64_t H_conv = (g.size(2) + 2 * padding - dilation * (w.size(2) - 1) - 1) / stride + 1;
    const int64_t W_conv = (g.size(3) + 2 * padding - dilation * (w.size(3) - 1) - 1) / stride + 1;
    if (need_x) {
      Variable gx = conv2d(g, w, Variable(), stride, padding, dilation);
      if (H_conv > H) gx = slice(gx, 2, 0, H);
      if (W_conv > W) gx = slice(gx, 3, 0, W);
      grads[0] = gx;
    }
    if (need_w) {
      Variable x_grown = x;
      if (H_conv > H) x_grown = slice_scatter(x_grown, {x.size(0), x.size(1), H_conv, W}, 2, 0, H);
      if (W_conv > W) x_grown = slice_scatter(x_grown, {x.size(0), x.size(1), x_grown.size(2), W_conv}, 3, 0, W);
      grads[1] = conv2d_weight(g, x_grown, w.shape(), stride, padding, dilation);
    }
    if (inputs.size() == 3) grads[2] = sum(g, {0, 2, 3});
    return grads;
  });
}

Variable conv2d_weight(const Variable& x, const Variable& gy, const Shape& weight_shape, int64_t stride,
                       int64_t padding, int64_t dilation) {
  Tensor out = conv2d_weight_grad(x.data(), gy.data(), weight_shape, stride, padding, dilation);
  return record_op("conv2d_weight", out, {x, gy}, [=](const Variable& G, const Variable&) {
    // conv2d_weight is bilinear in (x, gy): <conv2d_weight(x, gy), G> = <conv2d(x, G), gy>.
    return Grads{conv2d_input(gy, G, x.shape(), stride, padding, dilation), conv2d(x, G, Variable(), stride, padding, dilation)};
  });
}

Variable conv2d_input(const Variable& gy, const Variable& w, const Shape& input_shape, int64_t stride, int64_t padding,
                      int64_t dilation) {
  Tensor out = conv2d_input_grad(gy.data(), w.data(), input_shape, stride, padding, dilation);
  return record_op("conv2d_input", out, {gy, w}, [=](const Variable& G, const Variable&) {
    // Bilinear in (gy, w): <conv2d_input(gy, w), G> = <gy, conv2d(G, w)>.
    return Grads{conv2d(G, w, Variable(), stride, padding, dilation), conv2d_weight(G, gy, w.shape(), stride, padding, dilation)};
  });
}

Variable max_pool2d(const Variable& x, int64_t kernel, int64_t stride, int64_t padding) {
  if (stride < 0) stride = kernel;  // PyTorch's default stride is the kernel size
  auto [out, indices] = hd::max_pool2d(x.data(), kernel, stride, padding);
  // An init-capture, not [indices]: clang before 16 cannot capture a structured binding (the fuzz build uses clang 14).
  return record_op("max_pool2d", out, {x},
                   [indices = indices, shape = x.shape()](const Variable& g, const Variable&, const BackwardContext& ctx) {
    if (ctx.create_graph)
      throw std::logic_error("max_pool2d: second derivatives are not implemented (use avg_pool2d or a strided conv)");
    return Grads{Variable(max_pool2d_backward(g.data(), indices, shape))};
  });
}


Variable avg_pool2d(const Variable& x, int64_t kernel, int64_t stride, int64_t padding) {
  if (stride < 0) stride = kernel;
  return record_op("avg_pool2d", hd::avg_pool2d(x.data(), kernel, stride, padding), {x},
                   [=, shape = x.shape()](const Variable& g, const Variable&) {
                     return Grads{avg_pool2d_grad(g, shape, kernel, stride, padding)};
                   });
}

Variable avg_pool2d_grad(const Variable& g, const Shape& x_shape, int64_t kernel, int64_t stride, int64_t padding) {
  return record_op("avg_pool2d_backward", avg_pool2d_backward(g.data(), x_shape, kernel, stride, padding), {g},
                   [=](const Variable& gg, const Variable&) { return Grads{avg_pool2d(gg, kernel, stride, padding)}; });
}

// Nearest upsampling copies each pixel scale^2 times; its adjoint sums each block back.
Variable upsample_nearest2d_grad(const Variable& g, int64_t scale) {
  return record_op("upsample_nearest2d_backward", upsample_nearest2d_backward(g.data(), scale), {g},
                   [scale](const Variable& gg, const Variable&) { return Grads{upsample_nearest2d(gg, scale)}; });
}

Variable upsample_nearest2d(const Variable& x, int64_t scale) {
  return record_op("upsample_nearest2d", hd::upsample_nearest2d(x.data(), scale), {x},
                   [scale](const Variable& g, const Variable&) { return Grads{upsample_nearest2d_grad(g, scale)}; });
}

}  // namespace hd
