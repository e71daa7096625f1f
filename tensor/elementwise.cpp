// elementwise.cpp — elementwise kernels with broadcasting.
//
// How this file is organised:
//   1. map_unary: out[i] = f(x[i]), the loop behind every unary and tensor-with-scalar op, split
//      across threads (parallel_range, parallel.h) once a tensor is large enough to pay for them.
//   2. Broadcasting. A BroadcastPlan describes the output as a few merged axes, with each input's
//      stride along each of them (0 where the input is broadcast). Merging adjacent axes that step
//      through memory together turns the common cases into one long inner loop:
//          same shape        [N, C] + [N, C]  ->  one axis of N*C, strides (1, 1)
//          scalar            [N, C] * []      ->  one axis of N*C, strides (1, 0)
//          row vector        [N, C] + [C]     ->  [N, C], inner strides (1, 1), outer (C, 0)
//          column            [N, C] - [N, 1]  ->  [N, C], inner strides (1, 0), outer (C, 1)
//      broadcast_loop runs the inner axis with unit or zero strides (plain loops the compiler
//      vectorises) and only steps an index through the outer axes between runs.
//   3. The ops: each is one lambda passed to map_unary or broadcast_loop.
//
// exp, log, log1p, tanh, sigmoid and erf use the vectorisable versions in fast_math.h (glibc's are
// scalar and 5-30x slower); sqrt, sin, cos and pow call the C library.
#include "tensor/elementwise.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "tensor/fast_math.h"
#include "tensor/parallel.h"

namespace hd {

namespace {

// Below this many elements, waking the thread team costs more than the loop itself.
constexpr int64_t kParallelMin = 1 << 15;

void check_defined(const Tensor& t, const char* op) {
  if (!t.defined()) throw std::invalid_argument(fmt::format("{}: got an undefined tensor", op));
}

// out[i] = f(x[i]) over a new tensor of x's shape.
template <class F>
Tensor map_unary(const Tensor& x, const char* op, F f) {
  check_defined(x, op);
  Tensor out(x.shape());
  const float* xp = x.data();
  float* outp = out.data();
  parallel_range(x.numel(), kParallelMin, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) outp[i] = f(xp[i]);
  });
  return out;
}

// --- broadcasting ---

// The output seen as merged axes dims[0..k-1] (k >= 1; dims.back() is the inner loop), and for each
// input t its stride along each merged axis: strides[t][d], 0 where input t is broadcast.
struct BroadcastPlan {
  Shape dims;
  std::vector<int64_t> strides[3];
  int inputs = 0;
};

BroadcastPlan make_plan(const std::vector<const Shape*>& in, const Shape& out) {
  BroadcastPlan p;
  p.inputs = static_cast<int>(in.size());
  auto nd = static_cast<int64_t>(out.size());
  // Row-major strides of each input, right-aligned against the output; 0 on broadcast axes.
  std::vector<std::vector<int64_t>> full(in.size(), std::vector<int64_t>(nd, 0));
  for (size_t t = 0; t < in.size(); ++t) {
    const Shape& s = *in[t];
    int64_t stride = 1;
    for (int64_t d = static_cast<int64_t>(s.size()) - 1, o = nd - 1; d >= 0; --d, --o) {
      full[t][o] = s[d] == 1 ? 0 : stride;
      stride *= s[d];
    }
  }
  // Drop size-1 output axes, then merge axis d into the previous one when every input steps
  // through both as one: stride[prev] == stride[d] * size[d] (true also when both are 0).
  for (int64_t d = 0; d < nd; ++d) {
    if (out[d] == 1) continue;
    bool merge = !p.dims.empty();
    for (size_t t = 0; t < in.size() && merge; ++t)
      merge = p.strides[t].back() == full[t][d] * out[d];
    if (merge) {
      p.dims.back() *= out[d];
      for (size_t t = 0; t < in.size(); ++t) p.strides[t].back() = full[t][d];
    } else {
      p.dims.push_back(out[d]);
      for (size_t t = 0; t < in.size(); ++t) p.strides[t].push_back(full[t][d]);
    }
  }
  if (p.dims.empty()) {  // a single element
    p.dims.push_back(1);
    for (size_t t = 0; t < in.size(); ++t) p.strides[t].push_back(0);
  }
  return p;
}

