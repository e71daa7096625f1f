// conv.cpp — convolution as a matrix product, plus pooling and upsampling.
//
// im2col ("image to columns") turns a convolution into one GEMM. A convolution slides a
// C_in x kH x kW kernel over the image; at each of the H_out x W_out output positions it takes
// the dot product of the kernel with the patch under it. im2col copies every patch into a column
// of a matrix `cols`, so that all the dot products become one matrix product:
//
//        image x: [C_in, H, W]                      cols: [C_in*kH*kW, H_out*W_out]
//                                                     one column per output position (oh, ow),
//     +---+---+---+---+                               one row per kernel tap (c, i, j):
//     | a | b | c | d |   3x3 kernel, stride 1,
//     +---+---+---+---+   padding 0 -> 2x2 outputs          (0,0) (0,1) (1,0) (1,1)
//     | e | f | g | h |                            (c,0,0)   a     b     e     f
//     +---+---+---+---+   patch at (0,0): a b c    (c,0,1)   b     c     f     g
//     | i | j | k | l |                   e f g    (c,0,2)   c     d     g     h
//     +---+---+---+---+                   i j k    (c,1,0)   e     f     i     j
//     | m | n | o | p |                            ...      ...   ...   ...   ...
//     +---+---+---+---+                            (c,2,2)   k     l     o     p
//
//   cols[(c*kH + i)*kW + j][oh*W_out + ow] = x[c][oh*stride - padding + i*dilation]
//                                               [ow*stride - padding + j*dilation]   (0 outside the image)
//
// A weight w: [C_out, C_in, kH, kW] is already a [C_out, C_in*kH*kW] matrix with its rows in the same
// (c, i, j) order, so for one image
//     y = w @ cols                      [C_out, K] @ [K, H_out*W_out],   K = C_in*kH*kW
// and the two gradients are the same product turned around:
//     d cols = w^T @ gy                 then col2im adds each column back onto the pixels it came from
//     d w   += gy @ cols^T              summed over the images of the batch
// col2im is the adjoint of im2col: a pixel that sits in several patches (overlapping windows) receives
// the sum of all its copies' gradients. A transposed convolution is exactly "w^T @ x, then col2im",
// which is why conv_transpose2d reuses conv2d's input gradient.
//
// Speed (2 cores here). Images go through the GEMM in small groups whose columns sit side by side in
// one [K, group*H_out*W_out] matrix: one wide product runs faster than many narrow ones (see
// images_per_group). The groups are shared out among the OpenMP threads; each thread owns its column
// buffer and calls the GEMM, whose own parallel region is then nested and runs on that one thread. With
// a single group (one image, say) the loop runs serially and the GEMM uses all the threads instead.
#include "tensor/conv.h"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "tensor/gemm.h"
#include "tensor/parallel.h"

namespace hd {

// ---------------------------------------------------------------------------------------------
// Argument checks
// ---------------------------------------------------------------------------------------------

static void check_defined_4d(const Tensor& t, const char* op, const char* what, const char* layout) {
  if (!t.defined()) throw std::invalid_argument(fmt::format("{}: {} is undefined", op, what));
  if (t.dim() != 4)
    throw std::invalid_argument(
        fmt::format("{}: {} must be 4-D {}, got {}", op, what, layout, shape_str(t.shape())));
}

static void check_4d_shape(const Shape& shape, const char* op, const char* what, const char* layout) {
  if (shape.size() != 4)
    throw std::invalid_argument(fmt::format("{}: {} must be 4-D {}, got {}", op, what, layout, shape_str(shape)));
  for (int64_t d : shape)
    if (d < 0) throw std::invalid_argument(fmt::format("{}: negative size in {} {}", op, what, shape_str(shape)));
}

// Channels and spatial sizes must be non-empty; an empty batch (B = 0) is allowed, as in PyTorch.
static void check_nonempty_image(const Shape& x, const char* op, const char* what) {
  if (x[1] == 0 || x[2] == 0 || x[3] == 0)
    throw std::invalid_argument(
        fmt::format("{}: {} {} has an empty channel or spatial dimension", op, what, shape_str(x)));
}

static void check_kernel_shape(const Shape& w, const char* op) {
  if (w[0] < 1 || w[1] < 1 || w[2] < 1 || w[3] < 1)
    throw std::invalid_argument(fmt::format("{}: weight {} must have no empty dimension", op, shape_str(w)));
}

static void check_conv_args(const char* op, int64_t stride, int64_t padding, int64_t dilation) {
  if (stride < 1) throw std::invalid_argument(fmt::format("{}: stride must be >= 1, got {}", op, stride));
  if (padding < 0) throw std::invalid_argument(fmt::format("{}: padding must be >= 0, got {}", op, padding));
  if (dilation < 1) throw std::invalid_argument(fmt::format("{}: dilation must be >= 1, got {}", op, dilation));
}

// bias: [C_out] or undefined.
static void check_bias(const Tensor& bias, int64_t c_out, const Shape& w, const char* op) {
  if (bias.defined() && bias.shape() != Shape{c_out})
    throw std::invalid_argument(fmt::format("{}: bias must have shape [{}] (one value per output channel of "
                                            "weight {}), got {}",
                                            op, c_out, shape_str(w), shape_str(bias.shape())));
}

// ---------------------------------------------------------------------------------------------
// Geometry, im2col and col2im
// ---------------------------------------------------------------------------------------------

// The sizes of one convolution, seen from one image: input [C_in, H, W] -> output [C_out, H_out, W_out].
struct ConvGeometry {
  int64_t C_in, H, W;
  int64_t C_out, kH, kW;
  int64_t H_out, W_out;
  int64_t stride, padding, dilation;

