// Tests for tensor/conv.h: the fast convolutions against their nested-loop references, every gradient
// kernel by the adjoint identity <f(x), gy> == <x, f^T(gy)>, and everything against PyTorch's values in
// tests/fixtures/conv.txt (written by tests/reference/make_conv_fixtures.py).
#include "tensor/conv.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/convolution.h"

#ifndef HUNDUN_SOURCE_DIR
#define HUNDUN_SOURCE_DIR "."
#endif

namespace hd {
namespace {

// Uniform values in [-1, 1), reproducible from the seed.
Tensor random_tensor(const Shape& shape, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = dist(gen);
  return t;
}

double dot(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(shape_str(a.shape()), shape_str(b.shape()));
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += static_cast<double>(a.data()[i]) * b.data()[i];
  return s;
}

double norm(const Tensor& a) { return std::sqrt(dot(a, a)); }

// Largest |a - b| / (1 + |b|): a relative error that tolerates values near zero.
double max_error(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(shape_str(a.shape()), shape_str(b.shape()));
  if (a.shape() != b.shape()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(a.data()[i]) - b.data()[i]) / (1.0 + std::fabs(b.data()[i])));
  return worst;
}

// Expects <a1, b1> == <a2, b2> up to float rounding, measured against the Cauchy-Schwarz bound |a1| |b1|.
void expect_same_dot(const Tensor& a1, const Tensor& b1, const Tensor& a2, const Tensor& b2, const std::string& what) {
  double lhs = dot(a1, b1), rhs = dot(a2, b2);
  EXPECT_NEAR(lhs, rhs, 1e-5 * (norm(a1) * norm(b1) + 1e-30)) << what;
}

struct ConvConfig {
  int64_t B, C_in, H, W, C_out, kH, kW, stride, padding, dilation;
  bool bias;
  std::string str() const {
    std::ostringstream s;
    s << "x [" << B << ", " << C_in << ", " << H << ", " << W << "], w [" << C_out << ", " << C_in << ", " << kH
      << ", " << kW << "], stride " << stride << ", padding " << padding << ", dilation " << dilation
      << (bias ? ", bias" : ", no bias");
    return s.str();
  }
};

// Stride 1/2, padding 0/1/2, dilation 1/2, batch 1/3, bias or not, over non-square odd and even images and
// square and non-square kernels; configurations whose kernel does not fit are skipped.
std::vector<ConvConfig> conv_configs() {
  std::vector<ConvConfig> configs;
  const int64_t kernels[3][2] = {{3, 3}, {2, 3}, {4, 4}};
  const int64_t images[2][2] = {{7, 5}, {6, 9}};
  int n = 0;
  for (int64_t stride : {1, 2})
    for (int64_t padding : {0, 1, 2})
      for (int64_t dilation : {1, 2})
        for (int64_t B : {1, 3})
          for (bool bias : {false, true}) {
            const int64_t* k = kernels[n % 3];
            const int64_t* hw = images[(n / 3) % 2];
            ++n;
            ConvConfig c{B, 3, hw[0], hw[1], 4, k[0], k[1], stride, padding, dilation, bias};
            if (dilation * (c.kH - 1) + 1 > c.H + 2 * padding || dilation * (c.kW - 1) + 1 > c.W + 2 * padding)
              continue;
            configs.push_back(c);
          }
  // Wider channels: several images per GEMM, groups shared among threads, a first layer with one input
  // channel (its weight gradient is computed transposed), and 1x1 kernels (the path without im2col).
  configs.push_back({4, 16, 12, 10, 32, 3, 3, 1, 1, 1, true});
  configs.push_back({5, 8, 14, 14, 16, 4, 4, 2, 1, 1, false});
  configs.push_back({16, 8, 14, 14, 16, 3, 3, 1, 1, 1, true});
  configs.push_back({3, 1, 9, 8, 16, 3, 3, 1, 1, 1, true});
  configs.push_back({2, 4, 5, 5, 8, 1, 1, 1, 0, 1, false});
  configs.push_back({3, 6, 5, 7, 5, 1, 1, 1, 0, 1, true});
  configs.push_back({1, 6, 5, 7, 5, 1, 1, 1, 0, 2, false});
  configs.push_back({2, 6, 5, 7, 5, 1, 1, 2, 0, 1, false});
  return configs;
}

TEST(Conv2d, MatchesNestedLoopReference) {
  unsigned seed = 1;
  for (const ConvConfig& c : conv_configs()) {
    Tensor x = random_tensor({c.B, c.C_in, c.H, c.W}, seed++);
    Tensor w = random_tensor({c.C_out, c.C_in, c.kH, c.kW}, seed++);
    Tensor b = c.bias ? random_tensor({c.C_out}, seed++) : Tensor();
    Tensor fast = conv2d(x, w, b, c.stride, c.padding, c.dilation);
    Tensor ref = conv2d_reference(x, w, b, c.stride, c.padding, c.dilation);
    EXPECT_LT(max_error(fast, ref), 1e-5) << c.str();
  }
}

TEST(Conv2d, GradientsAreAdjointsOfForward) {
  unsigned seed = 100;
  for (const ConvConfig& c : conv_configs()) {
    Tensor x = random_tensor({c.B, c.C_in, c.H, c.W}, seed++);
    Tensor w = random_tensor({c.C_out, c.C_in, c.kH, c.kW}, seed++);
    Tensor y = conv2d(x, w, Tensor(), c.stride, c.padding, c.dilation);
    Tensor gy = random_tensor(y.shape(), seed++);
    Tensor gx = conv2d_input_grad(gy, w, x.shape(), c.stride, c.padding, c.dilation);
    Tensor gw = conv2d_weight_grad(x, gy, w.shape(), c.stride, c.padding, c.dilation);
    // conv2d is linear in x and in w, so <conv2d(x, w), gy> = <x, dL/dx> = <w, dL/dw>.
    expect_same_dot(y, gy, x, gx, "input grad, " + c.str());
    expect_same_dot(y, gy, w, gw, "weight grad, " + c.str());
  }
}

struct TransposedConfig {
  int64_t B, C_in, H, W, C_out, k, stride, padding, output_padding, dilation;
  bool bias;
  std::string str() const {
    std::ostringstream s;
    s << "x [" << B << ", " << C_in << ", " << H << ", " << W << "], w [" << C_in << ", " << C_out << ", " << k
      << ", " << k << "], stride " << stride << ", padding " << padding << ", output_padding " << output_padding
      << ", dilation " << dilation << (bias ? ", bias" : ", no bias");
    return s.str();
  }
};

// Every valid output_padding (< stride or < dilation) for stride 1/2/3, padding 0/1/2, dilation 1/2.
std::vector<TransposedConfig> transposed_configs() {
  std::vector<TransposedConfig> configs;
  int n = 0;
  for (int64_t stride : {1, 2, 3})
    for (int64_t padding : {0, 1, 2})
      for (int64_t dilation : {1, 2})
        for (int64_t output_padding = 0; output_padding < std::max(stride, dilation); ++output_padding) {
          ++n;
          TransposedConfig c{1 + 2 * (n % 2), 3, 4 + n % 3, 5, 2 + n % 3, 2 + n % 3, stride,
                             padding, output_padding, dilation, n % 3 != 0};
          if ((c.H - 1) * stride - 2 * padding + dilation * (c.k - 1) + output_padding + 1 < 1) continue;
          configs.push_back(c);
        }
  configs.push_back({4, 32, 7, 7, 16, 4, 2, 1, 0, 1, true});  // the DCGAN-style 2x upsampling
  configs.push_back({12, 16, 7, 7, 8, 4, 2, 1, 0, 1, false}); // ... on enough images to use the threads
  configs.push_back({3, 8, 6, 5, 4, 1, 1, 0, 0, 1, true});    // 1x1 kernel: no col2im
  return configs;
}

TEST(ConvTranspose2d, MatchesNestedLoopReference) {
  unsigned seed = 200;
  for (const TransposedConfig& c : transposed_configs()) {
    Tensor x = random_tensor({c.B, c.C_in, c.H, c.W}, seed++);
    Tensor w = random_tensor({c.C_in, c.C_out, c.k, c.k}, seed++);
    Tensor b = c.bias ? random_tensor({c.C_out}, seed++) : Tensor();
    Tensor fast = conv_transpose2d(x, w, b, c.stride, c.padding, c.output_padding, c.dilation);
    Tensor ref = conv_transpose2d_reference(x, w, b, c.stride, c.padding, c.output_padding, c.dilation);
    EXPECT_LT(max_error(fast, ref), 1e-5) << c.str();
  }
}

// The transposed convolution's gradients are conv2d kernels: dL/dx = conv2d(gy, w) and
// dL/dw = conv2d_weight_grad(gy, x). With output_padding < stride the shapes line up exactly.
TEST(ConvTranspose2d, GradientsAreConv2dKernels) {
  unsigned seed = 300;
  for (const TransposedConfig& c : transposed_configs()) {
    if (c.output_padding >= c.stride) continue;
    Tensor x = random_tensor({c.B, c.C_in, c.H, c.W}, seed++);
    Tensor w = random_tensor({c.C_in, c.C_out, c.k, c.k}, seed++);
    Tensor y = conv_transpose2d(x, w, Tensor(), c.stride, c.padding, c.output_padding, c.dilation);
    Tensor gy = random_tensor(y.shape(), seed++);
    Tensor gx = conv2d(gy, w, Tensor(), c.stride, c.padding, c.dilation);
    Tensor gw = conv2d_weight_grad(gy, x, w.shape(), c.stride, c.padding, c.dilation);
    expect_same_dot(y, gy, x, gx, "input grad, " + c.str());
    expect_same_dot(y, gy, w, gw, "weight grad, " + c.str());
  }
}

// The same through autograd's conv_transpose2d, for every configuration: with output_padding >= stride
// its rule crops conv2d(gy) to x's size and grows x with zeros for the weight gradient.
TEST(ConvTranspose2d, AutogradGradientsForEveryConfiguration) {
  unsigned seed = 350;
  int above_stride = 0;
  for (const TransposedConfig& c : transposed_configs()) {
    above_stride += c.output_padding >= c.stride;
    Variable x(random_tensor({c.B, c.C_in, c.H, c.W}, seed++), true);
    Variable w(random_tensor({c.C_in, c.C_out, c.k, c.k}, seed++), true);
    Variable y = conv_transpose2d(x, w, Variable(), c.stride, c.padding, c.output_padding, c.dilation);
    Tensor gy = random_tensor(y.shape(), seed++);
    y.backward(Variable(gy));
    expect_same_dot(y.data(), gy, x.data(), x.grad().data(), "input grad, " + c.str());
    expect_same_dot(y.data(), gy, w.data(), w.grad().data(), "weight grad, " + c.str());
  }
  EXPECT_GT(above_stride, 0);  // the configurations the kernel-level test above skips are here
}

TEST(Conv2d, EmptyBatchGivesEmptyOutput) {
  Tensor y = conv2d(Tensor::zeros({0, 3, 5, 5}), Tensor::ones({4, 3, 3, 3}), Tensor(), 1, 1);
  EXPECT_EQ(shape_str(y.shape()), "[0, 4, 5, 5]");
  Tensor gw = conv2d_weight_grad(Tensor::zeros({0, 3, 5, 5}), y, {4, 3, 3, 3}, 1, 1);
  EXPECT_EQ(dot(gw, gw), 0.0);
}

// The batch is shared out among threads in fixed groups and the weight gradient's partial sums are added
// in a fixed order, so a run gives the same bits on one thread as on several.
TEST(Conv2d, ResultsDoNotDependOnThreadCount) {
  Tensor x = random_tensor({16, 8, 14, 14}, 700), w = random_tensor({16, 8, 3, 3}, 701);
  Tensor gy = random_tensor({16, 16, 14, 14}, 702);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  Tensor y1 = conv2d(x, w, Tensor(), 1, 1), gx1 = conv2d_input_grad(gy, w, x.shape(), 1, 1);
  Tensor gw1 = conv2d_weight_grad(x, gy, w.shape(), 1, 1);
  omp_set_num_threads(2);
  Tensor y2 = conv2d(x, w, Tensor(), 1, 1), gx2 = conv2d_input_grad(gy, w, x.shape(), 1, 1);
  Tensor gw2 = conv2d_weight_grad(x, gy, w.shape(), 1, 1);
  omp_set_num_threads(threads);
  EXPECT_EQ(y1.tolist(), y2.tolist());
  EXPECT_EQ(gx1.tolist(), gx2.tolist());
  EXPECT_EQ(gw1.tolist(), gw2.tolist());
}

// --- pooling and upsampling ---

TEST(MaxPool2d, PaddingCountsAsMinusInfinity) {
  // All values negative: a zero-padded max would return 0 at the border.
  Tensor x = Tensor::from({1, 1, 2, 2}, {-4.f, -3.f, -2.f, -1.f});
  auto [y, indices] = max_pool2d(x, 2, 1, 1);
  EXPECT_EQ(y.tolist(), (std::vector<float>{-4, -3, -3, -2, -1, -1, -2, -1, -1}));
  EXPECT_EQ(indices.tolist(), (std::vector<float>{0, 1, 1, 2, 3, 3, 2, 3, 3}));
}

TEST(MaxPool2d, BackwardIsAdjointOfSelection) {
  Tensor x = random_tensor({8, 8, 30, 29}, 400);  // big enough to split the planes across threads
  for (int64_t kernel : {2, 3})
    for (int64_t stride : {1, 2, 3})
      for (int64_t padding = 0; padding <= kernel / 2; ++padding) {
        auto [y, indices] = max_pool2d(x, kernel, stride, padding);
        Tensor gy = random_tensor(y.shape(), 401);
        Tensor gx = max_pool2d_backward(gy, indices, x.shape());
        // With the indices fixed, y = x[indices] is linear in x.
        expect_same_dot(y, gy, x, gx, "max_pool2d kernel " + std::to_string(kernel));
      }
}

// Values from a small set, with NaN and -infinity sprinkled in: many windows hold ties, several NaNs
// or only -infinity, the cases where "first maximum wins" and "NaN wins" decide the index.
Tensor tied_tensor(const Shape& shape, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> pick(0, 9);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const float values[10] = {-1.f, 0.f, 0.f, 1.f, 1.f, 1.f, 2.f, nan, -inf, -inf};
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = values[pick(gen)];
  return t;
}

// Same values bit for bit (NaN where the other has NaN).
void expect_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(shape_str(a.shape()), shape_str(b.shape())) << what;
  for (int64_t i = 0; i < a.numel(); ++i) {
    if (std::isnan(b.data()[i])) EXPECT_TRUE(std::isnan(a.data()[i])) << what << " at " << i;
    else EXPECT_EQ(a.data()[i], b.data()[i]) << what << " at " << i;
  }
}

