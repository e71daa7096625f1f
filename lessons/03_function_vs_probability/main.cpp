// Lesson 03 — function model (函數模型) versus probability model (機率模型).
//
// The lecture puts two kinds of model side by side:
//   函數模型：映射 z = f(x)        a function maps each input to one output;
//   機率模型：取樣 z ~ p_theta(z)  a probability model is sampled, so it can answer differently each time.
// This notebook fits both to the same data with autograd and shows why only the second one generates:
//   1. data where one x has several right answers z (Bishop's "inverse problem", 1994);
//   2. a function model, an MLP trained with the mean squared error: it learns the average answer;
//   3. a probability model, an MLP whose outputs are the weights, means mu (平均值) and standard
//      deviations sigma (標準差) of a Gaussian mixture p_theta(z | x) (a mixture density network),
//      trained with the negative log-likelihood: sampling it gives new data that looks like the data;
//   4. the two compared by numbers;
//   5. no input at all: z ~ p_theta(z), where a function model can only ever say one number.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "autograd/activation.h"
#include "autograd/elementwise.h"
#include "autograd/loss.h"
#include "autograd/reduction.h"
#include "autograd/shape.h"
#include "report/plot.h"
#include "data/toy2d.h"
#include "lessons/lesson.h"
#include "nn/layers.h"
#include "nn/optim.h"
#include "tensor/random.h"