  int64_t col_rows() const { return C_in * kH * kW; }  // K: one row per kernel tap (c, i, j)
  int64_t col_cols() const { return H_out * W_out; }   // N: one column per output position
  // Scratch floats for the zero-bordered copy of one image (see padded_canvas).
  int64_t canvas_size() const { return padding > 0 ? C_in * (H + 2 * padding) * (W + 2 * padding) : 0; }
  // A 1x1 kernel with stride 1 and no padding reads each pixel once in place: cols would equal x.
  bool is_pointwise() const {
    return kH == 1 && kW == 1 && stride == 1 && padding == 0 && H_out == H && W_out == W;
  }
};

// H_out = floor((H + 2*padding - dilation*(k - 1) - 1) / stride) + 1, after checking that the dilated
// kernel fits inside the padded input. x: [B, C_in, H, W], w: [C_out, C_in, kH, kW].
static ConvGeometry conv2d_geometry(const Shape& x, const Shape& w, int64_t stride, int64_t padding,
                                   int64_t dilation, const char* op) {
  check_conv_args(op, stride, padding, dilation);
  check_nonempty_image(x, op, "input");
  check_kernel_shape(w, op);
  if (x[1] != w[1])
    throw std::invalid_argument(fmt::format("{}: input has {} channels but weight {} expects {}", op, x[1],
                                            shape_str(w), w[1]));
  // Checked: stride, padding and dilation come from the caller, and a huge one must not wrap around.
  auto mul = [&](int64_t a, int64_t b, const char* what) { return checked_size_mul(a, b, op, what); };
  auto add = [&](int64_t a, int64_t b, const char* what) { return checked_size_add(a, b, op, what); };
  int64_t span_h = add(mul(dilation, w[2] - 1, "dilation * (kH - 1)"), 1, "the kernel's dilated height");
  int64_t span_w = add(mul(dilation, w[3] - 1, "dilation * (kW - 1)"), 1, "the kernel's dilated width");
  int64_t padded_h = add(x[2], mul(2, padding, "2 * padding"), "the padded height");
  int64_t padded_w = add(x[3], mul(2, padding, "2 * padding"), "the padded width");
  check_shape({x[0], x[1], padded_h, padded_w}, op);
  if (span_h > padded_h || span_w > padded_w)
    throw std::invalid_argument(fmt::format(
        "{}: kernel {}x{} (spanning {}x{} with dilation {}) is larger than the padded input {}x{} "
        "(input {}, padding {})",
        op, w[2], w[3], span_h, span_w, dilation, padded_h, padded_w, shape_str(x), padding));
  int64_t h_out = (padded_h - span_h) / stride + 1, w_out = (padded_w - span_w) / stride + 1;
  check_shape({x[0], w[0], h_out, w_out}, op);
  // The im2col buffer: [C_in*kH*kW, H_out*W_out] for one image.
  check_shape({w[1] * w[2] * w[3], h_out, w_out}, op);
  return ConvGeometry{x[1], x[2], x[3], w[0], w[2], w[3], h_out, w_out, stride, padding, dilation};
}

// Padding is handled once per image, not once per kernel tap: im2col first copies the image into a
// "canvas" with a border of `padding` zeros, [C_in, H + 2*padding, W + 2*padding], where every tap of
// every window is a real address. A pixel at (h, w) of the image sits at (h + padding, w + padding) on
// the canvas. Without padding the image is its own canvas.
static const float* padded_canvas(const float* x, const ConvGeometry& g, float* canvas) {
  if (g.padding == 0) return x;
  const int64_t Hp = g.H + 2 * g.padding, Wp = g.W + 2 * g.padding;
  std::fill(canvas, canvas + g.C_in * Hp * Wp, 0.f);
  for (int64_t c = 0; c < g.C_in; ++c)
    for (int64_t h = 0; h < g.H; ++h)
      std::copy_n(x + (c * g.H + h) * g.W, g.W, canvas + (c * Hp + h + g.padding) * Wp + g.padding);
  return canvas;
}

// One stretch of an im2col row: out[o] = canvas_row[o * stride] for o in [0, n).
static void gather_row(const float* canvas_row, int64_t stride, int64_t n, float* out) {
  if (stride == 1) {
    std::copy_n(canvas_row, n, out);
    return;
  }
  for (int64_t o = 0; o < n; ++o) out[o] = canvas_row[o * stride];
}

// Its adjoint, for col2im: canvas_row[o * stride] += in[o] for o in [0, n).
// Kept out of line on purpose: inlined into col2im's loop nest, GCC 12 runs short of registers there and
// the whole input gradient gets about 10% slower.
[[gnu::noinline]] static void scatter_add_row(const float* in, int64_t n, float* canvas_row, int64_t stride) {
  for (int64_t o = 0; o < n; ++o) canvas_row[o * stride] += in[o];
}

// x: [C_in, H, W] (one image) -> cols: [C_in*kH*kW, H_out*W_out], rows `ld` floats apart (ld > H_out*W_out
// when several images' columns sit side by side). canvas: scratch for padded_canvas.
// Row (c, i, j) of cols holds, for every output position (oh, ow), the pixel that kernel tap (i, j) of
// channel c sees there: x[c][oh*stride - padding + i*dilation][ow*stride - padding + j*dilation], or 0
// where that falls into the padding. On the canvas that is [oh*stride + i*dilation][ow*stride + j*dilation]:
// for each oh, W_out values `stride` apart.
static void im2col(const float* x, const ConvGeometry& g, float* canvas, float* cols, int64_t ld) {
  const float* src = padded_canvas(x, g, canvas);
  const int64_t Hp = g.H + 2 * g.padding, Wp = g.W + 2 * g.padding;
  for (int64_t c = 0; c < g.C_in; ++c)
    for (int64_t i = 0; i < g.kH; ++i)
      for (int64_t j = 0; j < g.kW; ++j) {
        const float* tap = src + (c * Hp + i * g.dilation) * Wp + j * g.dilation;  // window (0, 0)'s pixel
        float* row = cols + ((c * g.kH + i) * g.kW + j) * ld;
        for (int64_t oh = 0; oh < g.H_out; ++oh)
          gather_row(tap + oh * g.stride * Wp, g.stride, g.W_out, row + oh * g.W_out);
      }
}

// The adjoint of im2col: cols: [C_in*kH*kW, H_out*W_out] (rows ld apart) -> x: [C_in, H, W] (overwritten).
// Every entry of cols is added back onto the canvas pixel im2col copied it from; overlapping windows
// make several entries land on the same pixel, hence +=. Entries that landed on the zero border came
// from the padding: they are dropped when the inside of the canvas is copied out to x.
static void col2im(const float* cols, int64_t ld, const ConvGeometry& g, float* canvas, float* x) {
  const int64_t Hp = g.H + 2 * g.padding, Wp = g.W + 2 * g.padding;
  float* dst = g.padding > 0 ? canvas : x;
  std::fill(dst, dst + g.C_in * Hp * Wp, 0.f);
  for (int64_t c = 0; c < g.C_in; ++c)
    for (int64_t i = 0; i < g.kH; ++i)
      for (int64_t j = 0; j < g.kW; ++j) {
        float* tap = dst + (c * Hp + i * g.dilation) * Wp + j * g.dilation;
        const float* row = cols + ((c * g.kH + i) * g.kW + j) * ld;
        for (int64_t oh = 0; oh < g.H_out; ++oh)
          scatter_add_row(row + oh * g.W_out, g.W_out, tap + oh * g.stride * Wp, g.stride);
      }
  if (g.padding == 0) return;
  for (int64_t c = 0; c < g.C_in; ++c)
    for (int64_t h = 0; h < g.H; ++h)
      std::copy_n(canvas + (c * Hp + h + g.padding) * Wp + g.padding, g.W, x + (c * g.H + h) * g.W);
}

// Pooling and upsampling: split the planes across threads when the kernel touches this many values or
// more. Waking the thread team costs microseconds (far more when another process holds the other core).
static bool worth_threads(int64_t values_touched) { return values_touched >= (int64_t{1} << 16); }

// Images go through the GEMM in small groups: the columns of a group's images sit side by side in one
// [K, group*N] matrix, so one product serves them all. A wider product runs faster (the weight is packed
// once per group, and more columns fill whole register tiles): groups aim at 512 columns, e.g. 11 images
// of 7x7 outputs, but one image of 28x28. The columns stay within 1 MB (the L2 cache of a Zen 4 core).
// A pointwise conv needs no columns and goes one image at a time.
static int64_t images_per_group(const ConvGeometry& g) {
  if (g.is_pointwise()) return 1;
  const int64_t wanted_columns = 512, max_floats = 256 * 1024;
  int64_t wanted = (wanted_columns + g.col_cols() - 1) / g.col_cols();
  return std::max<int64_t>(1, std::min(wanted, max_floats / (g.col_rows() * g.col_cols())));
}

// Groups are shared out among threads when there are enough of them to go round and the job has about a
// million flops or more (below that, waking the threads costs more than it saves).
static bool split_batch(int64_t B, int64_t group, const ConvGeometry& g) {
  int64_t groups = (B + group - 1) / group;
  return groups > 1 && groups >= omp_get_max_threads() &&
         2.0 * B * g.C_out * g.col_rows() * g.col_cols() >= 1e6;
}

// The columns of images [first, first + n): cols [K, n*N]. A pointwise conv of one image reads x itself.
static const float* group_columns(const float* x_first, int64_t n, const ConvGeometry& g, float* canvas,
                                  float* cols) {
  if (g.is_pointwise() && n == 1) return x_first;
  const int64_t N = g.col_cols();
  for (int64_t j = 0; j < n; ++j) im2col(x_first + j * g.C_in * g.H * g.W, g, canvas, cols + j * N, n * N);
  return cols;
}

// n images [n, C, N] -> one matrix [C, n*N] with the images side by side (the GEMM's layout). One image
// is already in that layout and is returned as is.
static const float* images_side_by_side(const float* images, int64_t n, int64_t C, int64_t N, float* buffer) {
  if (n == 1) return images;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t c = 0; c < C; ++c) std::copy_n(images + (j * C + c) * N, N, buffer + c * n * N + j * N);
  return buffer;
}

