// nn/layers.h — the standard layers (torch.nn names, arguments, initialisation and printing).
//
// Each layer owns its parameters as public members (`fc.weight`, `fc.bias`) registered with the
// Module base under PyTorch's names, so state_dict() keys match a PyTorch model's ("0.weight",
// "encoder.fc1.bias", "bn.running_mean").
//
// Initialisation follows each PyTorch layer's reset_parameters(), drawing from the Generator in the
// same order: build the same layers in the same order after hd::manual_seed(s) and
// torch.manual_seed(s) and the weights are identical.
//
// The forward passes are written with autograd ops, so gradients (and gradients of gradients) come
// from those ops' rules; no layer has a backward of its own.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"
#include "tensor/random.h"

namespace hd {

// y = x W^T + b.  x: [*, in_features] -> [*, out_features].
// weight: [out, in] ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_ with a = sqrt(5)), bias: [out] the same bound.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator& gen = default_generator());
  Linear(int64_t in_features, int64_t out_features, Generator& gen) : Linear(in_features, out_features, true, gen) {}
  Variable forward(const Variable& x) override;
  std::string describe() const override;

  int64_t in_features, out_features;
  Variable weight;  // [out_features, in_features]
  Variable bias;    // [out_features], undefined without bias
};

// 2-D convolution (cross-correlation, as every framework computes it), groups = 1.
// x: [B, C_in, H, W] -> [B, C_out, H_out, W_out],  H_out = (H + 2 padding - dilation (k - 1) - 1) / stride + 1.
// weight: [C_out, C_in, k, k] and bias: [C_out], both ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in k k.
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1, int64_t padding = 0,
         int64_t dilation = 1, bool bias = true, Generator& gen = default_generator());
  Variable forward(const Variable& x) override;
  std::string describe() const override;

  int64_t in_channels, out_channels, kernel_size, stride, padding, dilation;
  Variable weight;  // [C_out, C_in, k, k]
  Variable bias;    // [C_out], undefined without bias
};

// The adjoint of Conv2d (a "deconvolution"): it upsamples.
// x: [B, C_in, H, W] -> [B, C_out, H_out, W_out],
// H_out = (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1.
// weight: [C_in, C_out, k, k]; PyTorch's fan_in for it is weight.size(1) k k = C_out k k.
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1,
                  int64_t padding = 0, int64_t output_padding = 0, bool bias = true, int64_t dilation = 1,
                  Generator& gen = default_generator());
  Variable forward(const Variable& x) override;
  std::string describe() const override;

  int64_t in_channels, out_channels, kernel_size, stride, padding, output_padding, dilation;
  Variable weight;  // [C_in, C_out, k, k]
  Variable bias;    // [C_out], undefined without bias
};

// Batch normalisation (Ioffe & Szegedy 2015), per channel c:
//   y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c
// Training: mean_c and the biased var_c of this batch (over every axis but the channel axis), and
//   running = (1 - momentum) running + momentum batch_stat  (with the unbiased variance, as PyTorch).
// Evaluation: running_mean and running_var instead.
// BatchNorm1d takes x: [N, C] or [N, C, L]; BatchNorm2d takes x: [N, C, H, W].
class BatchNorm : public Module {
 public:
  Variable forward(const Variable& x) override;
  std::string describe() const override;

  int64_t num_features;
  float eps, momentum;
  bool affine;
  Variable weight;      // [C], starts at 1 (undefined without affine)
  Variable bias;        // [C], starts at 0
  Tensor running_mean;  // [C], starts at 0
  Tensor running_var;   // [C], starts at 1
  Tensor num_batches_tracked;  // scalar: training steps taken, as PyTorch counts them

 protected:
  BatchNorm(const char* type, std::vector<int64_t> allowed_dims, int64_t num_features, float eps, float momentum,
            bool affine);

 private:
  const char* type_;
  std::vector<int64_t> allowed_dims_;
};

class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, float eps = 1e-5f, float momentum = 0.1f, bool affine = true)
      : BatchNorm("BatchNorm1d", {2, 3}, num_features, eps, momentum, affine) {}
};

class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, float eps = 1e-5f, float momentum = 0.1f, bool affine = true)
      : BatchNorm("BatchNorm2d", {4}, num_features, eps, momentum, affine) {}
};

// Group normalisation (Wu & He 2018): the channels of each sample split into num_groups groups,
// each normalised by its own mean and (biased) variance, then a per-channel affine map.
// Same in training and evaluation. x: [N, C, *] -> same shape.
class GroupNorm : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, float eps = 1e-5f, bool affine = true);
  Variable forward(const Variable& x) override;
  std::string describe() const override;

  int64_t num_groups, num_channels;
  float eps;
  bool affine;
  Variable weight;  // [C], starts at 1 (undefined without affine)
  Variable bias;    // [C], starts at 0
};

