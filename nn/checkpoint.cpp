// checkpoint.cpp — the file layout of nn/checkpoint.h on top of tensor/safetensors.h.
#include "nn/checkpoint.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
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

// The kinds of part, each the first word of its entries' names.
static const char* const kModel = "model";
static const char* const kOptimizer = "optimizer";
static const char* const kEMA = "ema";

// Where part `name` of `kind` keeps its entries: "model." for the unnamed part, "model.discriminator." for a named one.
static std::string prefix_of(const char* kind, const std::string& name) {
  return name.empty() ? std::string(kind) + "." : std::string(kind) + "." + name + ".";
}

// The naming rule of checkpoint.h for one kind's parts: "" alone, or names of letters, digits and '_'; none null.
// `op` is "save_checkpoint" or "load_checkpoint".
template <class Part>
static void check_part_names(const std::map<std::string, Part*>& parts, const char* kind, const char* op) {
  for (const auto& [name, part] : parts) {
    if (!part) throw std::invalid_argument(fmt::format("{}: {} '{}' is null", op, kind, name));
    if (name.empty() && parts.size() > 1)
      throw std::invalid_argument(fmt::format(
          "{}: an unnamed {} beside named ones: its entries '{}<entry>' would mix with theirs; name every {}", op,
          kind, prefix_of(kind, ""), kind));
    for (char c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
        throw std::invalid_argument(fmt::format("{}: {} name '{}' has '{}'; a part's name is letters, digits and '_' "
                                                "(it ends at the entry's next '.')",
                                                op, kind, name, c));
  }
}

static void check_part_names(const CheckpointParts& parts, const char* op) {
  check_part_names(parts.modules, kModel, op);
  check_part_names(parts.optimizers, kOptimizer, op);
  check_part_names(parts.emas, kEMA, op);
}

void save_checkpoint(const std::string& path, const CheckpointParts& parts, const CheckpointInfo& info) {
  check_part_names(parts, "save_checkpoint");
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
  if (parts.random_stream) file.metadata[kGeneratorKey] = to_hex(parts.random_stream->get_state());

  auto add = [&](const char* kind, const std::string& name, const std::map<std::string, Tensor>& state) {
    for (const auto& [entry, t] : state) file.tensors[prefix_of(kind, name) + entry] = t;
  };
  for (const auto& [name, module] : parts.modules) add(kModel, name, module->state_dict());
  for (const auto& [name, optimizer] : parts.optimizers) add(kOptimizer, name, optimizer->state_dict());
  for (const auto& [name, ema] : parts.emas) add(kEMA, name, ema->state_dict());
  save_safetensors(path, file);
}

// save_checkpoint only reads the parts, so the const model may stand in CheckpointParts' (non-const) slot.
void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer,
                     const Generator* generator, const CheckpointInfo& info, const EMA* ema) {
  CheckpointParts parts;
  parts.modules[""] = const_cast<Module*>(&model);
  if (optimizer) parts.optimizers[""] = const_cast<Optimizer*>(optimizer);
  if (ema) parts.emas[""] = const_cast<EMA*>(ema);
  parts.random_stream = const_cast<Generator*>(generator);
  save_checkpoint(path, parts, info);
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

// Strict name-and-shape match of a module's entries in the file (`saved`, found under `prefix`) against its
// state_dict.
static void check_module_entries(const std::map<std::string, Tensor>& saved, const Module& module,
                                 const std::string& prefix, const std::string& path) {
  std::map<std::string, Tensor> own = module.state_dict();
  for (const auto& [name, target] : own) {
    auto it = saved.find(name);
    if (it == saved.end())
      throw std::runtime_error(fmt::format(
          "load_checkpoint: {}: no entry '{}{}' (the model has a parameter or buffer '{}' of shape {}; was the "
          "file written for another model?)",
          path, prefix, name, name, shape_str(target.shape())));
    if (it->second.shape() != target.shape())
      throw std::runtime_error(fmt::format("load_checkpoint: {}: entry '{}{}' has shape {}, the model expects {}",
                                           path, prefix, name, shape_str(it->second.shape()),
                                           shape_str(target.shape())));
  }
  for (const auto& [name, t] : saved)
    if (!own.count(name))
      throw std::runtime_error(fmt::format(
          "load_checkpoint: {}: unexpected entry '{}{}' (the model has no parameter or buffer '{}')", path, prefix,
          name, name));
}

CheckpointInfo load_checkpoint(const std::string& path, const CheckpointParts& parts) {
  check_part_names(parts, "load_checkpoint");
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

  // 2. Every part against what it will be loaded into, before anything changes.
  std::map<std::string, std::map<std::string, Tensor>> states;  // by prefix ("model.", "optimizer.generator.")
  for (const auto& [name, module] : parts.modules) {
    const std::string prefix = prefix_of(kModel, name);
    states[prefix] = with_prefix(file.tensors, prefix);
    check_module_entries(states[prefix], *module, prefix, path);
  }
  // The optimizer's and EMA's own checks name the entry; this adds the file and the prefix.
  auto check_part = [&](const std::string& prefix, auto check) {
    states[prefix] = with_prefix(file.tensors, prefix);
    if (states[prefix].empty())
      throw std::runtime_error(fmt::format("load_checkpoint: {}: no '{}*' entries (saved without it?)", path, prefix));
    try {
      check(states[prefix]);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("load_checkpoint: {}: in the '{}*' entries: {}", path, prefix, e.what()));
    }
  };
  // (Init-captures, not the bindings themselves: clang before 16, which `make fuzz` uses, cannot capture those.)
  for (const auto& [name, optimizer] : parts.optimizers)
    check_part(prefix_of(kOptimizer, name), [o = optimizer](const auto& s) { o->check_state_dict(s); });
  for (const auto& [name, ema] : parts.emas)
    check_part(prefix_of(kEMA, name), [e = ema](const auto& s) { e->check_state_dict(s); });

  std::vector<uint8_t> generator_state;
  if (parts.random_stream) {
    auto it = file.metadata.find(kGeneratorKey);
    if (it == file.metadata.end())
      throw std::runtime_error(
          fmt::format("load_checkpoint: {}: no generator state (metadata '{}'; saved without a generator?)", path,
                      kGeneratorKey));
    if (!from_hex(it->second, &generator_state))
      throw std::runtime_error(
          fmt::format("load_checkpoint: {}: metadata '{}' is not hexadecimal bytes", path, kGeneratorKey));
    Generator trial;  // set_state validates; trying it on a scratch generator keeps the caller's untouched
    try {
      trial.set_state(generator_state);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("load_checkpoint: {}: metadata '{}': {}", path, kGeneratorKey, e.what()));
    }
  }

  // 3. Load: every check above passed, so none of these can fail halfway.
  for (const auto& [name, module] : parts.modules)
    module->load_state_dict(states[prefix_of(kModel, name)], /*strict=*/true);
  for (const auto& [name, optimizer] : parts.optimizers)
    optimizer->load_state_dict(states[prefix_of(kOptimizer, name)]);
  for (const auto& [name, ema] : parts.emas) ema->load_state_dict(states[prefix_of(kEMA, name)]);
  if (parts.random_stream) parts.random_stream->set_state(generator_state);
  return info;
}

CheckpointInfo load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer, Generator* generator,
                               EMA* ema) {
  CheckpointParts parts;
  parts.modules[""] = &model;
  if (optimizer) parts.optimizers[""] = optimizer;
  if (ema) parts.emas[""] = ema;
  parts.random_stream = generator;
  return load_checkpoint(path, parts);
}

}  // namespace hd