// The way back: [C, n*N] -> [n, C, N].
static void side_by_side_to_images(const float* matrix, int64_t n, int64_t C, int64_t N, float* images) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t c = 0; c < C; ++c) std::copy_n(matrix + c * n * N + j * N, N, images + (j * C + c) * N);
}

// y: [B, C, H, W] += bias[c] on every pixel of channel c.
static void add_bias(float* y, const Tensor& bias, int64_t B, int64_t C, int64_t HW) {
  if (!bias.defined()) return;
  const float* b = bias.data();
  for (int64_t n = 0; n < B; ++n)
    for (int64_t c = 0; c < C; ++c) {
      float* plane = y + (n * C + c) * HW;
      for (int64_t p = 0; p < HW; ++p) plane[p] += b[c];
    }
}

// ---------------------------------------------------------------------------------------------
// conv2d and its gradients
// ---------------------------------------------------------------------------------------------

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride, int64_t padding,
              int64_t dilation) {
  check_defined_4d(x, "conv2d", "input", "[B, C_in, H, W]");
  check_defined_4d(w, "conv2d", "weight", "[C_out, C_in, kH, kW]");
  ConvGeometry g = conv2d_geometry(x.shape(), w.shape(), stride, padding, dilation, "conv2d");
  check_bias(bias, g.C_out, w.shape(), "conv2d");
  const int64_t B = x.size(0), K = g.col_rows(), N = g.col_cols(), group = images_per_group(g);
  Tensor y({B, g.C_out, g.H_out, g.W_out});
  const float* xp = x.data();
  const float* wp = w.data();
  float* yp = y.data();

#pragma omp parallel if (split_batch(B, group, g))
  {
    std::vector<float> cols(g.is_pointwise() ? 0 : K * group * N), canvas(g.canvas_size());
    std::vector<float> out(group > 1 ? g.C_out * group * N : 0);
    // Dynamic scheduling: when another process slows one core down, the other thread takes more groups.
#pragma omp for schedule(dynamic)
    for (int64_t first = 0; first < B; first += group) {
      const int64_t n = std::min(group, B - first);
      const float* cols_g = group_columns(xp + first * g.C_in * g.H * g.W, n, g, canvas.data(), cols.data());
      float* y_first = yp + first * g.C_out * N;
      // y [C_out, n*N] = w [C_out, K] @ cols [K, n*N]
      sgemm(false, false, g.C_out, n * N, K, 1.f, wp, K, cols_g, n * N, 0.f, n == 1 ? y_first : out.data(), n * N);
      if (n > 1) side_by_side_to_images(out.data(), n, g.C_out, N, y_first);
      add_bias(y_first, bias, n, g.C_out, N);
    }
  }
  return y;
}

// dx_b = col2im(w^T @ gy_b) for every image b. gy: [B, C_out, H_out, W_out], w: [C_out, C_in*kH*kW]
// -> dx: [B, C_in, H, W] (overwritten). The geometry's H_out x W_out is gy's size.
static void conv2d_input_grad_into(const float* gy, const float* w, const ConvGeometry& g, int64_t B,
                                   float* dx) {
  const int64_t K = g.col_rows(), N = g.col_cols(), image = g.C_in * g.H * g.W, group = images_per_group(g);
#pragma omp parallel if (split_batch(B, group, g))
  {
    std::vector<float> cols(g.is_pointwise() ? 0 : K * group * N), canvas(g.canvas_size());
    std::vector<float> gy_buf(group > 1 ? g.C_out * group * N : 0);
#pragma omp for schedule(dynamic)
    for (int64_t first = 0; first < B; first += group) {
      const int64_t n = std::min(group, B - first);
      const float* gy_g = images_side_by_side(gy + first * g.C_out * N, n, g.C_out, N, gy_buf.data());
      float* dx_first = dx + first * image;
      if (g.is_pointwise()) {
        // dx_b [C_in, H*W] = w^T [C_in, C_out] @ gy_b [C_out, H*W]
        sgemm(true, false, K, N, g.C_out, 1.f, w, K, gy_g, N, 0.f, dx_first, N);
        continue;
      }
      // d cols [K, n*N] = w^T [K, C_out] @ gy [C_out, n*N]
      sgemm(true, false, K, n * N, g.C_out, 1.f, w, K, gy_g, n * N, 0.f, cols.data(), n * N);
      for (int64_t j = 0; j < n; ++j) col2im(cols.data() + j * N, n * N, g, canvas.data(), dx_first + j * image);
    }
  }
}

