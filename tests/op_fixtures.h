// op_fixtures.h — reads one case of tests/fixtures/ops.safetensors (see make_op_fixtures.py).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "fixtures.h"
#include "tensor/safetensors.h"

namespace hd::test {

struct FixtureCase {
  std::vector<Tensor> inputs, consts, grads;
  Tensor out, gout;
  // Second derivatives: second_grads[i] = d/d(x_i) of sum_j <grads_j, directions_j>.
  std::vector<Tensor> directions, second_grads;
};

inline const TensorFile& op_fixture_file() {
  static const TensorFile file = [] {
    std::string path = fixture_path("ops.safetensors");
    try {
      return load_safetensors(path);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(e.what()) +
                               " (regenerate with: /usr/bin/python3 tests/reference/make_op_fixtures.py)");
    }
  }();
  return file;
}

inline bool has_fixture_case(const std::string& name) { return op_fixture_file().tensors.count(name + "/out") > 0; }

// Throws (so the test fails, never skips) when the case is missing from the fixture file.
inline FixtureCase load_fixture_case(const std::string& name) {
  const auto& t = op_fixture_file().tensors;
  auto get = [&](const std::string& key) {
    auto it = t.find(name + "/" + key);
    if (it == t.end())
      throw std::runtime_error("fixture case '" + name + "' has no '" + key +
                               "' in ops.safetensors (regenerate with: /usr/bin/python3 tests/reference/make_op_fixtures.py)");
    return it->second.clone();
  };
  FixtureCase f;
  f.out = get("out");
  f.gout = get("gout");
  for (int i = 0; t.count(name + "/x" + std::to_string(i)); ++i) {
    f.inputs.push_back(get("x" + std::to_string(i)));
    f.grads.push_back(get("g" + std::to_string(i)));
    f.directions.push_back(get("v" + std::to_string(i)));
    f.second_grads.push_back(get("gg" + std::to_string(i)));
  }
  for (int i = 0; t.count(name + "/c" + std::to_string(i)); ++i) f.consts.push_back(get("c" + std::to_string(i)));
  return f;
}

}  // namespace hd::test
