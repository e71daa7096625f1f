#include "nn/layers.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "autograd/activation.h"
#include "autograd/convolution.h"
#include "autograd/elementwise.h"
#include "autograd/matmul.h"
#include "autograd/normalization.h"
#include "autograd/reduction.h"
#include "autograd/shape.h"
#include "nn/init.h"

namespace hd {

// --- printing in Python's spelling, so describe() matches PyTorch's repr ---

static std::string py_bool(bool b) { return b ? "True" : "False"; }

// (3,) for one element, (4, 4) for more, as Python prints tuples.
static std::string py_tuple(const Shape& sizes) {
  std::string s = "(";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + (sizes.size() == 1 ? ",)" : ")");
}

static std::string pair_of(int64_t v) { return py_tuple({v, v}); }

// Python writes a whole float as "1.0" where fmt writes "1"; otherwise both give the shortest
// text that reads back to the same number ("0.1", "1e-05").
static std::string py_float(const std::string& shortest) {
  bool looks_like_int = shortest.find_first_of(".eni") == std::string::npos;  // no '.', exponent, inf or nan
  return looks_like_int ? shortest + ".0" : shortest;
}
static std::string py_float(float v) { return py_float(fmt::format("{}", v)); }
static std::string py_float(double v) { return py_float(fmt::format("{}", v)); }

static void check_positive(const char* layer, const char* what, int64_t value) {
  if (value <= 0) throw std::invalid_argument(fmt::format("{}: {} must be positive, got {}", layer, what, value));
}

// PyTorch's reset_parameters for Linear and Conv: kaiming_uniform_(weight, a = sqrt(5)), which is
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), then the bias from the same bound, drawn in that order.
static void init_weight_and_bias(Variable& weight, Variable& bias, Generator& gen) {
  init::kaiming_uniform_(weight.data(), std::sqrt(5.0), init::FanMode::FanIn, "leaky_relu", gen);
  if (!bias.defined()) return;
  int64_t fan_in = init::calculate_fan_in_and_fan_out(weight.shape()).fan_in;
  double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  init::uniform_(bias.data(), -bound, bound, gen);
}

// ------------------------------------------------------------------------------------------ Linear

Linear::Linear(int64_t in_features, int64_t out_features, bool has_bias, Generator& gen)
    : in_features(in_features), out_features(out_features) {
  check_positive("Linear", "in_features", in_features);
  check_positive("Linear", "out_features", out_features);
  weight = register_parameter("weight", Tensor({out_features, in_features}));
  if (has_bias) bias = register_parameter("bias", Tensor({out_features}));
  init_weight_and_bias(weight, bias, gen);
}

Variable Linear::forward(const Variable& x) {
  if (x.dim() < 1 || x.size(-1) != in_features)
    throw std::invalid_argument(fmt::format("{}: input has shape {}, {} features, expected {}", describe(),
                                            shape_str(x.shape()), x.dim() ? x.size(-1) : 0, in_features));
  return linear(x, weight, bias);
}

std::string Linear::describe() const {
  return fmt::format("Linear(in_features={}, out_features={}, bias={})", in_features, out_features,
                     py_bool(bias.defined()));
}

// ------------------------------------------------------------------------------------------ Conv2d

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride, int64_t padding,
               int64_t dilation, bool has_bias, Generator& gen)
    : in_channels(in_channels), out_channels(out_channels), kernel_size(kernel_size), stride(stride),
      padding(padding), dilation(dilation) {
  check_positive("Conv2d", "in_channels", in_channels);
  check_positive("Conv2d", "out_channels", out_channels);
  check_positive("Conv2d", "kernel_size", kernel_size);
  check_positive("Conv2d", "stride", stride);
  check_positive("Conv2d", "dilation", dilation);
  if (padding < 0) throw std::invalid_argument(fmt::format("Conv2d: padding must be >= 0, got {}", padding));
  weight = register_parameter("weight", Tensor({out_channels, in_channels, kernel_size, kernel_size}));
  if (has_bias) bias = register_parameter("bias", Tensor({out_channels}));
  init_weight_and_bias(weight, bias, gen);
}

Variable Conv2d::forward(const Variable& x) {
  if (x.dim() != 4 || x.size(1) != in_channels)
    throw std::invalid_argument(fmt::format("{}: expected input [B, {}, H, W], got {}", describe(), in_channels,
                                            shape_str(x.shape())));
  return conv2d(x, weight, bias, stride, padding, dilation);
}

