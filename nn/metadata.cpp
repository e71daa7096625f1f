#include "nn/metadata.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <utility>

namespace hd {

bool parse_integer_text(const std::string& text, int64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || text[0] == ' ' || text[0] == '+') return false;
  *out = static_cast<int64_t>(v);
  return true;
}

bool parse_number_text(const std::string& text, double* out) {
  if (text.empty() || text[0] == ' ') return false;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (*end != '\0') return false;
  *out = v;
  return true;
}

Metadata::Metadata(std::map<std::string, std::string> entries, std::string path, std::string hint)
    : entries_(std::move(entries)), path_(std::move(path)), hint_(std::move(hint)) {}

const std::string& Metadata::text(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end())
    throw std::runtime_error(fmt::format("{}: no '{}' in the checkpoint's metadata{}", path_, key,
                                         hint_.empty() ? "" : " (" + hint_ + ")"));
  return it->second;
}

int64_t Metadata::integer(const std::string& key, int64_t lo, int64_t hi) const {
  int64_t value = 0;
  if (!parse_integer_text(text(key), &value) || value < lo || value > hi) {
    if (lo == INT64_MIN && hi == INT64_MAX)
      throw std::runtime_error(fmt::format("{}: metadata '{}' should be an integer, got '{}'", path_, key, text(key)));
    throw std::runtime_error(fmt::format("{}: metadata '{}' should be an integer in [{}, {}], got '{}'", path_, key, lo,
                                         hi, text(key)));
  }
  return value;
}

double Metadata::number(const std::string& key) const {
  double value = 0;
  if (!parse_number_text(text(key), &value))
    throw std::runtime_error(fmt::format("{}: metadata '{}' should be a number, got '{}'", path_, key, text(key)));
  return value;
}

std::vector<int64_t> Metadata::integers(const std::string& key) const {
  const std::string& all = text(key);
  std::vector<int64_t> out;
  size_t begin = 0;
  while (begin <= all.size() && out.size() <= 16) {
    const size_t comma = std::min(all.find(',', begin), all.size());
    int64_t v = 0;
    if (!parse_integer_text(all.substr(begin, comma - begin), &v))
      throw std::runtime_error(fmt::format("{}: metadata '{}' should be integers separated by commas, got '{}'", path_,
                                           key, all));
    out.push_back(v);
    begin = comma + 1;
  }
  return out;
}

const std::string& Metadata::choice(const std::string& key, const std::vector<std::string>& choices) const {
  const std::string& value = text(key);
  for (const std::string& c : choices)
    if (value == c) return value;
  std::string list;
  for (const std::string& c : choices) list += (list.empty() ? "" : ", ") + c;
  throw std::runtime_error(fmt::format("{}: metadata '{}' should be one of {}, got '{}'", path_, key, list, value));
}

void Metadata::set_tensor_shapes(std::map<std::string, std::vector<int64_t>> shapes) {
  shapes_ = std::move(shapes);
  has_shapes_ = true;
}

static std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

void Metadata::expect_shape(const std::string& tensor, const std::vector<int64_t>& shape) const {
  if (!has_shapes_) return;
  auto it = shapes_.find(tensor);
  if (it == shapes_.end())
    throw std::runtime_error(fmt::format("{}: its metadata implies a tensor 'model.{}' of shape {}, the file has none",
                                         path_, tensor, shape_text(shape)));
  if (it->second != shape)
    throw std::runtime_error(fmt::format("{}: its metadata implies 'model.{}' of shape {}, the file holds {}", path_,
                                         tensor, shape_text(shape), shape_text(it->second)));
}

}  // namespace hd

#include "nn/checkpoint.h"
#include "tensor/safetensors.h"

namespace hd {

Metadata read_model_metadata(const std::string& path, const std::string& family,
                             const std::vector<std::string>& accepted) {
  CheckpointInfo info = read_checkpoint_info(path);
  auto model = info.metadata.find("model");
  bool ok = model != info.metadata.end() && model->second == family;
  for (const std::string& a : accepted) ok = ok || (model != info.metadata.end() && model->second == a);
  if (!ok) {
    auto trained_by = info.metadata.find("trained_by");
    throw std::runtime_error(fmt::format(
        "{} holds {}{}, not a '{}' model", path,
        model == info.metadata.end() ? std::string("no model entry in its metadata") : "a '" + model->second + "' model",
        trained_by != info.metadata.end() ? " (written by '" + trained_by->second + "')" : "", family));
  }
  Metadata m(std::move(info.metadata), path, "was it written by 'hundun train " + family + "'?");
  // The shapes of the model's tensors, for expect_shape. (The file is read a second time: checkpoints are a few
  // MB, and read_checkpoint_info has already checked every byte of it.)
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, t] : load_safetensors(path).tensors)
    if (name.rfind("model.", 0) == 0) shapes[name.substr(6)] = t.shape();
  m.set_tensor_shapes(std::move(shapes));
  return m;
}

}  // namespace hd