namespace {

constexpr double kPi = 3.14159265358979323846;

// Pairs (x, z): x [N, 1] is the input, z [N, 1] the answer.
struct Data {
  hd::Tensor x, z;
};

// Bishop's inverse problem: t ~ U(0, 1), x = t + 0.3 sin(2 pi t) + noise, z = t. Read forwards (t to x)
// this is a function; read backwards (x to z, as here) one x in the middle has up to three right answers.
Data make_data(int64_t n, hd::Generator& gen) {
  hd::Tensor t = hd::rand({n, 1}, gen), noise = hd::uniform({n, 1}, -0.1f, 0.1f, gen);
  Data d{hd::Tensor({n, 1}), t};
  for (int64_t i = 0; i < n; ++i)
    d.x.data()[i] = t.data()[i] + 0.3f * static_cast<float>(std::sin(2 * kPi * t.data()[i])) + noise.data()[i];
  return d;
}

// A multi-layer perceptron 1 -> hidden -> hidden -> outputs, tanh in between.
std::shared_ptr<hd::Sequential> mlp(int64_t outputs, int64_t hidden, hd::Generator& gen) {
  return std::make_shared<hd::Sequential>(std::initializer_list<std::shared_ptr<hd::Module>>{
      std::make_shared<hd::Linear>(1, hidden, gen), std::make_shared<hd::Tanh>(),
      std::make_shared<hd::Linear>(hidden, hidden, gen), std::make_shared<hd::Tanh>(),
      std::make_shared<hd::Linear>(hidden, outputs, gen)});
}

// A Gaussian mixture p(z) = sum_k pi_k N(z; mu_k, sigma_k^2), one per row: each field [N, K] (or [1, K]).
struct Mixture {
  hd::Variable log_pi;     // log of the weights pi_k, which sum to 1 (a log_softmax makes sure)
  hd::Variable mu;         // the means, 平均值
  hd::Variable log_sigma;  // log of the standard deviations, 標準差 (the log keeps sigma > 0)
};

// The probability model's network: 3K outputs per x, read as K weight logits, K means, K log-sigmas.
Mixture mixture_from_network(hd::Sequential& net, const hd::Variable& x) {
  hd::Variable out = net(x);  // [N, 3K]
  const int64_t k = out.size(1) / 3;
  return {hd::log_softmax(hd::slice(out, 1, 0, k), 1), hd::slice(out, 1, k, 2 * k), hd::slice(out, 1, 2 * k, 3 * k)};
}

// The density of a one-row mixture at z: sum_k pi_k N(z; mu_k, sigma_k^2) (row r of [N, K] fields).
double mixture_pdf(const Mixture& m, int64_t r, double z) {
  const int64_t components = m.mu.size(1);
  double p = 0;
  for (int64_t k = 0; k < components; ++k) {
    double pi = std::exp(m.log_pi.data().data()[r * components + k]), mu = m.mu.data().data()[r * components + k];
    double sigma = std::exp(m.log_sigma.data().data()[r * components + k]);
    p += pi * std::exp(-0.5 * (z - mu) * (z - mu) / (sigma * sigma)) / (sigma * std::sqrt(2 * kPi));
  }
  return p;
}

// Negative log-likelihood, averaged over the data: -mean_i log p(z_i).
//   log p(z) = log sum_k exp( log pi_k + log N(z; mu_k, sigma_k^2) ),
//   log N(z; mu, sigma^2) = -(z - mu)^2 / (2 sigma^2) - log sigma - log(2 pi) / 2   (the log of the slide's f(x)).
// logsumexp adds the K terms without underflow when some are tiny.
hd::Variable mixture_nll(const Mixture& m, const hd::Variable& z) {
  hd::Variable standardized = (z - m.mu) / hd::exp(m.log_sigma);  // z: [N, 1] broadcasts against [N, K]
  hd::Variable log_normal = -0.5f * hd::square(standardized) - m.log_sigma - static_cast<float>(0.5 * std::log(2 * kPi));
  return -hd::mean(hd::logsumexp(m.log_pi + log_normal, {1}));
}

// Sampling z ~ p(z) for each row: pick component k with probability pi_k, then z = mu_k + sigma_k * eps,
// eps ~ N(0, 1). rows: how many samples (mixture rows broadcast when they hold a single row).
hd::Tensor sample_mixture(const Mixture& m, int64_t rows, hd::Generator& gen) {
  hd::Tensor u = hd::rand({rows}, gen), eps = hd::randn({rows}, gen);
  hd::Tensor z({rows, 1});
  const bool shared = m.mu.size(0) == 1;
  const int64_t components = m.mu.size(1);
  for (int64_t i = 0; i < rows; ++i) {
    int64_t r = shared ? 0 : i;
    const float* log_pi = m.log_pi.data().data() + r * components;
    int64_t k = 0;
    double cumulative = std::exp(log_pi[0]);
    while (k + 1 < components && u.data()[i] >= cumulative) cumulative += std::exp(log_pi[++k]);
    float mu = m.mu.data().data()[r * components + k];
    float sigma = std::exp(m.log_sigma.data().data()[r * components + k]);
    z.data()[i] = mu + sigma * eps.data()[i];
  }
  return z;
}

// Full-batch training with Adam; prints the loss a few times and returns its history.
std::vector<double> train(const std::string& name, const std::vector<hd::Variable>& params,
                          const std::function<hd::Variable()>& loss_fn, int steps, float lr) {
  hd::Adam opt(params, lr);
  std::vector<double> history;
  for (int step = 1; step <= steps; ++step) {
    opt.zero_grad();
    hd::Variable loss = loss_fn();
    loss.backward();
    opt.step();
    history.push_back(loss.item());
    if (step == 1 || step % std::max(1, steps / 5) == 0 || step == steps)
      fmt::print("  {} step {:5d}/{}: loss {:.4f}\n", name, step, steps, loss.item());
  }
  return history;
}

std::vector<double> column(const hd::Tensor& t) { return std::vector<double>(t.data(), t.data() + t.numel()); }

// For every point of `from`, the distance to the nearest point of `to`, averaged (points are (x, z)).
// "generated -> data" small: the generated points lie where data lies (they look real).
// "data -> generated" small: every part of the data is reached by some generated point (coverage).
double mean_nearest_distance(const Data& from, const Data& to) {
  double total = 0;
  for (int64_t i = 0; i < from.x.numel(); ++i) {
    double best = std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < to.x.numel(); ++j) {
      double dx = from.x.data()[i] - to.x.data()[j], dz = from.z.data()[i] - to.z.data()[j];
      best = std::min(best, dx * dx + dz * dz);
    }
    total += std::sqrt(best);
  }
  return total / static_cast<double>(from.x.numel());
}

