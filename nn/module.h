// module.h — the base of every layer and model (torch.nn.Module).
//
// A Module owns named parameters (Variables that require gradients, updated by an optimizer),
// named buffers (tensors saved with the model but not trained, like BatchNorm's running mean)
// and named child modules. Names nest with dots, as in PyTorch: "encoder.fc1.weight". That
// naming is what state_dict() / load_state_dict() use, and what a checkpoint file stores.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.h"

namespace hd {

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;  // parameters are shared by reference; copying a module is a mistake
  Module& operator=(const Module&) = delete;

  // The layer's computation. Layers with one input override this; models with other signatures
  // (a VAE returning several tensors) define their own methods instead.
  virtual Variable forward(const Variable& x);
  Variable operator()(const Variable& x) { return forward(x); }

  // A block conditioned on a second input — a diffusion U-Net's residual block on (x, time embedding), a
  // conditional layer on (x, label embedding) — overrides this and says so with takes_context(), so that a
  // Sequential hands the context to it and only it: Sequential{conv, block, relu}(x, t) calls
  // conv(x), block(h, t), relu(h). The default throws, naming the module.
  virtual Variable forward(const Variable& x, const Variable& context);
  virtual bool takes_context() const { return false; }
  Variable operator()(const Variable& x, const Variable& context) { return forward(x, context); }

  // Every parameter of this module and its children, in registration order.
  std::vector<Variable> parameters() const;
  std::vector<std::pair<std::string, Variable>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
  int64_t num_parameters() const;

  // Parameters and buffers by full name (the tensors are shared, not copied).
  std::map<std::string, Tensor> state_dict() const;
  // Copies values in. Every name must exist with the same shape (and, when strict, every
  // parameter and buffer must be given); otherwise throws naming the first offending entry.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  // Training mode (dropout active, batch statistics in BatchNorm) or evaluation mode.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();

  // A one-line description in PyTorch's form "Name(arguments)", e.g.
  // "Linear(in_features=784, out_features=400, bias=True)"; children are listed by print().
  virtual std::string describe() const { return "Module()"; }
  // The whole tree, as PyTorch's repr:
  //   Sequential(
  //     (0): Linear(in_features=784, out_features=400, bias=True)
  //     (1): ReLU()
  //   )
  std::string print() const;

 protected:
  // The returned Variable / Tensor shares its data with the registered one: layers keep it as a
  // member (`weight = register_parameter("weight", w)`) and must update it in place, never reassign it.
  Variable register_parameter(const std::string& name, const Tensor& value);
  Tensor register_buffer(const std::string& name, const Tensor& value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  bool has_name(const std::string& name) const;  // a parameter, buffer or child of that name exists
  void collect(const std::string& prefix, std::vector<std::pair<std::string, Variable>>* params,
               std::vector<std::pair<std::string, Tensor>>* buffers) const;

  std::vector<std::pair<std::string, Variable>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace hd
