// model_file.h — a checkpoint file made up for a test: zero tensors of the given shapes (each named "model." +
// name) and the given metadata, so a model's from_metadata can be tried against sizes no training would write.
#pragma once

#include <unistd.h>

#include <map>
#include <string>

#include "tensor/safetensors.h"

namespace hd::test {

// Writes /tmp/hundun_<pid>_<name> and returns its path.
inline std::string write_model_file(const std::string& name, const std::map<std::string, Shape>& shapes,
                                    const std::map<std::string, std::string>& metadata) {
  TensorFile file;
  for (const auto& [tensor, shape] : shapes) file.tensors["model." + tensor] = Tensor::zeros(shape);
  file.metadata = metadata;
  const std::string path = "/tmp/hundun_" + std::to_string(::getpid()) + "_" + name;
  save_safetensors(path, file);
  return path;
}

}  // namespace hd::test
