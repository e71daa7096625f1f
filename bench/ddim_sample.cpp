// Diffusion sampling benchmark: 64 images of U-Net-28 with DDIM (eta 0), in hundun. bench/torch/ddpm.py --sample S
// is its PyTorch twin and prints the same JSON line:
//
//   build/bench/ddim_sample --steps 50 --threads 2        /usr/bin/python3 bench/torch/ddpm.py --sample 50 --threads 2
//
// The same untrained weights from the same seed (the cost of a sampling step does not depend on them) and the same
// x_T ~ N(0, I) drawn right after them, so both print the same mean pixel: the two samplers agree, not only in time.
//
// Flags: --steps S (default 50), --seed S (default 1), --threads T (OpenMP threads; default: all cores).
#include <fmt/format.h>
#include <omp.h>

#include <chrono>
#include <string>

#include "bench/flags.h"
#include "bench/timing.h"
#include "models/diffusion.h"
#include "tensor/random.h"

int main(int argc, char** argv) {
  int64_t steps = 50, threads = 0;
  uint64_t seed = 1;
  const char* usage = "ddim_sample [--steps S] [--seed S] [--threads T]";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--steps") steps = bench::int_flag(i, argc, argv, 1, 1000, usage);
    else if (arg == "--seed") seed = static_cast<uint64_t>(bench::int_flag(i, argc, argv, 0, INT64_MAX, usage));
    else if (arg == "--threads") threads = bench::int_flag(i, argc, argv, 0, 1024, usage);
    else bench::usage_exit(usage, "unknown flag " + arg);
  }
  if (threads > 0) omp_set_num_threads(static_cast<int>(threads));

  hd::Generator gen(seed);
  hd::diffusion::DiffusionModel model({}, gen);
  model.eval();
  const hd::Tensor x_T = hd::randn({64, 1, 28, 28}, gen);
  hd::diffusion::SamplerOptions ddim;
  ddim.steps = steps;
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = bench::process_cpu_seconds();
  const hd::Tensor images = model.generate(x_T, ddim, gen);  // in [-1, 1]
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double sum = 0;
  for (int64_t i = 0; i < images.numel(); ++i) sum += images.data()[i];
  fmt::print("{{\"bench\": \"ddim_sample\", \"impl\": \"hundun\", \"threads\": {}, \"images\": 64, \"steps\": {}, "
             "\"seconds\": {:.3f}, \"cpu_seconds\": {:.3f}, \"mean_pixel\": {:.5f}, \"peak_rss_mb\": {:.1f}}}\n",
             omp_get_max_threads(), steps, seconds, bench::process_cpu_seconds() - cpu_start,
             sum / static_cast<double>(images.numel()), bench::peak_rss_mb());
  return 0;
}
