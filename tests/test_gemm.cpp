// sgemm against the plain triple loop sgemm_reference, on sizes that are not multiples of any register
// tile, all four transpose combinations, padded leading dimensions and the alpha/beta special cases.
#include "tensor/gemm.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct GemmCase {
    bool trans_a = false, trans_b = false;
    int64_t M = 1, N = 1, K = 1;
    float alpha = 1.0f, beta = 0.0f;
    int64_t pad = 0;  // extra columns in every leading dimension
};

std::vector<float> random_vector(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = uniform(rng);
    return v;
}

// Runs sgemm and sgemm_reference on the same random inputs and checks every element of C.
// Inputs are in [-1, 1], so each dot product is a sum of K terms of size <= 1 and float32 rounding
// error grows at most like K * eps in the worst case (about sqrt(K) * eps typically); the tolerance
// 4 * (K + 1) * eps * (|alpha| + |beta|) is that worst-case bound with some slack.
void expect_matches_reference(const GemmCase& c) {
    SCOPED_TRACE("M=" + std::to_string(c.M) + " N=" + std::to_string(c.N) + " K=" + std::to_string(c.K) +
                 " trans_a=" + std::to_string(c.trans_a) + " trans_b=" + std::to_string(c.trans_b) +
                 " alpha=" + std::to_string(c.alpha) + " beta=" + std::to_string(c.beta) +
                 " pad=" + std::to_string(c.pad));
    // Stored shapes: A is [M, K] or [K, M]; B is [K, N] or [N, K]; C is [M, N].
    int64_t a_rows = c.trans_a ? c.K : c.M, a_cols = c.trans_a ? c.M : c.K;
    int64_t b_rows = c.trans_b ? c.N : c.K, b_cols = c.trans_b ? c.K : c.N;
    int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.N + c.pad;
    std::vector<float> A = random_vector(a_rows * lda + 1, 1);
    std::vector<float> B = random_vector(b_rows * ldb + 1, 2);
    std::vector<float> C = random_vector(c.M * ldc + 1, 3);
    if (c.beta == 0.0f)  // beta == 0 must not read C
        for (float& x : C) x = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> expected = C;

    hd::sgemm(c.trans_a, c.trans_b, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta,
              C.data(), ldc);
    hd::sgemm_reference(c.trans_a, c.trans_b, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb,
                        c.beta, expected.data(), ldc);

    const float tol = 4.0f * float(c.K + 1) * std::numeric_limits<float>::epsilon() *
                      (std::fabs(c.alpha) + std::fabs(c.beta));
    int64_t bad = 0;
    for (int64_t i = 0; i < c.M; ++i)
        for (int64_t j = 0; j < ldc; ++j) {
            float got = C[i * ldc + j], want = expected[i * ldc + j];
            if (j >= c.N) {  // the padding columns of C must be untouched
                if (!(std::isnan(got) && std::isnan(want)) && got != want) ++bad;
                continue;
            }
            if (!(std::fabs(got - want) <= tol) && bad++ < 5)
                ADD_FAILURE() << "C[" << i << ", " << j << "] = " << got << ", expected " << want;
        }
    EXPECT_EQ(bad, 0);
}

TEST(Gemm, KernelNameIsKnown) {
    std::string name = hd::sgemm_kernel_name();
    EXPECT_TRUE(name == "avx512" || name == "avx2" || name == "generic") << name;
#ifdef HUNDUN_GEMM_GENERIC
    EXPECT_EQ(name, "generic");
#endif
}

TEST(Gemm, CubesOfAwkwardSizesAllTransposes) {
    for (int64_t n : {1, 7, 33, 129})
        for (bool ta : {false, true})
            for (bool tb : {false, true}) expect_matches_reference({ta, tb, n, n, n});
}

TEST(Gemm, RectangularShapesAllTransposes) {
    const int64_t shapes[][3] = {{200, 300, 70}, {3, 50, 17}, {50, 3, 300}, {1, 129, 33}, {65, 1, 9}};
    for (const auto& s : shapes)
        for (bool ta : {false, true})
            for (bool tb : {false, true}) expect_matches_reference({ta, tb, s[0], s[1], s[2]});
}

TEST(Gemm, DeeperThanOneCacheBlockOfK) {
    // K > 256 crosses the kc block, so the later passes accumulate into C with beta = 1.
    expect_matches_reference({false, true, 45, 70, 600, 1.0f, 0.5f});
    expect_matches_reference({true, false, 150, 40, 520, 0.5f, 0.0f});
}

TEST(Gemm, LargeEnoughToUseThreads) {
    expect_matches_reference({false, false, 150, 170, 90});
    expect_matches_reference({true, true, 31, 300, 100, 1.0f, 1.0f});
}