std::string Conv2d::describe() const {
  std::string s = fmt::format("Conv2d({}, {}, kernel_size={}, stride={}", in_channels, out_channels,
                              pair_of(kernel_size), pair_of(stride));
  if (padding != 0) s += ", padding=" + pair_of(padding);
  if (dilation != 1) s += ", dilation=" + pair_of(dilation);
  if (!bias.defined()) s += ", bias=False";
  return s + ")";
}

// --------------------------------------------------------------------------------- ConvTranspose2d

ConvTranspose2d::ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride,
                                 int64_t padding, int64_t output_padding, bool has_bias, int64_t dilation,
                                 Generator& gen)
    : in_channels(in_channels), out_channels(out_channels), kernel_size(kernel_size), stride(stride),
      padding(padding), output_padding(output_padding), dilation(dilation) {
  check_positive("ConvTranspose2d", "in_channels", in_channels);
  check_positive("ConvTranspose2d", "out_channels", out_channels);
  check_positive("ConvTranspose2d", "kernel_size", kernel_size);
  check_positive("ConvTranspose2d", "stride", stride);
  check_positive("ConvTranspose2d", "dilation", dilation);
  if (padding < 0) throw std::invalid_argument(fmt::format("ConvTranspose2d: padding must be >= 0, got {}", padding));
  // PyTorch's rule: the extra rows must fit inside one stride (or one dilation step).
  if (output_padding < 0 || (output_padding >= stride && output_padding >= dilation))
    throw std::invalid_argument(fmt::format(
        "ConvTranspose2d: output_padding must be >= 0 and smaller than stride or dilation, got output_padding={}, "
        "stride={}, dilation={}", output_padding, stride, dilation));
  weight = register_parameter("weight", Tensor({in_channels, out_channels, kernel_size, kernel_size}));
  if (has_bias) bias = register_parameter("bias", Tensor({out_channels}));
  init_weight_and_bias(weight, bias, gen);
}

Variable ConvTranspose2d::forward(const Variable& x) {
  if (x.dim() != 4 || x.size(1) != in_channels)
    throw std::invalid_argument(fmt::format("{}: expected input [B, {}, H, W], got {}", describe(), in_channels,
                                            shape_str(x.shape())));
  return conv_transpose2d(x, weight, bias, stride, padding, output_padding, dilation);
}

std::string ConvTranspose2d::describe() const {
  std::string s = fmt::format("ConvTranspose2d({}, {}, kernel_size={}, stride={}", in_channels, out_channels,
                              pair_of(kernel_size), pair_of(stride));
  if (padding != 0) s += ", padding=" + pair_of(padding);
  if (dilation != 1) s += ", dilation=" + pair_of(dilation);
  if (output_padding != 0) s += ", output_padding=" + pair_of(output_padding);
  if (!bias.defined()) s += ", bias=False";
  return s + ")";
}

// --------------------------------------------------------------------------------------- BatchNorm

BatchNorm::BatchNorm(const char* type, std::vector<int64_t> allowed_dims, int64_t num_features, float eps,
                     float momentum, bool affine)
    : num_features(num_features), eps(eps), momentum(momentum), affine(affine), type_(type),
      allowed_dims_(std::move(allowed_dims)) {
  check_positive(type, "num_features", num_features);
  if (affine) {
    weight = register_parameter("weight", Tensor::ones({num_features}));
    bias = register_parameter("bias", Tensor::zeros({num_features}));
  }
  running_mean = register_buffer("running_mean", Tensor::zeros({num_features}));
  running_var = register_buffer("running_var", Tensor::ones({num_features}));
  // Not used by the arithmetic (momentum is never None here); kept so state_dicts match PyTorch's.
  num_batches_tracked = register_buffer("num_batches_tracked", Tensor::scalar(0.f));
}

// x: [N, C, *] -> same shape; statistics over every axis except the channel axis 1.
Variable BatchNorm::forward(const Variable& x) {
  bool dims_ok = false;
  for (int64_t d : allowed_dims_) dims_ok = dims_ok || x.dim() == d;
  if (!dims_ok || x.size(1) != num_features)
    throw std::invalid_argument(fmt::format("{}: expected input {}, got {}", describe(),
                                            allowed_dims_[0] == 4 ? fmt::format("[N, {}, H, W]", num_features)
                                                                  : fmt::format("[N, {}] or [N, {}, L]", num_features,
                                                                                num_features),
                                            shape_str(x.shape())));
  if (is_training()) {
    if (x.numel() / num_features <= 1)
      throw std::invalid_argument(fmt::format("{}: expected more than 1 value per channel when training, got input {}",
                                              describe(), shape_str(x.shape())));
    num_batches_tracked.data()[0] += 1;
  }
  // The fused op (autograd/normalization.h) normalises and, in training, updates the running statistics.
  return batch_norm(x, running_mean, running_var, weight, bias, is_training(), momentum, eps);
}

