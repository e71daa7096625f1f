// fast_math.h — exp, expm1, log, log1p, tanh, sigmoid and erf as plain inline float functions
// that the compiler turns into AVX-512 code inside a loop.
//
// Why not std::exp? Without -ffast-math, g++ calls glibc's scalar expf/logf once per element
// (about 3 ns each), which is 20-30x slower than a vectorised loop. These versions use only
// +, *, fma, rounding and bit operations, so a loop over them vectorises, and they stay within
// 2.5 ulp of the exact result over the whole float range (measured against double precision on
// every 97th float; tests/test_elementwise.cpp checks a sample), with inf, NaN and denormals
// handled as the C library does.
//
// Both exp and log use the same idea: split the argument into a power of two (handled exactly
// through the float exponent bits) and a small remainder (handled by a short polynomial).
//
// Keeping them vectorisable under g++'s default -ftrapping-math takes one discipline: no float
// operation may happen on only one side of a condition, or g++ keeps a branch and gives up on
// the loop. So special inputs (NaN, inf, 0) are handled by adding a correction that is 0 for
// ordinary inputs (`y + fix`), and conditions pick between constants or already computed values.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace hd {

namespace fast_math_detail {

// ln 2 split in two (Cody–Waite): kLn2Hi has few mantissa bits, so n * kLn2Hi is exact for |n| < 2^15.
constexpr float kLn2Hi = 0.693145751953125f;
constexpr float kLn2Lo = 1.428606765330187e-06f;
constexpr float kLog2e = 1.44269504088896341f;

// 2^n for integer-valued n in [-252, 254], as a product of two normal floats so that results
// down in the denormal range (n < -126) and up to overflow (n = 128) are still produced correctly.
inline float scale_by_pow2(float y, float n) {
  auto ni = static_cast<int32_t>(n);
  int32_t half = ni >> 1;
  float s1 = std::bit_cast<float>((half + 127) << 23);
  float s2 = std::bit_cast<float>((ni - half + 127) << 23);
  return y * s1 * s2;
}

// Clamps to [-104, 89], where e^x has already under/overflowed, so n stays in range for the bit
// tricks; NaN becomes -104 (the callers put the NaN back). Written as comparisons, not std::fmin,
// because g++ calls fminf instead of vectorising it.
inline float clamp_exp_arg(float x) {
  float xc = x > -104.f ? x : -104.f;
  return xc < 89.f ? xc : 89.f;
}

// Range reduction for e^x: x = n ln2 + r with n = round(x / ln2), |r| <= ln2 / 2.
// Returns n and q = e^r - 1 = r + r^2/2! + ... + r^8/8! (Taylor; the next term is < 2e-9 relative).
inline float exp_reduce(float x, float& q) {
  float n = std::nearbyint(x * kLog2e);
  float r = std::fma(n, -kLn2Hi, x);
  r = std::fma(n, -kLn2Lo, r);
  float p = 1.f / 40320;
  p = std::fma(p, r, 1.f / 5040);
  p = std::fma(p, r, 1.f / 720);
  p = std::fma(p, r, 1.f / 120);
  p = std::fma(p, r, 1.f / 24);
  p = std::fma(p, r, 1.f / 6);
  p = std::fma(p, r, 0.5f);
  q = std::fma(p * r, r, r);
  return n;
}

}  // namespace fast_math_detail

// e^x. Saturates to inf above ~88.72 and to 0 below ~-103.97, like expf.
inline float fast_exp(float x) {
  using namespace fast_math_detail;
  float q;
  float n = exp_reduce(clamp_exp_arg(x), q);
  float y = scale_by_pow2(q + 1.f, n);  // e^x = 2^n (1 + q)
  return y + (x != x ? x : -0.f);  // -0 leaves every y unchanged, even -0        // NaN in, NaN out
}

// e^x - 1, accurate for small x where e^x - 1 would lose all its digits.
inline float fast_expm1(float x) {
  using namespace fast_math_detail;
  float q;
  float n = exp_reduce(clamp_exp_arg(x), q);
  // e^x - 1 = 2^n (1 + q) - 1 = 2^n q + (2^n - 1): exactly q when n = 0 (|x| < ln2 / 2).
  // For n > 24 the -1 is below half an ulp, and 2^n alone may overflow (n = 128), so there it is
  // computed as 2^n (q + 1) + (2^n * 0 - 1) instead: c moves the 1 between the two terms.
  float c = n > 24.f ? 1.f : 0.f;
  float y = scale_by_pow2(q + c, n) + (scale_by_pow2(1.f - c, n) - 1.f);
  return y + (x != x ? x : -0.f);  // -0 leaves every y unchanged, even -0
}