TEST(MaxPool2d, FastTwoByTwoPathMatchesTheGeneralLoopOnTiesAndNaN) {
  // Output rows of 1, 4, 7, 11 and 14 windows (whole and overlapping chunks of 8 and 4); odd sizes leave a
  // last row or column outside every window; the big shape splits planes across threads.
  for (const Shape& shape : {Shape{2, 3, 6, 8}, Shape{2, 2, 7, 9}, Shape{1, 1, 2, 2}, Shape{3, 2, 14, 14},
                             Shape{2, 2, 10, 23}, Shape{16, 32, 28, 28}}) {
    Tensor x = tied_tensor(shape, 410);
    auto [y, indices] = max_pool2d(x, 2, 2);
    auto [y_ref, indices_ref] = max_pool2d_general(x, 2, 2);
    expect_identical(y, y_ref, "values " + shape_str(shape));
    expect_identical(indices, indices_ref, "indices " + shape_str(shape));
    Tensor gy = random_tensor(y.shape(), 411);
    expect_identical(max_pool2d_backward(gy, indices, x.shape()),
                     max_pool2d_backward_general(gy, indices_ref, x.shape()), "gradient " + shape_str(shape));
  }
}

TEST(MaxPool2d, BackwardWithIndicesOutsideTheirTwoByTwoBlockUsesTheGeneralScatter) {
  // Kernel 3, stride 2, padding 1 on 6x6 also halves the size, but its windows overlap: an index may lie
  // in a neighbouring 2x2 block, and a pixel may receive two gradients.
  Tensor x = random_tensor({2, 3, 6, 6}, 420);
  auto [y, indices] = max_pool2d(x, 3, 2, 1);
  ASSERT_EQ(shape_str(y.shape()), "[2, 3, 3, 3]");
  Tensor gy = random_tensor(y.shape(), 421);
  expect_identical(max_pool2d_backward(gy, indices, x.shape()), max_pool2d_backward_general(gy, indices, x.shape()),
                   "gradient");
}