TEST(Gemm, TallEnoughForThreadsToShareB) {
    // Over 512 rows, two threads each sweep the B block more than once and pack it together.
    expect_matches_reference({false, false, 600, 70, 530, 1.0f, 0.5f});
    expect_matches_reference({true, true, 530, 33, 20});
}

TEST(Gemm, WiderThanOneCacheBlockOfN) {
    // N > 4096 crosses the nc block.
    expect_matches_reference({false, true, 3, 4200, 20, 1.0f, 1.0f});
}

TEST(Gemm, MoreThreadsThanTiles) {
    // Some threads get an empty rectangle of C but must still help pack B and meet the barriers.
    int saved = omp_get_max_threads();
    omp_set_num_threads(4);
    expect_matches_reference({false, false, 20, 20, 1500});
    expect_matches_reference({true, true, 200, 30, 700, 1.0f, 0.5f});
    expect_matches_reference({false, false, 1100, 20, 40});  // 4 threads sharing B
    omp_set_num_threads(3);
    expect_matches_reference({false, true, 200, 300, 70});
    omp_set_num_threads(saved);
}

TEST(Gemm, PaddedLeadingDimensions) {
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            expect_matches_reference({ta, tb, 37, 45, 29, 1.0f, 0.0f, 5});
            expect_matches_reference({ta, tb, 130, 70, 40, 0.5f, 1.0f, 19});
        }
}

TEST(Gemm, AlphaAndBeta) {
    for (float alpha : {0.0f, 1.0f, 0.5f, -2.0f})
        for (float beta : {0.0f, 1.0f, 0.5f})
            expect_matches_reference({false, true, 33, 47, 21, alpha, beta});
}

TEST(Gemm, BetaZeroOverwritesNaN) {
    // expect_matches_reference fills C with NaN whenever beta == 0.
    expect_matches_reference({false, false, 129, 129, 129, 1.0f, 0.0f});
    expect_matches_reference({true, true, 7, 200, 3, 0.5f, 0.0f, 3});
}

TEST(Gemm, EmptyInnerDimensionScalesC) {
    expect_matches_reference({false, false, 5, 6, 0, 1.0f, 0.5f});
    expect_matches_reference({true, true, 5, 6, 0, 1.0f, 0.0f});

    std::vector<float> C = {1.0f, 2.0f, 3.0f, 4.0f};
    hd::sgemm(false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 2.0f, C.data(), 2);
    EXPECT_EQ(C, (std::vector<float>{2.0f, 4.0f, 6.0f, 8.0f}));
}

TEST(Gemm, EmptyOutputIsANoOp) {
    float c = 7.0f;
    hd::sgemm(false, false, 0, 1, 5, 1.0f, nullptr, 5, nullptr, 1, 0.0f, &c, 1);
    hd::sgemm(false, false, 1, 0, 5, 1.0f, nullptr, 5, nullptr, 1, 0.0f, &c, 1);
    EXPECT_EQ(c, 7.0f);
}

TEST(Gemm, SmallKnownProduct) {
    // [[1, 2], [3, 4]] @ [[5, 6], [7, 8]] = [[19, 22], [43, 50]]
    std::vector<float> A = {1, 2, 3, 4}, B = {5, 6, 7, 8}, C(4);
    hd::sgemm(false, false, 2, 2, 2, 1.0f, A.data(), 2, B.data(), 2, 0.0f, C.data(), 2);
    EXPECT_EQ(C, (std::vector<float>{19, 22, 43, 50}));
    // A^T @ B = [[1, 3], [2, 4]] @ [[5, 6], [7, 8]] = [[26, 30], [38, 44]]
    hd::sgemm(true, false, 2, 2, 2, 1.0f, A.data(), 2, B.data(), 2, 0.0f, C.data(), 2);
    EXPECT_EQ(C, (std::vector<float>{26, 30, 38, 44}));
}

TEST(Gemm, RejectsBadArguments) {
    std::vector<float> buf(64);
    EXPECT_THROW(hd::sgemm(false, false, -1, 2, 2, 1.0f, buf.data(), 2, buf.data(), 2, 0.0f, buf.data(), 2),
                 std::invalid_argument);
    // A is [3, 4], so lda must be >= 4.
    EXPECT_THROW(hd::sgemm(false, false, 3, 2, 4, 1.0f, buf.data(), 3, buf.data(), 2, 0.0f, buf.data(), 2),
                 std::invalid_argument);
    // B^T: B is stored [2, 4], so ldb must be >= 4.
    EXPECT_THROW(hd::sgemm(false, true, 3, 2, 4, 1.0f, buf.data(), 4, buf.data(), 2, 0.0f, buf.data(), 2),
                 std::invalid_argument);
    EXPECT_THROW(hd::sgemm(false, false, 3, 2, 4, 1.0f, buf.data(), 4, buf.data(), 2, 0.0f, buf.data(), 1),
                 std::invalid_argument);
}

}  // namespace