// Walks output elements [begin, end) as runs along the inner axis: for each run calls
// run(out_pos, offsets, len), where offsets[t] is input t's position at the run's first element.
// Between runs the outer index advances like an odometer, updating the offsets incrementally.
template <class Run>
void for_each_run(const BroadcastPlan& p, int64_t begin, int64_t end, Run run) {
  auto k = static_cast<int64_t>(p.dims.size());
  int64_t inner = p.dims[k - 1];
  std::vector<int64_t> idx(k, 0);
  int64_t base[3] = {0, 0, 0};
  int64_t row = begin / inner, col = begin % inner;
  for (int64_t d = k - 2; d >= 0; --d) {
    idx[d] = row % p.dims[d];
    row /= p.dims[d];
    for (int t = 0; t < p.inputs; ++t) base[t] += idx[d] * p.strides[t][d];
  }
  for (int64_t pos = begin; pos < end;) {
    int64_t len = std::min(inner - col, end - pos);
    int64_t off[3];
    for (int t = 0; t < p.inputs; ++t) off[t] = base[t] + col * p.strides[t][k - 1];
    run(pos, off, len);
    pos += len;
    col = 0;
    for (int64_t d = k - 2; d >= 0; --d) {
      for (int t = 0; t < p.inputs; ++t) base[t] += p.strides[t][d];
      if (++idx[d] < p.dims[d]) break;
      for (int t = 0; t < p.inputs; ++t) base[t] -= p.strides[t][d] * p.dims[d];
      idx[d] = 0;
    }
  }
}

// out = f(a, b) with a and b broadcast to `out`'s shape; out may be a itself (in-place ops).
template <class F>
void broadcast_loop(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const float* ap = a.data();
  const float* bp = b.data();
  float* outp = out.data();
  // Equal shapes and one-element operands skip the plan (it costs more than the loop for small tensors).
  if (a.shape() == b.shape()) {
    parallel_range(n, kParallelMin, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) outp[i] = f(ap[i], bp[i]);
    });
    return;
  }
  if (b.numel() == 1 && a.numel() == n) {
    const float bv = bp[0];
    parallel_range(n, kParallelMin, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) outp[i] = f(ap[i], bv);
    });
    return;
  }
  BroadcastPlan p = make_plan({&a.shape(), &b.shape()}, out.shape());
  const int64_t sa = p.strides[0].back(), sb = p.strides[1].back();
  parallel_range(n, kParallelMin, [&](int64_t begin, int64_t end) {
    for_each_run(p, begin, end, [&](int64_t pos, const int64_t* off, int64_t len) {
      const float* x = ap + off[0];
      const float* y = bp + off[1];
      float* o = outp + pos;
      if (sa && sb) {
        for (int64_t i = 0; i < len; ++i) o[i] = f(x[i], y[i]);
      } else if (sa) {
        const float yv = y[0];
        for (int64_t i = 0; i < len; ++i) o[i] = f(x[i], yv);
      } else if (sb) {
        const float xv = x[0];
        for (int64_t i = 0; i < len; ++i) o[i] = f(xv, y[i]);
      } else {
        const float v = f(x[0], y[0]);
        for (int64_t i = 0; i < len; ++i) o[i] = v;
      }
    });
  });
}

template <class F>
Tensor map_binary(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_defined(a, op);
  check_defined(b, op);
  Tensor out(broadcast_shapes(a.shape(), b.shape(), op));
  broadcast_loop(a, b, out, f);
  return out;
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t nd = std::max(a.size(), b.size());
  Shape out(nd);
  for (size_t i = 0; i < nd; ++i) {
    // Align from the right; a missing axis acts as size 1.
    int64_t x = i < nd - a.size() ? 1 : a[i - (nd - a.size())];
    int64_t y = i < nd - b.size() ? 1 : b[i - (nd - b.size())];
    if (x != y && x != 1 && y != 1)
      throw std::invalid_argument(
          fmt::format("{}: shapes {} and {} do not broadcast", op, shape_str(a), shape_str(b)));
    out[i] = x == 1 ? y : x;
  }
  // Two valid shapes can broadcast to an invalid one: [2^31, 1] with [1, 2^31] is 2^62 elements.
  check_shape(out, op);
  return out;
}