TEST(AvgPool2d, BackwardIsAdjoint) {
  Tensor x = random_tensor({8, 8, 30, 29}, 500);
  for (int64_t kernel : {2, 3, 4})
    for (int64_t stride : {1, 2, 3})
      for (int64_t padding = 0; padding <= kernel / 2; ++padding) {
        Tensor y = avg_pool2d(x, kernel, stride, padding);
        Tensor gy = random_tensor(y.shape(), 501);
        Tensor gx = avg_pool2d_backward(gy, x.shape(), kernel, stride, padding);
        expect_same_dot(y, gy, x, gx, "avg_pool2d kernel " + std::to_string(kernel));
      }
}

TEST(AvgPool2d, PaddingCountsAsZeroInTheMean) {
  Tensor y = avg_pool2d(Tensor::ones({1, 1, 2, 2}), 2, 2, 1);
  EXPECT_EQ(y.tolist(), (std::vector<float>{0.25f, 0.25f, 0.25f, 0.25f}));
}

TEST(UpsampleNearest2d, RepeatsPixelsAndBackwardIsAdjoint) {
  Tensor small = Tensor::from({1, 1, 1, 2}, {1.f, 2.f});
  EXPECT_EQ(upsample_nearest2d(small, 2).tolist(), (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2}));
  Tensor x = random_tensor({2, 3, 5, 4}, 600);
  for (int64_t scale : {1, 2, 3}) {
    Tensor y = upsample_nearest2d(x, scale);
    Tensor gy = random_tensor(y.shape(), 601);
    expect_same_dot(y, gy, x, upsample_nearest2d_backward(gy, scale), "scale " + std::to_string(scale));
  }
}

