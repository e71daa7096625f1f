// metadata.h — reading a checkpoint's metadata strings (nn/checkpoint.h) back as numbers, with errors that name
// the file and the entry.
//
// A model's options write themselves as strings ({"latent_dim": "20", "hidden": "400"}) and read themselves back
// through this class. The file may be damaged or hostile, so every number comes with the range it must lie in:
// a metadata entry can never make a model allocate more than its bounds allow.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hd {

class Metadata {
 public:
  // `hint` ends every "missing entry" message, e.g. "was it written by 'hundun train vae'?".
  Metadata(std::map<std::string, std::string> entries, std::string path, std::string hint = "");

  bool has(const std::string& key) const { return entries_.count(key) > 0; }
  // Throws std::runtime_error "<path>: no '<key>' in the checkpoint's metadata (<hint>)" when missing.
  const std::string& text(const std::string& key) const;
  // Whole decimal integers; a value outside [lo, hi] is "<path>: metadata '<key>' should be an integer in
  // [lo, hi], got '...'".
  int64_t integer(const std::string& key, int64_t lo = INT64_MIN, int64_t hi = INT64_MAX) const;
  double number(const std::string& key) const;  // any finite or non-finite double written by fmt
  // "1,28,28" -> {1, 28, 28}
  std::vector<int64_t> integers(const std::string& key) const;
  // One of `choices`, else "<path>: metadata '<key>' should be one of a, b, got '...'".
  const std::string& choice(const std::string& key, const std::vector<std::string>& choices) const;

  // A checkpoint's metadata comes with the shapes of the model tensors in the same file ("fc1.weight" ->
  // [400, 784]). A model's options check the one or two tensors that pin down every size they read, so a
  // file whose metadata disagrees with its own tensors (hidden=1000000 beside a [400, 784] weight) is refused
  // before the model is built: no model is allocated larger than what the file holds. Throws
  // std::runtime_error "<path>: its metadata implies 'fc1.weight' of shape [1000000, 784], the file holds
  // [400, 784]"; a missing tensor is an error too. Does nothing for metadata that did not come from a file.
  void expect_shape(const std::string& tensor, const std::vector<int64_t>& shape) const;
  void set_tensor_shapes(std::map<std::string, std::vector<int64_t>> shapes);

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& entries() const { return entries_; }

 private:
  std::map<std::string, std::string> entries_;
  std::string path_, hint_;
  bool has_shapes_ = false;
  std::map<std::string, std::vector<int64_t>> shapes_;
};

// The text parsers Metadata uses, for other readers of numbers written as text: whole string, no spaces.
bool parse_integer_text(const std::string& text, int64_t* out);
bool parse_number_text(const std::string& text, double* out);

}  // namespace hd

namespace hd {

// The metadata of a checkpoint that must hold a model of `family` (its "model" entry, e.g. "vae"): read and
// validated (nn/checkpoint.h's read_checkpoint_info), then checked. A file of another family is a
// std::runtime_error "<path> holds a 'ae' model (written by 'hundun train ae'), not a 'vae' model". `accepted`
// lists other "model" values the family also reads (the classifier's "cnn" and "mlp").
Metadata read_model_metadata(const std::string& path, const std::string& family,
                             const std::vector<std::string>& accepted = {});

}  // namespace hd