// --- binary, broadcasting ---

Tensor add(const Tensor& a, const Tensor& b) { return map_binary(a, b, "add", [](float x, float y) { return x + y; }); }
Tensor sub(const Tensor& a, const Tensor& b) { return map_binary(a, b, "sub", [](float x, float y) { return x - y; }); }
Tensor mul(const Tensor& a, const Tensor& b) { return map_binary(a, b, "mul", [](float x, float y) { return x * y; }); }
Tensor div(const Tensor& a, const Tensor& b) { return map_binary(a, b, "div", [](float x, float y) { return x / y; }); }

Tensor pow(const Tensor& a, const Tensor& b) {
  // A one-element exponent that does not change the shape takes the scalar path (x^2 -> x*x, ...).
  check_defined(b, "pow");
  if (b.numel() == 1 && b.dim() <= a.dim()) return pow(a, b.data()[0]);
  return map_binary(a, b, "pow", [](float x, float y) { return std::pow(x, y); });
}

// NaN in either input gives NaN, as torch.maximum / torch.minimum do.
Tensor maximum(const Tensor& a, const Tensor& b) {
  return map_binary(a, b, "maximum", [](float x, float y) { return x > y || x != x ? x : y; });
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return map_binary(a, b, "minimum", [](float x, float y) { return x < y || x != x ? x : y; });
}

Tensor eq(const Tensor& a, const Tensor& b) {
  return map_binary(a, b, "eq", [](float x, float y) { return x == y ? 1.f : 0.f; });
}
Tensor ne(const Tensor& a, const Tensor& b) {
  return map_binary(a, b, "ne", [](float x, float y) { return x != y ? 1.f : 0.f; });
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return map_binary(a, b, "lt", [](float x, float y) { return x < y ? 1.f : 0.f; });
}
Tensor le(const Tensor& a, const Tensor& b) {
  return map_binary(a, b, "le", [](float x, float y) { return x <= y ? 1.f : 0.f; });
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return map_binary(a, b, "gt", [](float x, float y) { return x > y ? 1.f : 0.f; });
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return map_binary(a, b, "ge", [](float x, float y) { return x >= y ? 1.f : 0.f; });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined(cond, "where");
  check_defined(a, "where");
  check_defined(b, "where");
  Shape shape;
  try {
    shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument(fmt::format("where: shapes {}, {} and {} do not broadcast", shape_str(cond.shape()),
                                            shape_str(a.shape()), shape_str(b.shape())));
  }
  Tensor out(shape);
  if (out.numel() == 0) return out;
  BroadcastPlan p = make_plan({&cond.shape(), &a.shape(), &b.shape()}, shape);
  const float* cp = cond.data();
  const float* ap = a.data();
  const float* bp = b.data();
  float* outp = out.data();
  const int64_t sc = p.strides[0].back(), sa = p.strides[1].back(), sb = p.strides[2].back();
  parallel_range(out.numel(), kParallelMin, [&](int64_t begin, int64_t end) {
    for_each_run(p, begin, end, [&](int64_t pos, const int64_t* off, int64_t len) {
      const float* c = cp + off[0];
      const float* x = ap + off[1];
      const float* y = bp + off[2];
      float* o = outp + pos;
      if (sc && sa && sb) {
        for (int64_t i = 0; i < len; ++i) o[i] = c[i] != 0.f ? x[i] : y[i];
      } else {  // some input broadcast along the run: its stride is 0
        for (int64_t i = 0; i < len; ++i) o[i] = c[i * sc] != 0.f ? x[i * sa] : y[i * sb];
      }
    });
  });
  return out;
}

// --- with a scalar ---

