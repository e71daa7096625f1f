// normalization.cpp — batch and group normalisation, each in three passes over memory at most.
//
// Channel c of x: [N, C, *] is N planes of S contiguous values, plane n at x + (n*C + c)*S. Each
// kernel takes one channel at a time (channels are split among threads) and walks its planes:
//   statistics   one read of x:           sums of (x - K) and (x - K)^2 per channel
//   forward      one read of x, one write: y = (x - mean) * (inv_std * weight) + bias
//   backward     one read of g and x for the sums sum(g), sum(g * (x - mean)), then one read of g
//                and x and one write for dx.
// Inside a plane the sums run in float with `omp simd reduction` (vectorised: without -ffast-math the
// compiler may not reorder a float sum by itself); the plane totals add up in double, so a channel of
// 128 * 28 * 28 values keeps the accuracy of short float sums.
#include "tensor/normalization.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "tensor/parallel.h"

namespace hd {

namespace {

// Below this many elements one thread is faster than waking the team.
constexpr int64_t kParallelMin = 1 << 15;

// x: [N, C, *] seen as N images of C planes of S values.
struct Planes {
  int64_t N, C, S;
  int64_t count() const { return N * S; }  // values per channel
  int64_t offset(int64_t n, int64_t c) const { return (n * C + c) * S; }
};

Planes planes_of(const Tensor& x, const char* op) {
  if (!x.defined()) throw std::invalid_argument(fmt::format("{}: input is undefined", op));
  if (x.dim() < 2)
    throw std::invalid_argument(
        fmt::format("{}: expected input [N, C, *] with at least 2 dimensions, got {}", op, shape_str(x.shape())));
  return Planes{x.size(0), x.size(1), x.numel() / std::max<int64_t>(1, x.size(0) * x.size(1))};
}

// A per-channel tensor must be [C]; `optional` ones may also be undefined.
void check_channel_vector(const Tensor& t, int64_t C, const char* op, const char* what, bool optional) {
  if (!t.defined()) {
    if (optional) return;
    throw std::invalid_argument(fmt::format("{}: {} is undefined, expected shape [{}]", op, what, C));
  }
  if (t.shape() != Shape{C})
    throw std::invalid_argument(fmt::format("{}: {} must have shape [{}] (one value per channel), got {}", op, what,
                                            C, shape_str(t.shape())));
}

void check_same(const Tensor& a, const Tensor& b, const char* op, const char* what) {
  if (!a.defined() || a.shape() != b.shape())
    throw std::invalid_argument(fmt::format("{}: {} must have the input's shape {}, got {}", op, what,
                                            shape_str(b.shape()), a.defined() ? shape_str(a.shape()) : "undefined"));
}

// Adds sum(d) and sum(d^2), d = x - shift, over one plane of S contiguous values: float sums within the plane
// (vectorised by `omp simd`), the plane's totals added in double.
void add_shifted_sums(const float* plane, int64_t S, float shift, double& sum, double& sum_sq) {
  float s = 0.f, ss = 0.f;
#pragma omp simd reduction(+ : s, ss)
  for (int64_t i = 0; i < S; ++i) {
    float d = plane[i] - shift;
    s += d;
    ss += d * d;
  }
  sum += s;
  sum_sq += ss;
}

// The two sums of a backward pass over one plane: sum(g) and sum(g * (x - mean)), in float (vectorised).
std::pair<float, float> gradient_sums(const float* g, const float* x, int64_t S, float mean) {
  float s = 0.f, sc = 0.f;
#pragma omp simd reduction(+ : s, sc)
  for (int64_t i = 0; i < S; ++i) {
    s += g[i];
    sc += g[i] * (x[i] - mean);
  }
  return {s, sc};
}

}  // namespace

// Mean and variance from the sums of d = x - K, with K the channel's first value (the "shifted data"
// algorithm): var = (sum d^2 - (sum d)^2 / n) / n. Shifting by a value near the mean keeps the two terms
// from cancelling when the mean is large next to the spread, which plain sum x^2 - (sum x)^2 / n would not.
std::pair<Tensor, Tensor> batch_norm_statistics(const Tensor& x) {
  const char* op = "batch_norm";
  Planes p = planes_of(x, op);
  if (p.count() == 0)
    throw std::invalid_argument(fmt::format("{}: input {} has no values per channel", op, shape_str(x.shape())));
  Tensor mean({p.C}), var({p.C});
  const float* xp = x.data();
  float* mp = mean.data();
  float* vp = var.data();
  if (p.S == 1) {  // [N, C] (BatchNorm1d): a channel's values are C apart, so walk the rows and keep C sums
    std::vector<double> sum(static_cast<size_t>(p.C), 0.0), sum_sq(static_cast<size_t>(p.C), 0.0);
    for (int64_t n = 0; n < p.N; ++n) {
      const float* row = xp + n * p.C;
#pragma omp simd
      for (int64_t c = 0; c < p.C; ++c) {
        const double d = static_cast<double>(row[c]) - static_cast<double>(xp[c]);  // shift: the first row
        sum[c] += d;
        sum_sq[c] += d * d;
      }
    }
    const double count = static_cast<double>(p.N);
    for (int64_t c = 0; c < p.C; ++c) {
      mp[c] = static_cast<float>(xp[c] + sum[c] / count);
      vp[c] = static_cast<float>(std::max(0.0, (sum_sq[c] - sum[c] * sum[c] / count) / count));
    }
    return {mean, var};
  }
  parallel_for(p.C, x.numel() >= kParallelMin, [&](int64_t c) {
    const float shift = xp[p.offset(0, c)];
    double sum = 0, sum_sq = 0;
    for (int64_t n = 0; n < p.N; ++n) add_shifted_sums(xp + p.offset(n, c), p.S, shift, sum, sum_sq);
    const double count = static_cast<double>(p.count());
    mp[c] = static_cast<float>(shift + sum / count);
    vp[c] = static_cast<float>(std::max(0.0, (sum_sq - sum * sum / count) / count));
  });
  return {mean, var};
}

Tensor batch_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& inv_std, const Tensor& weight,
                          const Tensor& bias) {
  const char* op = "batch_norm";
  Planes p = planes_of(x, op);
  check_channel_vector(mean, p.C, op, "mean", false);
  check_channel_vector(inv_std, p.C, op, "inv_std", false);
  check_channel_vector(weight, p.C, op, "weight", true);
  check_channel_vector(bias, p.C, op, "bias", true);
  Tensor y(x.shape());
  const float* xp = x.data();
  float* yp = y.data();
  parallel_for(p.C, x.numel() >= kParallelMin, [&](int64_t c) {
    const float m = mean.data()[c];
    const float scale = inv_std.data()[c] * (weight.defined() ? weight.data()[c] : 1.f);
    const float shift = bias.defined() ? bias.data()[c] : 0.f;
    for (int64_t n = 0; n < p.N; ++n) {
      const float* in = xp + p.offset(n, c);
      float* out = yp + p.offset(n, c);
      for (int64_t i = 0; i < p.S; ++i) out[i] = (in[i] - m) * scale + shift;
    }
  });
  return y;
}

