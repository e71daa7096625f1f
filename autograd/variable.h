// variable.h — reverse-mode automatic differentiation on top of tensor/.
//
// A Variable is a Tensor that remembers where it came from. Every differentiable op
// (autograd/elementwise.h, reduction.h, ...) computes its result with a tensor kernel
// and, when some input requires a gradient, records a Node: the op's name, the nodes
// that produced its inputs, and the op's backward rule — a function from the gradient
// of the loss with respect to the output to the gradients with respect to the inputs.
//
//        x ──┐
//            ├─ mul ── z ── sum ── loss         loss.backward() walks this graph from the
//        y ──┘                                  loss back to x and y (reverse topological
//                                               order), applying each rule on the way.
//
// The chain rule in one line: if z = f(x, y) and L depends on z, then
//   dL/dx = dL/dz * dz/dx,  and a Variable used by several ops receives the sum over its uses.
//
// Backward rules are written with the same differentiable ops, not with raw kernels. When
// backward runs with create_graph, the rules themselves are recorded, so a gradient is a
// Variable with a graph of its own and can be differentiated again (second derivatives,
// gradient penalties). Without create_graph, rules run in no-grad mode and record nothing.
//
// As in PyTorch, backward frees the graph's saved values once it has used them (so a
// training step's memory goes back at once); ask for retain_graph to backward twice.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace hd {

class Variable;
struct Node;
struct VariableImpl;

// A backward rule: receives dL/d(output) and the output itself (defined only when the op asked to
// save it, e.g. exp reuses e^x), returns dL/d(input) for each input (an undefined Variable where
// an input needs none). Most rules are written only with differentiable ops, so they serve a plain
// backward and a recorded one (create_graph) alike:
using BackwardFn = std::function<std::vector<Variable>(const Variable& grad_output, const Variable& output)>;

// A rule that has a faster way for a plain backward takes a third argument and is told which
// backward it runs in. With ctx.create_graph the gradients it returns are differentiated again, so it
// must compute them with differentiable ops; without, it may call a fused one-pass kernel that
// records nothing (relu, batch_norm, BCE with logits do), or refuse (max_pool2d has no second
// derivative). A rule never asks grad_enabled() for this: the context is the one place it is said.
struct BackwardContext {
  bool create_graph = false;
};
using BackwardFnWithContext =
    std::function<std::vector<Variable>(const Variable& grad_output, const Variable& output, const BackwardContext& ctx)>;

struct BackwardOptions {
  bool retain_graph = false;  // keep the saved values so the graph can be walked again
  bool create_graph = false;  // record the backward itself (implies retain_graph)
};

class Variable {
 public:
  Variable() = default;
  // A leaf holding `data` (shared, not copied). Implicit, so a Tensor can be passed where an op
  // takes a Variable: it enters the graph as a constant.
  Variable(const Tensor& data, bool requires_grad = false);  // NOLINT(google-explicit-constructor)

  bool defined() const { return impl_ != nullptr; }
  const Tensor& data() const;
  Tensor& data();
  const Shape& shape() const { return data().shape(); }
  int64_t dim() const { return data().dim(); }
  int64_t size(int64_t axis) const { return data().size(axis); }
  int64_t numel() const { return data().numel(); }
  float item() const { return data().item(); }

  // --- gradients ---
  bool requires_grad() const;
  // Marks a leaf as a parameter whose gradient backward should compute.
  Variable& requires_grad_(bool on = true);
  // A leaf is a Variable no recorded op produced: inputs and parameters.
  bool is_leaf() const;
  // dL/d(this), accumulated by backward; undefined until a backward reached this leaf.
  Variable grad() const;
  void set_grad(const Variable& grad);
  // Forgets the gradient (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();

  // Backpropagates from this scalar (its gradient is 1).
  void backward(const BackwardOptions& options = {}) const;
  // Backpropagates from a tensor of any shape, given dL/d(this) of the same shape.
  void backward(const Variable& grad_output, const BackwardOptions& options = {}) const;

  // The same data, cut from the graph: no gradient flows through the result.
  Variable detach() const;

  // The node that produced this Variable (nullptr for leaves).
  const std::shared_ptr<Node>& grad_fn() const;
  // A name shown in graph drawings (autograd/dot.h).
  Variable& set_name(const std::string& name);
  const std::string& name() const;

  // True when no other Variable or Tensor shares this one's data (so it may be handed on without a copy).
  bool is_exclusive() const;
  // True when both refer to the same Variable (not merely equal values).
  bool is_same(const Variable& other) const { return impl_ == other.impl_; }

  // For the engine: the Variable an op's output is, given its saved data and its node.
  static Variable from_node(const Tensor& data, const std::shared_ptr<Node>& node);
  // The node a gradient for this Variable flows to: its grad_fn, or for a leaf that
  // requires grad its accumulator node; nullptr when no gradient is needed.
  std::shared_ptr<Node> gradient_edge() const;

 private:
  std::shared_ptr<VariableImpl> impl_;
};

struct VariableImpl {
  Tensor data;
  bool requires_grad = false;
  Variable grad;
  std::shared_ptr<Node> grad_fn;      // producer, for results of recorded ops
  std::shared_ptr<Node> accumulator;  // for leaves: where backward delivers .grad
  std::string name;
};

// One recorded op in the graph.
struct Node : std::enable_shared_from_this<Node> {
  std::string op;                             // the op's name: "mul", "matmul", ...
  std::vector<std::shared_ptr<Node>> inputs;  // the node each input's gradient goes to (nullptr: none needed)
  std::vector<Shape> input_shapes;            // to check each rule returns gradients of the right shape
  BackwardFnWithContext backward;             // empty for leaf accumulators and once freed
  Tensor saved_output;                        // the output's data, kept only when the rule needs it
  Shape output_shape;
  std::weak_ptr<VariableImpl> leaf;           // leaf accumulators: the Variable whose .grad receives it
  bool is_accumulator = false;
  bool freed = false;                         // saved values released by a backward without retain_graph
};

// Records a differentiable op's result. When gradients are enabled and some input requires one, the
// result gets a Node holding `backward`; otherwise it is a plain Variable and `backward` is dropped.
// `save_output` keeps the output's data for rules that need it (they get it as their `output`).
// `op` is the name graph drawings and error messages show; tests/test_op_coverage.cpp finds every
// name recorded in autograd/ and fails unless a gradcheck and a PyTorch fixture case reach it.
Variable record_op(const char* op, const Tensor& result, const std::vector<Variable>& inputs, BackwardFn backward,
                   bool save_output = false);
Variable record_op(const char* op, const Tensor& result, const std::vector<Variable>& inputs,
                   BackwardFnWithContext backward, bool save_output = false);

// --- gradient mode: off inside no_grad scopes (evaluation, optimizer steps, backward without create_graph) ---
bool grad_enabled();
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};
// `NoGradGuard guard;` — nothing in this scope is recorded (torch.no_grad()).
class NoGradGuard : public GradModeGuard {
 public:
  NoGradGuard() : GradModeGuard(false) {}
};

// Gradients of `output` with respect to each of `inputs` (torch.autograd.grad), without touching
// any .grad field. `grad_output` may be undefined for a scalar output.
std::vector<Variable> grad(const Variable& output, const std::vector<Variable>& inputs,
                           const Variable& grad_output = Variable(), const BackwardOptions& options = {});

}  // namespace hd
