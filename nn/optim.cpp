// optim.cpp — SGD, Adam, AdamW and clip_grad_norm_, step for step as PyTorch 1.13's single-tensor
// implementations (torch/optim/sgd.py, adam.py, adamw.py with foreach=False, maximize=False,
// amsgrad=False), down to the order of the floating-point operations, so a run matches PyTorch's.
//
// Each update is a plain loop over a parameter's contiguous floats (Adam's in tensor/optim_kernels.cpp,
// its one fused kernel): no temporary tensors, and the compiler vectorises it. Big parameters split the
// loop across threads; each element's arithmetic is the same either way, so results do not depend on the
// thread count.
#include "nn/optim.h"

#include "tensor/optim_kernels.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace hd {

// Below this many elements, starting threads costs more than the loop itself.
static constexpr int64_t kParallelThreshold = 1 << 15;

// ------------------------------------------------------------------------------------------ Optimizer

Optimizer::Optimizer(std::vector<Variable> params, float lr) : params_(std::move(params)), lr_(lr) {
  if (params_.empty()) throw std::invalid_argument("Optimizer: got an empty parameter list");
  if (!(lr >= 0.f)) throw std::invalid_argument(fmt::format("Optimizer: invalid learning rate {}", lr));
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].defined()) throw std::invalid_argument(fmt::format("Optimizer: parameter {} is undefined", i));
    if (!params_[i].is_leaf())
      throw std::invalid_argument(fmt::format("Optimizer: parameter {} is not a leaf (an op's result cannot be optimized)", i));
    // A parameter listed twice would be updated twice per step.
    for (size_t j = 0; j < i; ++j)
      if (params_[j].is_same(params_[i]))
        throw std::invalid_argument(fmt::format("Optimizer: parameters {} and {} are the same Variable", j, i));
  }
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.zero_grad();
}

Tensor Optimizer::grad_of(size_t i) const {
  Variable grad = params_[i].grad();
  if (!grad.defined()) return Tensor();
  if (grad.shape() != params_[i].shape())
    throw std::invalid_argument(fmt::format("{}.step: parameter {} has shape {} but its gradient has shape {}",
                                            type_name(), i, shape_str(params_[i].shape()), shape_str(grad.shape())));
  return grad.data();
}

std::map<std::string, Tensor> Optimizer::common_state() const {
  return {{"step", Tensor::scalar(static_cast<float>(steps_))}, {"lr", Tensor::scalar(lr_)}};
}

void Optimizer::load_common_state(const std::map<std::string, Tensor>& state) {
  steps_ = static_cast<int64_t>(state.at("step").item());
  lr_ = state.at("lr").item();
}

// "12" -> 12; anything else (empty, "x", "1x", "-1") -> -1.
static int64_t parse_index(const std::string& text) {
  if (text.empty() || text.size() > 9) return -1;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

// {"a", "b"} -> "'<prefix>a', '<prefix>b'"; {} -> "nothing".
static std::string quoted_list(const std::vector<std::string>& names, const std::string& prefix) {
  if (names.empty()) return "nothing";
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "'" : ", '") + prefix + name + "'";
  return out;
}

static bool is_step_count(float value) { return value >= 0.f && value <= 16777216.f && value == std::floor(value); }

void Optimizer::check_state_dict(const std::map<std::string, Tensor>& state) const {
  const char* op = type_name();
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument(fmt::format("{}.load_state_dict: {}", op, what));
  };
  for (const char* name : {"step", "lr"}) {
    auto it = state.find(name);
    if (it == state.end()) fail(fmt::format("missing '{}'", name));
    if (!it->second.defined() || it->second.dim() != 0)
      fail(fmt::format("'{}' must be a scalar, got shape {}", name, shape_str(it->second.shape())));
  }
  if (!is_step_count(state.at("step").item()))
    fail(fmt::format("'step' is {}, expected a whole number >= 0", state.at("step").item()));
  if (!(state.at("lr").item() >= 0.f)) fail(fmt::format("'lr' is {}, expected >= 0", state.at("lr").item()));

  const std::vector<std::string> names = state_names();
  std::vector<int> found(params_.size(), 0);  // per parameter: how many of `names` the dict has
  for (const auto& [key, value] : state) {
    if (key == "step" || key == "lr") continue;
    size_t dot = key.find('.');
    int64_t i = dot == std::string::npos ? -1 : parse_index(key.substr(0, dot));
    std::string name = dot == std::string::npos ? "" : key.substr(dot + 1);
    bool known = false;
    for (const auto& n : names) known = known || n == name;
    if (i < 0 || !known)
      fail(fmt::format("unexpected entry '{}' ({} keeps {} per parameter)", key, op, quoted_list(names, "")));
    if (i >= static_cast<int64_t>(params_.size()))
      fail(fmt::format("entry '{}' is for parameter {}, but there are {} parameters", key, i, params_.size()));
    if (!value.defined()) fail(fmt::format("'{}' is an undefined tensor", key));
    Shape expected = name == "step" ? Shape{} : params_[i].shape();
    if (value.shape() != expected)
      fail(fmt::format("'{}' has shape {}, expected {}", key, shape_str(value.shape()), shape_str(expected)));
    if (name == "step" && !is_step_count(value.item()))
      fail(fmt::format("'{}' is {}, expected a whole number >= 0", key, value.item()));
    ++found[i];
  }
  for (size_t i = 0; i < params_.size(); ++i)
    if (found[i] != 0 && found[i] != static_cast<int>(names.size()))
      fail(fmt::format("parameter {} has only part of its state (expected all of {})", i,
                       quoted_list(names, std::to_string(i) + ".")));
}