Tensor batch_norm_inv_std(const Tensor& var, float eps) {
  if (!var.defined() || var.dim() != 1)
    throw std::invalid_argument(fmt::format("batch_norm: the variance must have shape [C], got {}",
                                            var.defined() ? shape_str(var.shape()) : "undefined"));
  Tensor inv_std(var.shape());
  for (int64_t c = 0; c < var.numel(); ++c) inv_std.data()[c] = 1.f / std::sqrt(var.data()[c] + eps);
  return inv_std;
}

// One value per channel, a few hundred at most: a plain loop, no threads and no faster twin.
void update_running_stats_(Tensor& running_mean, Tensor& running_var, const Tensor& batch_mean,
                           const Tensor& batch_var, int64_t count, float momentum) {
  const char* op = "update_running_stats_";
  const int64_t C = running_mean.defined() ? running_mean.numel() : 0;
  check_channel_vector(running_mean, C, op, "running_mean", false);
  check_channel_vector(running_var, C, op, "running_var", false);
  check_channel_vector(batch_mean, C, op, "batch_mean", false);
  check_channel_vector(batch_var, C, op, "batch_var", false);
  if (count <= 1)
    throw std::invalid_argument(fmt::format("{}: count is {}, expected more than 1 value per channel (the unbiased "
                                            "variance divides by count - 1)",
                                            op, count));
  const float unbias = static_cast<float>(count) / static_cast<float>(count - 1);
  float* rm = running_mean.data();
  float* rv = running_var.data();
  const float* mean = batch_mean.data();
  const float* var = batch_var.data();
  for (int64_t c = 0; c < C; ++c) {
    rm[c] = (1 - momentum) * rm[c] + momentum * mean[c];
    rv[c] = (1 - momentum) * rv[c] + momentum * var[c] * unbias;
  }
}

