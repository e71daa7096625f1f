// tensor/linalg.h: the Jacobi eigen-decomposition and the PSD square root, against closed forms.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>

#include "tensor/linalg.h"

namespace hd {

// A random symmetric positive definite matrix Q diag(lambda) Q^T with known eigenvalues, built from a
// random orthogonal Q (Gram-Schmidt on Gaussian columns).
struct KnownSpd {
  std::vector<double> matrix;
  std::vector<double> eigenvalues;  // ascending
};

static KnownSpd random_spd(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> q(n * n);
  for (double& x : q) x = normal(rng);
  for (int j = 0; j < n; ++j) {  // orthonormalise column j against the columns before it
    for (int i = 0; i < j; ++i) {
      double dot = 0;
      for (int k = 0; k < n; ++k) dot += q[k * n + i] * q[k * n + j];
      for (int k = 0; k < n; ++k) q[k * n + j] -= dot * q[k * n + i];
    }
    double norm = 0;
    for (int k = 0; k < n; ++k) norm += q[k * n + j] * q[k * n + j];
    for (int k = 0; k < n; ++k) q[k * n + j] /= std::sqrt(norm);
  }
  KnownSpd spd{std::vector<double>(n * n, 0.0), std::vector<double>(n)};
  for (int k = 0; k < n; ++k) spd.eigenvalues[k] = 0.1 + k;  // spread 0.1 .. n - 0.9
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < n; ++k) spd.matrix[i * n + j] += q[i * n + k] * spd.eigenvalues[k] * q[j * n + k];
  return spd;
}

static double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

static std::vector<double> transpose(const std::vector<double>& a, int n) {
  std::vector<double> t(a.size());
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) t[j * n + i] = a[i * n + j];
  return t;
}

// V diag(lambda) V^T
static std::vector<double> compose(const SymmetricEigen& e, int n) {
  std::vector<double> a(n * n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < n; ++k) a[i * n + j] += e.eigenvectors[i * n + k] * e.eigenvalues[k] * e.eigenvectors[j * n + k];
  return a;
}

TEST(SymmetricEigen, DiagonalMatrixIsItsOwnDecomposition) {
  SymmetricEigen e = symmetric_eigen({3, 0, 0, 0, -1, 0, 0, 0, 2}, 3);
  EXPECT_EQ(e.eigenvalues, (std::vector<double>{-1, 2, 3}));  // ascending
  // Columns are the unit vectors e_1, e_2, e_0 in that order.
  EXPECT_EQ(e.eigenvectors, (std::vector<double>{0, 0, 1, 1, 0, 0, 0, 1, 0}));
}

TEST(SymmetricEigen, TwoByTwoRotationClosedForm) {
  // [[a, b], [b, a]] has eigenvalues a - b, a + b with eigenvectors (1, -1)/sqrt2 and (1, 1)/sqrt2.
  SymmetricEigen e = symmetric_eigen({2, 1, 1, 2}, 2);
  EXPECT_NEAR(e.eigenvalues[0], 1.0, 1e-14);
  EXPECT_NEAR(e.eigenvalues[1], 3.0, 1e-14);
  const double r = 1 / std::sqrt(2.0);
  EXPECT_NEAR(std::fabs(e.eigenvectors[0]), r, 1e-14);
  EXPECT_NEAR(e.eigenvectors[0] + e.eigenvectors[2], 0.0, 1e-14);  // column 0 ~ (1, -1)
  EXPECT_NEAR(e.eigenvectors[1] - e.eigenvectors[3], 0.0, 1e-14);  // column 1 ~ (1, 1)
}

TEST(SymmetricEigen, RandomSpdReconstructsWithOrthogonalVectors) {
  const int n = 40;
  KnownSpd spd = random_spd(n, 7);
  SymmetricEigen e = symmetric_eigen(spd.matrix, n);
  EXPECT_LT(max_abs_diff(e.eigenvalues, spd.eigenvalues), 1e-11);
  EXPECT_LT(max_abs_diff(compose(e, n), spd.matrix), 1e-11);  // A = V diag V^T
  std::vector<double> vtv = matmul_square(transpose(e.eigenvectors, n), e.eigenvectors, n);
  std::vector<double> identity(n * n, 0.0);
  for (int i = 0; i < n; ++i) identity[i * n + i] = 1.0;
  EXPECT_LT(max_abs_diff(vtv, identity), 1e-12);  // V^T V = I
}

TEST(SymmetricEigen, EmptyAndOneByOne) {
  EXPECT_TRUE(symmetric_eigen({}, 0).eigenvalues.empty());
  SymmetricEigen e = symmetric_eigen({5}, 1);
  EXPECT_EQ(e.eigenvalues, std::vector<double>{5});
  EXPECT_EQ(e.eigenvectors, std::vector<double>{1});
}

TEST(SymmetricEigen, OneHundredTwentyEightSquaredIsFast) {
  const int n = 128;
  KnownSpd spd = random_spd(n, 3);
  auto start = std::chrono::steady_clock::now();
  SymmetricEigen e = symmetric_eigen(spd.matrix, n);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(max_abs_diff(e.eigenvalues, spd.eigenvalues), 1e-10);
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(seconds, 5.0);  // sanitizer builds run several times slower
#else
  EXPECT_LT(seconds, 0.5);
#endif
}

TEST(SymmetricEigen, RejectsBadInput) {
  EXPECT_THROW(symmetric_eigen({1, 2, 3}, 2), std::invalid_argument);
  EXPECT_THROW(symmetric_eigen({1, 2, 3, 4}, 2), std::invalid_argument);  // not symmetric
  EXPECT_THROW(symmetric_eigen({1, NAN, NAN, 1}, 2), std::invalid_argument);
  try {
    symmetric_eigen({1, 2, 3, 4}, 2);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("not symmetric"), std::string::npos) << e.what();
  }
}

TEST(SqrtmPsd, SquaresBackToTheMatrix) {
  const int n = 30;
  KnownSpd spd = random_spd(n, 11);
  std::vector<double> root = sqrtm_psd(spd.matrix, n);
  EXPECT_LT(max_abs_diff(matmul_square(root, root, n), spd.matrix), 1e-11);
  EXPECT_LT(max_abs_diff(root, transpose(root, n)), 1e-14);  // symmetric
}

TEST(SqrtmPsd, DiagonalClosedFormAndSingularMatrix) {
  EXPECT_LT(max_abs_diff(sqrtm_psd({4, 0, 0, 9}, 2), {2, 0, 0, 3}), 1e-15);
  // [[1, 1], [1, 1]] = 2 u u^T with u = (1, 1)/sqrt2 (eigenvalues 0 and 2): root = sqrt2 u u^T.
  const double h = std::sqrt(2.0) / 2;
  EXPECT_LT(max_abs_diff(sqrtm_psd({1, 1, 1, 1}, 2), {h, h, h, h}), 1e-14);
}

TEST(SqrtmPsd, RejectsANegativeEigenvalue) {
  try {
    sqrtm_psd({1, 0, 0, -1}, 2);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("not positive semi-definite"), std::string::npos) << e.what();
  }
}

}  // namespace hd
