// VAE training benchmark: pytorch/examples' VAE on Fashion-MNIST, epoch by epoch, in hundun.
// bench/torch/vae.py is its PyTorch twin and prints the same JSON lines:
//
//   build/bench/vae_epoch --epochs 10 --seed 1         /usr/bin/python3 bench/torch/vae.py --epochs 10 --seed 1
//
// Same model (models/vae.h: 784-400-20, Bernoulli decoder), Adam(lr 1e-3), batch 128, a fresh random order
// of the 60000 training images every epoch, loss = BCE + KL summed over the batch; the train loss is the
// epoch's sum / 60000 and the test negative ELBO the test set's sum / 10000 (one z per image). One Generator
// seeded with --seed draws, in PyTorch's order, the initial weights, each epoch's order (randperm) and every
// eps of the reparameterisation, so the run starts exactly where PyTorch's does.
//
// Flags: --epochs N (default 1), --seed S (default 1), --threads T (OpenMP threads; default: all cores),
// --profile (after each epoch, one line with the time split between forward, backward and the optimizer
// step), --floor (at the end, one line timing only the matrix products of an epoch; see gemm_floor()).
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "bench/flags.h"
#include "bench/timing.h"
#include "data/fashion_mnist.h"
#include "models/vae.h"
#include "nn/optim.h"
#include "tensor/gemm.h"
#include "tensor/random.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// rows: [N, 784] -> out: [idx.size(), 784], out[i] = rows[order[begin + i]] (into a reused buffer)
void gather_batch(const hd::Tensor& rows, const std::vector<int64_t>& order, int64_t begin, hd::Tensor& out) {
  const int64_t d = rows.size(1);
  for (int64_t i = 0; i < out.size(0); ++i)
    std::memcpy(out.data() + i * d, rows.data() + order[begin + i] * d, d * sizeof(float));
}

