// nn/init.h — filling weights with their starting values (torch.nn.init).
//
// Every function writes into a tensor in place and draws from a Generator exactly as PyTorch does
// (same formulas in double precision, same random calls in the same order), so a layer initialised
// here after hd::manual_seed(s) holds the weights PyTorch draws after torch.manual_seed(s).
//
// Fans, for a weight of shape [out, in, k1, k2, ...] (Linear: [out, in]; Conv2d: [C_out, C_in, kH, kW]):
//   receptive = k1 * k2 * ...,  fan_in = in * receptive,  fan_out = out * receptive
// (ConvTranspose2d stores [C_in, C_out, kH, kW], so its "fan_in" is C_out * kH * kW, as in PyTorch.)
//
// The scaled schemes keep the variance of activations (He et al. 2015) or of activations and
// gradients together (Glorot & Bengio 2010) roughly constant from layer to layer:
//   xavier:  std = gain * sqrt(2 / (fan_in + fan_out))
//   kaiming: std = gain / sqrt(fan)            (fan = fan_in or fan_out)
// and a uniform distribution with that std has bound sqrt(3) * std.
#pragma once

#include <cstdint>
#include <string>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace hd::init {

enum class FanMode { FanIn, FanOut };

struct Fans {
  int64_t fan_in;
  int64_t fan_out;
};

// Throws std::invalid_argument for a tensor with fewer than 2 dimensions (no fans to speak of).
Fans calculate_fan_in_and_fan_out(const Shape& shape);

// The factor that keeps activations' variance after a nonlinearity, torch.nn.init.calculate_gain:
//   "linear", "conv2d", "conv_transpose2d", "sigmoid" -> 1;  "tanh" -> 5/3;  "relu" -> sqrt(2);
//   "leaky_relu" -> sqrt(2 / (1 + slope^2)) with slope = param;  "selu" -> 3/4.
double calculate_gain(const std::string& nonlinearity, double param = 0.01);

Tensor& uniform_(Tensor& t, double lo = 0.0, double hi = 1.0, Generator& gen = default_generator());
Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0, Generator& gen = default_generator());
Tensor& constant_(Tensor& t, float value);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);

// Uniform(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
// Normal(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor& xavier_normal_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
// Uniform(-b, b), b = sqrt(3) * gain / sqrt(fan), gain = calculate_gain(nonlinearity, a).
// PyTorch's Linear and Conv layers use a = sqrt(5), which makes b = 1 / sqrt(fan_in).
Tensor& kaiming_uniform_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                         const std::string& nonlinearity = "leaky_relu", Generator& gen = default_generator());
// Normal(0, std^2), std = gain / sqrt(fan).
Tensor& kaiming_normal_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                        const std::string& nonlinearity = "leaky_relu", Generator& gen = default_generator());

}  // namespace hd::init
