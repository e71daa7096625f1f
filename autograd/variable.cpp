#include "autograd/variable.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "autograd/elementwise.h"
#include "tensor/elementwise.h"

namespace hd {

// ---------------------------------------------------------------- gradient mode

static thread_local bool g_grad_enabled = true;

bool grad_enabled() { return g_grad_enabled; }

GradModeGuard::GradModeGuard(bool enabled) : previous_(g_grad_enabled) { g_grad_enabled = enabled; }
GradModeGuard::~GradModeGuard() { g_grad_enabled = previous_; }

// ---------------------------------------------------------------- Variable

Variable::Variable(const Tensor& data, bool requires_grad) : impl_(std::make_shared<VariableImpl>()) {
  if (!data.defined()) throw std::invalid_argument("Variable: cannot wrap an undefined tensor");
  impl_->data = data;
  impl_->requires_grad = requires_grad;
}

static VariableImpl& checked(const std::shared_ptr<VariableImpl>& impl, const char* what) {
  if (!impl) throw std::logic_error(fmt::format("{}: the Variable is undefined", what));
  return *impl;
}

const Tensor& Variable::data() const { return checked(impl_, "data").data; }
Tensor& Variable::data() { return checked(impl_, "data").data; }
bool Variable::requires_grad() const { return impl_ && impl_->requires_grad; }
bool Variable::is_leaf() const { return !impl_ || impl_->grad_fn == nullptr; }
Variable Variable::grad() const { return checked(impl_, "grad").grad; }
void Variable::set_grad(const Variable& grad) { checked(impl_, "set_grad").grad = grad; }
void Variable::zero_grad() { checked(impl_, "zero_grad").grad = Variable(); }
const std::shared_ptr<Node>& Variable::grad_fn() const { return checked(impl_, "grad_fn").grad_fn; }
const std::string& Variable::name() const { return checked(impl_, "name").name; }

Variable& Variable::set_name(const std::string& name) {
  checked(impl_, "set_name").name = name;
  return *this;
}

Variable& Variable::requires_grad_(bool on) {
  auto& impl = checked(impl_, "requires_grad_");
  if (impl.grad_fn)
    throw std::invalid_argument(fmt::format(
        "requires_grad_: only a leaf can be marked; this Variable is the result of '{}' (use detach() first)",
        impl.grad_fn->op));
  impl.requires_grad = on;
  return *this;
}

bool Variable::is_exclusive() const {
  return impl_ && impl_.use_count() == 1 && impl_->data.storage_use_count() == 1;
}

Variable Variable::detach() const { return Variable(data(), false); }

Variable Variable::from_node(const Tensor& data, const std::shared_ptr<Node>& node) {
  Variable v(data, node != nullptr);
  v.impl_->grad_fn = node;
  return v;
}

std::shared_ptr<Node> Variable::gradient_edge() const {
  if (!impl_ || !impl_->requires_grad) return nullptr;
  if (impl_->grad_fn) return impl_->grad_fn;
  if (!impl_->accumulator) {
    // The leaf owns its accumulator; the accumulator points back weakly, so neither keeps the other alive.
    auto node = std::make_shared<Node>();
    node->op = "accumulate_grad";
    node->is_accumulator = true;
    node->leaf = impl_;
    node->output_shape = impl_->data.shape();
    impl_->accumulator = node;
  }
  return impl_->accumulator;
}

// ---------------------------------------------------------------- recording

Variable record_op(const char* op, const Tensor& result, const std::vector<Variable>& inputs, BackwardFn backward,
                   bool save_output) {
  return record_op(
      op, result, inputs,
      [rule = std::move(backward)](const Variable& g, const Variable& output, const BackwardContext&) {
        return rule(g, output);
      },
      save_output);
}

Variable record_op(const char* op, const Tensor& result, const std::vector<Variable>& inputs,
                   BackwardFnWithContext backward, bool save_output) {
  if (!grad_enabled()) return Variable(result);
  bool any = false;
  for (const auto& v : inputs) any = any || v.requires_grad();
  if (!any) return Variable(result);

  auto node = std::make_shared<Node>();
  node->op = op;
  node->backward = std::move(backward);
  node->output_shape = result.shape();
  if (save_output) node->saved_output = result;
  node->inputs.reserve(inputs.size());
  for (const auto& v : inputs) {
    node->inputs.push_back(v.gradient_edge());
    node->input_shapes.push_back(v.defined() ? v.shape() : Shape{});
  }
  return Variable::from_node(result, node);
}

// ---------------------------------------------------------------- the backward pass

// Nodes reachable from `root`, ordered so that every node comes after all nodes that feed
// gradient into it (reverse topological order of the forward graph). Iterative DFS: deep
// graphs (long diffusion chains) would overflow the stack with recursion.
static std::vector<Node*> backward_order(Node* root) {
  std::vector<Node*> post;  // post-order: inputs before the ops that use them
  std::unordered_set<Node*> seen{root};
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      Node* child = node->inputs[next++].get();
      if (child && seen.insert(child).second) stack.push_back({child, 0});
    } else {
      post.push_back(node);
      stack.pop_back();
    }
  }
  std::reverse(post.begin(), post.end());
  return post;
}