std::string BatchNorm::describe() const {
  return fmt::format("{}({}, eps={}, momentum={}, affine={}, track_running_stats=True)", type_, num_features,
                     py_float(eps), py_float(momentum), py_bool(affine));
}

// --------------------------------------------------------------------------------------- GroupNorm

GroupNorm::GroupNorm(int64_t num_groups, int64_t num_channels, float eps, bool affine)
    : num_groups(num_groups), num_channels(num_channels), eps(eps), affine(affine) {
  check_positive("GroupNorm", "num_groups", num_groups);
  check_positive("GroupNorm", "num_channels", num_channels);
  if (num_channels % num_groups != 0)
    throw std::invalid_argument(fmt::format("GroupNorm: num_channels ({}) must be divisible by num_groups ({})",
                                            num_channels, num_groups));
  if (affine) {
    weight = register_parameter("weight", Tensor::ones({num_channels}));
    bias = register_parameter("bias", Tensor::zeros({num_channels}));
  }
}

// x: [N, C, *]: the fused op of autograd/normalization.h (one graph node, its own backward).
Variable GroupNorm::forward(const Variable& x) {
  if (x.dim() < 2 || x.size(1) != num_channels)
    throw std::invalid_argument(fmt::format("{}: expected input [N, {}, *], got {}", describe(), num_channels,
                                            shape_str(x.shape())));
  return group_norm(x, num_groups, weight, bias, eps);
}

std::string GroupNorm::describe() const {
  return fmt::format("GroupNorm({}, {}, eps={}, affine={})", num_groups, num_channels, py_float(eps),
                     py_bool(affine));
}

// --------------------------------------------------------------------------------------- LayerNorm

LayerNorm::LayerNorm(Shape shape, float eps, bool elementwise_affine)
    : normalized_shape(std::move(shape)), eps(eps), elementwise_affine(elementwise_affine) {
  if (normalized_shape.empty()) throw std::invalid_argument("LayerNorm: normalized_shape is empty");
  for (int64_t s : normalized_shape) check_positive("LayerNorm", "each normalized_shape size", s);
  if (elementwise_affine) {
    weight = register_parameter("weight", Tensor::ones(normalized_shape));
    bias = register_parameter("bias", Tensor::zeros(normalized_shape));
  }
}

// x: [*, *normalized_shape]; statistics over the trailing normalized_shape axes of each sample.
Variable LayerNorm::forward(const Variable& x) {
  auto k = static_cast<int64_t>(normalized_shape.size());
  bool ok = x.dim() >= k && Shape(x.shape().end() - k, x.shape().end()) == normalized_shape;
  if (!ok) {
    std::string trailing = shape_str(normalized_shape);  // "[4, 4]" -> "4, 4"
    throw std::invalid_argument(fmt::format("{}: expected input [*, {}], got {}", describe(),
                                            trailing.substr(1, trailing.size() - 2), shape_str(x.shape())));
  }
  Axes axes;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) axes.push_back(d);
  Variable centered = x - mean(x, axes, /*keepdim=*/true);
  Variable variance = mean(square(centered), axes, /*keepdim=*/true);
  Variable normalized = centered / sqrt(variance + eps);
  if (!elementwise_affine) return normalized;
  return normalized * weight + bias;  // weight, bias: normalized_shape, broadcast over the leading axes
}

std::string LayerNorm::describe() const {
  return fmt::format("LayerNorm({}, eps={}, elementwise_affine={})", py_tuple(normalized_shape), py_float(eps),
                     py_bool(elementwise_affine));
}

// ----------------------------------------------------------------------------------------- Dropout

Dropout::Dropout(double p, Generator& gen) : p(p), gen_(&gen) {
  if (!(p >= 0.0 && p <= 1.0))
    throw std::invalid_argument(fmt::format("Dropout: probability has to be between 0 and 1, got {}", p));
}

// As torch's CPU dropout: noise = bernoulli_(1 - p) / (1 - p) in float, y = x * noise.
Variable Dropout::forward(const Variable& x) {
  if (!is_training() || p == 0.0) return x;
  if (p == 1.0) return x * 0.f;  // everything dropped (and no random numbers drawn, as in torch)
  Tensor noise(x.shape());
  gen_->fill_bernoulli(noise.data(), noise.numel(), 1.0 - p);
  float keep_scale = 1.f / static_cast<float>(1.0 - p);
  for (int64_t i = 0; i < noise.numel(); ++i) noise.data()[i] *= keep_scale;
  return x * Variable(noise);
}