// --- PyTorch fixtures ---

struct FixtureCase {
  std::string name, op;
  std::map<std::string, int64_t> params;
  std::map<std::string, Tensor> tensors;
  const Tensor& operator[](const std::string& key) const { return tensors.at(key); }
  Tensor get(const std::string& key) const { return tensors.count(key) ? tensors.at(key) : Tensor(); }
};

// Reads the format documented at the top of tests/reference/make_conv_fixtures.py.
std::vector<FixtureCase> load_fixtures(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot open " + path);
  std::vector<FixtureCase> cases;
  std::string line;
  while (std::getline(file, line)) {
    std::istringstream in(line);
    std::string word;
    if (!(in >> word) || word[0] == '#' || word == "end") continue;
    if (word == "case") {
      FixtureCase c;
      in >> c.name >> c.op;
      for (std::string kv; in >> kv;) {
        size_t eq = kv.find('=');
        c.params[kv.substr(0, eq)] = std::stoll(kv.substr(eq + 1));
      }
      cases.push_back(c);
      continue;
    }
    if (cases.empty()) throw std::runtime_error(path + ": tensor '" + word + "' outside a case");
    int64_t ndim = 0;
    in >> ndim;
    Shape shape(ndim);
    for (int64_t& d : shape) in >> d;
    std::vector<float> values(shape_numel(shape));
    for (float& v : values) in >> v;
    if (!in) throw std::runtime_error(path + ": bad tensor line for '" + word + "' in case " + cases.back().name);
    cases.back().tensors[word] = Tensor::from(shape, values);
  }
  return cases;
}