// With sum_g = sum(g) and sum_gc = sum(g * (x - mean)) over a channel of n values, k = weight * inv_std:
//   mean(gw) = weight * sum_g / n,   mean(gw * xhat) = weight * inv_std * sum_gc / n,
// so dx = k * (g - sum_g / n - (x - mean) * inv_std^2 * sum_gc / n) in training and k * g in evaluation.
BatchNormGrads batch_norm_backward(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& inv_std,
                                   const Tensor& weight, bool batch_statistics) {
  const char* op = "batch_norm_backward";
  Planes p = planes_of(x, op);
  check_same(g, x, op, "g");
  check_channel_vector(mean, p.C, op, "mean", false);
  check_channel_vector(inv_std, p.C, op, "inv_std", false);
  check_channel_vector(weight, p.C, op, "weight", true);
  BatchNormGrads grads{Tensor(x.shape()), Tensor({p.C}), Tensor({p.C})};
  const float* gp = g.data();
  const float* xp = x.data();
  float* dxp = grads.dx.data();
  std::vector<double> row_sum_g, row_sum_gc;  // [N, C] (S = 1): the two sums per channel, gathered row by row
  if (p.S == 1) {
    row_sum_g.assign(static_cast<size_t>(p.C), 0.0);
    row_sum_gc.assign(static_cast<size_t>(p.C), 0.0);
    const float* mp = mean.data();
    for (int64_t n = 0; n < p.N; ++n) {
#pragma omp simd
      for (int64_t c = 0; c < p.C; ++c) {
        const double gv = gp[n * p.C + c];
        row_sum_g[c] += gv;
        row_sum_gc[c] += gv * (static_cast<double>(xp[n * p.C + c]) - mp[c]);
      }
    }
  }
  parallel_for(p.C, x.numel() >= kParallelMin, [&](int64_t c) {
    const float m = mean.data()[c], is = inv_std.data()[c];
    double sum_g = 0, sum_gc = 0;
    if (p.S == 1) {
      sum_g = row_sum_g[c], sum_gc = row_sum_gc[c];
    } else {
      for (int64_t n = 0; n < p.N; ++n) {
        const auto [s, sc] = gradient_sums(gp + p.offset(n, c), xp + p.offset(n, c), p.S, m);
        sum_g += s;
        sum_gc += sc;
      }
    }
    grads.dbias.data()[c] = static_cast<float>(sum_g);
    grads.dweight.data()[c] = static_cast<float>(sum_gc * is);

    const double count = static_cast<double>(std::max<int64_t>(1, p.count()));
    const float k = is * (weight.defined() ? weight.data()[c] : 1.f);
    const float g_mean = batch_statistics ? static_cast<float>(sum_g / count) : 0.f;
    const float slope = batch_statistics ? static_cast<float>(sum_gc / count) * is * is : 0.f;
    for (int64_t n = 0; n < p.N; ++n) {
      const float* gn = gp + p.offset(n, c);
      const float* xn = xp + p.offset(n, c);
      float* dxn = dxp + p.offset(n, c);
      for (int64_t i = 0; i < p.S; ++i) dxn[i] = k * (gn[i] - g_mean - (xn[i] - m) * slope);
    }
  });
  return grads;
}

