// Symmetric eigen-decomposition by cyclic Jacobi rotations (Jacobi 1846; the rotation formulas are
// Rutishauser's, as in every numerical-analysis textbook).
//
// The idea: a rotation J in the (p, q) plane,
//         J_pp = c, J_qq = c, J_pq = s, J_qp = -s   (every other entry of the identity),
// turns A into A' = J^T A J, which has the same eigenvalues. Choosing the angle with
//         cot(2 phi) = theta = (a_qq - a_pp) / (2 a_pq),  t = tan(phi) = sign(theta) / (|theta| + sqrt(theta^2 + 1))
// (the smaller root, so the rotation is at most 45 degrees and stays accurate) makes a'_pq = 0.
// A later rotation may make that entry nonzero again, but the sum of squares of the off-diagonal
// entries drops by 2 a_pq^2 with every rotation, so sweeping over all pairs p < q again and again
// ("cyclic" Jacobi) drives A to a diagonal matrix: the eigenvalues. The product of the rotations,
// V = J_1 J_2 ..., holds the eigenvectors in its columns. Convergence is quadratic once the
// off-diagonal part is small: 6 to 10 sweeps for a 128 x 128 covariance.
//
// Each rotation touches only rows and columns p and q, so it costs O(n), a sweep O(n^3).
#include "tensor/linalg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace hd {

static void check_square(const char* op, const std::vector<double>& a, int n) {
  if (n < 0 || a.size() != static_cast<size_t>(n) * static_cast<size_t>(n))
    throw std::invalid_argument(fmt::format("{}: expected an [n, n] matrix with n = {} ({} numbers), got {} numbers",
                                            op, n, n < 0 ? 0 : static_cast<size_t>(n) * n, a.size()));
}

// One Jacobi rotation zeroing a[p, q] (and a[q, p]). `vt` holds V^T, so that the rotation updates two
// of its rows (contiguous) rather than two columns.
static void rotate(std::vector<double>& a, std::vector<double>& vt, int n, int p, int q) {
  const double apq = a[p * n + q];
  const double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
  // For huge theta, theta^2 would overflow; there t = 1 / (2 theta) to double precision.
  const double t = std::fabs(theta) > 1e150 ? 0.5 / theta
                                            : std::copysign(1.0, theta) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
  const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;

  // Columns p and q of A J (and, by symmetry, rows p and q of J^T A J).
  for (int k = 0; k < n; ++k) {
    if (k == p || k == q) continue;
    const double akp = a[k * n + p], akq = a[k * n + q];
    a[k * n + p] = a[p * n + k] = c * akp - s * akq;
    a[k * n + q] = a[q * n + k] = s * akp + c * akq;
  }
  // The 2 x 2 block, in the form that keeps rounding small: a'_pp = a_pp - t a_pq, a'_qq = a_qq + t a_pq.
  a[p * n + p] -= t * apq;
  a[q * n + q] += t * apq;
  a[p * n + q] = a[q * n + p] = 0.0;

  // V <- V J: rows p and q of V^T.
  double* vp = vt.data() + static_cast<size_t>(p) * n;
  double* vq = vt.data() + static_cast<size_t>(q) * n;
  for (int k = 0; k < n; ++k) {
    const double x = vp[k], y = vq[k];
    vp[k] = c * x - s * y;
    vq[k] = s * x + c * y;
  }
}

SymmetricEigen symmetric_eigen(const std::vector<double>& input, int n) {
  check_square("symmetric_eigen", input, n);
  double max_abs = 0.0;
  for (double x : input) {
    if (!std::isfinite(x)) throw std::invalid_argument(fmt::format("symmetric_eigen: the [{}, {}] matrix holds {}", n, n, x));
    max_abs = std::max(max_abs, std::fabs(x));
  }
  // Symmetrise (A + A^T) / 2: products like S1^1/2 S2 S1^1/2 are symmetric only up to rounding.
  std::vector<double> a(input.size());
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double aij = input[i * n + j], aji = input[j * n + i];
      if (std::fabs(aij - aji) > 1e-8 * max_abs)
        throw std::invalid_argument(fmt::format(
            "symmetric_eigen: the [{}, {}] matrix is not symmetric: a[{}, {}] = {} but a[{}, {}] = {}", n, n, i, j, aij,
            j, i, aji));
      a[i * n + j] = 0.5 * (aij + aji);
    }

  std::vector<double> vt(a.size(), 0.0);
  for (int i = 0; i < n; ++i) vt[i * n + i] = 1.0;

  double total = 0.0;  // squared Frobenius norm; rotations keep it unchanged
  for (double x : a) total += x * x;
  // Stop when the off-diagonal part is at the level of double rounding (1e-14 of the matrix norm).
  const double tolerance = 1e-28 * total;
  constexpr int kMaxSweeps = 100;
  bool converged = false;
  for (int sweep = 0; sweep < kMaxSweeps && !converged; ++sweep) {
    double off = 0.0;  // sum of a_pq^2 over p < q
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) off += a[p * n + q] * a[p * n + q];
    if (off <= tolerance) {
      converged = true;
      break;
    }
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q)
        if (a[p * n + q] != 0.0) rotate(a, vt, n, p, q);
  }
  if (!converged)
    throw std::runtime_error(fmt::format("symmetric_eigen: Jacobi rotations did not converge in {} sweeps on a [{}, {}] matrix",
                                         kMaxSweeps, n, n));

  // Sort ascending; column j of the result is row order[j] of V^T.
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int i, int j) { return a[i * n + i] < a[j * n + j]; });
  SymmetricEigen result{std::vector<double>(n), std::vector<double>(a.size())};
  for (int j = 0; j < n; ++j) {
    result.eigenvalues[j] = a[order[j] * n + order[j]];
    for (int i = 0; i < n; ++i) result.eigenvectors[i * n + j] = vt[order[j] * n + i];
  }
  return result;
}

std::vector<double> sqrtm_psd(const std::vector<double>& a, int n) {
  check_square("sqrtm_psd", a, n);
  SymmetricEigen eig = symmetric_eigen(a, n);
  double largest = 0.0;
  for (double l : eig.eigenvalues) largest = std::max(largest, std::fabs(l));
  std::vector<double> root_lambda(n);
  for (int k = 0; k < n; ++k) {
    double l = eig.eigenvalues[k];
    if (l < -1e-9 * largest)
      throw std::invalid_argument(fmt::format(
          "sqrtm_psd: the [{}, {}] matrix is not positive semi-definite: eigenvalue {} (largest |eigenvalue| {})", n, n, l,
          largest));
    root_lambda[k] = std::sqrt(std::max(l, 0.0));
  }
  // (A^1/2)_ij = sum_k V_ik sqrt(lambda_k) V_jk
  const std::vector<double>& v = eig.eigenvectors;
  std::vector<double> root(a.size(), 0.0);
  std::vector<double> scaled_row(n);
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < n; ++k) scaled_row[k] = v[i * n + k] * root_lambda[k];
    for (int j = i; j < n; ++j) {
      double sum = 0.0;
      for (int k = 0; k < n; ++k) sum += scaled_row[k] * v[j * n + k];
      root[i * n + j] = root[j * n + i] = sum;
    }
  }
  return root;
}

std::vector<double> matmul_square(const std::vector<double>& a, const std::vector<double>& b, int n) {
  check_square("matmul_square", a, n);
  check_square("matmul_square", b, n);
  std::vector<double> c(a.size(), 0.0);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k) {
      const double aik = a[i * n + k];
      for (int j = 0; j < n; ++j) c[i * n + j] += aik * b[k * n + j];
    }
  return c;
}

}  // namespace hd
