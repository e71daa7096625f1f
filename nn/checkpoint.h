// checkpoint.h — saving and resuming training: one safetensors file holds everything needed to continue
// exactly where a run stopped.
//
// The file (tensor/safetensors.h), entry by entry:
//   "model.<name>"        every entry of model.state_dict(): parameters and buffers ("model.0.weight")
//   "optimizer.<name>"    the optimizer's state_dict() ("optimizer.step", "optimizer.3.exp_avg"), if given
//   "ema.<name>"          the EMA's shadow weights, if given
//   __metadata__          "hundun.step", "hundun.epoch" (decimal), "hundun.generator" (the Generator's
//                         get_state() bytes as lowercase hex, if given), and the caller's own strings
// Resuming restores the model, the optimizer's moments, the EMA and the random stream (dropout masks,
// noise, shuffling), so a run saved at step k and resumed continues bit for bit as if never stopped.
// A learning-rate scheduler is a closed form of the step: after loading, schedule.set_last_epoch(info.step).
//
// The model entries are PyTorch's state_dict names, so tests/reference/load_checkpoint_into_torch.py can
// load the "model." entries into the same network built in PyTorch.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "nn/ema.h"
#include "nn/module.h"
#include "nn/optim.h"
#include "tensor/random.h"

namespace hd {

struct CheckpointInfo {
  int64_t step = 0;
  int64_t epoch = 0;
  std::map<std::string, std::string> metadata;  // free-form strings (config, notes); keys must not start with "hundun."
};

// Writes atomically (a temporary file renamed over `path`): a crash or an error mid-write leaves any
// previous checkpoint at `path` intact. Throws std::invalid_argument for a metadata key starting with
// "hundun." and std::runtime_error naming the file for I/O errors.
void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer = nullptr,
                     const Generator* generator = nullptr, const CheckpointInfo& info = {}, const EMA* ema = nullptr);

// Validates everything before changing anything: the file itself (every safetensors check), then every
// name and shape against the model (strict: no missing and no extra "model." entries), the optimizer and
// the EMA, and the generator state; only then loads. Whatever is passed as nullptr is neither checked
// nor loaded (the file may hold it anyway). Throws std::runtime_error "load_checkpoint: <path>: ..."
// naming the offending entry. Returns the step, epoch and the caller's metadata.
CheckpointInfo load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer = nullptr,
                               Generator* generator = nullptr, EMA* ema = nullptr);

// Only the step, epoch and metadata (the file is still read and validated in full).
CheckpointInfo read_checkpoint_info(const std::string& path);

}  // namespace hd
