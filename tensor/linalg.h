// linalg.h — eigen-decomposition and square root of symmetric matrices, in double precision.
//
// What the Frechet distance (metrics/frechet.h) needs: the square root of a covariance matrix.
// A symmetric matrix A has real eigenvalues and orthonormal eigenvectors, A = V diag(lambda) V^T,
// and for a positive semi-definite one (every lambda >= 0, as a covariance) its square root is
//     A^1/2 = V diag(sqrt(lambda)) V^T,   the one PSD matrix with A^1/2 A^1/2 = A.
//
// Matrices here are small (a classifier's feature size, ~128) and accuracy matters more than speed,
// so they are plain row-major std::vector<double> of n * n numbers, not float Tensors.
#pragma once

#include <vector>

namespace hd {

struct SymmetricEigen {
  std::vector<double> eigenvalues;   // [n], ascending (as numpy.linalg.eigh)
  std::vector<double> eigenvectors;  // [n, n] row-major; column j is the unit eigenvector of eigenvalues[j]
};

// a: [n, n] row-major, symmetric (up to rounding: it is symmetrised as (A + A^T) / 2 first).
// Cyclic Jacobi rotations (see linalg.cpp). Throws std::invalid_argument naming the sizes when
// a.size() != n * n, when a is clearly not symmetric, or when it holds NaN or infinity.
SymmetricEigen symmetric_eigen(const std::vector<double>& a, int n);

// The PSD square root V diag(sqrt(max(lambda, 0))) V^T of a symmetric positive semi-definite
// matrix. Eigenvalues that rounding made slightly negative (down to -1e-9 of the largest |lambda|)
// count as 0; a clearly negative one throws std::invalid_argument: the matrix is not PSD.
std::vector<double> sqrtm_psd(const std::vector<double>& a, int n);

// C = A B for [n, n] row-major matrices (the few products the Frechet distance needs).
std::vector<double> matmul_square(const std::vector<double>& a, const std::vector<double>& b, int n);

}  // namespace hd