// The matrix products one training epoch cannot avoid, run back to back on scratch data: for each of the
// five Linear layers the forward x W^T, the weight gradient g^T x and (except for fc1, whose input is the
// data) the input gradient g W, in the shapes a batch of 128 gives them. Nothing else of the step runs, so
// its time is the floor under the epoch's time: whatever the framework around the GEMM does, an epoch
// cannot be faster than this, nor than flop / (the FMA peak of bench/gemm).
void gemm_floor(int64_t n_train, int64_t batch, int64_t hidden, int64_t latent) {
  struct Product { bool ta, tb; int64_t M, N, K; };
  std::vector<Product> step;
  auto layer = [&](int64_t in, int64_t out, bool input_grad) {
    step.push_back({false, true, batch, out, in});   // y = x W^T
    step.push_back({true, false, out, in, batch});   // dW = g^T x
    if (input_grad) step.push_back({false, false, batch, in, out});  // dx = g W
  };
  layer(784, hidden, false);
  layer(hidden, latent, true);
  layer(hidden, latent, true);
  layer(latent, hidden, true);
  layer(hidden, 784, true);
  std::vector<float> a(batch * 784 * 2, 0.01f), b(784 * hidden * 2, 0.02f), c(784 * hidden * 2);
  const int64_t steps = (n_train + batch - 1) / batch;
  double flop = 0;
  for (const Product& p : step) flop += 2.0 * static_cast<double>(p.M) * p.N * p.K * steps;
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {  // the best of three: the floor, not a typical run
    auto start = Clock::now();
    for (int64_t s = 0; s < steps; ++s)
      for (const Product& p : step)
        hd::sgemm(p.ta, p.tb, p.M, p.N, p.K, 1.f, a.data(), p.ta ? p.M : p.K, b.data(), p.tb ? p.K : p.N, 0.f,
                  c.data(), p.N);
    best = std::min(best, seconds_since(start));
  }
  fmt::print("{{\"bench\": \"vae_epoch_gemm_floor\", \"threads\": {}, \"gflop_per_epoch\": {:.1f}, "
             "\"seconds\": {:.3f}, \"gflops\": {:.1f}}}\n",
             omp_get_max_threads(), flop / 1e9, best, flop / best / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  int epochs = 1, threads = 0;
  uint64_t seed = 1;
  bool profile = false, floor = false;
  const char* usage = "vae_epoch [--epochs N] [--seed S] [--threads T] [--profile] [--floor]";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--epochs") epochs = static_cast<int>(bench::int_flag(i, argc, argv, 1, 1000, usage));
    else if (arg == "--seed") seed = static_cast<uint64_t>(bench::int_flag(i, argc, argv, 0, INT64_MAX, usage));
    else if (arg == "--threads") threads = static_cast<int>(bench::int_flag(i, argc, argv, 0, 1024, usage));
    else if (arg == "--profile") profile = true;
    else if (arg == "--floor") floor = true;
    else bench::usage_exit(usage, "unknown flag " + arg);
  }
  if (threads > 0) omp_set_num_threads(threads);

  hd::Dataset train = hd::load_fashion_mnist(true), test = hd::load_fashion_mnist(false);
  const int64_t n_train = train.images.size(0), n_test = test.images.size(0), batch = 128;
  hd::Tensor train_x = train.images.reshape({n_train, 784}), test_x = test.images.reshape({n_test, 784});

  hd::Generator gen(seed);
  hd::VAE model({}, gen);
  hd::Adam optimizer(model.parameters(), 1e-3f);
  fmt::print(
      "{{\"bench\": \"vae_epoch\", \"impl\": \"hundun\", \"gemm\": \"{}\", \"threads\": {}, \"epochs\": {}, "
      "\"batch_size\": {}, \"lr\": 0.001, \"seed\": {}, \"train_size\": {}, \"test_size\": {}}}\n",
      hd::sgemm_kernel_name(), omp_get_max_threads(), epochs, batch, seed, n_train, n_test);
  std::fflush(stdout);

  hd::Tensor full_batch({batch, 784}), tail_batch({n_train % batch, 784});
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    auto start = Clock::now();
    const double cpu_start = bench::process_cpu_seconds();
    double t_forward = 0, t_backward = 0, t_step = 0;
    std::vector<int64_t> order = gen.permutation(n_train);
    double train_loss = 0;
    for (int64_t begin = 0; begin < n_train; begin += batch) {
      hd::Tensor& x = begin + batch <= n_train ? full_batch : tail_batch;
      gather_batch(train_x, order, begin, x);
      auto t0 = Clock::now();
      optimizer.zero_grad();
      hd::Variable loss = model.loss(x, gen, hd::Reduction::Sum).total;
      auto t1 = Clock::now();
      loss.backward();
      auto t2 = Clock::now();
      train_loss += loss.item();
      optimizer.step();
      auto t3 = Clock::now();
      t_forward += std::chrono::duration<double>(t1 - t0).count();
      t_backward += std::chrono::duration<double>(t2 - t1).count();
      t_step += std::chrono::duration<double>(t3 - t2).count();
    }
    double seconds = seconds_since(start), cpu_seconds = bench::process_cpu_seconds() - cpu_start;

    double test_loss = 0;
    {
      hd::NoGradGuard no_grad;
      for (int64_t begin = 0; begin < n_test; begin += batch)
        test_loss += model.loss(test_x.narrow0(begin, std::min(begin + batch, n_test)), gen, hd::Reduction::Sum).total.item();
    }
    fmt::print(
        "{{\"bench\": \"vae_epoch\", \"impl\": \"hundun\", \"threads\": {}, \"epoch\": {}, \"train_loss\": {:.4f}, "
        "\"test_neg_elbo\": {:.4f}, \"seconds\": {:.3f}, \"cpu_seconds\": {:.3f}}}\n",
        omp_get_max_threads(), epoch, train_loss / n_train, test_loss / n_test, seconds, cpu_seconds);
    if (profile)
      fmt::print("{{\"bench\": \"vae_epoch_profile\", \"epoch\": {}, \"forward_s\": {:.3f}, \"backward_s\": {:.3f}, "
                 "\"step_s\": {:.3f}, \"other_s\": {:.3f}}}\n",
                 epoch, t_forward, t_backward, t_step, seconds - t_forward - t_backward - t_step);
    std::fflush(stdout);
  }
  if (floor) gemm_floor(n_train, batch, model.options.hidden, model.options.latent_dim);
  return 0;
}