Tensor conv2d_input_grad(const Tensor& gy, const Tensor& w, const Shape& x_shape, int64_t stride,
                         int64_t padding, int64_t dilation) {
  const char* op = "conv2d_input_grad";
  check_defined_4d(gy, op, "gy", "[B, C_out, H_out, W_out]");
  check_defined_4d(w, op, "weight", "[C_out, C_in, kH, kW]");
  check_4d_shape(x_shape, op, "x_shape", "[B, C_in, H, W]");
  ConvGeometry g = conv2d_geometry(x_shape, w.shape(), stride, padding, dilation, op);
  Shape expected{x_shape[0], g.C_out, g.H_out, g.W_out};
  if (gy.shape() != expected)
    throw std::invalid_argument(fmt::format("{}: gy must have shape {} (the conv2d output for input {} and "
                                            "weight {}), got {}",
                                            op, shape_str(expected), shape_str(x_shape), shape_str(w.shape()),
                                            shape_str(gy.shape())));
  Tensor dx(x_shape);
  conv2d_input_grad_into(gy.data(), w.data(), g, x_shape[0], dx.data());
  return dx;
}

Tensor conv2d_weight_grad(const Tensor& x, const Tensor& gy, const Shape& w_shape, int64_t stride,
                          int64_t padding, int64_t dilation) {
  const char* op = "conv2d_weight_grad";
  check_defined_4d(x, op, "input", "[B, C_in, H, W]");
  check_defined_4d(gy, op, "gy", "[B, C_out, H_out, W_out]");
  check_4d_shape(w_shape, op, "w_shape", "[C_out, C_in, kH, kW]");
  ConvGeometry g = conv2d_geometry(x.shape(), w_shape, stride, padding, dilation, op);
  Shape expected{x.size(0), g.C_out, g.H_out, g.W_out};
  if (gy.shape() != expected)
    throw std::invalid_argument(fmt::format("{}: gy must have shape {} (the conv2d output for input {} and "
                                            "weight {}), got {}",
                                            op, shape_str(expected), shape_str(x.shape()), shape_str(w_shape),
                                            shape_str(gy.shape())));
  const int64_t B = x.size(0), K = g.col_rows(), N = g.col_cols(), group = images_per_group(g);
  const int64_t w_size = g.C_out * K, groups = (B + group - 1) / group;
  const float* xp = x.data();
  const float* gyp = gy.data();

  // The batch is cut into a fixed number of slices, each summed into its own partial gradient, and the
  // partials are added in order at the end: the result does not depend on the thread count.
  // A partial is dw [C_out, K], or its transpose dw^T = cols @ gy^T when K < C_out (a first layer with
  // one input channel has K = 9): the GEMM is fastest when its output is wide.
  const bool transposed = K < g.C_out;
  const int64_t slices = std::min<int64_t>(groups, 8);
  std::vector<float> partial(slices * w_size, 0.f);
#pragma omp parallel if (split_batch(B, group, g))
  {
    std::vector<float> cols(g.is_pointwise() ? 0 : K * group * N), canvas(g.canvas_size());
    std::vector<float> gy_buf(group > 1 ? g.C_out * group * N : 0);
#pragma omp for schedule(dynamic)
    for (int64_t s = 0; s < slices; ++s)
      for (int64_t grp = groups * s / slices; grp < groups * (s + 1) / slices; ++grp) {
        const int64_t first = grp * group, n = std::min(group, B - first), ld = n * N;
        const float* cols_g = group_columns(xp + first * g.C_in * g.H * g.W, n, g, canvas.data(), cols.data());
        const float* gy_g = images_side_by_side(gyp + first * g.C_out * N, n, g.C_out, N, gy_buf.data());
        float* dw_s = partial.data() + s * w_size;
        if (transposed) {
          // dw^T [K, C_out] += cols [K, n*N] @ gy^T [n*N, C_out]
          sgemm(false, true, K, g.C_out, ld, 1.f, cols_g, ld, gy_g, ld, 1.f, dw_s, g.C_out);
        } else {
          // dw [C_out, K] += gy [C_out, n*N] @ cols^T [n*N, K]
          sgemm(false, true, g.C_out, K, ld, 1.f, gy_g, ld, cols_g, ld, 1.f, dw_s, K);
        }
      }
  }
  Tensor dw = Tensor::zeros(w_shape);
  float* dwp = dw.data();
  for (int64_t s = 0; s < slices; ++s)
    for (int64_t co = 0; co < g.C_out; ++co)
      for (int64_t k = 0; k < K; ++k)
        dwp[co * K + k] += partial[s * w_size + (transposed ? k * g.C_out + co : co * K + k)];
  return dw;
}

// ---------------------------------------------------------------------------------------------
// conv_transpose2d
// ---------------------------------------------------------------------------------------------

// Output size of a transposed convolution along one axis:
//   H_out = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1.
// Viewed from the other side it is a conv2d from [C_out, H_out, W_out] down to [C_in, H, W] whose
// weight is w itself ([C_in, C_out, kH, kW] read as conv2d's [C_out', C_in', kH, kW]).
static ConvGeometry conv_transpose2d_geometry(const Shape& x, const Shape& w, int64_t stride, int64_t padding,
                                             int64_t output_padding, int64_t dilation, const char* op) {
  check_conv_args(op, stride, padding, dilation);
  check_nonempty_image(x, op, "input");
  check_kernel_shape(w, op);
  if (x[1] != w[0])
    throw std::invalid_argument(fmt::format("{}: input has {} channels but weight {} expects {}", op, x[1],
                                            shape_str(w), w[0]));
  // PyTorch's rule: output_padding only picks among output sizes that map to the same input size.
  if (output_padding < 0 || (output_padding >= stride && output_padding >= dilation))
    throw std::invalid_argument(fmt::format(
        "{}: output_padding must be >= 0 and smaller than either stride or dilation, got output_padding {} "
        "with stride {} and dilation {}",
        op, output_padding, stride, dilation));
  // Checked: stride, padding and dilation come from the caller, and a huge one must not wrap around.
  auto mul = [&](int64_t a, int64_t b, const char* what) { return checked_size_mul(a, b, op, what); };
  auto add = [&](int64_t a, int64_t b, const char* what) { return checked_size_add(a, b, op, what); };
  int64_t grow_h = add(add(mul(x[2] - 1, stride, "(H - 1) * stride"), mul(dilation, w[2] - 1, "dilation * (kH - 1)"),
                           "the output height before padding"), output_padding + 1, "the output height before padding");
  int64_t grow_w = add(add(mul(x[3] - 1, stride, "(W - 1) * stride"), mul(dilation, w[3] - 1, "dilation * (kW - 1)"),
                           "the output width before padding"), output_padding + 1, "the output width before padding");
  int64_t pad2 = mul(2, padding, "2 * padding");
  int64_t h_out = grow_h - pad2, w_out = grow_w - pad2;
  if (h_out < 1 || w_out < 1)
    throw std::invalid_argument(
        fmt::format("{}: output would be {}x{} for input {}, weight {}, stride {}, padding {}, dilation {}, "
                    "output_padding {}; expected a positive size (padding too large?)",
                    op, h_out, w_out, shape_str(x), shape_str(w), stride, padding, dilation, output_padding));
  check_shape({x[0], w[1], h_out, w_out}, op);
  check_shape({w[0] * w[2] * w[3], x[2], x[3]}, op);  // the col buffer, [C_in*kH*kW, H*W] per image
  return ConvGeometry{w[1], h_out, w_out, w[0], w[2], w[3], x[2], x[3], stride, padding, dilation};
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride, int64_t padding,
                        int64_t output_padding, int64_t dilation) {
  const char* op = "conv_transpose2d";
  check_defined_4d(x, op, "input", "[B, C_in, H, W]");
  check_defined_4d(w, op, "weight", "[C_in, C_out, kH, kW]");
  ConvGeometry g = conv_transpose2d_geometry(x.shape(), w.shape(), stride, padding, output_padding, dilation, op);
  check_bias(bias, g.C_in, w.shape(), op);
  const int64_t B = x.size(0);
  // g.C_in is the transposed convolution's output channel count (the "input" of the conv2d it mirrors).
  Tensor y({B, g.C_in, g.H, g.W});
  conv2d_input_grad_into(x.data(), w.data(), g, B, y.data());
  add_bias(y.data(), bias, B, g.C_in, g.H * g.W);
  return y;
}