// Walks the graph from `root` with dL/d(root) = `root_grad`. When `wanted` is empty, gradients
// are accumulated into the leaves' .grad; otherwise no .grad is touched and the gradients that
// reach the wanted nodes are returned instead (torch.autograd.grad).
static std::vector<Variable> run_backward(const Variable& root, const Variable& root_grad,
                                          const BackwardOptions& options, const std::vector<Node*>& wanted) {
  std::shared_ptr<Node> root_node = root.gradient_edge();
  if (!root_node)
    throw std::invalid_argument(
        "backward: this Variable does not require grad and has no grad_fn (no recorded op produced it from a "
        "Variable with requires_grad)");
  if (root_grad.shape() != root.shape())
    throw std::invalid_argument(fmt::format("backward: gradient of shape {} given for an output of shape {}",
                                            shape_str(root_grad.shape()), shape_str(root.shape())));
  const bool create_graph = options.create_graph;
  const bool retain_graph = options.retain_graph || options.create_graph;
  // With create_graph the rules are recorded (their results are Variables with graphs);
  // without it they run like any code under no_grad and cost no more than the arithmetic.
  GradModeGuard mode(create_graph);

  std::vector<Variable> found(wanted.size());
  std::unordered_map<Node*, Variable> pending;  // sum of the gradients that reached each node so far
  pending[root_node.get()] = root_grad;

  for (Node* node : backward_order(root_node.get())) {
    auto it = pending.find(node);
    if (it == pending.end()) continue;  // no gradient flows through here
    Variable g = std::move(it->second);
    pending.erase(it);

    for (size_t i = 0; i < wanted.size(); ++i)
      if (wanted[i] == node) found[i] = g;

    if (node->is_accumulator) {
      if (!wanted.empty()) continue;
      auto leaf = node->leaf.lock();
      if (!leaf) continue;
      // Never aliased: an op like add passes its incoming gradient straight through, and an
      // in-place change to one leaf's .grad must not reach another's. A gradient nothing else
      // refers to (the usual case: a fresh matmul result) is taken as it is, without a copy.
      if (!leaf->grad.defined()) {
        leaf->grad = create_graph || g.is_exclusive() ? g : Variable(g.data().clone());
      } else {
        leaf->grad = create_graph ? add(leaf->grad, g) : Variable(hd::add(leaf->grad.data(), g.data()));
      }
      continue;
    }

    if (node->freed)
      throw std::runtime_error(fmt::format(
          "backward: trying to backward through the graph a second time (at '{}'): its saved values were freed "
          "by the first backward; call the first backward with retain_graph=true if you need to walk it again",
          node->op));

    // The rule sees its output as a Variable whose grad_fn is this very node, so that with
    // create_graph a rule using its output (exp, tanh, ...) is differentiated correctly again.
    Variable output;
    if (node->saved_output.defined())
      output = create_graph ? Variable::from_node(node->saved_output, node->shared_from_this())
                            : Variable(node->saved_output);
    std::vector<Variable> input_grads = node->backward(g, output, BackwardContext{create_graph});
    if (input_grads.size() != node->inputs.size())
      throw std::logic_error(fmt::format("backward of '{}' returned {} gradients for {} inputs", node->op,
                                         input_grads.size(), node->inputs.size()));

    for (size_t i = 0; i < input_grads.size(); ++i) {
      Node* next = node->inputs[i].get();
      if (!next || !input_grads[i].defined()) continue;
      if (input_grads[i].shape() != node->input_shapes[i])
        throw std::logic_error(fmt::format("backward of '{}' returned a gradient of shape {} for input {} of shape {}",
                                           node->op, shape_str(input_grads[i].shape()), i,
                                           shape_str(node->input_shapes[i])));
      Variable& sum = pending[next];
      sum = sum.defined() ? add(sum, input_grads[i]) : input_grads[i];
    }

    if (!retain_graph) {
      // Free what the rule captured (the inputs it saved) and the saved output: this is what lets
      // a training step give its activations' memory back as soon as backward is done.
      node->backward = nullptr;
      node->saved_output = Tensor();
      node->freed = true;
    }
  }
  return found;
}

void Variable::backward(const BackwardOptions& options) const {
  if (numel() != 1)
    throw std::invalid_argument(fmt::format(
        "backward: grad can be implicitly created only for a scalar output, got shape {}; pass the gradient of "
        "the output explicitly",
        shape_str(shape())));
  run_backward(*this, Variable(Tensor::ones(shape())), options, {});
}

void Variable::backward(const Variable& grad_output, const BackwardOptions& options) const {
  if (!grad_output.defined()) return backward(options);
  run_backward(*this, grad_output, options, {});
}

std::vector<Variable> grad(const Variable& output, const std::vector<Variable>& inputs, const Variable& grad_output,
                           const BackwardOptions& options) {
  std::vector<std::shared_ptr<Node>> edges;  // kept alive while the walk runs
  std::vector<Node*> wanted;
  for (size_t i = 0; i < inputs.size(); ++i) {
    edges.push_back(inputs[i].gradient_edge());
    if (!edges.back())
      throw std::invalid_argument(fmt::format("grad: input {} does not require grad", i));
    wanted.push_back(edges.back().get());
  }
  Variable g = grad_output;
  if (!g.defined()) {
    if (output.numel() != 1)
      throw std::invalid_argument(fmt::format(
          "grad: grad_output can be implicitly created only for a scalar output, got shape {}",
          shape_str(output.shape())));
    g = Variable(Tensor::ones(output.shape()));
  }
  return run_backward(output, g, options, wanted);
}

}  // namespace hd
