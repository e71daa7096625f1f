// Diffusion training benchmark: one DDPM training step of U-Net-28 at batch 64, in hundun.
// bench/torch/ddpm.py is its PyTorch twin and prints the same JSON lines:
//
//   build/bench/ddpm_step --steps 20 --threads 2        /usr/bin/python3 bench/torch/ddpm.py --steps 20 --threads 2
//
// Same model (models/diffusion.h: U-Net-28, channels 32, 64, 128, time embedding 128, GroupNorm(8), linear schedule,
// T = 1000), same step (Algorithm 1: t ~ U{0..T-1}, eps ~ N(0, I), x_t by q_sample, mean squared error of
// eps_theta(x_t, t) against eps, Adam(2e-4) step, EMA(0.999) update), same batch of 64 random images in [-1, 1] (the
// data do not change a step's cost). --warmup steps first, then --steps timed one by one; the line reports the
// median (the figure to quote on a shared machine), the minimum, the CPU time per step, and the process's peak memory.
// The settings line carries the step's multiply-adds of the convolutions (a step is about three forward passes:
// forward, input gradient, weight gradient), so a time can be set against the FMA peak of bench/gemm.
//
// Flags: --steps N (default 20), --warmup N (default 3), --seed S (default 1), --threads T (OpenMP threads;
// default: all cores).
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "bench/flags.h"
#include "bench/timing.h"
#include "models/diffusion.h"
#include "nn/ema.h"
#include "nn/optim.h"
#include "tensor/gemm.h"
#include "tensor/random.h"

namespace {

using Clock = std::chrono::steady_clock;

// Floating-point operations of one forward pass's convolutions (2 per multiply-add) for a batch of `batch`,
// from the shapes of models/diffusion.h's header: a k x k convolution from C_in to C_out at an H x W output costs
// C_in k k C_out H W multiply-adds per image; a transposed one the same with H x W its input.
double unet_forward_flop(const hd::diffusion::UNetOptions& o, int64_t batch) {
  const std::vector<int64_t>& ch = o.channels;
  const auto levels = static_cast<int64_t>(ch.size());
  const auto pixels = [&](int64_t level) {
    return static_cast<double>((o.image.height >> level) * (o.image.width >> level));
  };
  const auto conv = [&](int64_t cin, int64_t cout, int64_t k, int64_t level) {
    return static_cast<double>(cin * k * k * cout) * pixels(level);
  };
  const auto resblock = [&](int64_t in, int64_t out, int64_t level) {
    return conv(in, out, 3, level) + conv(out, out, 3, level) + (in != out ? conv(in, out, 1, level) : 0.0);
  };
  double macs = conv(o.image.channels, ch[0], 3, 0) + conv(ch[0], o.image.channels, 3, 0);  // conv_in, conv_out
  for (int64_t i = 0; i < levels; ++i) {
    macs += resblock(i == 0 ? ch[0] : ch[i - 1], ch[i], i) + resblock(2 * ch[i], ch[i], i);  // down.i, up
    if (i + 1 < levels) macs += conv(ch[i], ch[i], 3, i + 1) + conv(ch[i + 1], ch[i], 4, i + 1);  // down-, upsample
  }
  macs += resblock(ch[levels - 1], ch[levels - 1], levels - 1);  // mid
  return 2.0 * macs * static_cast<double>(batch);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t steps = 20, warmup = 3, threads = 0;
  uint64_t seed = 1;
  const char* usage = "ddpm_step [--steps N] [--warmup N] [--seed S] [--threads T]";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--steps") steps = bench::int_flag(i, argc, argv, 1, 100000, usage);
    else if (arg == "--warmup") warmup = bench::int_flag(i, argc, argv, 0, 1000, usage);
    else if (arg == "--seed") seed = static_cast<uint64_t>(bench::int_flag(i, argc, argv, 0, INT64_MAX, usage));
    else if (arg == "--threads") threads = bench::int_flag(i, argc, argv, 0, 1024, usage);
    else bench::usage_exit(usage, "unknown flag " + arg);
  }
  if (threads > 0) omp_set_num_threads(static_cast<int>(threads));

  const int64_t batch = 64;
  hd::Generator gen(seed);
  hd::diffusion::DiffusionModel model({}, gen);
  hd::Adam adam(model.parameters(), 2e-4f);
  hd::EMA ema(model, 0.999f);
  hd::Tensor x0 = hd::rand({batch, 1, 28, 28}, gen);
  for (int64_t i = 0; i < x0.numel(); ++i) x0.data()[i] = 2.f * x0.data()[i] - 1.f;  // [0, 1] -> [-1, 1]
  const double forward_flop = unet_forward_flop(model.options.unet, batch);
  fmt::print("{{\"bench\": \"ddpm_step\", \"impl\": \"hundun\", \"gemm\": \"{}\", \"threads\": {}, \"batch_size\": {}, "
             "\"seed\": {}, \"parameters\": {}, \"steps\": {}, \"warmup\": {}, \"conv_gflop_per_step\": {:.2f}}}\n",
             hd::sgemm_kernel_name(), omp_get_max_threads(), batch, seed, model.num_parameters(), steps, warmup,
             3 * forward_flop / 1e9);
  std::fflush(stdout);

  model.train();
  for (int64_t s = 0; s < warmup; ++s) hd::diffusion::train_step(model, adam, ema, x0, gen);
  std::vector<double> walls, cpus;
  double last_loss = 0;
  for (int64_t s = 0; s < steps; ++s) {
    const auto start = Clock::now();
    const double cpu_start = bench::process_cpu_seconds();
    last_loss = hd::diffusion::train_step(model, adam, ema, x0, gen).loss;
    walls.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    cpus.push_back(bench::process_cpu_seconds() - cpu_start);
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  };
  const double med = median(walls);
  fmt::print("{{\"bench\": \"ddpm_step\", \"impl\": \"hundun\", \"steps\": {}, \"median_seconds\": {:.4f}, "
             "\"min_seconds\": {:.4f}, \"median_cpu_seconds\": {:.4f}, \"conv_gflops\": {:.1f}, \"last_loss\": {:.4f}, "
             "\"peak_rss_mb\": {:.1f}}}\n",
             steps, med, *std::min_element(walls.begin(), walls.end()), median(cpus), 3 * forward_flop / med / 1e9,
             last_loss, bench::peak_rss_mb());
  return 0;
}