// ------------------------------------------------------------------------------------ group normalisation
//
// Group (n, g) of x: [N, C, *] is one contiguous run of M = (C/G) * S values starting at (n*G + g) * M; its
// channel k (0 <= k < C/G) is the plane of S values at (n*G + g) * M + k*S, with channel index c = g*C/G + k.
//   statistics   one read of x: the shifted sums, as batch_norm_statistics, per group
//   forward      one read of x, one write
//   backward     one read of g and x for the per-(n, c) sums sum(g), sum(g * (x - mean)), then one read of
//                g and x and one write for dx; dweight and dbias add the per-(n, c) sums over n.

namespace {

struct Groups {
  int64_t N, C, G, S;
  int64_t per_group() const { return C / G; }         // channels in a group
  int64_t M() const { return per_group() * S; }        // values in a group
  int64_t offset(int64_t n, int64_t g) const { return (n * G + g) * M(); }
};

Groups groups_of(const Tensor& x, int64_t num_groups, const char* op) {
  Planes p = planes_of(x, op);
  if (num_groups <= 0 || p.C % num_groups != 0)
    throw std::invalid_argument(fmt::format("{}: expected the {} channels of input {} to split into num_groups = {} "
                                            "equal groups",
                                            op, p.C, shape_str(x.shape()), num_groups));
  return Groups{p.N, p.C, num_groups, p.S};
}

void check_group_vector(const Tensor& t, const Groups& gr, const char* op, const char* what) {
  if (!t.defined() || t.shape() != Shape{gr.N, gr.G})
    throw std::invalid_argument(fmt::format("{}: {} must have shape [{}, {}] (one value per sample and group), got {}",
                                            op, what, gr.N, gr.G, t.defined() ? shape_str(t.shape()) : "undefined"));
}

// The groups of x, its statistics mean and inv_std ([N, G]: G read from them) and weight ([C] or undefined) checked.
Groups checked_groups(const Tensor& x, const Tensor& mean, const Tensor& inv_std, const Tensor& weight, const char* op) {
  const Groups gr = groups_of(x, mean.defined() && mean.dim() == 2 ? mean.size(1) : 0, op);
  check_group_vector(mean, gr, op, "mean");
  check_group_vector(inv_std, gr, op, "inv_std");
  check_channel_vector(weight, gr.C, op, "weight", true);
  return gr;
}

}  // namespace

// The shifted-data algorithm of batch_norm_statistics, over each group's M contiguous values.
std::pair<Tensor, Tensor> group_norm_statistics(const Tensor& x, int64_t num_groups, float eps) {
  const char* op = "group_norm";
  Groups gr = groups_of(x, num_groups, op);
  if (gr.M() == 0)
    throw std::invalid_argument(fmt::format("{}: input {} has no values per group", op, shape_str(x.shape())));
  if (!(eps >= 0.f)) throw std::invalid_argument(fmt::format("{}: eps must be >= 0, got {}", op, eps));
  Tensor mean({gr.N, gr.G}), inv_std({gr.N, gr.G});
  const float* xp = x.data();
  parallel_for(gr.N * gr.G, x.numel() >= kParallelMin, [&](int64_t ng) {
    const float* group = xp + ng * gr.M();
    const float shift = group[0];
    double sum = 0, sum_sq = 0;
    for (int64_t k = 0; k < gr.per_group(); ++k)  // one plane at a time: float sums stay short
      add_shifted_sums(group + k * gr.S, gr.S, shift, sum, sum_sq);
    const double count = static_cast<double>(gr.M());
    const double var = std::max(0.0, (sum_sq - sum * sum / count) / count);
    mean.data()[ng] = static_cast<float>(shift + sum / count);
    inv_std.data()[ng] = static_cast<float>(1.0 / std::sqrt(var + eps));
  });
  return {mean, inv_std};
}

