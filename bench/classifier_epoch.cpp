// Seconds per training epoch of the Fashion-MNIST classifier (models/classifier.h), the same run as
// `hundun train classifier` and as its PyTorch twin bench/torch/classifier.py: the CNN initialised from
// seed 0 (PyTorch's default initialisation, drawn as torch draws it), Adam lr 1e-3 with a per-step cosine
// decay over the run, batch 128, cross-entropy, a shuffled and preloaded training set of 60000 images.
// The test pass is not timed.
//
//   build/bench/classifier_epoch [--epochs N] [--seed S] [--threads T]   (default: 1 epoch, seed 0, all cores)
//
// Prints JSON lines: the settings, then per epoch the train loss, test accuracy, seconds (wall clock)
// and cpu_seconds (CPU time of all threads, which a busy machine inflates less than wall time).
#include <fmt/format.h>
#include <omp.h>

#include <chrono>
#include <ctime>
#include <cstdlib>
#include <string>

#include "bench/flags.h"
#include "data/fashion_mnist.h"
#include "data/loader.h"
#include "models/classifier.h"
#include "train/loop.h"
#include "nn/optim.h"
#include "nn/schedulers.h"

int main(int argc, char** argv) {
  int epochs = 1;
  uint64_t seed = 0;
  int threads_flag = 0;
  const char* usage = "classifier_epoch [--epochs N] [--seed S] [--threads T]";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--epochs") epochs = static_cast<int>(bench::int_flag(i, argc, argv, 1, 1000, usage));
    else if (arg == "--seed") seed = static_cast<uint64_t>(bench::int_flag(i, argc, argv, 0, INT64_MAX, usage));
    else if (arg == "--threads") threads_flag = static_cast<int>(bench::int_flag(i, argc, argv, 0, 1024, usage));
    else bench::usage_exit(usage, "unknown flag " + arg);
  }
  if (threads_flag > 0) omp_set_num_threads(threads_flag);
  const int64_t batch = 128;
  const float lr = 1e-3f;

  hd::Dataset train, test;
  try {
    train = hd::load_fashion_mnist(true);
    test = hd::load_fashion_mnist(false);
  } catch (const std::exception& e) {
    fmt::print("{{\"bench\":\"classifier_epoch\",\"skipped\":\"{}\"}}\n", e.what());
    return 0;
  }
  hd::Generator gen(seed);
  hd::Classifier model(gen);
  hd::Adam optimizer(model.parameters(), lr);
  hd::DataLoader loader(train, batch, /*shuffle=*/true, seed);
  hd::CosineAnnealingLR schedule(optimizer, epochs * loader.num_batches());
  const int threads = omp_get_max_threads();
  fmt::print("{{\"bench\":\"classifier_epoch\",\"impl\":\"hundun\",\"threads\":{},\"epochs\":{},\"batch_size\":{},"
             "\"lr\":{},\"seed\":{},\"train_size\":{},\"test_size\":{},\"parameters\":{}}}\n",
             threads, epochs, batch, lr, seed, train.images.size(0), test.images.size(0), model.num_parameters());
  std::fflush(stdout);

  hd::TrainLoop loop;
  loop.epochs = epochs;
  loop.show_progress = false;  // stdout is JSON lines
  loop.watched = {&model};
  loop.step = [&](const hd::Tensor& x, const hd::Tensor& y) {
    const float loss = hd::classifier_step(model, optimizer, x, y);
    schedule.step();
    return hd::StepLosses{{"loss", loss}};
  };
  std::clock_t cpu_start = std::clock();  // CPU time of all threads: less sensitive to a busy machine
  loop.end_of_epoch = [&](const hd::EpochResult& r) {
    const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    hd::ClassifierMetrics m = hd::evaluate(model, test);
    fmt::print("{{\"bench\":\"classifier_epoch\",\"impl\":\"hundun\",\"threads\":{},\"epoch\":{},\"train_loss\":{:.4f},"
               "\"test_accuracy\":{:.4f},\"test_loss\":{:.4f},\"seconds\":{:.3f},\"cpu_seconds\":{:.3f}}}\n",
               threads, r.epoch, r.mean_losses[0].second, m.accuracy, m.loss, r.seconds, cpu_seconds);
    std::fflush(stdout);
    cpu_start = std::clock();
  };
  hd::run_training(loop, loader);
  return 0;
}
