// Lesson 01 — probability distribution (機率分佈).
//
// The lecture says a generative model is "a probability distribution, sampled at random to produce its
// output" (生成模型是一個機率分佈，經由隨機採樣產生輸出結果). Before any network, this notebook makes
// that sentence concrete in one dimension:
//   1. uniform random numbers, the raw material a computer has;
//   2. Box-Muller turns them into Gaussian samples;
//   3. their histogram lies on the slide's density f(x) = 1/(sqrt(2 pi) sigma) exp(-(x - mu)^2 / (2 sigma^2));
//   4. all probabilities together make 100% (the area under f is 1);
//   5. what mu (平均值) and sigma (標準差) do to the curve;
//   6. a mixture of Gaussians as the smallest "generative model".
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "report/plot.h"
#include "data/toy2d.h"
#include "lessons/lesson.h"
#include "tensor/random.h"

namespace {

constexpr double kPi = 3.14159265358979323846;

// The slide's density: f(x) = 1 / (sqrt(2 pi) sigma) * exp(-(x - mu)^2 / (2 sigma^2)).
double gaussian_density(double x, double mu, double sigma) {
  double z = (x - mu) / sigma;
  return std::exp(-0.5 * z * z) / (std::sqrt(2 * kPi) * sigma);
}

// Box-Muller (1958): two independent uniform numbers give two independent N(0, 1) numbers.
// Read (u1, u2) as a point in polar form: radius r = sqrt(-2 ln u1), angle theta = 2 pi u2.
// Then r cos(theta) and r sin(theta) are standard normal, and mu + sigma * z has mean mu and
// standard deviation sigma.
std::vector<double> sample_gaussian(hd::Generator& gen, int64_t n, double mu, double sigma) {
  std::vector<float> u(static_cast<size_t>(2 * ((n + 1) / 2)));
  gen.fill_uniform(u.data(), static_cast<int64_t>(u.size()));  // Uniform[0, 1)
  std::vector<double> x;
  x.reserve(u.size());
  for (size_t i = 0; i < u.size(); i += 2) {
    double u1 = 1.0 - u[i];  // in (0, 1], so log(u1) is finite
    double u2 = u[i + 1];
    double r = std::sqrt(-2.0 * std::log(u1));
    double theta = 2.0 * kPi * u2;
    x.push_back(mu + sigma * r * std::cos(theta));
    x.push_back(mu + sigma * r * std::sin(theta));
  }
  x.resize(static_cast<size_t>(n));
  return x;
}

// The trapezoid rule: the area under f between a and b, cut into `slices` strips of width h,
// each counted as a trapezoid h * (f(left) + f(right)) / 2.
double integrate(const std::function<double(double)>& f, double a, double b, int slices) {
  double h = (b - a) / slices;
  double area = 0.5 * (f(a) + f(b));
  for (int i = 1; i < slices; ++i) area += f(a + i * h);
  return area * h;
}

std::vector<double> linspace(double a, double b, int n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = a + (b - a) * i / (n - 1);
  return v;
}

double mean_of(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

double std_of(const std::vector<double>& x) {
  double m = mean_of(x), s = 0;
  for (double v : x) s += (v - m) * (v - m);
  return std::sqrt(s / static_cast<double>(x.size() - 1));
}

double fraction_between(const std::vector<double>& x, double lo, double hi) {
  int64_t inside = std::count_if(x.begin(), x.end(), [&](double v) { return v > lo && v < hi; });
  return static_cast<double>(inside) / static_cast<double>(x.size());
}

}  // namespace

int main(int argc, char** argv) {
  auto opt = hd::lesson::parse_options(argc, argv, "01_probability",
                                       "probability distribution (機率分佈): sampling, density, mu and sigma");
  // Sample counts: the histogram's noise shrinks like 1 / sqrt(n).
  const int64_t n = opt.smoke ? 5000 : opt.full ? 2000000 : 200000;
  const int bins = opt.smoke ? 30 : opt.full ? 120 : 60;
  hd::Generator gen(opt.seed);
  fmt::print("Lesson 01: probability distribution (機率分佈), seed {}, {} samples per experiment\n", opt.seed, n);

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("1. Uniform random numbers: the raw material");
  fmt::print(
      "A computer's random generator gives numbers u in [0, 1) where every value is equally likely.\n"
      "Everything random in this course (noise, sampling, dropout) starts from such numbers.\n");
  std::vector<float> u_float(static_cast<size_t>(n));
  gen.fill_uniform(u_float.data(), n);
  std::vector<double> u(u_float.begin(), u_float.end());
  fmt::print("  first five: {:.4f} {:.4f} {:.4f} {:.4f} {:.4f}\n", u[0], u[1], u[2], u[3], u[4]);
  fmt::print("  mean {:.4f} (a flat distribution on [0, 1) has mean 0.5), std {:.4f} (theory 1/sqrt(12) = {:.4f})\n",
             mean_of(u), std_of(u), 1 / std::sqrt(12.0));
  {
    hd::Plot plot("Uniform numbers: a flat histogram", "u", "density");
    plot.histogram(u, bins, fmt::format("{} uniform samples", n));
    plot.line({0, 1}, {1, 1}, "density of U[0, 1) = 1", "black");
    plot.set_ylim(0, 1.5);
    plot.save(opt.out + "/uniform_histogram.svg");
    hd::lesson::wrote(opt.out + "/uniform_histogram.svg", "flat bars at height 1");
  }

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("2. Box-Muller: uniform numbers become a Gaussian");
  const double mu = 1.0, sigma = 0.5;
  fmt::print(
      "Take two uniform numbers u1, u2 and read them as a point in polar form:\n"
      "  r = sqrt(-2 ln u1),  theta = 2 pi u2,  z = r cos(theta)  (and a twin r sin(theta))\n"
      "z is standard normal, N(0, 1); x = mu + sigma z has mean mu (平均值) and standard deviation sigma (標準差).\n"
      "Here mu = {} and sigma = {}.\n",
      mu, sigma);
  std::vector<double> x = sample_gaussian(gen, n, mu, sigma);
  fmt::print("  first five samples: {:.4f} {:.4f} {:.4f} {:.4f} {:.4f}\n", x[0], x[1], x[2], x[3], x[4]);
  fmt::print("  sample mean {:.4f} (mu = {}),  sample std {:.4f} (sigma = {})\n", mean_of(x), mu, std_of(x), sigma);
  fmt::print("  (hd::randn does the same transform, with PyTorch's exact arithmetic.)\n");

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("3. The histogram against the density f(x)");
  fmt::print(
      "The slide's density  f(x) = 1 / (sqrt(2 pi) sigma) * exp(-(x - mu)^2 / (2 sigma^2)).\n"
      "A histogram scaled as a density (count / (n * bin width)) should lie on f(x).\n");
  hd::Histogram hist = hd::compute_histogram(x, bins, /*density=*/true);
  double worst_gap = 0;
  for (size_t b = 0; b < hist.heights.size(); ++b) {
    double centre = 0.5 * (hist.edges[b] + hist.edges[b + 1]);
    worst_gap = std::max(worst_gap, std::abs(hist.heights[b] - gaussian_density(centre, mu, sigma)));
  }
  fmt::print("  largest gap between a bar and f at the bar's centre: {:.4f} (peak of f: {:.4f})\n", worst_gap,
             gaussian_density(mu, mu, sigma));
  fmt::print("  more samples -> smaller gap (about 1/sqrt(n)); try --full.\n");
  {
    std::vector<double> grid = linspace(mu - 4 * sigma, mu + 4 * sigma, 400), fx;
    for (double g : grid) fx.push_back(gaussian_density(g, mu, sigma));
    hd::Plot plot(fmt::format("Box-Muller samples against f(x), μ = {}, σ = {}", mu, sigma), "x", "density");
    plot.histogram(x, bins, fmt::format("histogram of {} samples", n));
    plot.line(grid, fx, "f(x)", "black");
    plot.save(opt.out + "/gaussian_histogram.svg");
    hd::lesson::wrote(opt.out + "/gaussian_histogram.svg", "bars of the samples under the bell curve f(x)");
  }

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("4. All probabilities together make 100%");
  fmt::print("The slide: 随机变量所有取值概率的总和为100% (the probabilities of all values sum to 100%).\n");
  fmt::print("(a) For a density this means: the area under f(x) is 1. Trapezoid rule over [mu - 8 sigma, mu + 8 sigma]:\n");
  auto f = [&](double v) { return gaussian_density(v, mu, sigma); };
  for (int slices : {4, 16, 100, 1000})
    fmt::print("    {:5d} slices: area = {:.8f}\n", slices, integrate(f, mu - 8 * sigma, mu + 8 * sigma, slices));
  double bar_area = 0;
  for (size_t b = 0; b < hist.heights.size(); ++b) bar_area += hist.heights[b] * (hist.edges[b + 1] - hist.edges[b]);
  fmt::print("(b) The histogram's bars, height x width, add up to {:.6f}.\n", bar_area);

  fmt::print("(c) A discrete variable: round each sample to the nearest 0.5 and count how often each value occurs.\n");
  std::map<double, int64_t> counts;
  for (double v : x) counts[std::round(v * 2) / 2]++;
  double total = 0;
  for (const auto& [value, count] : counts) {
    double p = static_cast<double>(count) / static_cast<double>(n);
    total += p;
    if (p < 0.0005) continue;  // the far tails, too rare to print (still counted in the total)
    fmt::print("    P(X = {:5.1f}) = {:6.2f}%  {}\n", value, 100 * p, std::string(static_cast<size_t>(p * 100), '#'));
  }
  fmt::print("    total = {:.2f}%\n", 100 * total);

  fmt::print("(d) The probability of an interval is the area above it, and the samples agree:\n");
  for (int k : {1, 2, 3}) {
    double area = integrate(f, mu - k * sigma, mu + k * sigma, 1000);
    fmt::print("    P(mu - {0} sigma < X < mu + {0} sigma): area {1:.2f}%, fraction of samples {2:.2f}%\n", k,
               100 * area, 100 * fraction_between(x, mu - k * sigma, mu + k * sigma));
  }

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("5. What mu (平均值) and sigma (標準差) do");
  fmt::print(
      "mu moves the curve left and right without changing its shape.\n"
      "sigma sets its width; because the area must stay 1, a narrow curve is tall and a wide one is flat:\n"
      "the peak height is f(mu) = 1 / (sqrt(2 pi) sigma).\n");
  fmt::print("    {:>5} {:>6} {:>12} {:>10} {:>12} {:>12}\n", "mu", "sigma", "peak f(mu)", "area", "sample mean",
             "sample std");
  struct Setting {
    double mu, sigma;
  };
  const std::vector<Setting> mu_settings = {{-2, 1}, {0, 1}, {2, 1}};
  const std::vector<Setting> sigma_settings = {{0, 0.5}, {0, 1}, {0, 2}};
  const int64_t n_small = std::min<int64_t>(n, 20000);
  for (const auto& list : {mu_settings, sigma_settings}) {
    for (const Setting& s : list) {
      auto fs = [&](double v) { return gaussian_density(v, s.mu, s.sigma); };
      std::vector<double> xs = sample_gaussian(gen, n_small, s.mu, s.sigma);
      fmt::print("    {:5.1f} {:6.1f} {:12.4f} {:10.6f} {:12.4f} {:12.4f}\n", s.mu, s.sigma, fs(s.mu),
                 integrate(fs, s.mu - 10 * s.sigma, s.mu + 10 * s.sigma, 2000), mean_of(xs), std_of(xs));
    }
  }
  std::vector<double> grid = linspace(-6, 6, 600);
  auto draw_curves = [&](const std::vector<Setting>& settings, const std::string& title, const std::string& path,
                         const std::string& what) {
    hd::Plot plot(title, "x", "f(x)");
    for (const Setting& s : settings) {
      std::vector<double> fx;
      for (double g : grid) fx.push_back(gaussian_density(g, s.mu, s.sigma));
      plot.line(grid, fx, fmt::format("μ = {}, σ = {}", s.mu, s.sigma));
    }
    plot.save(path);
    hd::lesson::wrote(path, what);
  };
  draw_curves(mu_settings, "Changing μ (平均值): the curve moves", opt.out + "/effect_of_mu.svg",
              "three equal bells centred at -2, 0, 2");
  draw_curves(sigma_settings, "Changing σ (標準差): the curve widens and flattens", opt.out + "/effect_of_sigma.svg",
              "narrow-and-tall to wide-and-flat, all with area 1");

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("6. A generative model: a probability distribution, sampled at random");
  fmt::print(
      "生成模型是一個機率分佈，經由隨機採樣產生輸出結果: a generative model is a probability distribution,\n"
      "and it produces output by random sampling. The smallest example: a mixture of three Gaussians,\n"
      "  p(x) = sum_k w_k N(x; mu_k, sigma_k^2).\n"
      "To generate one output: pick component k with probability w_k, then sample x from N(mu_k, sigma_k^2).\n");
  const std::vector<double> means = {-2.0, 0.5, 3.0}, stds = {0.5, 0.8, 0.4}, weights = {0.3, 0.5, 0.2};
  for (size_t k = 0; k < means.size(); ++k)
    fmt::print("    component {}: w = {:.1f}, mu = {:4.1f}, sigma = {:.1f}\n", k, weights[k], means[k], stds[k]);
  hd::Tensor labels;
  hd::Tensor generated = hd::gaussian_mixture_1d(n, gen, means, stds, weights, &labels);
  fmt::print("  ten generated outputs (component in brackets):\n   ");
  for (int64_t i = 0; i < 10; ++i)
    fmt::print(" {:.2f}[{}]", generated.data()[i], static_cast<int>(labels.data()[i]));
  fmt::print("\n");
  auto p = [&](double v) { return hd::gaussian_mixture_pdf(v, means, stds, weights); };
  fmt::print("  area under p(x): {:.6f} (still 100%: the weights sum to 1 and each component has area 1)\n",
             integrate(p, -10, 10, 4000));
  std::vector<double> gx(generated.data(), generated.data() + generated.numel());
  {
    std::vector<double> mgrid = linspace(-4.5, 5, 500), px;
    for (double g : mgrid) px.push_back(p(g));
    hd::Plot plot("A tiny generative model: samples of a 3-Gaussian mixture", "x", "density");
    plot.histogram(gx, bins, fmt::format("{} generated samples", n));
    plot.line(mgrid, px, "p(x), the model's distribution", "black");
    plot.save(opt.out + "/mixture_samples.svg");
    hd::lesson::wrote(opt.out + "/mixture_samples.svg", "three bumps; the samples follow p(x)");
  }
  fmt::print(
      "An image generator is the same idea with x in R^784 (a 28x28 picture) instead of R^1: nobody can write its\n"
      "p(x) down, so later lessons (05-07 here) learn it from data with a neural network, then sample from it.\n");
  return 0;
}