class PyTorchFixtures : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string path = std::string(HUNDUN_SOURCE_DIR) + "/tests/fixtures/conv.txt";
    if (!std::ifstream(path))
      FAIL() << "missing fixture " << path
             << "; create it with: /usr/bin/python3 tests/reference/make_conv_fixtures.py";
    cases_ = load_fixtures(path);
  }
  std::vector<const FixtureCase*> cases(const std::string& op) const {
    std::vector<const FixtureCase*> out;
    for (const FixtureCase& c : cases_)
      if (c.op == op) out.push_back(&c);
    EXPECT_FALSE(out.empty()) << "no " << op << " cases in the fixture file";
    return out;
  }
  std::vector<FixtureCase> cases_;
};

// Float32 results computed in a different order than PyTorch's.
constexpr double kTorchTolerance = 2e-5;

// gb = gy summed over batch and pixels: [B, C, H, W] -> [C].
Tensor sum_per_channel(const Tensor& gy) {
  Tensor gb = Tensor::zeros({gy.size(1)});
  int64_t hw = gy.size(2) * gy.size(3);
  for (int64_t i = 0; i < gy.numel(); ++i) gb.data()[(i / hw) % gy.size(1)] += gy.data()[i];
  return gb;
}

TEST_F(PyTorchFixtures, Conv2d) {
  for (const FixtureCase* c : cases("conv2d")) {
    int64_t s = c->params.at("stride"), p = c->params.at("padding"), d = c->params.at("dilation");
    const Tensor &x = (*c)["x"], &w = (*c)["w"], &gy = (*c)["gy"];
    EXPECT_LT(max_error(conv2d(x, w, c->get("b"), s, p, d), (*c)["y"]), kTorchTolerance) << c->name;
    EXPECT_LT(max_error(conv2d_input_grad(gy, w, x.shape(), s, p, d), (*c)["gx"]), kTorchTolerance) << c->name;
    EXPECT_LT(max_error(conv2d_weight_grad(x, gy, w.shape(), s, p, d), (*c)["gw"]), kTorchTolerance) << c->name;
    if (c->get("gb").defined()) {
      EXPECT_LT(max_error(sum_per_channel(gy), (*c)["gb"]), kTorchTolerance) << c->name;
    }
  }
}