// Natural logarithm: log(0) = -inf, log(x < 0) = NaN, log(inf) = inf.
inline float fast_log(float x) {
  using namespace fast_math_detail;
  // Denormals: scale up by 2^23 first, so that the exponent/mantissa split below sees a normal float.
  int32_t tiny = x < 1.17549435e-38f;
  float xs = x * std::bit_cast<float>((127 + 23 * tiny) << 23);
  auto bits = std::bit_cast<int32_t>(xs);
  // x = 2^e * m, m in [1, 2) from the mantissa bits; if m > sqrt(2), use m / 2 and e + 1 instead,
  // so that m lies in [sqrt(1/2), sqrt(2)) and log m is small on both sides of 1.
  int32_t m_bits = (bits & 0x007fffff) | 0x3f800000;
  int32_t big = m_bits > 0x3fb504f3;  // the bits of sqrt(2)
  float m = std::bit_cast<float>(m_bits - (big << 23));
  auto e = static_cast<float>(((bits >> 23) & 0xff) - 127 - 23 * tiny + big);
  // log m = 2 atanh(t) = 2 (t + t^3/3 + t^5/5 + ... + t^13/13), t = (m - 1) / (m + 1), |t| <= 0.172.
  float t = (m - 1.f) / (m + 1.f);
  float t2 = t * t;
  float p = 1.f / 13;
  p = std::fma(p, t2, 1.f / 11);
  p = std::fma(p, t2, 1.f / 9);
  p = std::fma(p, t2, 1.f / 7);
  p = std::fma(p, t2, 1.f / 5);
  p = std::fma(p, t2, 1.f / 3);
  float log_m = std::fma(2.f * t * t2, p, 2.f * t);
  float y = std::fma(e, kLn2Hi, std::fma(e, kLn2Lo, log_m));  // log x = e ln2 + log m
  // Above, 0, inf and NaN gave some finite y; the correction turns that into the right answer.
  float fix = x > 0.f ? -0.f : NAN;  // negative or NaN
  fix = x == 0.f ? -INFINITY : fix;
  fix = x == INFINITY ? INFINITY : fix;
  return y + fix;
}

// log(1 + x), accurate for small x. u = 1 + x rounds away the low bits of x; delta = x - (u - 1)
// is exactly what was lost, and log(u + delta) = log(u) + delta / u to first order.
inline float fast_log1p(float x) {
  // Positive floats order like their bit patterns, so integer min/max clamp without a branch:
  // inf and NaN become FLT_MAX (the correction at the end restores them), and u >= FLT_MIN keeps
  // delta / u finite at x = -1, where log(u) = -inf is the answer.
  float xc = std::bit_cast<float>(std::min(std::bit_cast<int32_t>(x), 0x7f7fffff));
  float u = 1.f + xc;
  float delta = xc - (u - 1.f);
  float u_safe = std::bit_cast<float>(std::max(std::bit_cast<int32_t>(u), 0x00800000));
  float y = fast_log(u) + delta / u_safe;
  float fix = x == INFINITY ? INFINITY : -0.f;
  fix = x != x ? x : fix;
  return y + fix;
}

// tanh x = -expm1(-2|x|) / (2 + expm1(-2|x|)) with the sign of x: no cancellation near 0,
// no overflow for large |x|.
inline float fast_tanh(float x) {
  float e = fast_expm1(-2.f * std::fabs(x));
  return std::copysign(-e / (2.f + e), x);
}

// 1 / (1 + e^-x), written with e = e^-|x| <= 1 so it never overflows:
// x >= 0: 1 / (1 + e);  x < 0: e / (1 + e).
inline float fast_sigmoid(float x) {
  float e = fast_exp(-std::fabs(x));
  return (x >= 0.f ? 1.f : e) / (1.f + e);
}

// erf x in two pieces, blended with a 0/1 weight so that both are computed and the loop has no branch:
//   |x| < 0.75:  the Taylor series  erf x = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1)), to n = 9.
//   |x| >= 0.75: erf x = 1 - e^(-x^2) g(x), where g(x) = e^(x^2) erfc(x) varies slowly and is fitted as
//                t (c0 + c1 t + ... + c6 t^6), t = 1 / (1 + x/2), by least squares on relative error over
//                [0.75, 4] (fitted for hundun with numpy). Beyond x = 3.92, erf x rounds to 1 in float.
inline float fast_erf(float x) {
  auto bits = [](float v) { return std::bit_cast<int32_t>(v); };
  float ax = std::fabs(x);
  // Each piece gets |x| clamped to its own range (integer min/max: positive floats order like their bits),
  // so that neither overflows; NaN is put back at the end.
  float xs = std::bit_cast<float>(std::min(bits(ax), bits(0.75f)));
  float xl = std::bit_cast<float>(std::max(std::min(bits(ax), bits(4.f)), bits(0.75f)));

  float z = xs * xs;  // Taylor coefficients 2/sqrt(pi) * (-1)^n / (n! (2n+1))
  float p = -1.6365845e-07f;
  p = std::fma(p, z, 1.6462114e-06f);
  p = std::fma(p, z, -1.4925650e-05f);
  p = std::fma(p, z, 1.2055333e-04f);
  p = std::fma(p, z, -8.5483270e-04f);
  p = std::fma(p, z, 5.2239776e-03f);
  p = std::fma(p, z, -2.6866171e-02f);
  p = std::fma(p, z, 1.1283792e-01f);
  p = std::fma(p, z, -3.7612639e-01f);
  p = std::fma(p, z, 1.1283792e+00f);
  float small = xs * p;

  float t = 1.f / std::fma(0.5f, xl, 1.f);
  float g = 1.001663973e-01f;
  g = std::fma(g, t, -4.012567540e-01f);
  g = std::fma(g, t, 4.552656555e-01f);
  g = std::fma(g, t, -1.208493715e-02f);
  g = std::fma(g, t, 3.018400652e-01f);
  g = std::fma(g, t, 2.733632486e-01f);
  g = std::fma(g, t, 2.826803965e-01f);
  float large = 1.f - fast_exp(-xl * xl) * (g * t);

  float w = ax < 0.75f ? 1.f : 0.f;
  float y = std::copysign(w * small + (1.f - w) * large, x);
  return y + (x != x ? x : -0.f);
}

}  // namespace hd