// ---------------------------------------------------------------------------------------------
// Reference versions: the definitions, as nested loops
// ---------------------------------------------------------------------------------------------

// y[b, co, oh, ow] = bias[co] + sum_{ci, i, j} x[b, ci, oh*s - p + i*d, ow*s - p + j*d] * w[co, ci, i, j]
Tensor conv2d_reference(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride, int64_t padding,
                        int64_t dilation) {
  check_defined_4d(x, "conv2d", "input", "[B, C_in, H, W]");
  check_defined_4d(w, "conv2d", "weight", "[C_out, C_in, kH, kW]");
  ConvGeometry g = conv2d_geometry(x.shape(), w.shape(), stride, padding, dilation, "conv2d");
  check_bias(bias, g.C_out, w.shape(), "conv2d");
  const int64_t B = x.size(0);
  Tensor y({B, g.C_out, g.H_out, g.W_out});
  const float* xp = x.data();
  const float* wp = w.data();
  float* yp = y.data();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t co = 0; co < g.C_out; ++co)
      for (int64_t oh = 0; oh < g.H_out; ++oh)
        for (int64_t ow = 0; ow < g.W_out; ++ow) {
          double sum = bias.defined() ? bias.data()[co] : 0.0;
          for (int64_t ci = 0; ci < g.C_in; ++ci)
            for (int64_t i = 0; i < g.kH; ++i)
              for (int64_t j = 0; j < g.kW; ++j) {
                int64_t ih = oh * stride - padding + i * dilation;
                int64_t iw = ow * stride - padding + j * dilation;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                sum += static_cast<double>(xp[((b * g.C_in + ci) * g.H + ih) * g.W + iw]) *
                       wp[((co * g.C_in + ci) * g.kH + i) * g.kW + j];
              }
          yp[((b * g.C_out + co) * g.H_out + oh) * g.W_out + ow] = static_cast<float>(sum);
        }
  return y;
}

// Every input pixel x[b, ci, ih, iw] stamps its kernel w[ci, :, :, :] onto the output:
//   y[b, co, ih*s - p + i*d, iw*s - p + j*d] += x[b, ci, ih, iw] * w[ci, co, i, j]
Tensor conv_transpose2d_reference(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t stride,
                                  int64_t padding, int64_t output_padding, int64_t dilation) {
  const char* op = "conv_transpose2d";
  check_defined_4d(x, op, "input", "[B, C_in, H, W]");
  check_defined_4d(w, op, "weight", "[C_in, C_out, kH, kW]");
  ConvGeometry g = conv_transpose2d_geometry(x.shape(), w.shape(), stride, padding, output_padding, dilation, op);
  check_bias(bias, g.C_in, w.shape(), op);
  // Named from the transposed convolution's side: [B, C_in, H, W] -> [B, C_out, H_out, W_out].
  const int64_t B = x.size(0), C_in = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t C_out = g.C_in, H_out = g.H, W_out = g.W;
  std::vector<double> sum(B * C_out * H_out * W_out, 0.0);
  const float* xp = x.data();
  const float* wp = w.data();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t ci = 0; ci < C_in; ++ci)
      for (int64_t ih = 0; ih < H; ++ih)
        for (int64_t iw = 0; iw < W; ++iw) {
          double v = xp[((b * C_in + ci) * H + ih) * W + iw];
          for (int64_t co = 0; co < C_out; ++co)
            for (int64_t i = 0; i < g.kH; ++i)
              for (int64_t j = 0; j < g.kW; ++j) {
                int64_t oh = ih * stride - padding + i * dilation;
                int64_t ow = iw * stride - padding + j * dilation;
                if (oh < 0 || oh >= H_out || ow < 0 || ow >= W_out) continue;
                sum[((b * C_out + co) * H_out + oh) * W_out + ow] += v * wp[((ci * C_out + co) * g.kH + i) * g.kW + j];
              }
        }
  Tensor y({B, C_out, H_out, W_out});
  for (int64_t k = 0; k < y.numel(); ++k) {
    int64_t co = (k / (H_out * W_out)) % C_out;
    y.data()[k] = static_cast<float>(sum[k] + (bias.defined() ? bias.data()[co] : 0.0));
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// Pooling
// ---------------------------------------------------------------------------------------------

// Output size of a pooling window: H_out = floor((H + 2*padding - kernel) / stride) + 1 (PyTorch's
// ceil_mode=False). PyTorch also requires padding <= kernel / 2, so every window holds a real pixel.
static std::pair<int64_t, int64_t> pool_out_size(const Shape& x, int64_t kernel, int64_t stride, int64_t padding,
                                                 const char* op) {
  // kernel <= 2^60 keeps x + 2*padding (padding <= kernel / 2) far from overflowing.
  if (kernel < 1 || kernel > kMaxNumel)
    throw std::invalid_argument(fmt::format("{}: kernel size must be between 1 and 2^60, got {}", op, kernel));
  if (stride < 1) throw std::invalid_argument(fmt::format("{}: stride must be >= 1, got {}", op, stride));
  if (padding < 0 || padding > kernel / 2)
    throw std::invalid_argument(fmt::format(
        "{}: padding must be between 0 and half the kernel size ({}), got {}", op, kernel / 2, padding));
  check_nonempty_image(x, op, "input");
  if (x[2] + 2 * padding < kernel || x[3] + 2 * padding < kernel)
    throw std::invalid_argument(fmt::format("{}: kernel {}x{} is larger than the padded input {}x{} (input {}, "
                                            "padding {})",
                                            op, kernel, kernel, x[2] + 2 * padding, x[3] + 2 * padding,
                                            shape_str(x), padding));
  return {(x[2] + 2 * padding - kernel) / stride + 1, (x[3] + 2 * padding - kernel) / stride + 1};
}

// The general window loop over one plane: any kernel, stride and padding.
static void max_pool2d_general_plane(const float* plane, int64_t H, int64_t W, int64_t kernel, int64_t stride,
                                     int64_t padding, int64_t H_out, int64_t W_out, float* y, float* at) {
  for (int64_t oh = 0; oh < H_out; ++oh)
    for (int64_t ow = 0; ow < W_out; ++ow) {
      // The window clipped to the image: the padding is -infinity and never wins.
      int64_t h0 = oh * stride - padding, w0 = ow * stride - padding;
      int64_t h1 = std::min(h0 + kernel, H), w1 = std::min(w0 + kernel, W);
      h0 = std::max<int64_t>(h0, 0);
      w0 = std::max<int64_t>(w0, 0);
      float best = -std::numeric_limits<float>::infinity();
      int64_t best_at = h0 * W + w0;
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) {
          float v = plane[h * W + w];
          // First maximum wins ties; a NaN wins everything (both as in PyTorch).
          if (v > best || std::isnan(v)) {
            best = v;
            best_at = h * W + w;
          }
        }
      y[oh * W_out + ow] = best;
      at[oh * W_out + ow] = static_cast<float>(best_at);
    }
}