// [B, C, H, W] -> [B, C, H2, W2]: the top-left corner of a larger image, or a smaller one with zeros
// appended at the bottom and right.
Tensor resize_corner(const Tensor& t, int64_t H2, int64_t W2) {
  Tensor out = Tensor::zeros({t.size(0), t.size(1), H2, W2});
  for (int64_t p = 0; p < t.size(0) * t.size(1); ++p)
    for (int64_t h = 0; h < std::min(H2, t.size(2)); ++h)
      for (int64_t w = 0; w < std::min(W2, t.size(3)); ++w)
        out.data()[(p * H2 + h) * W2 + w] = t.data()[(p * t.size(2) + h) * t.size(3) + w];
  return out;
}

TEST_F(PyTorchFixtures, ConvTranspose2d) {
  for (const FixtureCase* c : cases("conv_transpose2d")) {
    int64_t s = c->params.at("stride"), p = c->params.at("padding"), d = c->params.at("dilation");
    int64_t op = c->params.at("output_padding");
    const Tensor &x = (*c)["x"], &w = (*c)["w"], &gy = (*c)["gy"];
    EXPECT_LT(max_error(conv_transpose2d(x, w, c->get("b"), s, p, op, d), (*c)["y"]), kTorchTolerance) << c->name;
    // Its gradients through the conv2d kernels, as conv.h describes (see also GradientsAreConv2dKernels).
    // With output_padding >= stride (allowed when it is < dilation) conv2d(gy) has extra rows and columns
    // that belong to no input pixel.
    Tensor gx = conv2d(gy, w, Tensor(), s, p, d);
    Tensor x_padded = resize_corner(x, gx.size(2), gx.size(3));
    EXPECT_LT(max_error(resize_corner(gx, x.size(2), x.size(3)), (*c)["gx"]), kTorchTolerance) << c->name;
    EXPECT_LT(max_error(conv2d_weight_grad(gy, x_padded, w.shape(), s, p, d), (*c)["gw"]), kTorchTolerance)
        << c->name;
    if (op < s) {
      EXPECT_EQ(shape_str(gx.shape()), shape_str(x.shape())) << c->name;
    }
  }
}

