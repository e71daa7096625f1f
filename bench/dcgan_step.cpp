// DCGAN step benchmark: one discriminator step and one generator step (models/gan.h's train_step, Algorithm 1 of
// Goodfellow et al.) at batch 64, and the generator's sampling throughput. bench/torch/dcgan_step.py is its
// PyTorch twin and prints the same JSON lines:
//
//   build/bench/dcgan_step --steps 30 --threads 2        /usr/bin/python3 bench/torch/dcgan_step.py --steps 30 --threads 2
//
// The step runs on the first 64 * steps Fashion-MNIST training images scaled to [-1, 1], batch after batch, after
// --warmup steps that are not timed (the first touches every buffer). Reported: the median and the fastest step,
// and the step's floating-point work (flop_per_step, counted layer by layer in step_flop()), so that
// flop / (the FMA peak of bench/gemm) is the step's arithmetic limit. Then sampling: G(z) for 1000 z in
// evaluation mode, no graph, images per second (the lecture's "one-step generation").
//
// Flags: --steps N (timed steps, default 30), --warmup W (default 3), --threads T (OpenMP threads; default: all
// cores), --seed S (default 1), --loss ns|lsgan|hinge|minimax|wgan-gp (default ns).
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "bench/flags.h"
#include "data/fashion_mnist.h"
#include "data/loader.h"
#include "models/gan.h"
#include "nn/optim.h"
#include "tensor/gemm.h"
#include "tensor/random.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The multiply-adds of one step (times 2: flop), layer by layer, for DCGAN-28 at batch B: a convolution's forward
// is out_pixels * C_out * C_in * k * k per image (a transposed one's in_pixels * C_in * C_out * k * k: each input
// pixel spreads over k * k outputs), its weight gradient as much, its input gradient as much again.
// D step: G forward (B), D forward on B real + B fake, D backward (weights; no input gradient needed).
// G step: D forward on B fake, D backward with input gradients (weights' too: the engine computes them), G backward.
double step_flop(const hd::gan::GanOptions& o, int64_t B) {
  const double f = static_cast<double>(o.features), s = static_cast<double>(o.image.height / 4 * (o.image.width / 4));
  const double C = static_cast<double>(o.image.channels), z = static_cast<double>(o.latent_dim);
  // forward multiply-adds per image
  const double g_fc = z * 2 * f * s, g_up1 = s * 2 * f * f * 16, g_up2 = (4 * s) * f * C * 16;
  const double d_conv1 = (4 * s) * f * C * 16, d_conv2 = s * 2 * f * f * 16, d_fc = 2 * f * s;
  const double g_fwd = g_fc + g_up1 + g_up2, d_fwd = d_conv1 + d_conv2 + d_fc;
  const double d_weight_grads = d_fwd, d_input_grads = d_conv2 + d_fc + d_conv1;  // conv1's input grad: dL/dG(z)
  const double g_weight_grads = g_fwd, g_input_grads = g_up1 + g_up2;              // z needs none
  const double d_step = B * g_fwd + 2 * B * d_fwd + 2 * B * d_weight_grads;
  const double g_step = B * d_fwd + B * (d_weight_grads + d_input_grads) + B * (g_weight_grads + g_input_grads);
  return 2 * (d_step + g_step);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t steps = 30, warmup = 3, threads = 0;
  uint64_t seed = 1;
  std::string loss = "ns";
  const char* usage = "dcgan_step [--steps N] [--warmup W] [--threads T] [--seed S] [--loss ns|minimax|lsgan|hinge|wgan-gp]";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--steps") steps = bench::int_flag(i, argc, argv, 1, 100000, usage);
    else if (arg == "--warmup") warmup = bench::int_flag(i, argc, argv, 0, 1000, usage);
    else if (arg == "--threads") threads = bench::int_flag(i, argc, argv, 0, 1024, usage);
    else if (arg == "--seed") seed = static_cast<uint64_t>(bench::int_flag(i, argc, argv, 0, INT64_MAX, usage));
    else if (arg == "--loss" && i + 1 < argc) loss = argv[++i];
    else bench::usage_exit(usage, "unknown flag " + arg);
  }
  if (threads > 0) omp_set_num_threads(static_cast<int>(threads));

  const int64_t batch = 64;
  hd::gan::GanOptions options;
  try {
    options.loss = hd::gan::loss_from_name(loss);
  } catch (const std::exception& e) {
    bench::usage_exit(usage, e.what());
  }
  const hd::Dataset train = hd::load_fashion_mnist(true);
  const int64_t n = std::min(train.images.size(0), batch * (steps + warmup));
  const hd::Tensor images = hd::to_minus_one_one(train.images.narrow0(0, n));

  hd::Generator rng(seed);
  hd::gan::GAN gan(options, rng);
  hd::Adam adam_d(gan.discriminator->parameters(), 2e-4f, 0.5f, 0.999f);
  hd::Adam adam_g(gan.generator->parameters(), 2e-4f, 0.5f, 0.999f);
  const double flop = step_flop(options, batch);
  fmt::print("{{\"bench\": \"dcgan_step\", \"impl\": \"hundun\", \"gemm\": \"{}\", \"threads\": {}, \"batch_size\": {}, "
             "\"loss\": \"{}\", \"steps\": {}, \"warmup\": {}, \"seed\": {}, \"gflop_per_step\": {:.3f}}}\n",
             hd::sgemm_kernel_name(), omp_get_max_threads(), batch, loss, steps, warmup, seed, flop / 1e9);
  std::fflush(stdout);

  gan.train();
  std::vector<double> times;
  double d_loss = 0, g_loss = 0;
  for (int64_t s = 0; s < warmup + steps; ++s) {
    const int64_t begin = (s * batch) % (n - batch + 1);
    const hd::Tensor real = images.narrow0(begin, begin + batch);
    const auto start = Clock::now();
    const hd::gan::AdversarialLosses l = hd::gan::train_step(gan, adam_d, adam_g, real, rng);
    if (s >= warmup) times.push_back(seconds_since(start));
    d_loss = l.discriminator;
    g_loss = l.generator;
  }
  const double med = median(times), best = *std::min_element(times.begin(), times.end());
  fmt::print("{{\"bench\": \"dcgan_step\", \"impl\": \"hundun\", \"threads\": {}, \"step_ms_median\": {:.2f}, "
             "\"step_ms_min\": {:.2f}, \"gflops_median\": {:.1f}, \"d_loss\": {:.4f}, \"g_loss\": {:.4f}}}\n",
             omp_get_max_threads(), 1e3 * med, 1e3 * best, flop / med / 1e9, d_loss, g_loss);
  std::fflush(stdout);

  // Sampling: one pass of G for 1000 z, evaluation mode, no graph; the best of three.
  gan.eval();
  const hd::Tensor z = hd::randn({1000, options.latent_dim}, rng);
  double sample_best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    const auto start = Clock::now();
    const hd::Tensor x = gan.decode_images(z);
    sample_best = std::min(sample_best, seconds_since(start));
  }
  fmt::print("{{\"bench\": \"dcgan_sample\", \"impl\": \"hundun\", \"threads\": {}, \"batch_size\": 1000, "
             "\"seconds\": {:.4f}, \"images_per_second\": {:.0f}}}\n",
             omp_get_max_threads(), sample_best, 1000 / sample_best);
  return 0;
}