// The classifier's window, kernel 2, stride 2, no padding: the windows tile the image, and output (oh, ow)
// reads the pairs top[2ow], top[2ow + 1] and bottom[2ow], bottom[2ow + 1] of rows 2oh and 2oh + 1.
//
// Outputs are computed kLanes at a time: a loop with a fixed count of kLanes vectorises whole, with no
// scalar remainder (a remainder written in plain C++ turns the selects below into branches, which the
// random ties and NaNs of real data mispredict). A row of W_out outputs is covered by chunks starting at
// 0, kLanes, 2 kLanes, ... and a last one ending exactly at W_out, which may overlap the one before: its
// outputs are simply computed and written twice, with the same values.

// Calls chunk(start) for starts covering [0, n) with blocks of `lanes` (n >= lanes), the last block
// ending at n.
template <class Chunk>
static void cover_with_chunks(int64_t n, int64_t lanes, Chunk chunk) {
  for (int64_t start = 0;; start += lanes) {
    start = std::min(start, n - lanes);
    chunk(start);
    if (start + lanes >= n) return;
  }
}

// kLanes outputs of one output row, from ow = 0 of the given pointers. The four pixels of a window are
// taken in the general loop's order with its rule (a later pixel replaces the best so far when it is
// larger or NaN), written as selects so the loop vectorises. `first` is the flat index of the first
// window's top-left pixel in its plane; W the plane's width.
template <int kLanes>
static void max_pool2d_2x2_lanes(const float* top, const float* bottom, int64_t W, int64_t first, float* y,
                                 float* at) {
#pragma omp simd
  for (int ow = 0; ow < kLanes; ++ow) {
    const int64_t corner = first + 2 * ow;
    float best = top[2 * ow];  // beats the initial -infinity, or equals it
    int64_t best_at = corner;
    float v = top[2 * ow + 1];
    bool take = v > best || std::isnan(v);
    best = take ? v : best;
    best_at = take ? corner + 1 : best_at;
    v = bottom[2 * ow];
    take = v > best || std::isnan(v);
    best = take ? v : best;
    best_at = take ? corner + W : best_at;
    v = bottom[2 * ow + 1];
    take = v > best || std::isnan(v);
    best = take ? v : best;
    best_at = take ? corner + W + 1 : best_at;
    y[ow] = best;
    at[ow] = static_cast<float>(best_at);
  }
}

// One plane: x [H, W] -> y, at [H_out, W_out].
static void max_pool2d_2x2_plane(const float* plane, int64_t W, int64_t H_out, int64_t W_out, float* y, float* at) {
  for (int64_t oh = 0; oh < H_out; ++oh) {
    const float* top = plane + 2 * oh * W;
    const float* bottom = top + W;
    float* y_row = y + oh * W_out;
    float* at_row = at + oh * W_out;
    // Outputs [ow, ow + lanes) of this row.
    auto chunk8 = [&](int64_t ow) {
      max_pool2d_2x2_lanes<8>(top + 2 * ow, bottom + 2 * ow, W, 2 * oh * W + 2 * ow, y_row + ow, at_row + ow);
    };
    auto chunk4 = [&](int64_t ow) {
      max_pool2d_2x2_lanes<4>(top + 2 * ow, bottom + 2 * ow, W, 2 * oh * W + 2 * ow, y_row + ow, at_row + ow);
    };
    auto chunk1 = [&](int64_t ow) {
      max_pool2d_2x2_lanes<1>(top + 2 * ow, bottom + 2 * ow, W, 2 * oh * W + 2 * ow, y_row + ow, at_row + ow);
    };
    if (W_out >= 8) cover_with_chunks(W_out, 8, chunk8);
    else if (W_out >= 4) cover_with_chunks(W_out, 4, chunk4);
    else cover_with_chunks(W_out, 1, chunk1);
  }
}

// Both entry points: the 2x2 path where it applies (and `fast` allows it), the general loop otherwise.
static std::pair<Tensor, Tensor> max_pool2d_planes(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding,
                                                   bool fast) {
  check_defined_4d(x, "max_pool2d", "input", "[B, C, H, W]");
  // Named sizes, not a structured binding: clang before 16 cannot use those inside an OpenMP region.
  const std::pair<int64_t, int64_t> out_size = pool_out_size(x.shape(), kernel, stride, padding, "max_pool2d");
  const int64_t H_out = out_size.first, W_out = out_size.second;
  const int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
  Tensor y({x.size(0), x.size(1), H_out, W_out});
  Tensor indices({x.size(0), x.size(1), H_out, W_out});
  const float* xp = x.data();
  float* yp = y.data();
  float* ip = indices.data();
  const bool two_by_two = fast && kernel == 2 && stride == 2 && padding == 0;
  parallel_for(planes, worth_threads(y.numel() * kernel * kernel), [&](int64_t p) {
    const float* plane = xp + p * H * W;
    float* y_plane = yp + p * H_out * W_out;
    float* at_plane = ip + p * H_out * W_out;
    if (two_by_two) max_pool2d_2x2_plane(plane, W, H_out, W_out, y_plane, at_plane);
    else max_pool2d_general_plane(plane, H, W, kernel, stride, padding, H_out, W_out, y_plane, at_plane);
  });
  return {y, indices};
}

