// Lesson 04 — the engine underneath every model: reverse-mode automatic differentiation.
//
// Every generative model in this course learns by gradient descent, and every gradient comes
// from the same small engine (autograd/variable.h). This lesson opens it up:
//   1. build an expression graph by hand and run backward;
//   2. check the gradients against finite differences;
//   3. draw the graph (Graphviz DOT, rendered to SVG when `dot` is installed);
//   4. train a tiny neural network on a 2D toy set with nothing but these pieces.
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "autograd/activation.h"
#include "autograd/dot.h"
#include "autograd/elementwise.h"
#include "autograd/gradcheck.h"
#include "autograd/loss.h"
#include "autograd/matmul.h"
#include "autograd/reduction.h"
#include "report/plot.h"
#include "data/toy2d.h"
#include "lessons/lesson.h"
#include "tensor/elementwise.h"
#include "tensor/random.h"

using namespace hd;

static Variable scalar(float v, const char* name) {
  Variable x(Tensor::scalar(v), /*requires_grad=*/true);
  x.set_name(name);
  return x;
}

int main(int argc, char** argv) try {
  auto opt = lesson::parse_options(argc, argv, "04_autograd", "build a graph, backpropagate, check, draw, train");
  Generator gen(opt.seed);

  // ------------------------------------------------------------------------------------------
  lesson::section("1. An expression graph, forward and backward");
  // L = tanh((a * b + c) / 4) * d: the micrograd example, with n = a * b + c scaled by 1/4 before the tanh.
  // Each op records its inputs and its local derivative rule; backward() applies the chain rule from L back
  // to the leaves.
  Variable a = scalar(2.f, "a"), b = scalar(-3.f, "b"), c = scalar(10.f, "c"), d = scalar(-0.5f, "d");
  Variable e = a * b;
  Variable n = e + c;
  Variable t = tanh(n * 0.25f);
  Variable L = t * d;
  fmt::print("  forward:  e = a*b = {:.3f},  n = e + c = {:.3f},  t = tanh(n/4) = {:.4f},  L = t*d = {:.4f}\n",
             e.item(), n.item(), t.item(), L.item());
  L.backward({.retain_graph = true});  // keep the graph: we draw it below
  fmt::print("  backward: dL/da = {:+.4f}  dL/db = {:+.4f}  dL/dc = {:+.4f}  dL/dd = {:+.4f}\n", a.grad().item(),
             b.grad().item(), c.grad().item(), d.grad().item());
  // By hand: dL/dd = t;  dL/dc = d * (1 - t^2) / 4;  dL/da = dL/dc * b;  dL/db = dL/dc * a.
  float dc = -0.5f * (1.f - t.item() * t.item()) * 0.25f;
  fmt::print("  by hand:  dL/da = {:+.4f}  dL/db = {:+.4f}  dL/dc = {:+.4f}  dL/dd = {:+.4f}\n", dc * -3.f, dc * 2.f, dc,
             t.item());

  // ------------------------------------------------------------------------------------------
  lesson::section("2. Checking gradients with finite differences");
  // (f(x + h) - f(x - h)) / 2h approximates df/dx without any backward rule; if the two disagree,
  // a rule is wrong. autograd/gradcheck.h does this for every element of every input.
  auto f = [](const std::vector<Variable>& x) { return sum(sigmoid(matmul(x[0], x[1]))); };
  Tensor x0 = randn({3, 4}, gen), x1 = randn({4, 2}, gen);
  GradcheckResult check = gradcheck(f, {x0, x1});
  fmt::print("  gradcheck of sum(sigmoid(X @ W)): {} (largest difference {:.2e})\n", check.ok ? "passed" : "FAILED",
             check.max_error);
  GradcheckResult check2 = gradgradcheck(f, {x0, x1});
  fmt::print("  second derivatives (gradgradcheck): {} (largest difference {:.2e})\n", check2.ok ? "passed" : "FAILED",
             check2.max_error);

  // ------------------------------------------------------------------------------------------
  lesson::section("3. Drawing the graph");
  std::string dot_path = opt.out + "/graph.dot";
  write_dot(L, dot_path);
  lesson::wrote(dot_path, "the graph of L in Graphviz DOT: ops are boxes, leaves ellipses");
  std::string svg_path = opt.out + "/graph.svg";
  if (std::system("command -v dot >/dev/null 2>&1") == 0 &&
      std::system(fmt::format("dot -Tsvg '{}' -o '{}'", dot_path, svg_path).c_str()) == 0) {
    lesson::wrote(svg_path, "the same graph rendered by Graphviz");
  } else {
    fmt::print("  (install Debian's graphviz to render it: dot -Tsvg {} -o {})\n", dot_path, svg_path);
  }

  // ------------------------------------------------------------------------------------------
  lesson::section("4. Training a tiny network on two moons");
  // Two interleaved half circles, labelled 0 and 1. A 2-16-16-1 network with tanh learns to
  // separate them. Parameters are plain Variables and the update is written out: p -= lr * dL/dp.
  const int64_t n_points = opt.smoke ? 200 : 1000;
  const int steps = opt.smoke ? 60 : (opt.full ? 3000 : 1000);
  const int hidden = 16;
  Tensor labels;
  Tensor points = two_moons(n_points, gen, 0.1f, &labels);
  Variable X(points), Y(labels.reshape({n_points, 1}));

  auto init = [&](int64_t fan_in, const Shape& shape) {  // N(0, 1/fan_in): keeps activations near unit scale
    return Variable(normal(shape, 0.0, 1.0 / std::sqrt(static_cast<double>(fan_in)), gen), true);
  };
  std::vector<Variable> params = {init(2, {hidden, 2}),      init(2, {hidden}),  // layer 1: W1, b1
                                  init(hidden, {hidden, hidden}), init(hidden, {hidden}),  // layer 2
                                  init(hidden, {1, hidden}), init(hidden, {1})};           // output
  auto model = [&](const Variable& x) {
    Variable h1 = tanh(linear(x, params[0], params[1]));
    Variable h2 = tanh(linear(h1, params[2], params[3]));
    return linear(h2, params[4], params[5]);  // a logit: p(class 1) = sigmoid(logit)
  };

  std::vector<double> curve_steps, curve_loss;
  const float lr = 0.5f;
  for (int step = 0; step <= steps; ++step) {
    Variable loss = binary_cross_entropy_with_logits(model(X), Y);
    for (auto& p : params) p.zero_grad();
    loss.backward();
    {
      NoGradGuard no_grad;  // the update itself is not part of any graph
      for (auto& p : params) axpy_(p.data(), -lr, p.grad().data());
    }
    curve_steps.push_back(step);
    curve_loss.push_back(loss.item());
    if (step % (steps / 5) == 0) fmt::print("  step {:5d}  loss {:.4f}\n", step, loss.item());
  }
  Tensor logits = [&] {
    NoGradGuard no_grad;
    return model(X).data();
  }();
  int correct = 0;
  for (int64_t i = 0; i < n_points; ++i) correct += (logits.data()[i] > 0.f) == (labels.data()[i] > 0.5f);
  fmt::print("  training accuracy: {:.1f}%\n", 100.0 * correct / n_points);

  std::string loss_path = opt.out + "/loss.svg";
  save_loss_curve(curve_steps, curve_loss, loss_path, "two moons: binary cross-entropy");
  lesson::wrote(loss_path, "the training loss falling");

  // The decision regions: classify a grid of points and colour them by the predicted class.
  std::vector<double> gx[2], gy[2], dx[2], dy[2];
  const int grid = 60;
  Tensor grid_points({grid * grid, 2});
  for (int i = 0; i < grid; ++i)
    for (int j = 0; j < grid; ++j) {
      grid_points.data()[2 * (i * grid + j)] = -1.5f + 4.f * j / (grid - 1);
      grid_points.data()[2 * (i * grid + j) + 1] = -1.f + 2.5f * i / (grid - 1);
    }
  Tensor grid_logits = [&] {
    NoGradGuard no_grad;
    return model(Variable(grid_points)).data();
  }();
  for (int64_t k = 0; k < grid * grid; ++k) {
    int cls = grid_logits.data()[k] > 0.f;
    gx[cls].push_back(grid_points.data()[2 * k]);
    gy[cls].push_back(grid_points.data()[2 * k + 1]);
  }
  for (int64_t i = 0; i < n_points; ++i) {
    int cls = labels.data()[i] > 0.5f;
    dx[cls].push_back(points.data()[2 * i]);
    dy[cls].push_back(points.data()[2 * i + 1]);
  }
  Plot plot("two moons: what the network learned", "x1", "x2");
  plot.scatter(gx[0], gy[0], "predicted 0", "#c6dbef", 3.0, 0.5);
  plot.scatter(gx[1], gy[1], "predicted 1", "#fdd0a2", 3.0, 0.5);
  plot.scatter(dx[0], dy[0], "class 0", "#1f77b4", 2.0, 0.9);
  plot.scatter(dx[1], dy[1], "class 1", "#ff7f0e", 2.0, 0.9);
  std::string regions_path = opt.out + "/decision_regions.svg";
  plot.save(regions_path);
  lesson::wrote(regions_path, "the data over the regions the network assigns to each class");
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "04_autograd: {}\n", e.what());
  return 1;
}