// Parameter i's entry `name` as a fresh copy, or an undefined tensor when the dict has none.
static Tensor copy_entry(const std::map<std::string, Tensor>& state, size_t i, const char* name) {
  auto it = state.find(fmt::format("{}.{}", i, name));
  return it == state.end() ? Tensor() : it->second.clone();
}

// ------------------------------------------------------------------------------------------ SGD

SGD::SGD(std::vector<Variable> params, float lr, float momentum, float dampening, float weight_decay, bool nesterov)
    : Optimizer(std::move(params), lr),
      momentum_(momentum),
      dampening_(dampening),
      weight_decay_(weight_decay),
      nesterov_(nesterov),
      velocity_(params_.size()) {
  if (!(momentum >= 0.f)) throw std::invalid_argument(fmt::format("SGD: invalid momentum value {}", momentum));
  if (!(weight_decay >= 0.f)) throw std::invalid_argument(fmt::format("SGD: invalid weight_decay value {}", weight_decay));
  if (nesterov && (momentum <= 0.f || dampening != 0.f))
    throw std::invalid_argument(fmt::format(
        "SGD: Nesterov momentum requires a momentum and zero dampening (got momentum={}, dampening={})", momentum,
        dampening));
}

std::vector<std::string> SGD::state_names() const {
  if (momentum_ == 0.f) return {};
  return {"momentum_buffer"};
}

// Per element, with d the gradient:
//   d += weight_decay * p                       (L2 penalty folded into the gradient)
//   v  = d on the parameter's first step, else momentum * v + (1 - dampening) * d
//   d  = nesterov ? d + momentum * v : v        (only with momentum)
//   p -= lr * d
void SGD::step() {
  const float lr = lr_, wd = weight_decay_, mu = momentum_;
  const float keep = static_cast<float>(1.0 - dampening_);  // PyTorch computes 1 - dampening in double
  const bool nesterov = nesterov_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor grad = grad_of(i);
    if (!grad.defined()) continue;
    const bool first = mu != 0.f && !velocity_[i].defined();
    if (first) velocity_[i] = Tensor(params_[i].shape());
    float* p = params_[i].data().data();
    const float* g = grad.data();
    float* v = mu != 0.f ? velocity_[i].data() : nullptr;
    const int64_t n = params_[i].numel();
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold)
    for (int64_t j = 0; j < n; ++j) {
      float d = g[j];
      if (wd != 0.f) d = d + wd * p[j];
      if (mu != 0.f) {
        v[j] = first ? d : v[j] * mu + keep * d;
        d = nesterov ? d + mu * v[j] : v[j];
      }
      p[j] = p[j] - lr * d;
    }
  }
  ++steps_;
}

std::map<std::string, Tensor> SGD::state_dict() const {
  std::map<std::string, Tensor> state = common_state();
  for (size_t i = 0; i < params_.size(); ++i)
    if (velocity_[i].defined()) state[fmt::format("{}.momentum_buffer", i)] = velocity_[i];
  return state;
}

void SGD::load_state_dict(const std::map<std::string, Tensor>& state) {
  check_state_dict(state);
  load_common_state(state);
  for (size_t i = 0; i < params_.size(); ++i) velocity_[i] = copy_entry(state, i, "momentum_buffer");
}

// ------------------------------------------------------------------------------------------ Adam, AdamW

Adam::Adam(std::vector<Variable> params, float lr, float beta1, float beta2, float eps, float weight_decay)
    : Adam(std::move(params), lr, beta1, beta2, eps, weight_decay, /*decoupled=*/false) {}

Adam::Adam(std::vector<Variable> params, float lr, float beta1, float beta2, float eps, float weight_decay,
           bool decoupled)
    : Optimizer(std::move(params), lr),
      beta1_(beta1),
      beta2_(beta2),
      eps_(eps),
      weight_decay_(weight_decay),
      decoupled_(decoupled),
      m_(params_.size()),
      v_(params_.size()),
      t_(params_.size(), 0) {
  const char* op = type_name();
  if (!(eps >= 0.f)) throw std::invalid_argument(fmt::format("{}: invalid epsilon value {}", op, eps));
  if (!(beta1 >= 0.f && beta1 < 1.f)) throw std::invalid_argument(fmt::format("{}: invalid beta1 {}, expected [0, 1)", op, beta1));
  if (!(beta2 >= 0.f && beta2 < 1.f)) throw std::invalid_argument(fmt::format("{}: invalid beta2 {}, expected [0, 1)", op, beta2));
  if (!(weight_decay >= 0.f))
    throw std::invalid_argument(fmt::format("{}: invalid weight_decay value {}", op, weight_decay));
}

