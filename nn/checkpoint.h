// checkpoint.h — saving and resuming training: one safetensors file holds everything needed to continue
// exactly where a run stopped.
//
// What goes in the file is named by a CheckpointParts: modules, optimizers and EMAs, each under a part name,
// and the random stream. The file (tensor/safetensors.h), entry by entry:
//   "model.<entry>"                  every entry of the one module's state_dict(): parameters and buffers
//                                    ("model.0.weight"), for a part named "" (one model: every VAE, classifier)
//   "model.<part>.<entry>"           the same for a named module ("model.discriminator.0.weight": a GAN)
//   "optimizer.<entry>"              an optimizer's state_dict() ("optimizer.step", "optimizer.3.exp_avg")
//   "optimizer.<part>.<entry>"       the same for a named one ("optimizer.generator.3.exp_avg")
//   "ema.<entry>"                    an EMA's shadow weights ("ema.0.weight")
//   "ema.<part>.<entry>"             the same for a named one ("ema.generator.0.weight")
//   __metadata__                     "hundun.step", "hundun.epoch" (decimal), "hundun.generator" (the random
//                                    stream's get_state() bytes as lowercase hex, if given), the caller's strings
// Part names: "" (the only part of its kind: every single-model checkpoint) or letters, digits and '_' — no
// '.', so a part's name ends at the entry's second '.', two parts' entries never collide, and a named part
// never sits beside an unnamed one of the same kind (whose "G.0.weight" would read as part "G").
// Resuming restores the modules, the optimizers' moments, the EMAs and the random stream (dropout masks,
// noise, shuffling), so a run saved at step k and resumed continues bit for bit as if never stopped.
// A learning-rate scheduler is a closed form of the step: after loading, schedule.set_last_epoch(info.step).
//
// The model entries are PyTorch's state_dict names, so tests/reference/load_checkpoint_into_torch.py can
// load the "model." entries into the same network built in PyTorch.
//
//   CheckpointParts parts;                                            // a GAN's training state
//   parts.modules = {{"generator", &G}, {"discriminator", &D}};
//   parts.optimizers = {{"generator", &adam_G}, {"discriminator", &adam_D}};
//   parts.random_stream = &noise;                                    // z, dropout masks
//   save_checkpoint(path, parts, info);   ...   CheckpointInfo info = load_checkpoint(path, parts);
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

// What a checkpoint holds, by part name ("" for the one part of its kind; see the naming rule above). Only what
// is listed is saved, or checked and loaded; the file may hold more parts (a sampler loads the generator alone).
// save_checkpoint only reads the parts.
struct CheckpointParts {
  std::map<std::string, Module*> modules;
  std::map<std::string, Optimizer*> optimizers;
  std::map<std::string, EMA*> emas;
  Generator* random_stream = nullptr;  // hd::Generator, the random numbers (not a GAN's generator network)
};

// Writes atomically (a temporary file renamed over `path`): a crash or an error mid-write leaves any
// previous checkpoint at `path` intact. Throws std::invalid_argument for a metadata key starting with
// "hundun." or a part name breaking the rule above, and std::runtime_error naming the file for I/O errors.
void save_checkpoint(const std::string& path, const CheckpointParts& parts, const CheckpointInfo& info = {});

// Validates everything before changing anything: the file itself (every safetensors check), every tensor
// finite, then for each part given every name and shape against it (strict: no missing and no extra entries
// under the part's prefix), and the random stream's state; only then loads. Throws std::runtime_error
// "load_checkpoint: <path>: ..." naming the offending entry. Returns the step, epoch and the caller's metadata.
CheckpointInfo load_checkpoint(const std::string& path, const CheckpointParts& parts);

// One model (the part named ""), and whatever else is not nullptr: the forms every single-model command uses.
void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer = nullptr,
                     const Generator* generator = nullptr, const CheckpointInfo& info = {}, const EMA* ema = nullptr);
CheckpointInfo load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer = nullptr,
                               Generator* generator = nullptr, EMA* ema = nullptr);

// Only the step, epoch and metadata (the file is still read and validated in full).
CheckpointInfo read_checkpoint_info(const std::string& path);

}  // namespace hd
