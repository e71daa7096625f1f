// dot.h — draws a Variable's graph in Graphviz DOT, micrograd-style: one box per recorded op
// (name and output shape), one ellipse per leaf that requires a gradient, arrows in the
// direction the forward pass ran. Render with `dot -Tsvg graph.dot -o graph.svg`.
#pragma once

#include <string>

#include "autograd/variable.h"

namespace hd {

std::string to_dot(const Variable& root);
// Writes to_dot(root) to `path`; throws std::runtime_error naming the file when it cannot.
void write_dot(const Variable& root, const std::string& path);

}  // namespace hd