std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  return max_pool2d_planes(x, kernel, stride, padding, /*fast=*/true);
}

std::pair<Tensor, Tensor> max_pool2d_general(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  return max_pool2d_planes(x, kernel, stride, padding, /*fast=*/false);
}

static void check_max_pool2d_backward_args(const Tensor& gy, const Tensor& indices, const Shape& x_shape,
                                           const char* op) {
  check_defined_4d(gy, op, "gy", "[B, C, H_out, W_out]");
  check_defined_4d(indices, op, "indices", "[B, C, H_out, W_out]");
  check_4d_shape(x_shape, op, "x_shape", "[B, C, H, W]");
  if (indices.shape() != gy.shape())
    throw std::invalid_argument(fmt::format("{}: indices {} must have the shape of gy {}", op,
                                            shape_str(indices.shape()), shape_str(gy.shape())));
  if (gy.size(0) != x_shape[0] || gy.size(1) != x_shape[1])
    throw std::invalid_argument(fmt::format("{}: gy {} and x_shape {} must agree on batch and channels", op,
                                            shape_str(gy.shape()), shape_str(x_shape)));
}

// The general scatter: any window, overlapping or not.
Tensor max_pool2d_backward_general(const Tensor& gy, const Tensor& indices, const Shape& x_shape) {
  const char* op = "max_pool2d_backward";
  check_max_pool2d_backward_args(gy, indices, x_shape, op);
  const int64_t plane_in = x_shape[2] * x_shape[3], plane_out = gy.size(2) * gy.size(3);
  const int64_t planes = x_shape[0] * x_shape[1];
  const float* ip = indices.data();
  for (int64_t k = 0; k < indices.numel(); ++k)
    if (!(ip[k] >= 0.f && ip[k] < static_cast<float>(plane_in) && ip[k] == std::floor(ip[k])))
      throw std::invalid_argument(fmt::format("{}: index {} at position {} is not a pixel of a {}x{} plane", op,
                                              ip[k], k, x_shape[2], x_shape[3]));
  Tensor gx = Tensor::zeros(x_shape);
  const float* gyp = gy.data();
  float* gxp = gx.data();
  // Overlapping windows (stride < kernel) can pick the same pixel twice: its gradients add up.
  parallel_for(planes, worth_threads(gy.numel()), [&](int64_t p) {
    for (int64_t k = 0; k < plane_out; ++k)
      gxp[p * plane_in + static_cast<int64_t>(ip[p * plane_out + k])] += gyp[p * plane_out + k];
  });
  return gx;
}

// The gradient of kLanes 2x2 windows of one row pair (see max_pool2d_2x2_lanes): each of the four pixels
// of a window gets gy where it is the window's index and 0 elsewhere, written once (no zero fill first,
// no scattered adds). Returns how many of the indices lie outside their own window.
template <int kLanes>
static int64_t max_pool2d_backward_2x2_lanes(const float* gy, const float* at, int64_t W, int64_t first, float* top,
                                             float* bottom) {
  int64_t outside = 0;
#pragma omp simd reduction(+ : outside)
  for (int ow = 0; ow < kLanes; ++ow) {
    const float g = gy[ow], index = at[ow];
    const float corner = static_cast<float>(first + 2 * ow);  // exact: planes here have fewer than 2^24 pixels
    const bool tl = index == corner, tr = index == corner + 1.f;
    const bool bl = index == corner + static_cast<float>(W), br = index == corner + static_cast<float>(W + 1);
    top[2 * ow] = tl ? g : 0.f;
    top[2 * ow + 1] = tr ? g : 0.f;
    bottom[2 * ow] = bl ? g : 0.f;
    bottom[2 * ow + 1] = br ? g : 0.f;
    outside += !(tl || tr || bl || br);
  }
  return outside;
}

// One plane: gy, at [H_out, W_out] -> gx [H, W] (an odd last row or column is left alone). Returns the
// number of indices outside their own window (counting twice those of overlapping chunks).
static int64_t max_pool2d_backward_2x2_plane(const float* gy, const float* at, int64_t W, int64_t H_out,
                                              int64_t W_out, float* gx) {
  int64_t outside = 0;
  for (int64_t oh = 0; oh < H_out; ++oh) {
    float* top = gx + 2 * oh * W;
    float* bottom = top + W;
    const float* gy_row = gy + oh * W_out;
    const float* at_row = at + oh * W_out;
    auto chunk8 = [&](int64_t ow) {
      outside += max_pool2d_backward_2x2_lanes<8>(gy_row + ow, at_row + ow, W, 2 * oh * W + 2 * ow, top + 2 * ow,
                                                  bottom + 2 * ow);
    };
    auto chunk4 = [&](int64_t ow) {
      outside += max_pool2d_backward_2x2_lanes<4>(gy_row + ow, at_row + ow, W, 2 * oh * W + 2 * ow, top + 2 * ow,
                                                  bottom + 2 * ow);
    };
    auto chunk1 = [&](int64_t ow) {
      outside += max_pool2d_backward_2x2_lanes<1>(gy_row + ow, at_row + ow, W, 2 * oh * W + 2 * ow, top + 2 * ow,
                                                  bottom + 2 * ow);
    };
    if (W_out >= 8) cover_with_chunks(W_out, 8, chunk8);
    else if (W_out >= 4) cover_with_chunks(W_out, 4, chunk4);
    else cover_with_chunks(W_out, 1, chunk1);
  }
  return outside;
}

// When the output is the input's size halved and every index lies in its own 2x2 block (always so after
// max_pool2d with kernel 2, stride 2, no padding), the blocks tile the plane and each pixel receives at
// most one gradient: the blocks are written directly. Anything else goes through the general scatter,
// which also reports indices that are not pixels of the plane.
Tensor max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape) {
  const char* op = "max_pool2d_backward";
  check_max_pool2d_backward_args(gy, indices, x_shape, op);
  const int64_t H = x_shape[2], W = x_shape[3], H_out = gy.size(2), W_out = gy.size(3);
  const bool halves = H_out == H / 2 && W_out == W / 2 && H * W < (int64_t{1} << 24);
  if (!halves) return max_pool2d_backward_general(gy, indices, x_shape);
  const int64_t planes = x_shape[0] * x_shape[1];
  // An odd last row or column lies in no block and keeps its zeros.
  Tensor gx = (H % 2 != 0 || W % 2 != 0) ? Tensor::zeros(x_shape) : Tensor(x_shape);
  const float* gyp = gy.data();
  const float* ip = indices.data();
  float* gxp = gx.data();
  std::vector<int64_t> outside(planes, 0);
  parallel_for(planes, worth_threads(gx.numel()), [&](int64_t p) {
    outside[p] = max_pool2d_backward_2x2_plane(gyp + p * H_out * W_out, ip + p * H_out * W_out, W, H_out, W_out,
                                               gxp + p * H * W);
  });
  for (int64_t n : outside)
    if (n > 0) return max_pool2d_backward_general(gy, indices, x_shape);
  return gx;
}