AdamW::AdamW(std::vector<Variable> params, float lr, float beta1, float beta2, float eps, float weight_decay)
    : Adam(std::move(params), lr, beta1, beta2, eps, weight_decay, /*decoupled=*/true) {}

// Adam (Kingma & Ba 2015, Algorithm 1), at the parameter's step t (counted from 1), g its gradient:
//   g = g + weight_decay * p                     (Adam's L2 weight decay)  or
//   p = p * (1 - lr * weight_decay)              (AdamW's decoupled weight decay, Loshchilov & Hutter 2019)
//   m = beta1 * m + (1 - beta1) * g              first moment: a running mean of the gradient
//   v = beta2 * v + (1 - beta2) * g^2            second moment: a running mean of its square
//   m^ = m / (1 - beta1^t),  v^ = v / (1 - beta2^t)      bias correction: m and v start at 0
//   p = p - lr * m^ / (sqrt(v^) + eps)
// PyTorch folds the two corrections into scalars computed in double (step_size, bias_correction2_sqrt) and
// so does this, in its order of operations; tensor/optim_kernels.cpp runs the loop over the elements.
void Adam::step() {
  AdamScalars s;
  s.beta1 = beta1_;
  s.beta2 = beta2_;
  s.one_minus_beta1 = static_cast<float>(1.0 - beta1_);
  s.one_minus_beta2 = static_cast<float>(1.0 - beta2_);
  s.eps = eps_;
  s.weight_decay = weight_decay_;
  s.shrink = static_cast<float>(1.0 - static_cast<double>(lr_) * weight_decay_);
  s.decoupled = decoupled_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor grad = grad_of(i);
    if (!grad.defined()) continue;
    if (!m_[i].defined()) {
      m_[i] = Tensor::zeros(params_[i].shape());
      v_[i] = Tensor::zeros(params_[i].shape());
      t_[i] = 0;
    }
    const int64_t t = ++t_[i];
    const double bias_correction1 = 1.0 - std::pow(static_cast<double>(beta1_), static_cast<double>(t));
    const double bias_correction2 = 1.0 - std::pow(static_cast<double>(beta2_), static_cast<double>(t));
    s.step_size = static_cast<float>(lr_ / bias_correction1);
    s.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
    adam_update(params_[i].data().data(), grad.data(), m_[i].data(), v_[i].data(), params_[i].numel(), s);
  }
  ++steps_;
}

std::map<std::string, Tensor> Adam::state_dict() const {
  std::map<std::string, Tensor> state = common_state();
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!m_[i].defined()) continue;
    state[fmt::format("{}.step", i)] = Tensor::scalar(static_cast<float>(t_[i]));
    state[fmt::format("{}.exp_avg", i)] = m_[i];
    state[fmt::format("{}.exp_avg_sq", i)] = v_[i];
  }
  return state;
}

void Adam::load_state_dict(const std::map<std::string, Tensor>& state) {
  check_state_dict(state);
  load_common_state(state);
  for (size_t i = 0; i < params_.size(); ++i) {
    m_[i] = copy_entry(state, i, "exp_avg");
    v_[i] = copy_entry(state, i, "exp_avg_sq");
    Tensor t = copy_entry(state, i, "step");
    t_[i] = t.defined() ? static_cast<int64_t>(t.item()) : 0;
  }
}

// ------------------------------------------------------------------------------------------ clipping

// As torch.nn.utils.clip_grad_norm_ (norm_type 2): the norm of all gradients taken together,
//   norm = sqrt(sum over every gradient element of g^2)       (accumulated here in double)
// and, when max_norm / (norm + 1e-6) < 1, every gradient multiplied by that factor.
float clip_grad_norm_(const std::vector<Variable>& params, float max_norm) {
  std::vector<Tensor> grads;
  for (const auto& p : params) {
    Variable g = p.grad();
    if (g.defined()) grads.push_back(g.data());
  }
  if (grads.empty()) return 0.f;
  double sum_of_squares = 0.0;
  for (const Tensor& g : grads) {
    const float* x = g.data();
    const int64_t n = g.numel();
    // Four running sums break the dependency chain of one long addition (and stay deterministic).
    double partial[4] = {0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 4 <= n; j += 4)
      for (int k = 0; k < 4; ++k) partial[k] += static_cast<double>(x[j + k]) * x[j + k];
    for (; j < n; ++j) partial[0] += static_cast<double>(x[j]) * x[j];
    sum_of_squares += (partial[0] + partial[1]) + (partial[2] + partial[3]);
  }
  const float norm = static_cast<float>(std::sqrt(sum_of_squares));
  const float scale = max_norm / (norm + 1e-6f);  // in float, as PyTorch's tensor arithmetic
  if (std::isfinite(norm) && scale < 1.f) {
    for (Tensor& g : grads) {
      float* x = g.data();
      const int64_t n = g.numel();
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold)
      for (int64_t j = 0; j < n; ++j) x[j] *= scale;
    }
  }
  return norm;
}

}  // namespace hd
