// random.h - hundun's seeded random number generator.
//
// hd::Generator reproduces PyTorch's CPU random stream (torch 1.13): after
// torch.manual_seed(s) and Generator g(s), torch.rand / randn / randint / randperm / bernoulli_
// and the matching fill_* calls below produce the same numbers, call after call. That lets a
// hundun model start from exactly the weights a PyTorch script would draw, and lets tests
// compare whole training runs against PyTorch.
//
// Two layers:
//   1. The engine: a Mersenne Twister (mt19937) producing raw 32-bit words (random()), and
//      64-bit words made of two of them (random64()).
//   2. Distributions: each fill_* turns raw words into numbers the way PyTorch's CPU kernels
//      do, consuming exactly as many words, in the same order.
//
// Not thread-safe: one Generator must not be used from two threads at once (PyTorch guards
// its generator with a mutex; hundun draws random numbers from one thread).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace hd {

class Generator {
 public:
  // PyTorch's default CPU seed (c10::default_rng_seed_val): where torch.Generator() starts.
  static constexpr uint64_t kDefaultSeed = 67280421310721ULL;

  explicit Generator(uint64_t seed = kDefaultSeed);

  // Restart the stream, like torch.manual_seed(seed): re-seeds the engine and forgets any
  // cached normal sample.
  void manual_seed(uint64_t seed);
  uint64_t initial_seed() const { return seed_; }

  // Next raw 32-bit word of the mt19937 stream (at::CPUGeneratorImpl::random()).
  uint32_t random();
  // Two words glued together, the first one as the high half (at::CPUGeneratorImpl::random64()).
  uint64_t random64();

  // out: [n] <- Uniform[lo, hi), like torch.rand(n) (lo=0, hi=1) or Tensor.uniform_(lo, hi).
  // One 32-bit word per element.
  void fill_uniform(float* out, int64_t n, float lo = 0.f, float hi = 1.f);

  // out: [n] <- Normal(mean, std^2), like torch.randn(n) or Tensor.normal_(mean, std).
  // n < 16: scalar Box-Muller in double, caching the second sample of each pair for the next
  //         call (4 words per pair).
  // n >= 16: Box-Muller in float on blocks of 16 (one word per element); when n % 16 != 0 the
  //         last 16 elements are redrawn with 16 fresh words and transformed again.
  // Bit-for-bit equal to torch 1.13 on x86-64 with AVX2 (both paths; the n >= 16 one
  // reproduces torch's float approximations of log/sin/cos, see random.cpp).
  // mean and std are doubles because torch's n < 16 path computes z * std + mean in double:
  // normal_(0, 0.1) uses the double 0.1, which a float parameter could not pass on.
  void fill_normal(float* out, int64_t n, double mean = 0.0, double std = 1.0);

  // out: [n] <- integers uniform in [lo, hi), like torch.randint(lo, hi, (n,)).
  // value = lo + word % (hi - lo), with a 32-bit word when hi - lo < 2^32, else a 64-bit one.
  void fill_randint(int64_t* out, int64_t n, int64_t lo, int64_t hi);

  // A random permutation of 0..n-1, like torch.randperm(n) (int64, CPU).
  std::vector<int64_t> permutation(int64_t n);

  // out: [n] <- 1.f with probability p, else 0.f, like Tensor.bernoulli_(p) on CPU, which is
  // what F.dropout uses for its mask (bernoulli_(1 - p)). One 64-bit word per element, compared
  // as a double uniform against p. p is a double so that 1 - p computed by a caller in double
  // matches torch exactly. (torch.bernoulli(tensor_of_p) is a different stream: it draws one
  // 32-bit word per element and compares in float.)
  void fill_bernoulli(float* out, int64_t n, double p);

  // The full state as bytes (engine words, position, cached normal, seed), for checkpoints.
  // set_state(get_state()) resumes the exact stream. Format: see random.cpp.
  std::vector<uint8_t> get_state() const;
  // Throws std::invalid_argument if the bytes are not a state written by get_state().
  void set_state(const std::vector<uint8_t>& state);

  static constexpr int kStateWords = 624;  // mt19937 keeps 624 32-bit words

 private:
  void regenerate_state();   // the mt19937 "twist": refill all 624 words at once
  double uniform_double();   // [0, 1) with 53 random bits, from random64()
  double normal_double();    // one N(0, 1) sample, Box-Muller in double with a cached twin

  uint64_t seed_;
  std::array<uint32_t, kStateWords> words_;
  int next_;                  // index of the next word to hand out; kStateWords = "twist first"
  bool has_cached_normal_;    // Box-Muller makes samples in pairs; the second one waits here
  double cached_normal_;
};

// The process-wide generator, like torch's default CPU generator (what torch.manual_seed seeds).
// Unlike torch's, which is seeded from the OS at start-up, it starts from kDefaultSeed, so a
// program that never calls manual_seed still draws the same numbers every run.
Generator& default_generator();

// --- tensors of random numbers (torch.rand, torch.randn, ...) ---
Tensor rand(const Shape& shape, Generator& gen = default_generator());   // Uniform[0, 1)
Tensor randn(const Shape& shape, Generator& gen = default_generator());  // Normal(0, 1)
Tensor uniform(const Shape& shape, float lo, float hi, Generator& gen = default_generator());
Tensor normal(const Shape& shape, double mean, double std, Generator& gen = default_generator());
// Integers in [lo, hi) stored as floats (torch.randint(...).float()).
Tensor randint(int64_t lo, int64_t hi, const Shape& shape, Generator& gen = default_generator());
// torch.manual_seed: reseeds the default generator.
void manual_seed(uint64_t seed);

}  // namespace hd