TEST_F(PyTorchFixtures, MaxPool2d) {
  for (const FixtureCase* c : cases("max_pool2d")) {
    int64_t k = c->params.at("kernel"), s = c->params.at("stride"), p = c->params.at("padding");
    auto [y, indices] = max_pool2d((*c)["x"], k, s, p);
    EXPECT_EQ(max_error(y, (*c)["y"]), 0.0) << c->name;
    EXPECT_EQ(max_error(indices, (*c)["indices"]), 0.0) << c->name;
    EXPECT_LT(max_error(max_pool2d_backward((*c)["gy"], indices, (*c)["x"].shape()), (*c)["gx"]), kTorchTolerance)
        << c->name;
  }
}

TEST_F(PyTorchFixtures, AvgPool2d) {
  for (const FixtureCase* c : cases("avg_pool2d")) {
    int64_t k = c->params.at("kernel"), s = c->params.at("stride"), p = c->params.at("padding");
    EXPECT_LT(max_error(avg_pool2d((*c)["x"], k, s, p), (*c)["y"]), kTorchTolerance) << c->name;
    EXPECT_LT(max_error(avg_pool2d_backward((*c)["gy"], (*c)["x"].shape(), k, s, p), (*c)["gx"]), kTorchTolerance)
        << c->name;
  }
}

TEST_F(PyTorchFixtures, UpsampleNearest2d) {
  for (const FixtureCase* c : cases("upsample_nearest2d")) {
    int64_t scale = c->params.at("scale");
    EXPECT_EQ(max_error(upsample_nearest2d((*c)["x"], scale), (*c)["y"]), 0.0) << c->name;
    EXPECT_LT(max_error(upsample_nearest2d_backward((*c)["gy"], scale), (*c)["gx"]), kTorchTolerance) << c->name;
  }
}

// --- errors: each names the op, the shapes and what was expected ---

// Runs f, expects std::invalid_argument, and returns its message.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected std::invalid_argument";
  return "";
}

TEST(ConvErrors, ChannelMismatchNamesBothShapes) {
  EXPECT_EQ(error_of([] { conv2d(Tensor::zeros({2, 3, 8, 8}), Tensor::zeros({8, 4, 3, 3}), Tensor()); }),
            "conv2d: input has 3 channels but weight [8, 4, 3, 3] expects 4");
  EXPECT_EQ(error_of([] { conv_transpose2d(Tensor::zeros({2, 3, 8, 8}), Tensor::zeros({4, 8, 3, 3}), Tensor()); }),
            "conv_transpose2d: input has 3 channels but weight [4, 8, 3, 3] expects 4");
}

TEST(ConvErrors, WrongRank) {
  EXPECT_EQ(error_of([] { conv2d(Tensor::zeros({3, 8, 8}), Tensor::zeros({8, 3, 3, 3}), Tensor()); }),
            "conv2d: input must be 4-D [B, C_in, H, W], got [3, 8, 8]");
  EXPECT_EQ(error_of([] { max_pool2d(Tensor::zeros({8, 8}), 2, 2); }),
            "max_pool2d: input must be 4-D [B, C, H, W], got [8, 8]");
}