Tensor add(const Tensor& a, float s) { return map_unary(a, "add", [s](float x) { return x + s; }); }
Tensor mul(const Tensor& a, float s) { return map_unary(a, "mul", [s](float x) { return x * s; }); }
Tensor rsub(float s, const Tensor& a) { return map_unary(a, "rsub", [s](float x) { return s - x; }); }
Tensor rdiv(float s, const Tensor& a) { return map_unary(a, "rdiv", [s](float x) { return s / x; }); }

Tensor pow(const Tensor& a, float p) {
  // The exponents that have exact cheaper forms, as PyTorch also special-cases them.
  if (p == 0.f) return map_unary(a, "pow", [](float) { return 1.f; });
  if (p == 1.f) return map_unary(a, "pow", [](float x) { return x; });
  if (p == 2.f) return map_unary(a, "pow", [](float x) { return x * x; });
  if (p == 3.f) return map_unary(a, "pow", [](float x) { return x * x * x; });
  if (p == 0.5f) return map_unary(a, "pow", [](float x) { return std::sqrt(x); });
  if (p == -0.5f) return map_unary(a, "pow", [](float x) { return 1.f / std::sqrt(x); });
  if (p == -1.f) return map_unary(a, "pow", [](float x) { return 1.f / x; });
  if (p == -2.f) return map_unary(a, "pow", [](float x) { return 1.f / (x * x); });
  return map_unary(a, "pow", [p](float x) { return std::pow(x, p); });
}

Tensor gt(const Tensor& a, float s) { return map_unary(a, "gt", [s](float x) { return x > s ? 1.f : 0.f; }); }
Tensor lt(const Tensor& a, float s) { return map_unary(a, "lt", [s](float x) { return x < s ? 1.f : 0.f; }); }
Tensor ge(const Tensor& a, float s) { return map_unary(a, "ge", [s](float x) { return x >= s ? 1.f : 0.f; }); }
Tensor le(const Tensor& a, float s) { return map_unary(a, "le", [s](float x) { return x <= s ? 1.f : 0.f; }); }
Tensor eq(const Tensor& a, float s) { return map_unary(a, "eq", [s](float x) { return x == s ? 1.f : 0.f; }); }

// min(max(x, lo), hi) as torch.clamp: lo > hi gives hi everywhere, NaN stays NaN.
Tensor clamp(const Tensor& a, float lo, float hi) {
  return map_unary(a, "clamp", [lo, hi](float x) {
    float y = x < lo ? lo : x;
    return y > hi ? hi : y;
  });
}

// --- unary ---

Tensor neg(const Tensor& a) { return map_unary(a, "neg", [](float x) { return -x; }); }
Tensor exp(const Tensor& a) { return map_unary(a, "exp", [](float x) { return fast_exp(x); }); }
Tensor log(const Tensor& a) { return map_unary(a, "log", [](float x) { return fast_log(x); }); }
Tensor log1p(const Tensor& a) { return map_unary(a, "log1p", [](float x) { return fast_log1p(x); }); }
Tensor sqrt(const Tensor& a) { return map_unary(a, "sqrt", [](float x) { return std::sqrt(x); }); }
Tensor abs(const Tensor& a) { return map_unary(a, "abs", [](float x) { return std::fabs(x); }); }
// -1, 0 or 1; NaN gives 0, as torch.sign.
Tensor sign(const Tensor& a) {
  return map_unary(a, "sign", [](float x) { return static_cast<float>((x > 0.f) - (x < 0.f)); });
}
Tensor sin(const Tensor& a) { return map_unary(a, "sin", [](float x) { return std::sin(x); }); }
Tensor cos(const Tensor& a) { return map_unary(a, "cos", [](float x) { return std::cos(x); }); }
Tensor erf(const Tensor& a) { return map_unary(a, "erf", [](float x) { return fast_erf(x); }); }
Tensor tanh(const Tensor& a) { return map_unary(a, "tanh", [](float x) { return fast_tanh(x); }); }
Tensor sigmoid(const Tensor& a) { return map_unary(a, "sigmoid", [](float x) { return fast_sigmoid(x); }); }
// max(x, 0), keeping NaN (as torch.relu does).
Tensor relu(const Tensor& a) { return map_unary(a, "relu", [](float x) { return x < 0.f ? 0.f : x; }); }
Tensor square(const Tensor& a) { return map_unary(a, "square", [](float x) { return x * x; }); }

