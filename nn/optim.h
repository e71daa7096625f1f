// optim.h — optimizers: how parameters move once backward has filled their .grad
// (torch.optim names, arguments and update rules).
//
// Each step reads every parameter's gradient g and updates the parameter p in place
// (under no_grad: an update is not part of any graph):
//   SGD:   v = momentum * v + (1 - dampening) * g;  p -= lr * (nesterov ? g + momentum * v : v)
//          (v = g on a parameter's first step; weight decay adds wd * p to g first)
//   Adam:  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= lr * m^ / (sqrt(v^) + eps)
//          with the bias corrections m^ = m / (1 - b1^t), v^ = v / (1 - b2^t), t counting the
//          parameter's own steps (weight decay adds wd * p to g first: L2 regularisation)
//   AdamW: Adam with the weight decay applied to p directly (p -= lr * wd * p), not through g.
// The arithmetic follows PyTorch 1.13's single-tensor code operation by operation (nn/optim.cpp), so
// runs agree with PyTorch's to within a rounding error (tests/test_optim.cpp).
//
//   Adam adam(model.parameters(), 1e-3f);
//   for (...) { adam.zero_grad(); loss.backward(); adam.step(); }
#pragma once

#include <map>
#include <string>
#include <vector>

#include "autograd/variable.h"

namespace hd {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Variable> params, float lr);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient (parameters without one are skipped, as in PyTorch).
  virtual void step() = 0;
  void zero_grad();

  float lr() const { return lr_; }
  void set_lr(float lr) { lr_ = lr; }  // schedulers call this
  int64_t steps_taken() const { return steps_; }
  const std::vector<Variable>& params() const { return params_; }

  // The optimizer's state by name, for checkpoints, laid out like PyTorch's optimizer.state_dict():
  //   "step"            scalar: steps taken (steps_taken())
  //   "lr"              scalar: the current learning rate (a scheduler may have changed it)
  //   "<i>.<name>"      the state of parameter i (its index in params()), e.g. "0.momentum_buffer",
  //                     "3.exp_avg"; only for parameters that have state (a parameter that never had a
  //                     gradient has none, as in PyTorch). "<i>.step" is a scalar, the rest have the
  //                     parameter's shape.
  // The tensors are shared with the optimizer, not copied (as PyTorch's): clone them to keep a snapshot.
  // Scalars are stored as float, so step counts are exact up to 2^24 (PyTorch 1.13 stores them as float too).
  virtual std::map<std::string, Tensor> state_dict() const = 0;
  // Copies the state in. Checks everything first (check_state_dict), so a failed load changes nothing.
  virtual void load_state_dict(const std::map<std::string, Tensor>& state) = 0;
  // Throws std::invalid_argument naming the first entry that does not fit these parameters (unknown
  // name, wrong shape, a parameter with part of its state, a step that is not a whole number).
  void check_state_dict(const std::map<std::string, Tensor>& state) const;

 protected:
  // "SGD", "Adam", "AdamW": the name error messages start with.
  virtual const char* type_name() const = 0;
  // The state kept per parameter, stored as "<i>.<name>"; "step" is a scalar, the others have the parameter's shape.
  virtual std::vector<std::string> state_names() const = 0;
  // The entries every optimizer has ("step", "lr"), and loading them back.
  std::map<std::string, Tensor> common_state() const;
  void load_common_state(const std::map<std::string, Tensor>& state);
  // Parameter i's gradient, checked to have the parameter's shape; undefined when it has none (skip it).
  Tensor grad_of(size_t i) const;

  std::vector<Variable> params_;
  float lr_;
  int64_t steps_ = 0;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Variable> params, float lr, float momentum = 0.f, float dampening = 0.f, float weight_decay = 0.f,
      bool nesterov = false);
  void step() override;
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& state) override;

 protected:
  const char* type_name() const override { return "SGD"; }
  std::vector<std::string> state_names() const override;

 private:
  float momentum_, dampening_, weight_decay_;
  bool nesterov_;
  std::vector<Tensor> velocity_;  // momentum buffers, created on the first step (as PyTorch)
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Variable> params, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
       float weight_decay = 0.f);
  void step() override;
  std::map<std::string, Tensor> state_dict() const override;
  void load_state_dict(const std::map<std::string, Tensor>& state) override;

 protected:
  Adam(std::vector<Variable> params, float lr, float beta1, float beta2, float eps, float weight_decay, bool decoupled);
  const char* type_name() const override { return decoupled_ ? "AdamW" : "Adam"; }
  std::vector<std::string> state_names() const override { return {"step", "exp_avg", "exp_avg_sq"}; }

  float beta1_, beta2_, eps_, weight_decay_;
  bool decoupled_;                  // AdamW
  std::vector<Tensor> m_, v_;       // first and second moment estimates, created on a parameter's first step
  std::vector<int64_t> t_;          // steps each parameter has taken (PyTorch's per-parameter state["step"]):
                                    // a parameter skipped for lack of a gradient has its own bias correction
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Variable> params, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
        float weight_decay = 1e-2f);
};

// Rescales all gradients together so their global L2 norm is at most max_norm; returns the norm
// before clipping (torch.nn.utils.clip_grad_norm_). Call it between backward() and step(). A
// non-finite norm (an inf or NaN gradient) is returned as is and the gradients are left alone.
float clip_grad_norm_(const std::vector<Variable>& params, float max_norm);

}  // namespace hd
