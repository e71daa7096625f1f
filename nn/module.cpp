#include "nn/module.h"

#include <fmt/format.h>

#include <stdexcept>

namespace hd {

Variable Module::forward(const Variable&) {
  throw std::logic_error(fmt::format("{}: this module does not define forward(x)", describe()));
}

Variable Module::forward(const Variable&, const Variable&) {
  throw std::logic_error(fmt::format("{}: this module takes one input; it does not define forward(x, context)",
                                     describe()));
}

// A name is one path component: "weight", "fc1", "0". Dots would make "a.b" ambiguous in a state_dict.
static void check_name(const std::string& name, const char* what, const std::string& owner, bool taken) {
  if (name.empty()) throw std::invalid_argument(fmt::format("{}: {} name is empty (in {})", what, what, owner));
  if (name.find('.') != std::string::npos)
    throw std::invalid_argument(fmt::format("{}: name '{}' contains a '.' (in {})", what, name, owner));
  if (taken) throw std::invalid_argument(fmt::format("{}: name '{}' is already used in {}", what, name, owner));
}

bool Module::has_name(const std::string& name) const {
  for (const auto& [n, p] : params_)
    if (n == name) return true;
  for (const auto& [n, b] : buffers_)
    if (n == name) return true;
  for (const auto& [n, c] : children_)
    if (n == name) return true;
  return false;
}

Variable Module::register_parameter(const std::string& name, const Tensor& value) {
  check_name(name, "register_parameter", describe(), has_name(name));
  Variable param(value, /*requires_grad=*/true);
  param.set_name(name);
  params_.emplace_back(name, param);
  return param;
}

Tensor Module::register_buffer(const std::string& name, const Tensor& value) {
  check_name(name, "register_buffer", describe(), has_name(name));
  buffers_.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_name(name, "register_module", describe(), has_name(name));
  if (!module) throw std::invalid_argument(fmt::format("register_module: '{}' is a null module", name));
  module->train(training_);
  children_.emplace_back(name, std::move(module));
}

// Depth first, own entries before the children's, as PyTorch orders named_parameters() and state_dict().
void Module::collect(const std::string& prefix, std::vector<std::pair<std::string, Variable>>* params,
                     std::vector<std::pair<std::string, Tensor>>* buffers) const {
  if (params)
    for (const auto& [name, p] : params_) params->emplace_back(prefix + name, p);
  if (buffers)
    for (const auto& [name, b] : buffers_) buffers->emplace_back(prefix + name, b);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", params, buffers);
}

// A parameter shared by two modules (tied weights) is listed once, under its first name, so an
// optimizer does not step it twice.
std::vector<std::pair<std::string, Variable>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Variable>> all, unique;
  collect("", &all, nullptr);
  for (const auto& entry : all) {
    bool seen = false;
    for (const auto& kept : unique) seen = seen || kept.second.is_same(entry.second);
    if (!seen) unique.push_back(entry);
  }
  return unique;
}

std::vector<Variable> Module::parameters() const {
  std::vector<Variable> out;
  for (const auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", nullptr, &out);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::vector<std::pair<std::string, Variable>> params;
  std::vector<std::pair<std::string, Tensor>> buffers;
  collect("", &params, &buffers);
  std::map<std::string, Tensor> state;
  for (const auto& [name, p] : params) state[name] = p.data();
  for (const auto& [name, b] : buffers) state[name] = b;
  return state;
}

// Checks everything before copying anything, so a failed load leaves the model as it was.
void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  std::map<std::string, Tensor> own = state_dict();
  for (const auto& [name, target] : own) {
    auto it = state.find(name);
    if (it == state.end()) {
      if (strict) throw std::invalid_argument(fmt::format("load_state_dict: missing '{}'", name));
      continue;
    }
    if (!it->second.defined())
      throw std::invalid_argument(fmt::format("load_state_dict: '{}' is an undefined tensor", name));
    if (it->second.shape() != target.shape())
      throw std::invalid_argument(fmt::format("load_state_dict: '{}' has shape {}, the model expects {}", name,
                                              shape_str(it->second.shape()), shape_str(target.shape())));
  }
  if (strict)
    for (const auto& [name, value] : state)
      if (!own.count(name))
        throw std::invalid_argument(
            fmt::format("load_state_dict: unexpected key '{}' (the model has no parameter or buffer of that name)", name));
  for (auto& [name, target] : own) {
    auto it = state.find(name);
    // copy_ writes into the existing storage, which the layers' members share.
    if (it != state.end() && !it->second.shares_storage(target)) target.copy_(it->second);
  }
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& p : parameters()) p.zero_grad();
}

// PyTorch's _addindent: every line after the first moves right by `spaces`.
static std::string indent_after_first_line(const std::string& text, int spaces) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n') out.append(spaces, ' ');
  }
  return out;
}

// describe() is "Name(arguments)"; with children the arguments go on their own line, then one line
// per child, as PyTorch's Module.__repr__ does.
std::string Module::print() const {
  std::string head = describe();
  if (children_.empty()) return head;
  size_t open = head.find('(');
  std::string type = head.substr(0, open);
  std::string args = (open == std::string::npos || head.size() < open + 2) ? "" : head.substr(open + 1, head.size() - open - 2);
  std::string out = type + "(\n";
  if (!args.empty()) out += "  " + args + "\n";
  for (const auto& [name, child] : children_)
    out += "  (" + name + "): " + indent_after_first_line(child->print(), 2) + "\n";
  return out + ")";
}

}  // namespace hd
