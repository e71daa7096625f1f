// Single-precision matrix multiply (SGEMM): the one kernel that Linear, Conv2d (through im2col) and
// attention spend almost all their time in. See gemm.cpp for how it is made fast.
#pragma once

#include <cstdint>

namespace hd {

// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, all row-major float32.
// op(A) = A (stored [M,K], row stride lda) or A^T (A stored [K,M], row stride lda); same for B.
// beta == 0 overwrites C without reading it (C may hold garbage); alpha == 0 or K == 0 gives C = beta * C
// without reading A or B. Throws std::invalid_argument for negative sizes or too-small leading dimensions.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The plain triple loop (double accumulation) that the tests compare sgemm against.
void sgemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                     int64_t ldc);

// Which micro-kernel sgemm uses on this CPU: "avx512", "avx2" or "generic".
const char* sgemm_kernel_name();

}  // namespace hd
