#include "nn/init.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace hd::init {

Fans calculate_fan_in_and_fan_out(const Shape& shape) {
  if (shape.size() < 2)
    throw std::invalid_argument(fmt::format(
        "init: fan in and fan out need a tensor of at least 2 dimensions, got shape {}", shape_str(shape)));
  int64_t receptive = 1;
  for (size_t i = 2; i < shape.size(); ++i) receptive *= shape[i];
  return {shape[1] * receptive, shape[0] * receptive};
}

double calculate_gain(const std::string& nonlinearity, double param) {
  if (nonlinearity == "linear" || nonlinearity == "conv1d" || nonlinearity == "conv2d" ||
      nonlinearity == "conv3d" || nonlinearity == "conv_transpose1d" || nonlinearity == "conv_transpose2d" ||
      nonlinearity == "conv_transpose3d" || nonlinearity == "sigmoid")
    return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1 + param * param));
  if (nonlinearity == "selu") return 3.0 / 4;
  throw std::invalid_argument(fmt::format(
      "calculate_gain: unsupported nonlinearity '{}' (expected linear, conv2d, conv_transpose2d, sigmoid, tanh, "
      "relu, leaky_relu or selu)", nonlinearity));
}

// torch's uniform_ kernel converts the double bounds to the tensor's dtype (float) before drawing.
Tensor& uniform_(Tensor& t, double lo, double hi, Generator& gen) {
  gen.fill_uniform(t.data(), t.numel(), static_cast<float>(lo), static_cast<float>(hi));
  return t;
}

Tensor& normal_(Tensor& t, double mean, double std, Generator& gen) {
  if (!(std >= 0)) throw std::invalid_argument(fmt::format("normal_: expected std >= 0, got {}", std));
  gen.fill_normal(t.data(), t.numel(), mean, std);
  return t;
}

Tensor& constant_(Tensor& t, float value) { return t.fill_(value); }
Tensor& zeros_(Tensor& t) { return t.fill_(0.f); }
Tensor& ones_(Tensor& t) { return t.fill_(1.f); }

Tensor& xavier_uniform_(Tensor& t, double gain, Generator& gen) {
  Fans fans = calculate_fan_in_and_fan_out(t.shape());
  double std = gain * std::sqrt(2.0 / static_cast<double>(fans.fan_in + fans.fan_out));
  double a = std::sqrt(3.0) * std;
  return uniform_(t, -a, a, gen);
}

Tensor& xavier_normal_(Tensor& t, double gain, Generator& gen) {
  Fans fans = calculate_fan_in_and_fan_out(t.shape());
  double std = gain * std::sqrt(2.0 / static_cast<double>(fans.fan_in + fans.fan_out));
  return normal_(t, 0.0, std, gen);
}

static double kaiming_std(const Tensor& t, double a, FanMode mode, const std::string& nonlinearity) {
  Fans fans = calculate_fan_in_and_fan_out(t.shape());
  int64_t fan = mode == FanMode::FanIn ? fans.fan_in : fans.fan_out;
  return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
}

// An empty tensor has nothing to fill (and a zero fan): PyTorch skips it with a warning.
Tensor& kaiming_uniform_(Tensor& t, double a, FanMode mode, const std::string& nonlinearity, Generator& gen) {
  if (t.numel() == 0) return t;
  double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nonlinearity);
  return uniform_(t, -bound, bound, gen);
}

Tensor& kaiming_normal_(Tensor& t, double a, FanMode mode, const std::string& nonlinearity, Generator& gen) {
  if (t.numel() == 0) return t;
  return normal_(t, 0.0, kaiming_std(t, a, mode, nonlinearity), gen);
}

}  // namespace hd::init