TEST(ConvErrors, KernelLargerThanPaddedInput) {
  std::string msg = error_of([] { conv2d(Tensor::zeros({1, 3, 2, 2}), Tensor::zeros({8, 3, 5, 5}), Tensor(), 1, 1); });
  EXPECT_NE(msg.find("conv2d: kernel 5x5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("padded input 4x4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[1, 3, 2, 2]"), std::string::npos) << msg;
}

TEST(ConvErrors, BadStridePaddingDilation) {
  Tensor x = Tensor::zeros({1, 1, 5, 5}), w = Tensor::zeros({1, 1, 3, 3});
  EXPECT_EQ(error_of([&] { conv2d(x, w, Tensor(), 0); }), "conv2d: stride must be >= 1, got 0");
  EXPECT_EQ(error_of([&] { conv2d(x, w, Tensor(), 1, -1); }), "conv2d: padding must be >= 0, got -1");
  EXPECT_EQ(error_of([&] { conv2d(x, w, Tensor(), 1, 0, 0); }), "conv2d: dilation must be >= 1, got 0");
  EXPECT_EQ(error_of([&] { avg_pool2d(x, 3, 0); }), "avg_pool2d: stride must be >= 1, got 0");
}

TEST(ConvErrors, BiasOfWrongSize) {
  EXPECT_EQ(error_of([] { conv2d(Tensor::zeros({1, 3, 5, 5}), Tensor::zeros({8, 3, 3, 3}), Tensor::zeros({4})); }),
            "conv2d: bias must have shape [8] (one value per output channel of weight [8, 3, 3, 3]), got [4]");
  EXPECT_NE(error_of([] {
              conv_transpose2d(Tensor::zeros({1, 3, 5, 5}), Tensor::zeros({3, 8, 3, 3}), Tensor::zeros({3}));
            }).find("conv_transpose2d: bias must have shape [8]"),
            std::string::npos);
}

TEST(ConvErrors, OutputPaddingMustBeBelowStrideOrDilation) {
  Tensor x = Tensor::zeros({1, 2, 4, 4}), w = Tensor::zeros({2, 2, 3, 3});
  EXPECT_EQ(error_of([&] { conv_transpose2d(x, w, Tensor(), 2, 1, 2); }),
            "conv_transpose2d: output_padding must be >= 0 and smaller than either stride or dilation, got "
            "output_padding 2 with stride 2 and dilation 1");
  EXPECT_NO_THROW(conv_transpose2d(x, w, Tensor(), 1, 0, 1, 2));
}

TEST(ConvErrors, GradientWithWrongShape) {
  Tensor w = Tensor::zeros({8, 3, 3, 3});
  std::string msg = error_of([&] { conv2d_input_grad(Tensor::zeros({2, 8, 5, 5}), w, {2, 3, 8, 8}, 1, 1); });
  EXPECT_EQ(msg, "conv2d_input_grad: gy must have shape [2, 8, 8, 8] (the conv2d output for input [2, 3, 8, 8] "
                 "and weight [8, 3, 3, 3]), got [2, 8, 5, 5]");
  Tensor x = Tensor::zeros({2, 3, 8, 8}), gy = Tensor::zeros({2, 4, 8, 8});
  msg = error_of([&] { conv2d_weight_grad(x, gy, w.shape(), 1, 1); });
  EXPECT_NE(msg.find("conv2d_weight_grad: gy must have shape [2, 8, 8, 8]"), std::string::npos) << msg;
}

TEST(ConvErrors, PoolingArguments) {
  Tensor x = Tensor::zeros({1, 1, 4, 4});
  EXPECT_EQ(error_of([&] { max_pool2d(x, 3, 1, 2); }),
            "max_pool2d: padding must be between 0 and half the kernel size (1), got 2");
  EXPECT_NE(error_of([&] { avg_pool2d(x, 5, 1); }).find("avg_pool2d: kernel 5x5 is larger than the padded input 4x4"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { upsample_nearest2d(x, 0); }), "upsample_nearest2d: scale must be >= 1, got 0");
  EXPECT_NE(error_of([&] { upsample_nearest2d_backward(Tensor::zeros({1, 1, 5, 4}), 2); }).find("multiple of scale 2"),
            std::string::npos);
  auto [y, indices] = max_pool2d(x, 2, 2);
  indices.data()[0] = 16.f;
  EXPECT_NE(error_of([&] { max_pool2d_backward(y, indices, x.shape()); }).find("not a pixel of a 4x4 plane"),
            std::string::npos);
}

}  // namespace
}  // namespace hd
