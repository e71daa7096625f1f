// random.cpp - mt19937 engine and PyTorch-compatible distributions. See random.h.
#include "tensor/random.h"

#include "tensor/tensor.h"

#include <bit>
#include <cmath>
#include <numbers>
#include <cstring>
#include <stdexcept>
#include <string>

namespace hd {

// ============================================================================================
// The engine: mt19937 (Matsumoto & Nishimura, 1998)
// ============================================================================================
//
// The state is 624 words. Outputs are handed out one word at a time, each passed through a
// "tempering" bit-mix; after 624 outputs the whole array is regenerated ("twisted") from itself.
// PyTorch's at::mt19937 uses the reference seeding (init_genrand) on the low 32 bits of the
// seed, so its stream equals std::mt19937(seed & 0xffffffff). The full 64-bit seed is still
// remembered and reported by initial_seed(), as torch.initial_seed() does.

namespace {
constexpr int kShift = 397;                    // "M": the twist mixes word i with word i + 397
constexpr uint32_t kTwistMatrix = 0x9908b0dfu;  // "A": the twist's XOR constant
constexpr uint32_t kUpperBit = 0x80000000u;
constexpr uint32_t kLowerBits = 0x7fffffffu;
}  // namespace

Generator::Generator(uint64_t seed) { manual_seed(seed); }

void Generator::manual_seed(uint64_t seed) {
  seed_ = seed;
  // init_genrand: w[0] = seed, w[i] = 1812433253 * (w[i-1] ^ (w[i-1] >> 30)) + i  (mod 2^32)
  words_[0] = static_cast<uint32_t>(seed & 0xffffffffu);
  for (int i = 1; i < kStateWords; ++i) {
    uint32_t prev = words_[i - 1];
    words_[i] = 1812433253u * (prev ^ (prev >> 30)) + static_cast<uint32_t>(i);
  }
  next_ = kStateWords;  // the first draw twists the freshly seeded array
  has_cached_normal_ = false;
  cached_normal_ = 0.0;
}

void Generator::regenerate_state() {
  // Each new word combines the top bit of w[i] with the low 31 bits of w[i+1], shifts right
  // once (multiplying by x over GF(2)), XORs in A when the dropped bit was 1, and adds w[i+M]
  // (indices mod 624). Words are replaced in place, front to back, so past i = 624 - M the
  // w[i+M] read is an already-regenerated word: that is part of the algorithm.
  auto twist = [](uint32_t upper_from, uint32_t lower_from) {
    uint32_t y = (upper_from & kUpperBit) | (lower_from & kLowerBits);
    return (y >> 1) ^ ((y & 1u) ? kTwistMatrix : 0u);
  };
  int i = 0;
  for (; i < kStateWords - kShift; ++i) words_[i] = words_[i + kShift] ^ twist(words_[i], words_[i + 1]);
  for (; i < kStateWords - 1; ++i) words_[i] = words_[i + kShift - kStateWords] ^ twist(words_[i], words_[i + 1]);
  words_[i] = words_[kShift - 1] ^ twist(words_[i], words_[0]);
  next_ = 0;
}

uint32_t Generator::random() {
  if (next_ >= kStateWords) regenerate_state();
  uint32_t y = words_[next_++];
  // Tempering: an invertible bit-mix that improves the equidistribution of the output bits.
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

uint64_t Generator::random64() {
  uint64_t hi = random();
  uint64_t lo = random();
  return (hi << 32) | lo;
}

// ============================================================================================
// Distributions: the transformations of PyTorch's CPU kernels
// ============================================================================================

namespace {

// Uniform float in [0, 1): keep the low 24 bits of a word (float has a 24-bit significand), so
// every value k / 2^24 is exactly representable and 1.0 is never produced.
float unit_float_from(uint32_t word) {
  constexpr uint32_t kMask = (1u << 24) - 1;
  constexpr float kScale = 1.0f / static_cast<float>(1u << 24);
  return static_cast<float>(word & kMask) * kScale;
}

void check_count(const char* op, int64_t n, const void* out) {
  if (n < 0) throw std::invalid_argument(std::string(op) + ": n must be >= 0, got " + std::to_string(n));
  if (n > 0 && out == nullptr) throw std::invalid_argument(std::string(op) + ": output buffer is null for n = " + std::to_string(n));
}

// ---- log, sin and cos as PyTorch's vectorised randn evaluates them ------------------------
//
// For n >= 16, torch 1.13's CPU randn (AVX2 kernel, used on any x86-64 CPU with AVX2) does not
// call libm: it evaluates log, sin and cos with Cephes-style float polynomials (ATen's
// avx_mathfun.h). They are accurate to a few ulp, not correctly rounded, so to reproduce torch
// bit for bit we evaluate the same polynomials in the same order. Where torch's compiler fused a
// multiply and an add into one FMA, we call std::fma (the fused places were found by comparing
// with torch: with them, 110k samples match exactly; with libm, ~17% differ by 1-3 ulp).
// Every multiply-add below is written either as std::fma or so that no multiply feeds an add,
// so the result does not depend on whether our own compiler contracts expressions.

// log(x) for x in (0, 1]. Split x = m * 2^e with m in [sqrt(1/2), sqrt(2)); then
//   log(x) = log(1 + f) + e * ln2,  f = m - 1,
//   log(1 + f) ~ f - f^2/2 + f^3 * P(f)   (P: degree-8 Cephes polynomial),
// with ln2 split as 0.693359375 (few bits, so e * 0.693359375 is exact) + -2.12194440e-4.
// Inputs here are 1 - u >= 2^-24, so zero, negative and subnormal x need no handling.
float cephes_logf(float x) {
  static constexpr float kP[9] = {7.0376836292E-2f,  -1.1514610310E-1f, 1.1676998740E-1f,
                                  -1.2420140846E-1f, 1.4249322787E-1f,  -1.6668057665E-1f,
                                  2.0000714765E-1f,  -2.4999993993E-1f, 3.3333331174E-1f};
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  float e = static_cast<float>(static_cast<int>(bits >> 23) - 127) + 1.0f;
  const float m = std::bit_cast<float>((bits & 0x007fffffu) | 0x3f000000u);  // x / 2^e in [0.5, 1)
  float f = m - 1.0f;
  if (m < 0.707106781186547524f) {  // move m into [sqrt(1/2), sqrt(2)): f = 2m - 1, e -= 1
    e -= 1.0f;
    f = f + m;
  }
  const float z = f * f;
  float p = kP[0];
  for (int k = 1; k < 9; ++k) p = std::fma(p, f, kP[k]);  // Horner
  p = p * f;
  float y = std::fma(p, z, e * -2.12194440e-4f);  // f^3 P(f) + e * ln2_low
  y = std::fma(z, -0.5f, y);                      // - f^2 / 2
  return std::fma(e, 0.693359375f, f + y);        // + f + e * ln2_high
}

// sin and cos of x >= 0 (here x = 2 pi u < 2 pi). Reduce x by the nearest even multiple j of
// pi/4 to r in [-pi/4, pi/4] (Cody-Waite: pi/4 in three parts so x - j pi/4 stays accurate),
// evaluate Cephes polynomials for sin(r) and cos(r), then use the octant j to pick which one is
// sin(x) and which is cos(x), and their signs.
void cephes_sincosf(float x, float* sin_x, float* cos_x) {
  int j = static_cast<int>(x * 1.27323954473516f);  // x / (pi/4), truncated
  j = (j + 1) & ~1;
  const float jf = static_cast<float>(j);
  float r = std::fma(jf, -0.78515625f, x);
  r = std::fma(jf, -2.4187564849853515625e-4f, r);
  r = std::fma(jf, -3.77489497744594108e-8f, r);
  const float z = r * r;

  // cos(r) ~ 1 - z/2 + z^2 Q(z)
  float c = 2.443315711809948E-005f;
  c = std::fma(c, z, -1.388731625493765E-003f);
  c = std::fma(c, z, 4.166664568298827E-002f);
  c = c * z;
  c = std::fma(c, z, -(z * 0.5f));
  c = c + 1.0f;
  // sin(r) ~ r + r z S(z)
  float s = -1.9515295891E-4f;
  s = std::fma(s, z, 8.3321608736E-3f);
  s = std::fma(s, z, -1.6666654611E-1f);
  s = s * z;
  s = std::fma(s, r, r);

  // x = j pi/4 + r. For j = 2, 6 (mod 8) sin and cos trade places; sin(x) < 0 for j = 4, 6 and
  // cos(x) < 0 for j = 2, 4 (mod 8).
  const bool swap = (j & 2) != 0;
  float sin_v = swap ? c : s;
  float cos_v = swap ? s : c;
  if (j & 4) sin_v = -sin_v;
  if (((j - 2) & 4) == 0) cos_v = -cos_v;
  *sin_x = sin_v;
  *cos_x = cos_v;
}

// Box-Muller on a block of 16 uniforms, in float, as torch's vectorised normal kernel: the
// pairs (u[j], u[j+8]) for j < 8 become
//   radius = sqrt(-2 log(1 - u[j])),  theta = 2 pi u[j+8]
//   z[j] = radius cos(theta),  z[j+8] = radius sin(theta)
// (1 - u maps [0, 1) to (0, 1] so the log is finite), then z * std + mean as one FMA.
void box_muller_16(float* data, float mean, float std) {
  const float two_pi = static_cast<float>(2.0 * std::numbers::pi);
  for (int j = 0; j < 8; ++j) {
    const float radius = std::sqrt(-2.0f * cephes_logf(1.0f - data[j]));
    const float theta = two_pi * data[j + 8];
    float sin_t, cos_t;
    cephes_sincosf(theta, &sin_t, &cos_t);
    data[j] = std::fma(radius * cos_t, std, mean);
    data[j + 8] = std::fma(radius * sin_t, std, mean);
  }
}

}  // namespace

void Generator::fill_uniform(float* out, int64_t n, float lo, float hi) {
  check_count("fill_uniform", n, out);
  if (!(lo <= hi)) {
    throw std::invalid_argument("fill_uniform: expected lo <= hi, got lo = " + std::to_string(lo) +
                                ", hi = " + std::to_string(hi));
  }
  // x * (hi - lo) + lo in float. torch's compiled kernel contracts this into one FMA (checked
  // against torch 1.13: with a separate multiply and add, uniform_(-3, 5) differs in the last bit).
  const float width = hi - lo;
  for (int64_t i = 0; i < n; ++i) out[i] = std::fma(unit_float_from(random()), width, lo);
}

double Generator::uniform_double() {
  // Low 53 bits of a 64-bit word (double has a 53-bit significand), scaled by 2^-53.
  constexpr uint64_t kMask = (uint64_t{1} << 53) - 1;
  constexpr double kScale = 1.0 / static_cast<double>(uint64_t{1} << 53);
  return static_cast<double>(random64() & kMask) * kScale;
}

double Generator::normal_double() {
  if (has_cached_normal_) {
    has_cached_normal_ = false;
    return cached_normal_;
  }
  // Box-Muller: two independent uniforms give two independent N(0, 1) samples,
  //   r = sqrt(-2 log(1 - u2)),  theta = 2 pi u1,  (r cos(theta), r sin(theta)).
  // Note torch's order: u1 drives the angle, u2 the radius.
  double u1 = uniform_double();
  double u2 = uniform_double();
  double r = std::sqrt(-2.0 * std::log(1.0 - u2));
  double theta = 2.0 * std::numbers::pi * u1;
  cached_normal_ = r * std::sin(theta);
  has_cached_normal_ = true;
  return r * std::cos(theta);
}

void Generator::fill_normal(float* out, int64_t n, double mean, double std) {
  check_count("fill_normal", n, out);
  if (!(std >= 0.0)) throw std::invalid_argument("fill_normal: expected std >= 0, got " + std::to_string(std));

  if (n < 16) {
    // Scalar path: one double sample at a time (the cache carries over between calls), scaled
    // in double with one FMA like torch's compiled kernel, then rounded to float.
    for (int64_t i = 0; i < n; ++i) {
      double z = normal_double();
      out[i] = static_cast<float>(std::fma(z, std, mean));
    }
    return;
  }
  // Vectorised path: draw all n uniforms first, then transform them 16 at a time.
  for (int64_t i = 0; i < n; ++i) out[i] = unit_float_from(random());
  // This path works in float throughout, mean and std included.
  const float mean_f = static_cast<float>(mean);
  const float std_f = static_cast<float>(std);
  for (int64_t i = 0; i + 16 <= n; i += 16) box_muller_16(out + i, mean_f, std_f);
  if (n % 16 != 0) {
    // The last n % 16 elements do not fill a block. torch redraws the last 16 elements (part of
    // them already transformed by the previous block) from 16 fresh words and transforms them as
    // one more block, so the stream advances by n + 16 words in total.
    float* tail = out + n - 16;
    for (int i = 0; i < 16; ++i) tail[i] = unit_float_from(random());
    box_muller_16(tail, mean_f, std_f);
  }
}

void Generator::fill_randint(int64_t* out, int64_t n, int64_t lo, int64_t hi) {
  check_count("fill_randint", n, out);
  if (!(lo < hi)) {
    throw std::invalid_argument("fill_randint: expected lo < hi, got lo = " + std::to_string(lo) +
                                ", hi = " + std::to_string(hi));
  }
  // hi - lo computed in uint64 so that the full int64 range does not overflow.
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  const bool wide = range >= (uint64_t{1} << 32);
  for (int64_t i = 0; i < n; ++i) {
    // Modulo reduction (slightly biased for ranges that do not divide 2^32; torch does the same).
    uint64_t word = wide ? random64() : random();
    out[i] = static_cast<int64_t>(word % range + static_cast<uint64_t>(lo));
  }
}

std::vector<int64_t> Generator::permutation(int64_t n) {
  if (n < 0) throw std::invalid_argument("permutation: n must be >= 0, got " + std::to_string(n));
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  // Fisher-Yates from the front, as torch 1.13's CPU randperm: position i swaps with a
  // uniformly chosen position in [i, n), chosen as i + word % (n - i). One 32-bit word per
  // step, n - 1 steps (the last element has nowhere else to go).
  for (int64_t i = 0; i + 1 < n; ++i) {
    int64_t j = i + static_cast<int64_t>(random() % static_cast<uint64_t>(n - i));
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

void Generator::fill_bernoulli(float* out, int64_t n, double p) {
  check_count("fill_bernoulli", n, out);
  if (!(p >= 0.0 && p <= 1.0)) {
    throw std::invalid_argument("fill_bernoulli: expected 0 <= p <= 1, got " + std::to_string(p));
  }
  for (int64_t i = 0; i < n; ++i) out[i] = uniform_double() < p ? 1.f : 0.f;
}

// ============================================================================================
// Saving and restoring the state
// ============================================================================================
//
// Layout (little-endian, 2525 bytes):
//   [0, 8)        magic "hdmt1937" (names the format; a version bump changes it)
//   [8, 16)       seed (uint64)
//   [16, 20)      next_: index of the next word, 0..624 (uint32)
//   [20, 2516)    the 624 engine words (uint32 each)
//   [2516]        1 if a cached normal sample is waiting, else 0
//   [2517, 2525)  the cached normal sample (IEEE double bits as uint64; 0 when none)

namespace {
constexpr char kMagic[8] = {'h', 'd', 'm', 't', '1', '9', '3', '7'};
constexpr size_t kStateBytes = 8 + 8 + 4 + 4 * Generator::kStateWords + 1 + 8;

void put_le(std::vector<uint8_t>& bytes, uint64_t value, int width) {
  for (int b = 0; b < width; ++b) bytes.push_back(static_cast<uint8_t>(value >> (8 * b)));
}

uint64_t get_le(const std::vector<uint8_t>& bytes, size_t& pos, int width) {
  uint64_t value = 0;
  for (int b = 0; b < width; ++b) value |= static_cast<uint64_t>(bytes[pos++]) << (8 * b);
  return value;
}
}  // namespace

std::vector<uint8_t> Generator::get_state() const {
  std::vector<uint8_t> bytes(kMagic, kMagic + 8);
  bytes.reserve(kStateBytes);
  put_le(bytes, seed_, 8);
  put_le(bytes, static_cast<uint32_t>(next_), 4);
  for (uint32_t w : words_) put_le(bytes, w, 4);
  bytes.push_back(has_cached_normal_ ? 1 : 0);
  uint64_t normal_bits = 0;
  if (has_cached_normal_) std::memcpy(&normal_bits, &cached_normal_, sizeof normal_bits);
  put_le(bytes, normal_bits, 8);
  return bytes;
}

void Generator::set_state(const std::vector<uint8_t>& state) {
  const std::string what = "Generator::set_state: ";
  if (state.size() != kStateBytes) {
    throw std::invalid_argument(what + "expected " + std::to_string(kStateBytes) + " bytes (from get_state()), got " +
                                std::to_string(state.size()));
  }
  if (std::memcmp(state.data(), kMagic, 8) != 0) {
    throw std::invalid_argument(what + "bytes do not start with the \"hdmt1937\" marker; not a hundun generator state");
  }
  // Decode into locals and commit only once everything checks out, so a rejected state leaves
  // the generator untouched.
  size_t pos = 8;
  uint64_t seed = get_le(state, pos, 8);
  uint64_t next = get_le(state, pos, 4);
  std::array<uint32_t, kStateWords> words;
  bool any_nonzero = false;
  for (uint32_t& w : words) {
    w = static_cast<uint32_t>(get_le(state, pos, 4));
    any_nonzero = any_nonzero || w != 0;
  }
  uint8_t has_normal = state[pos++];
  uint64_t normal_bits = get_le(state, pos, 8);
  double normal;
  std::memcpy(&normal, &normal_bits, sizeof normal);

  if (next > static_cast<uint64_t>(kStateWords)) {
    throw std::invalid_argument(what + "word index " + std::to_string(next) + " is out of range [0, 624]");
  }
  if (!any_nonzero) throw std::invalid_argument(what + "all engine words are zero (mt19937 would only output zeros)");
  if (has_normal > 1) {
    throw std::invalid_argument(what + "cached-normal flag must be 0 or 1, got " + std::to_string(has_normal));
  }
  if (has_normal && !std::isfinite(normal)) throw std::invalid_argument(what + "cached normal sample is not finite");

  seed_ = seed;
  next_ = static_cast<int>(next);
  words_ = words;
  has_cached_normal_ = has_normal == 1;
  cached_normal_ = has_cached_normal_ ? normal : 0.0;
}

Generator& default_generator() {
  static Generator generator;
  return generator;
}

// ---------------------------------------------------------------- tensors of random numbers

Tensor rand(const Shape& shape, Generator& gen) { return uniform(shape, 0.f, 1.f, gen); }
Tensor randn(const Shape& shape, Generator& gen) { return normal(shape, 0.0, 1.0, gen); }

Tensor uniform(const Shape& shape, float lo, float hi, Generator& gen) {
  Tensor t(shape);
  gen.fill_uniform(t.data(), t.numel(), lo, hi);
  return t;
}

Tensor normal(const Shape& shape, double mean, double std, Generator& gen) {
  Tensor t(shape);
  gen.fill_normal(t.data(), t.numel(), mean, std);
  return t;
}

Tensor randint(int64_t lo, int64_t hi, const Shape& shape, Generator& gen) {
  Tensor t(shape);
  std::vector<int64_t> values(static_cast<size_t>(t.numel()));
  gen.fill_randint(values.data(), t.numel(), lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<float>(values[i]);
  return t;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace hd