Tensor group_norm_forward(const Tensor& x, const Tensor& mean, const Tensor& inv_std, const Tensor& weight,
                          const Tensor& bias) {
  const char* op = "group_norm";
  const Groups gr = checked_groups(x, mean, inv_std, weight, op);
  check_channel_vector(bias, gr.C, op, "bias", true);
  Tensor y(x.shape());
  const float* xp = x.data();
  float* yp = y.data();
  parallel_for(gr.N * gr.G, x.numel() >= kParallelMin, [&](int64_t ng) {
    const float m = mean.data()[ng], is = inv_std.data()[ng];
    const int64_t g = ng % gr.G;
    for (int64_t k = 0; k < gr.per_group(); ++k) {
      const int64_t c = g * gr.per_group() + k;
      const float scale = is * (weight.defined() ? weight.data()[c] : 1.f);
      const float shift = bias.defined() ? bias.data()[c] : 0.f;
      const float* in = xp + ng * gr.M() + k * gr.S;
      float* out = yp + ng * gr.M() + k * gr.S;
      for (int64_t i = 0; i < gr.S; ++i) out[i] = (in[i] - m) * scale + shift;
    }
  });
  return y;
}

// Per (n, c): sg = sum(g), sgc = sum(g * (x - mean)); per group, with w the channel's weight and M its size:
//   mean(gw) = sum_c w_c sg / M,   mean(gw * xhat) = inv_std * sum_c w_c sgc / M,
// so dx = inv_std * (w_c g - mean(gw) - (x - mean) * inv_std^2 * sum_c w_c sgc / M).
GroupNormGrads group_norm_backward(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& inv_std,
                                   const Tensor& weight) {
  const char* op = "group_norm_backward";
  const Groups gr = checked_groups(x, mean, inv_std, weight, op);
  check_same(g, x, op, "g");
  GroupNormGrads grads{Tensor(x.shape()), Tensor::zeros({gr.C}), Tensor::zeros({gr.C})};
  Tensor sg({gr.N, gr.C}), sgc({gr.N, gr.C});  // per sample and channel
  const float* gp = g.data();
  const float* xp = x.data();
  float* dxp = grads.dx.data();
  parallel_for(gr.N * gr.G, x.numel() >= kParallelMin, [&](int64_t ng) {
    const int64_t n = ng / gr.G, g0 = (ng % gr.G) * gr.per_group();
    const float m = mean.data()[ng], is = inv_std.data()[ng];
    double sum_gw = 0, sum_gwc = 0;
    for (int64_t k = 0; k < gr.per_group(); ++k) {
      const auto [s, sc] = gradient_sums(gp + ng * gr.M() + k * gr.S, xp + ng * gr.M() + k * gr.S, gr.S, m);
      const int64_t c = g0 + k;
      sg.data()[n * gr.C + c] = s;
      sgc.data()[n * gr.C + c] = sc;
      const double w = weight.defined() ? weight.data()[c] : 1.0;
      sum_gw += w * s;
      sum_gwc += w * sc;
    }
    const double count = static_cast<double>(gr.M());
    const float g_mean = static_cast<float>(sum_gw / count);
    const float slope = static_cast<float>(sum_gwc / count) * is * is;
    for (int64_t k = 0; k < gr.per_group(); ++k) {
      const float w = weight.defined() ? weight.data()[g0 + k] : 1.f;
      const float* gk = gp + ng * gr.M() + k * gr.S;
      const float* xk = xp + ng * gr.M() + k * gr.S;
      float* dxk = dxp + ng * gr.M() + k * gr.S;
      for (int64_t i = 0; i < gr.S; ++i) dxk[i] = is * (w * gk[i] - g_mean - (xk[i] - m) * slope);
    }
  });
  for (int64_t n = 0; n < gr.N; ++n)  // [N, C] partial sums -> [C]; dweight's xhat carries its group's inv_std
    for (int64_t c = 0; c < gr.C; ++c) {
      grads.dbias.data()[c] += sg.data()[n * gr.C + c];
      grads.dweight.data()[c] += sgc.data()[n * gr.C + c] * inv_std.data()[n * gr.G + c / gr.per_group()];
    }
  return grads;
}

}  // namespace hd
