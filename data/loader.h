// loader.h — mini-batches from an in-memory data set, like torch.utils.data.DataLoader.
//
//   DataLoader loader(train.images, train.labels, /*batch_size=*/128, /*shuffle=*/true, /*seed=*/0);
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     Tensor x, y;                      // x: [B, 1, 28, 28], y: [B]
//     while (loader.next(x, y)) { ... }
//   }
//
// Each epoch visits every example exactly once, in a fresh random order when shuffling. The
// orders come from the loader's own Generator, seeded once in the constructor: epoch k's order
// depends only on the seed and k, so a run can be repeated exactly.
#pragma once

#include <cstdint>
#include <vector>

#include "data/fashion_mnist.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace hd {

class DataLoader {
 public:
  // inputs: [N, ...]; targets: [N, ...] or undefined (unlabelled data: next() leaves y undefined).
  // drop_last skips the final batch when it would have fewer than batch_size rows.
  DataLoader(Tensor inputs, Tensor targets, int64_t batch_size, bool shuffle, uint64_t seed,
             bool drop_last = false);
  DataLoader(const Dataset& data, int64_t batch_size, bool shuffle, uint64_t seed, bool drop_last = false)
      : DataLoader(data.images, data.labels, batch_size, shuffle, seed, drop_last) {}

  // Begins a new epoch: draws the next order (shuffle: Generator::permutation, like
  // torch.randperm) and rewinds. Optional: next() starts an epoch by itself when none is running.
  void start_epoch();

  // Sets x: [b, ...] and y: [b, ...] to the next batch and returns true, or returns false when
  // the epoch is over (the following call starts the next epoch). b is batch_size, except for a
  // shorter last batch when drop_last is false.
  // x and y are the loader's own buffers, overwritten by the next call (no allocation on the
  // training hot path): clone() a batch you want to keep.
  bool next(Tensor& x, Tensor& y);

  int64_t num_batches() const;            // batches per epoch
  int64_t size() const { return n_; }     // N, the number of examples
  int64_t batch_size() const { return batch_size_; }
  int64_t epoch() const { return epoch_; }  // epochs started so far (the current one is epoch() - 1)

 private:
  Tensor inputs_, targets_;
  int64_t n_, batch_size_;
  bool shuffle_, drop_last_;
  Generator gen_;
  std::vector<int64_t> order_;  // example indices in this epoch's order
  int64_t pos_ = -1;            // next position in order_; -1 = no epoch running
  int64_t epoch_ = 0;
  Tensor x_full_, y_full_;      // reused buffers for full batches ...
  Tensor x_tail_, y_tail_;      // ... and for the shorter last one
};

// rows: [N, ...] -> [idx.size(), ...], out[i] = rows[idx[i]] (copies; indices are checked).
Tensor gather_rows(const Tensor& rows, const std::vector<int64_t>& idx);

// n examples of `data`: the first n of a random permutation drawn from Generator(seed), or,
// when seed == 0, simply the first n (handy for quick runs and tests). Copies the rows.
Dataset subset(const Dataset& data, int64_t n, uint64_t seed);

// Pixel ranges. Images load in [0, 1]; diffusion models and GANs with a tanh output work in [-1, 1].
Tensor scale_to_unit(const Tensor& x, float max_value = 255.f);  // [0, max_value] -> [0, 1]: x / max
Tensor to_minus_one_one(const Tensor& x);                         // [0, 1] -> [-1, 1]: 2x - 1
Tensor from_minus_one_one(const Tensor& x);                       // [-1, 1] -> [0, 1]: (x + 1) / 2

}  // namespace hd