// y[oh, ow] = (1 / kernel^2) * sum of the window; padded pixels count as zeros in the sum and in the
// divisor (count_include_pad=True). With padding <= kernel/2 no window reaches past the padding, so the
// divisor is always kernel^2.
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  check_defined_4d(x, "avg_pool2d", "input", "[B, C, H, W]");
  const std::pair<int64_t, int64_t> out_size = pool_out_size(x.shape(), kernel, stride, padding, "avg_pool2d");
  const int64_t H_out = out_size.first, W_out = out_size.second;
  const int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
  const float scale = 1.f / static_cast<float>(kernel * kernel);
  Tensor y({x.size(0), x.size(1), H_out, W_out});
  const float* xp = x.data();
  float* yp = y.data();
#pragma omp parallel for schedule(static) if (worth_threads(y.numel() * kernel * kernel))
  for (int64_t p = 0; p < planes; ++p) {
    const float* plane = xp + p * H * W;
    for (int64_t oh = 0; oh < H_out; ++oh)
      for (int64_t ow = 0; ow < W_out; ++ow) {
        int64_t h0 = std::max<int64_t>(oh * stride - padding, 0), h1 = std::min(oh * stride - padding + kernel, H);
        int64_t w0 = std::max<int64_t>(ow * stride - padding, 0), w1 = std::min(ow * stride - padding + kernel, W);
        float sum = 0.f;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) sum += plane[h * W + w];
        yp[(p * H_out + oh) * W_out + ow] = sum * scale;
      }
  }
  return y;
}

// Each window hands gy / kernel^2 to every real pixel it covers.
Tensor avg_pool2d_backward(const Tensor& gy, const Shape& x_shape, int64_t kernel, int64_t stride,
                           int64_t padding) {
  const char* op = "avg_pool2d_backward";
  check_defined_4d(gy, op, "gy", "[B, C, H_out, W_out]");
  check_4d_shape(x_shape, op, "x_shape", "[B, C, H, W]");
  const std::pair<int64_t, int64_t> out_size = pool_out_size(x_shape, kernel, stride, padding, op);
  const int64_t H_out = out_size.first, W_out = out_size.second;
  Shape expected{x_shape[0], x_shape[1], H_out, W_out};
  if (gy.shape() != expected)
    throw std::invalid_argument(fmt::format("{}: gy must have shape {} (the avg_pool2d output for input {}), got {}",
                                            op, shape_str(expected), shape_str(x_shape), shape_str(gy.shape())));
  const int64_t planes = x_shape[0] * x_shape[1], H = x_shape[2], W = x_shape[3];
  const float scale = 1.f / static_cast<float>(kernel * kernel);
  Tensor gx = Tensor::zeros(x_shape);
  const float* gyp = gy.data();
  float* gxp = gx.data();
#pragma omp parallel for schedule(static) if (worth_threads(gy.numel() * kernel * kernel))
  for (int64_t p = 0; p < planes; ++p) {
    float* plane = gxp + p * H * W;
    for (int64_t oh = 0; oh < H_out; ++oh)
      for (int64_t ow = 0; ow < W_out; ++ow) {
        int64_t h0 = std::max<int64_t>(oh * stride - padding, 0), h1 = std::min(oh * stride - padding + kernel, H);
        int64_t w0 = std::max<int64_t>(ow * stride - padding, 0), w1 = std::min(ow * stride - padding + kernel, W);
        float g = gyp[(p * H_out + oh) * W_out + ow] * scale;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) plane[h * W + w] += g;
      }
  }
  return gx;
}

// ---------------------------------------------------------------------------------------------
// Nearest-neighbour upsampling
// ---------------------------------------------------------------------------------------------

// y[h, w] = x[h / scale, w / scale] (integer division).
Tensor upsample_nearest2d(const Tensor& x, int64_t scale) {
  check_defined_4d(x, "upsample_nearest2d", "input", "[B, C, H, W]");
  if (scale < 1)
    throw std::invalid_argument(fmt::format("upsample_nearest2d: scale must be >= 1, got {}", scale));
  const int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
  const int64_t H_out = H * scale, W_out = W * scale;
  Tensor y({x.size(0), x.size(1), H_out, W_out});
  const float* xp = x.data();
  float* yp = y.data();
#pragma omp parallel for schedule(static) if (worth_threads(y.numel()))
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t h = 0; h < H_out; ++h) {
      const float* x_row = xp + (p * H + h / scale) * W;
      float* y_row = yp + (p * H_out + h) * W_out;
      for (int64_t w = 0; w < W_out; ++w) y_row[w] = x_row[w / scale];
    }
  return y;
}

// gx[h, w] = sum of gy over the scale x scale block that pixel (h, w) was copied to.
Tensor upsample_nearest2d_backward(const Tensor& gy, int64_t scale) {
  const char* op = "upsample_nearest2d_backward";
  check_defined_4d(gy, op, "gy", "[B, C, H*scale, W*scale]");
  if (scale < 1) throw std::invalid_argument(fmt::format("{}: scale must be >= 1, got {}", op, scale));
  if (gy.size(2) % scale != 0 || gy.size(3) % scale != 0)
    throw std::invalid_argument(fmt::format("{}: gy {} has a spatial size that is not a multiple of scale {}", op,
                                            shape_str(gy.shape()), scale));
  const int64_t planes = gy.size(0) * gy.size(1), H_out = gy.size(2), W_out = gy.size(3);
  const int64_t H = H_out / scale, W = W_out / scale;
  Tensor gx = Tensor::zeros({gy.size(0), gy.size(1), H, W});
  const float* gyp = gy.data();
  float* gxp = gx.data();
#pragma omp parallel for schedule(static) if (worth_threads(gy.numel()))
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t h = 0; h < H_out; ++h) {
      const float* gy_row = gyp + (p * H_out + h) * W_out;
      float* gx_row = gxp + (p * H + h / scale) * W;
      for (int64_t w = 0; w < W_out; ++w) gx_row[w / scale] += gy_row[w];
    }
  return gx;
}

}  // namespace hd
