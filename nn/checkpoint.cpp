// checkpoint.cpp — the file layout of nn/checkpoint.h on top of tensor/safetensors.h.
#include "nn/checkpoint.h"

#include <fmt/format.h>

#include <cmath>

#include <charconv>
#include <stdexcept>

#include "tensor/safetensors.h"

namespace hd {

static const char* const kStepKey = "hundun.step";
static const char* const kEpochKey = "hundun.epoch";
static const char* const kGeneratorKey = "hundun.generator";
static const std::string kReservedPrefix = "hundun.";

static bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

static std::string to_hex(const std::vector<uint8_t>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// Hex text back to bytes; false for an odd length or a character that is not a hex digit.
static bool from_hex(const std::string& text, std::vector<uint8_t>* bytes) {
  if (text.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  bytes->resize(text.size() / 2);
  for (size_t i = 0; i < bytes->size(); ++i) {
    int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*bytes)[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

// Every "<prefix><name>" entry as "<name>".
static std::map<std::string, Tensor> with_prefix(const std::map<std::string, Tensor>& tensors, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : tensors)
    if (starts_with(name, prefix)) out[name.substr(prefix.size())] = t;
  return out;
}

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer,
                     const Generator* generator, const CheckpointInfo& info, const EMA* ema) {
  TensorFile file;
  for (const auto& [key, value] : info.metadata) {
    if (starts_with(key, kReservedPrefix))
      throw std::invalid_argument(fmt::format(
          "save_checkpoint: metadata key '{}' starts with '{}', which hundun reserves for its own entries", key,
          kReservedPrefix));
    file.metadata[key] = value;
  }
  file.metadata[kStepKey] = std::to_string(info.step);
  file.metadata[kEpochKey] = std::to_string(info.epoch);
  if (generator) file.metadata[kGeneratorKey] = to_hex(generator->get_state());

  for (const auto& [name, t] : model.state_dict()) file.tensors["model." + name] = t;
  if (optimizer)
    for (const auto& [name, t] : optimizer->state_dict()) file.tensors["optimizer." + name] = t;
  if (ema)
    for (const auto& [name, t] : ema->state_dict()) file.tensors["ema." + name] = t;
  save_safetensors(path, file);
}

// Parses the step / epoch metadata (absent means 0).
static CheckpointInfo info_of(const TensorFile& file, const std::string& path) {
  CheckpointInfo info;
  auto parse = [&](const char* key, int64_t* out) {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end()) return;
    const std::string& text = it->second;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
      throw std::runtime_error(
          fmt::format("load_checkpoint: {}: metadata '{}' is \"{}\", expected an integer", path, key, text));
  };
  parse(kStepKey, &info.step);
  parse(kEpochKey, &info.epoch);
  for (const auto& [key, value] : file.metadata)
    if (!starts_with(key, kReservedPrefix)) info.metadata[key] = value;
  return info;
}

CheckpointInfo read_checkpoint_info(const std::string& path) { return info_of(load_safetensors(path), path); }

// Strict name-and-shape match of the file's "model." entries against the model's state_dict.
static void check_model_entries(const std::map<std::string, Tensor>& saved, const Module& model,
                                const std::string& path) {
  std::map<std::string, Tensor> own = model.state_dict();
  for (const auto& [name, target] : own) {
    auto it = saved.find(name);
    if (it == saved.end())
      throw std::runtime_error(fmt::format(
          "load_checkpoint: {}: no entry 'model.{}' (the model has a parameter or buffer '{}' of shape {}; was the "
          "file written for another model?)",
          path, name, name, shape_str(target.shape())));
    if (it->second.shape() != target.shape())
      throw std::runtime_error(fmt::format("load_checkpoint: {}: entry 'model.{}' has shape {}, the model expects {}",
                                           path, name, shape_str(it->second.shape()), shape_str(target.shape())));
  }
  for (const auto& [name, t] : saved)
    if (!own.count(name))
      throw std::runtime_error(fmt::format(
          "load_checkpoint: {}: unexpected entry 'model.{}' (the model has no parameter or buffer '{}')", path, name,
          name));
}

CheckpointInfo load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer, Generator* generator,
                               EMA* ema) {
  // 1. The file: load_safetensors validates every byte and throws "<path>: ..." on any problem.
  TensorFile file;
  try {
    file = load_safetensors(path);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("load_checkpoint: ") + e.what());
  }
  CheckpointInfo info = info_of(file, path);

  // A NaN or an infinity in a weight or a moment is never a trained model: it would sample black images, score
  // "loss nan" and be shipped by export. Refuse it, naming the entry.
  for (const auto& [name, t] : file.tensors) {
    const float* d = t.data();
    for (int64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(d[i]))
        throw std::runtime_error(fmt::format("load_checkpoint: {}: entry '{}' holds {} at element {}; a checkpoint's "
                                             "tensors must be finite",
                                             path, name, d[i], i));
  }

  for (const auto& [name, t] : file.tensors)
    if (!starts_with(name, "model.") && !starts_with(name, "optimizer.") && !starts_with(name, "ema."))
      throw std::runtime_error(fmt::format(
          "load_checkpoint: {}: unexpected entry '{}' (checkpoint entries start with 'model.', 'optimizer.' or 'ema.')",
          path, name));

  // 2. Everything against what it will be loaded into, before anything changes.
  std::map<std::string, Tensor> model_state = with_prefix(file.tensors, "model.");
  check_model_entries(model_state, model, path);

  // The optimizer's and EMA's own checks name the entry; this adds the file and the prefix.
  auto check_part = [&](const char* prefix, const std::map<std::string, Tensor>& part, auto check) {
    if (part.empty())
      throw std::runtime_error(fmt::format("load_checkpoint: {}: no '{}*' entries (saved without it?)", path, prefix));
    try {
      check(part);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("load_checkpoint: {}: in the '{}*' entries: {}", path, prefix, e.what()));
    }
  };
  std::map<std::string, Tensor> optimizer_state, ema_state;
  if (optimizer) {
    optimizer_state = with_prefix(file.tensors, "optimizer.");
    check_part("optimizer.", optimizer_state, [&](const auto& s) { optimizer->check_state_dict(s); });
  }
  if (ema) {
    ema_state = with_prefix(file.tensors, "ema.");
    check_part("ema.", ema_state, [&](const auto& s) { ema->check_state_dict(s); });
  }

  std::vector<uint8_t> generator_state;
  if (generator) {
    auto it = file.metadata.find(kGeneratorKey);
    if (it == file.metadata.end())
      throw std::runtime_error(
          fmt::format("load_checkpoint: {}: no generator state (metadata '{}'; saved without a generator?)", path,
                      kGeneratorKey));
    if (!from_hex(it->second, &generator_state))
      throw std::runtime_error(
          fmt::format("load_checkpoint: {}: metadata '{}' is not hexadecimal bytes", path, kGeneratorKey));
    Generator trial;  // set_state validates; trying it on a scratch generator keeps *generator untouched
    try {
      trial.set_state(generator_state);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("load_checkpoint: {}: metadata '{}': {}", path, kGeneratorKey, e.what()));
    }
  }

  // 3. Load: every check above passed, so none of these can fail halfway.
  model.load_state_dict(model_state, /*strict=*/true);
  if (optimizer) optimizer->load_state_dict(optimizer_state);
  if (ema) ema->load_state_dict(ema_state);
  if (generator) generator->set_state(generator_state);
  return info;
}

}  // namespace hd