hd::Plot data_plot(const std::string& title, const Data& data) {
  hd::Plot plot(title, "x (input)", "z (output)");
  plot.scatter(column(data.x), column(data.z), "training data", "#7f7f7f", 1.5, 0.5);
  plot.set_xlim(-0.2, 1.2);
  plot.set_ylim(-0.1, 1.1);
  return plot;
}

}  // namespace

int main(int argc, char** argv) {
  auto opt = hd::lesson::parse_options(
      argc, argv, "03_function_vs_probability",
      "function model z = f(x) (函數模型) vs probability model z ~ p(z) (機率模型)",
      {{"--components", "K", "Gaussians in each mixture (default 3; exercise 1 tries 1)"}});
  const auto components = static_cast<int64_t>(opt.number("--components", 3));
  if (components < 1 || components > 10) throw std::invalid_argument("--components expects 1 to 10");
  const int64_t n = opt.smoke ? 300 : opt.full ? 3000 : 1000;
  const int steps = opt.smoke ? 200 : opt.full ? 6000 : 2500;
  const int64_t hidden = opt.full ? 64 : 32;
  hd::Generator gen(opt.seed);
  fmt::print("Lesson 03: function model (函數模型) vs probability model (機率模型), seed {}\n", opt.seed);

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("1. Data with more than one right answer");
  fmt::print(
      "{} pairs (x, z) made by t ~ U(0, 1), x = t + 0.3 sin(2 pi t) + noise, z = t (Bishop 1994).\n"
      "For x near 0.5 the data has three branches: the same input, three quite different right answers.\n",
      n);
  Data data = make_data(n, gen);
  {
    hd::Plot plot = data_plot("The data: one x, up to three answers z", data);
    plot.save(opt.out + "/data.svg");
    hd::lesson::wrote(opt.out + "/data.svg", "an S-shaped cloud, three branches stacked above x = 0.5");
  }
  const std::vector<float> probes = {0.1f, 0.3f, 0.5f, 0.7f};
  // The answers z of the data whose x is within 0.01 of x0, sorted.
  auto data_near = [&](float x0) {
    std::vector<float> near;
    for (int64_t i = 0; i < n; ++i)
      if (std::abs(data.x.data()[i] - x0) < 0.01f) near.push_back(data.z.data()[i]);
    std::sort(near.begin(), near.end());
    return near;
  };
  // How far z is from the nearest of those answers (infinite when there are none).
  auto gap_to_data = [&](float x0, double z) {
    double best = std::numeric_limits<double>::infinity();
    for (float d : data_near(x0)) best = std::min(best, std::abs(d - z));
    return best;
  };
  for (float x0 : probes) {
    std::vector<float> near = data_near(x0);
    fmt::print("  data with x within 0.01 of {:.2f}: z =", x0);
    for (size_t i = 0; i < near.size(); i += std::max<size_t>(1, near.size() / 12)) fmt::print(" {:.2f}", near[i]);
    fmt::print("\n");
  }

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("2. Function model (函數模型): z = f(x), trained with the mean squared error");
  fmt::print(
      "An MLP 1 -> {} -> {} -> 1 maps x to one number. Training minimises mean (f(x) - z)^2, and the function\n"
      "that does that best is the average of the right answers at each x. Where the branches overlap, the\n"
      "average is pulled between them: it can cross empty space, and it never says that other answers exist.\n",
      hidden, hidden);
  auto f = mlp(1, hidden, gen);
  hd::Variable x_in(data.x), z_in(data.z);
  std::vector<double> f_loss =
      train("function model   ", f->parameters(), [&] { return hd::mse_loss((*f)(x_in), z_in); }, steps, 0.01f);
  const int64_t grid_n = 200;
  hd::Tensor x_grid = hd::Tensor::linspace(-0.15f, 1.15f, grid_n).reshape({grid_n, 1});
  hd::Tensor f_grid;
  {
    hd::NoGradGuard no_grad;
    f_grid = (*f)(x_grid).data();
  }
  // Where does the line run through empty space? At each probe, the distance from f(x0) to the nearest
  // answer in the data there; more than 0.05 (a quarter of the noise's width 0.2) counts as empty space.
  std::string empty_at;  // e.g. "0.3, 0.7"
  for (float x0 : probes) {
    hd::NoGradGuard no_grad;
    double f0 = (*f)(hd::Tensor::full({1, 1}, x0)).data().data()[0], gap = gap_to_data(x0, f0);
    fmt::print("  f({:.2f}) = {:.2f}: the nearest answer in the data there is {:.2f} away{}\n", x0, f0, gap,
               gap > 0.05 ? " (empty space)" : "");
    if (gap > 0.05) empty_at += fmt::format("{}{:.1f}", empty_at.empty() ? "" : ", ", x0);
  }
  {
    hd::Plot plot = data_plot("Function model z = f(x): one answer per x (the average)", data);
    plot.line(column(x_grid), column(f_grid), "f(x), MSE-trained MLP", "#1f77b4");
    plot.save(opt.out + "/function_model.svg");
    hd::lesson::wrote(opt.out + "/function_model.svg",
                      empty_at.empty() ? std::string("one line; at every probe it runs through the data")
                                       : "one line; near x = " + empty_at + " it runs where there is no data");
  }

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("3. Probability model (機率模型): z ~ p_theta(z | x), trained with the negative log-likelihood");
  fmt::print(
      "The same kind of MLP, with {} outputs: for each x, the weights pi_k, means mu_k (平均值) and standard deviations\n"
      "sigma_k (標準差) of a mixture of {} Gaussian(s) (a mixture density network, Bishop 1994). Its parameters theta\n"
      "are trained to make the data likely: minimise -mean log p_theta(z | x). To answer, it does not compute: it samples.\n",
      3 * components, components);
  auto p = mlp(3 * components, hidden, gen);
  std::vector<double> p_loss = train(
      "probability model", p->parameters(), [&] { return mixture_nll(mixture_from_network(*p, x_in), z_in); }, steps,
      0.005f);
  std::vector<double> step_numbers(static_cast<size_t>(steps));
  for (int i = 0; i < steps; ++i) step_numbers[static_cast<size_t>(i)] = i + 1;
  hd::save_loss_curve(step_numbers, f_loss, opt.out + "/loss_function_model.svg", "Function model: mean squared error");
  hd::lesson::wrote(opt.out + "/loss_function_model.svg", "the MSE stops falling at the spread of the right answers");
  hd::save_loss_curve(step_numbers, p_loss, opt.out + "/loss_probability_model.svg",
                      "Probability model: negative log-likelihood");
  hd::lesson::wrote(opt.out + "/loss_probability_model.svg", "the NLL goes below zero: a density can exceed 1");

  // Generate: one sample z for each training x, and for fresh inputs.
  Data generated{data.x, hd::Tensor()};
  Data function_points{data.x, hd::Tensor()};
  {
    hd::NoGradGuard no_grad;
    generated.z = sample_mixture(mixture_from_network(*p, x_in), n, gen);
    function_points.z = (*f)(x_in).data();
  }
  // The caption, measured: do the samples lie where the data lies, as closely as a second draw of real data
  // does (mean distance to the nearest training point, within 1.5 times)? Its own generator, so that the
  // rest of the run draws the same numbers with or without this check.
  hd::Generator real_again_gen(opt.seed + 100);
  const double real_to_data = mean_nearest_distance(make_data(n, real_again_gen), data);
  const double samples_to_data = mean_nearest_distance(generated, data);
  const bool samples_look_real = samples_to_data <= 1.5 * real_to_data;
  fmt::print("  samples -> training data: mean distance {:.4f} (a second draw of real data: {:.4f})\n", samples_to_data,
             real_to_data);
  {
    hd::Plot plot = data_plot(samples_look_real ? "Probability model z ~ p(z | x): samples look like the data"
                                                : "Probability model z ~ p(z | x): samples stray from the data",
                              data);
    plot.scatter(column(generated.x), column(generated.z), "samples from p(z | x), one per x", "#ff7f0e", 1.5, 0.6);
    plot.line(column(x_grid), column(f_grid), "f(x), for comparison", "#1f77b4");
    plot.save(opt.out + "/probability_model.svg");
    hd::lesson::wrote(opt.out + "/probability_model.svg",
                      samples_look_real
                          ? "orange samples lie on the data, as close as real data would; the blue line does not"
                          : fmt::format("orange samples {:.1f} times as far from the data as real data: some land "
                                        "in the gaps",
                                        samples_to_data / real_to_data));
  }

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("4. Ask both models the same question five times");
  fmt::print("A function gives the same answer every time. A probability model draws a new one each time.\n");
  for (float x0 : probes) {
    hd::NoGradGuard no_grad;
    hd::Tensor x5 = hd::Tensor::full({5, 1}, x0);
    hd::Tensor f5 = (*f)(x5).data();
    Mixture m = mixture_from_network(*p, x5);
    hd::Tensor p5 = sample_mixture(m, 5, gen);
    fmt::print("  x = {:.2f}  f(x): {:.2f} {:.2f} {:.2f} {:.2f} {:.2f}   z ~ p(z | x): {:.2f} {:.2f} {:.2f} {:.2f} {:.2f}\n",
               x0, f5.data()[0], f5.data()[1], f5.data()[2], f5.data()[3], f5.data()[4], p5.data()[0], p5.data()[1],
               p5.data()[2], p5.data()[3], p5.data()[4]);
    // Each component, and whether any answer in the data near x0 lies within 2 sigma of its mean (sigma at
    // least 0.015, half the probe's window): a "*" marks weight the model puts where this x has no data.
    fmt::print("            p(z | x) =");
    double weight_off_data = 0;
    for (int64_t k = 0; k < components; ++k) {
      float pi = std::exp(m.log_pi.data().data()[k]), mu_k = m.mu.data().data()[k];
      float sigma_k = std::exp(m.log_sigma.data().data()[k]);
      if (pi < 0.02f) continue;  // a component the model switched off here
      const bool off_data = gap_to_data(x0, mu_k) > 2 * std::max(sigma_k, 0.015f);
      if (off_data) weight_off_data += pi;
      fmt::print("  {:.2f} N({:.2f}, {:.3f}^2){}", pi, mu_k, sigma_k, off_data ? "*" : "");
    }
    fmt::print("\n");
    if (weight_off_data > 0.05)
      fmt::print(
          "            * {:.0f}% of the weight at x = {:.2f} sits where the data within 0.01 of it has no answer. The\n"
          "              mixture's weights are smooth functions of x, and the likelihood only rewards density at\n"
          "              data: density elsewhere costs just log(1 / {:.3f}) = {:.2f} nats per nearby point. Branches\n"
          "              that exist a little way off along x have not been switched off here: the model's mistakes.\n",
          100 * weight_off_data, x0, 1 - weight_off_data, std::log(1 / (1 - weight_off_data)));
  }

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("5. The two models by numbers, on fresh data");
  Data fresh = make_data(n, gen);
  Data reference = make_data(n, gen);  // what a perfect generator would produce: more real data
  double test_nll_p, test_mse_f, train_mse_f;
  Data p_fresh{fresh.x, hd::Tensor()}, f_fresh{fresh.x, hd::Tensor()};
  {
    hd::NoGradGuard no_grad;
    Mixture m = mixture_from_network(*p, hd::Variable(fresh.x));
    test_nll_p = mixture_nll(m, hd::Variable(fresh.z)).item();
    p_fresh.z = sample_mixture(m, n, gen);
    f_fresh.z = (*f)(fresh.x).data();
    test_mse_f = hd::mse_loss(hd::Variable(f_fresh.z), hd::Variable(fresh.z)).item();
    train_mse_f = hd::mse_loss((*f)(x_in), z_in).item();
  }
  // A function model read as a probability model: z ~ N(f(x), s^2) with s^2 its training MSE.
  double test_nll_f = 0.5 * std::log(2 * kPi * train_mse_f) + 0.5 * test_mse_f / train_mse_f;
  fmt::print("  negative log-likelihood of fresh data (lower is better):\n");
  fmt::print("    function model read as z ~ N(f(x), {:.3f}^2): {:7.3f}\n", std::sqrt(train_mse_f), test_nll_f);
  fmt::print("    probability model p_theta(z | x):              {:7.3f}\n", test_nll_p);
  fmt::print("  mean distance in the (x, z) plane (smaller is better):\n");
  fmt::print("    {:<34} {:>18} {:>18}\n", "", "generated -> data", "data -> generated");
  auto row = [&](const std::string& name, const Data& points) {  // returns "data -> generated"
    const double coverage = mean_nearest_distance(fresh, points);
    fmt::print("    {:<34} {:>18.4f} {:>18.4f}\n", name, mean_nearest_distance(points, fresh), coverage);
    return coverage;
  };
  const double f_coverage = row("function model (x, f(x))", f_fresh);
  const double p_coverage = row("probability model (x, z ~ p(z|x))", p_fresh);
  const double real_coverage = row("more real data (the best possible)", reference);
  fmt::print(
      "  'generated -> data': do the outputs lie where real data lies?  'data -> generated': is every part of\n"
      "  the data reached?\n");
  fmt::print("  data -> generated: the probability model {:.4f}, {:.1f} times real data's; the function model {:.4f}, "
             "{:.1f} times.\n",
             p_coverage, p_coverage / real_coverage, f_coverage, f_coverage / real_coverage);
  if (p_coverage < f_coverage)
    fmt::print("  The probability model reaches more of the data; the function model's points sit on one line, missing\n"
               "  the branches it averaged away.\n");
  else
    fmt::print("  The probability model reaches no more of the data than the function model's single line.\n");

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("6. No input at all: z ~ p_theta(z)");
  fmt::print(
      "The slide's probability model has no x: 機率模型：取樣 z ~ p_theta(z). Take the 1D mixture of lesson 01\n"
      "as data. A function model without input is a constant c; MSE training makes it the mean of the data,\n"
      "and it says that one number forever. A probability model with parameters theta = (pi_k, mu_k, sigma_k)\n"
      "trained by the negative log-likelihood learns the whole distribution, and sampling it generates.\n");
  const std::vector<double> means = {-2.0, 0.5, 3.0}, stds = {0.5, 0.8, 0.4}, weights = {0.3, 0.5, 0.2};
  const int64_t n1 = opt.smoke ? 500 : 5000;
  hd::Tensor samples = hd::gaussian_mixture_1d(n1, gen, means, stds, weights);
  std::vector<double> sorted = column(samples);
  std::sort(sorted.begin(), sorted.end());
  // theta, each [1, K]. The means start spread over the data (mean k at its (2k + 1) / 2K quantile), so each
  // component begins near a different part of it.
  hd::Variable logits(hd::Tensor::zeros({1, components}), true);
  hd::Variable mu(hd::Tensor({1, components}), true);
  for (int64_t k = 0; k < components; ++k)
    mu.data().data()[k] = static_cast<float>(sorted[static_cast<size_t>((2 * k + 1) * n1 / (2 * components))]);
  hd::Variable log_sigma(hd::Tensor::zeros({1, components}), true);
  hd::Variable c(hd::Tensor::zeros({1, 1}), true);
  hd::Variable z1(samples);
  auto model = [&] { return Mixture{hd::log_softmax(logits, 1), mu, log_sigma}; };
  const int steps1 = opt.smoke ? 100 : 600;
  train("constant c       ", {c}, [&] { return hd::mse_loss(hd::expand(c, {n1, 1}), z1); }, steps1, 0.05f);
  train("p_theta(z)       ", {logits, mu, log_sigma}, [&] { return mixture_nll(model(), z1); }, steps1, 0.05f);
  fmt::print("  constant model: c = {:.3f} (the data's mean)\n", c.item());
  fmt::print("  learned p_theta(z), sorted by mean (true: weights 0.3 0.5 0.2, means -2 0.5 3, sigmas 0.5 0.8 0.4):\n");
  std::vector<int64_t> order(components);
  for (int64_t k = 0; k < components; ++k) order[static_cast<size_t>(k)] = k;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return mu.data().data()[a] < mu.data().data()[b]; });
  {
    hd::NoGradGuard no_grad;
    hd::Variable log_pi = hd::log_softmax(logits, 1);
    for (int64_t k : order)
      fmt::print("    weight {:.2f}  mu {:6.2f}  sigma {:.2f}\n", std::exp(log_pi.data().data()[k]), mu.data().data()[k],
                 std::exp(log_sigma.data().data()[k]));
  }
  hd::Tensor new_samples;
  {
    hd::NoGradGuard no_grad;
    new_samples = sample_mixture(model(), n1, gen);
  }
  // Where does the constant sit? The true density at c, against the density's highest value.
  std::vector<double> zs, pz;
  for (int i = 0; i <= 950; ++i) {
    zs.push_back(-4.5 + 0.01 * i);
    pz.push_back(hd::gaussian_mixture_pdf(zs.back(), means, stds, weights));
  }
  const double peak = *std::max_element(pz.begin(), pz.end());
  const double at_c = hd::gaussian_mixture_pdf(c.item(), means, stds, weights) / peak;
  fmt::print("  the data's density at c is {:.0f}% of its highest: {}\n", 100 * at_c,
             at_c > 0.25 ? "the mean happens to land where data is plentiful, yet c is one value"
                         : "the mean lands where data is rare");
  // How much of the data does each model reach? For each data point, the distance to the nearest generated
  // value: the constant always says c, so that is |z - c|; the samples are sorted for a binary search.
  std::vector<double> generated_sorted = column(new_samples);
  std::sort(generated_sorted.begin(), generated_sorted.end());
  double to_constant = 0, to_samples = 0;
  for (double v : sorted) {
    to_constant += std::abs(v - c.item()) / static_cast<double>(n1);
    auto it = std::lower_bound(generated_sorted.begin(), generated_sorted.end(), v);
    double best = it == generated_sorted.end() ? std::numeric_limits<double>::infinity() : *it - v;
    if (it != generated_sorted.begin()) best = std::min(best, v - *std::prev(it));
    to_samples += best / static_cast<double>(n1);
  }
  fmt::print("  mean distance from a data point to the nearest generated value: constant {:.3f}, samples {:.3f}\n",
             to_constant, to_samples);
  // Which of the three bumps does p_theta(z) reproduce? A bump counts when the learned density has a local
  // maximum within one of its sigmas of its mean.
  std::vector<double> learned_modes;
  {
    hd::NoGradGuard no_grad;
    Mixture learned = model();
    for (size_t i = 1; i + 1 < zs.size(); ++i) {
      double here = mixture_pdf(learned, 0, zs[i]);
      if (here > mixture_pdf(learned, 0, zs[i - 1]) && here >= mixture_pdf(learned, 0, zs[i + 1]))
        learned_modes.push_back(zs[i]);
    }
  }
  int bumps_found = 0;
  for (size_t j = 0; j < means.size(); ++j)
    bumps_found += std::any_of(learned_modes.begin(), learned_modes.end(),
                               [&](double m) { return std::abs(m - means[j]) < stds[j]; });
  fmt::print("  the learned density has {} peak(s), at z =", learned_modes.size());
  for (double m : learned_modes) fmt::print(" {:.2f}", m);
  fmt::print("; {} of the data's {} bumps are reproduced\n", bumps_found, means.size());
  {
    hd::Plot plot("No input: a constant c vs samples of p_theta(z)", "z", "density");
    plot.histogram(column(samples), 50, "data");
    hd::histogram_outline(plot, column(new_samples), 50, "samples z ~ p_theta(z) (outline)", "#ff7f0e");
    plot.line(zs, pz, "true density", "black");
    plot.line({c.item(), c.item()}, {0, 0.3}, "constant model c", "#d62728");
    plot.save(opt.out + "/no_input.svg");
    const std::string samples_caption =
        bumps_found == static_cast<int>(means.size())
            ? std::string("samples cover all three bumps")
            : fmt::format("samples make {} bump(s) where the data has three", learned_modes.size());
    hd::lesson::wrote(opt.out + "/no_input.svg",
                      fmt::format("{}; the constant is one red line at c = {:.2f}, where the density is {:.0f}% of "
                                  "its peak",
                                  samples_caption, c.item(), 100 * at_c));
  }
  fmt::print(
      "\nTake-away: a function model returns the average answer; a probability model, trained by likelihood,\n"
      "holds every answer with its probability and generates by sampling. Every generative model of this\n"
      "course (VAE, GAN, diffusion) is a probability model of pictures.\n");
  return 0;
}
