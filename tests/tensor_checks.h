// tensor_checks.h — small checks the tensor kernel tests share.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace hd::test {

inline const float kNaN = std::numeric_limits<float>::quiet_NaN();
inline const float kInf = std::numeric_limits<float>::infinity();

// Expects f to throw std::invalid_argument whose message contains every fragment.
inline void expect_invalid(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    std::string msg = e.what();
    for (const std::string& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "message: " << msg;
    return;
  }
  ADD_FAILURE() << "expected std::invalid_argument";
}

// Expects exactly this shape and these values (NaN matches NaN).
inline void expect_values(const Tensor& t, const Shape& shape, const std::vector<float>& values) {
  ASSERT_EQ(t.shape(), shape);
  std::vector<float> got = t.tolist();
  ASSERT_EQ(got.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) EXPECT_TRUE(std::isnan(got[i])) << "at " << i;
    else EXPECT_FLOAT_EQ(got[i], values[i]) << "at " << i;
  }
}

// Deterministic values in [-1, 1] for bigger checks.
inline Tensor pattern(const Shape& shape, float phase = 0.f) {
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = std::sin(0.7f * static_cast<float>(i) + phase);
  return t;
}

}  // namespace hd::test