std::string Dropout::describe() const { return fmt::format("Dropout(p={}, inplace=False)", py_float(p)); }

// --------------------------------------------------------------------------------------- Embedding

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen)
    : num_embeddings(num_embeddings), embedding_dim(embedding_dim) {
  check_positive("Embedding", "num_embeddings", num_embeddings);
  check_positive("Embedding", "embedding_dim", embedding_dim);
  weight = register_parameter("weight", Tensor({num_embeddings, embedding_dim}));
  init::normal_(weight.data(), 0.0, 1.0, gen);
}

Variable Embedding::forward(const Variable& x) {
  const float* index = x.data().data();
  for (int64_t i = 0; i < x.numel(); ++i)
    if (!(index[i] >= 0 && index[i] < static_cast<float>(num_embeddings)) || index[i] != std::floor(index[i]))
      throw std::invalid_argument(fmt::format("{}: index {} (element {} of input {}) is not an integer in [0, {})",
                                              describe(), index[i], i, shape_str(x.shape()), num_embeddings));
  return index_select0(weight, x.data());
}

std::string Embedding::describe() const { return fmt::format("Embedding({}, {})", num_embeddings, embedding_dim); }

// ------------------------------------------------------------------------------- Flatten, Unflatten

Variable Flatten::forward(const Variable& x) { return flatten(x, start_dim, end_dim); }

std::string Flatten::describe() const { return fmt::format("Flatten(start_dim={}, end_dim={})", start_dim, end_dim); }

Variable Unflatten::forward(const Variable& x) {
  int64_t axis = normalize_axis(dim, x.dim(), "Unflatten");
  int64_t product = 1;
  bool inferred = false;
  for (int64_t s : sizes) {
    if (s == -1) inferred = true;
    else product *= s;
  }
  bool fits = inferred ? product > 0 && x.size(axis) % product == 0 : product == x.size(axis);
  if (!fits)
    throw std::invalid_argument(fmt::format("{}: cannot split axis {} of size {} (input {}) into {}", describe(),
                                            axis, x.size(axis), shape_str(x.shape()), py_tuple(sizes)));
  Shape shape(x.shape().begin(), x.shape().begin() + axis);
  shape.insert(shape.end(), sizes.begin(), sizes.end());
  shape.insert(shape.end(), x.shape().begin() + axis + 1, x.shape().end());
  return reshape(x, shape);
}

std::string Unflatten::describe() const {
  return fmt::format("Unflatten(dim={}, unflattened_size={})", dim, py_tuple(sizes));
}

// -------------------------------------------------------------------------------------- Sequential

ModuleList::ModuleList(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) add(m);
}

std::shared_ptr<Module> ModuleList::operator[](size_t i) const {
  if (i >= size())
    throw std::out_of_range(fmt::format("{}: index {} is out of range for {} modules", describe(), i, size()));
  return named_children()[i].second;
}

Variable Sequential::forward(const Variable& x) {
  Variable h = x;
  for (const auto& [name, module] : named_children()) h = (*module)(h);
  return h;
}

Variable Sequential::forward(const Variable& x, const Variable& context) {
  if (!takes_context())
    throw std::logic_error("Sequential: given a context, but none of its modules takes one (takes_context())");
  Variable h = x;
  for (const auto& [name, module] : named_children())
    h = module->takes_context() ? (*module)(h, context) : (*module)(h);
  return h;
}

// A Sequential takes a context when one of its modules does, so Sequentials nest.
bool Sequential::takes_context() const {
  for (const auto& [name, module] : named_children())
    if (module->takes_context()) return true;
  return false;
}

// ------------------------------------------------------------------------------------- activations

Variable ReLU::forward(const Variable& x) { return relu(x); }
Variable LeakyReLU::forward(const Variable& x) { return leaky_relu(x, negative_slope); }
std::string LeakyReLU::describe() const { return fmt::format("LeakyReLU(negative_slope={})", py_float(negative_slope)); }
Variable SiLU::forward(const Variable& x) { return silu(x); }
Variable GELU::forward(const Variable& x) { return gelu(x); }
Variable Tanh::forward(const Variable& x) { return tanh(x); }
Variable Sigmoid::forward(const Variable& x) { return sigmoid(x); }
Variable Softplus::forward(const Variable& x) { return softplus(x); }

}  // namespace hd
