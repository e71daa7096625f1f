#include "autograd/dot.h"

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>
#include <unordered_map>

namespace hd {

std::string to_dot(const Variable& root) {
  std::string out = "digraph autograd {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=11];\n";
  std::shared_ptr<Node> start = root.gradient_edge();
  if (!start) {
    out += fmt::format("  n0 [label=\"{} {}\", shape=ellipse];\n", root.name().empty() ? "tensor" : root.name(),
                       shape_str(root.shape()));
    return out + "}\n";
  }
  std::unordered_map<const Node*, int> id;
  std::vector<const Node*> todo{start.get()};
  id[start.get()] = 0;
  while (!todo.empty()) {
    const Node* node = todo.back();
    todo.pop_back();
    int me = id[node];
    if (node->is_accumulator) {
      auto leaf = node->leaf.lock();
      std::string name = leaf && !leaf->name.empty() ? leaf->name : "leaf";
      out += fmt::format("  n{} [label=\"{}\\n{}\", shape=ellipse, style=filled, fillcolor=\"#d8ecff\"];\n", me, name,
                         shape_str(node->output_shape));
    } else {
      out += fmt::format("  n{} [label=\"{}\\n{}\", shape=box, style=rounded];\n", me, node->op,
                         shape_str(node->output_shape));
    }
    for (const auto& input : node->inputs) {
      if (!input) continue;
      auto [it, fresh] = id.emplace(input.get(), static_cast<int>(id.size()));
      if (fresh) todo.push_back(input.get());
      out += fmt::format("  n{} -> n{};\n", it->second, me);
    }
  }
  return out + "}\n";
}

void write_dot(const Variable& root, const std::string& path) {
  std::ofstream file(path);
  if (!file) throw std::runtime_error(fmt::format("write_dot: cannot open '{}' for writing", path));
  file << to_dot(root);
  if (!file) throw std::runtime_error(fmt::format("write_dot: writing '{}' failed", path));
}

}  // namespace hd