// Layer normalisation (Ba et al. 2016): each sample normalised over its last dimensions
// (normalized_shape), then an elementwise affine map of that shape. x: [*, *normalized_shape].
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, float eps = 1e-5f, bool elementwise_affine = true);
  explicit LayerNorm(int64_t size, float eps = 1e-5f, bool elementwise_affine = true)
      : LayerNorm(Shape{size}, eps, elementwise_affine) {}
  Variable forward(const Variable& x) override;
  std::string describe() const override;

  Shape normalized_shape;
  float eps;
  bool elementwise_affine;
  Variable weight;  // normalized_shape, starts at 1 (undefined without elementwise_affine)
  Variable bias;    // normalized_shape, starts at 0
};

// Dropout (Srivastava et al. 2014): in training, each element is zeroed with probability p and the
// survivors are scaled by 1 / (1 - p) so the expected value is unchanged; in evaluation, identity.
// The mask is drawn at each forward from `gen` exactly as torch's F.dropout draws it
// (bernoulli_(1 - p)), so the generator must outlive the layer.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator& gen = default_generator());
  Variable forward(const Variable& x) override;
  std::string describe() const override;

  double p;

 private:
  Generator* gen_;
};

// A lookup table: row i of weight is the vector of token i. x holds integer indices (as floats),
// any shape -> [*x.shape, embedding_dim]. weight ~ Normal(0, 1).
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& gen = default_generator());
  Variable forward(const Variable& x) override;
  std::string describe() const override;

  int64_t num_embeddings, embedding_dim;
  Variable weight;  // [num_embeddings, embedding_dim]
};

// Collapses axes [start_dim, end_dim] into one: [B, C, H, W] -> [B, C H W] by default.
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Variable forward(const Variable& x) override;
  std::string describe() const override;
  int64_t start_dim, end_dim;
};

// Splits axis `dim` into `sizes`: Unflatten(1, {C, H, W}) turns [B, C H W] into [B, C, H, W].
class Unflatten : public Module {
 public:
  Unflatten(int64_t dim, Shape sizes) : dim(dim), sizes(std::move(sizes)) {}
  Variable forward(const Variable& x) override;
  std::string describe() const override;
  int64_t dim;
  Shape sizes;
};

// Modules applied one after another; children are named "0", "1", ... as in PyTorch.
// Modules kept in a list, registered as "0", "1", ... (torch.nn.ModuleList): for blocks a model runs in its
// own order, e.g. a U-Net's down path, whose outputs the up path takes back. It has no forward of its own.
class ModuleList : public Module {
 public:
  ModuleList() = default;
  ModuleList(std::initializer_list<std::shared_ptr<Module>> modules);
  // Appends a module (returned, to keep a typed handle to it).
  template <class M>
  std::shared_ptr<M> add(std::shared_ptr<M> module) {
    return register_module(std::to_string(size()), std::move(module));
  }
  std::string describe() const override { return "ModuleList()"; }
  size_t size() const { return named_children().size(); }
  std::shared_ptr<Module> operator[](size_t i) const;
};

// Modules applied one after another (torch.nn.Sequential). Given a context, it passes it to the modules
// that take one (takes_context()) and only x to the others.
class Sequential : public ModuleList {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules) : ModuleList(modules) {}
  Variable forward(const Variable& x) override;
  Variable forward(const Variable& x, const Variable& context) override;
  bool takes_context() const override;
  std::string describe() const override { return "Sequential()"; }
};

// --- activations as modules, for Sequential (the functions are in autograd/activation.h) ---

class ReLU : public Module {
 public:
  Variable forward(const Variable& x) override;
  std::string describe() const override { return "ReLU()"; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(float negative_slope = 0.01f) : negative_slope(negative_slope) {}
  Variable forward(const Variable& x) override;
  std::string describe() const override;
  float negative_slope;
};

class SiLU : public Module {
 public:
  Variable forward(const Variable& x) override;
  std::string describe() const override { return "SiLU()"; }
};

// The exact (erf) form, PyTorch's default approximate='none'.
class GELU : public Module {
 public:
  Variable forward(const Variable& x) override;
  std::string describe() const override { return "GELU(approximate='none')"; }
};

class Tanh : public Module {
 public:
  Variable forward(const Variable& x) override;
  std::string describe() const override { return "Tanh()"; }
};

class Sigmoid : public Module {
 public:
  Variable forward(const Variable& x) override;
  std::string describe() const override { return "Sigmoid()"; }
};

// log(1 + e^x), PyTorch's defaults beta = 1, threshold = 20. PyTorch returns x itself above the
// threshold; there log(1 + e^x) rounds to x in float anyway (and its slope to 1), so no special case.
class Softplus : public Module {
 public:
  Variable forward(const Variable& x) override;
  std::string describe() const override { return "Softplus(beta=1, threshold=20)"; }
};

}  // namespace hd