namespace {

// An activation's input gradient in one pass: out[i] = f(g[i], x[i]), g and x of the same shape.
template <class F>
Tensor activation_backward(const Tensor& g, const Tensor& x, const char* op, F f) {
  check_defined(g, op);
  check_defined(x, op);
  check_same_shape(g, x, op);
  Tensor out(x.shape());
  const float* gp = g.data();
  const float* xp = x.data();
  float* outp = out.data();
  parallel_range(x.numel(), kParallelMin, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) outp[i] = f(gp[i], xp[i]);
  });
  return out;
}

}  // namespace

Tensor relu_backward(const Tensor& g, const Tensor& x) {
  return activation_backward(g, x, "relu_backward", [](float gi, float xi) { return gi * (xi > 0.f ? 1.f : 0.f); });
}

Tensor silu(const Tensor& a) { return map_unary(a, "silu", [](float x) { return x * fast_sigmoid(x); }); }

// d/dx x s(x) = s + x s (1 - s) = s (1 + x (1 - s)).
Tensor silu_backward(const Tensor& g, const Tensor& x) {
  return activation_backward(g, x, "silu_backward", [](float gi, float xi) {
    const float s = fast_sigmoid(xi);
    return gi * s * (1.f + xi * (1.f - s));
  });
}

// --- fused loss kernels: a loss's per-element formula in one pass instead of one pass per op ---

// max(x, 0) - x y + log(1 + e^-|x|) = -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], written so that
// e^ is only ever taken of a non-positive number (no overflow for large |x|).
Tensor binary_cross_entropy_with_logits(const Tensor& x, const Tensor& y) {
  const char* op = "binary_cross_entropy_with_logits";
  check_defined(x, op);
  check_defined(y, op);
  check_same_shape(y, x, op);  // the target has the input's shape
  Tensor out(x.shape());
  const float *xp = x.data(), *yp = y.data();
  float* outp = out.data();
  parallel_range(x.numel(), kParallelMin, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float v = xp[i];
      outp[i] = ((v < 0.f ? 0.f : v) - v * yp[i]) + fast_log1p(fast_exp(-std::fabs(v)));
    }
  });
  return out;
}

// d/dx of the above is sigmoid(x) - y; times the incoming gradient g.
Tensor binary_cross_entropy_with_logits_backward(const Tensor& g, const Tensor& x, const Tensor& y) {
  const char* op = "binary_cross_entropy_with_logits_backward";
  check_defined(g, op);
  check_defined(x, op);
  check_defined(y, op);
  check_same_shape(y, x, op);
  check_same_shape(g, x, op);
  Tensor out(x.shape());
  const float *gp = g.data(), *xp = x.data(), *yp = y.data();
  float* outp = out.data();
  parallel_range(x.numel(), kParallelMin, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) outp[i] = gp[i] * (fast_sigmoid(xp[i]) - yp[i]);
  });
  return out;
}

// --- in place ---

void add_(Tensor& a, const Tensor& b) {
  check_defined(a, "add_");
  check_defined(b, "add_");
  if (broadcast_shapes(a.shape(), b.shape(), "add_") != a.shape())
    throw std::invalid_argument(fmt::format("add_: cannot broadcast {} to the shape of the target {}",
                                            shape_str(b.shape()), shape_str(a.shape())));
  broadcast_loop(a, b, a, [](float x, float y) { return x + y; });
}

void axpy_(Tensor& y, float alpha, const Tensor& x) {
  check_defined(y, "axpy_");
  check_defined(x, "axpy_");
  check_same_shape(x, y, "axpy_");
  float* yp = y.data();
  const float* xp = x.data();
  parallel_range(y.numel(), kParallelMin, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) yp[i] += alpha * xp[i];
  });
}

void mul_(Tensor& a, float s) {
  check_defined(a, "mul_");
  float* p = a.data();
  parallel_range(a.numel(), kParallelMin, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) p[i] *= s;
  });
}

}  // namespace hd
