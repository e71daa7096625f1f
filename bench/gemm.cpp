// SGEMM benchmark: hundun's sgemm against the machine's FMA peak and against OpenBLAS.
//
// Prints JSON lines:
//   {"bench":"fma_peak", ...}      register-only FMA loop on all cores: the ceiling for any GEMM
//   {"bench":"gemm","impl":"hundun", ...} and the same with "impl":"openblas", for square sizes and for
//   the three products of a batch-128 MLP layer (784 -> 400): forward, and the two backward products.
// OpenBLAS is loaded with dlopen, so nothing in hundun links it; if it is absent its lines are skipped.
// bench/torch/gemm.py prints the same lines for torch.matmul.
//
// Each timing is the median of several repetitions after a warm-up. max_rel_err compares sampled entries
// of C with a double-precision dot product: |c - exact| / sum_k |a_ik * b_kj|, i.e. the error relative
// to the size of the terms being summed (plain |c - exact| / |exact| explodes when terms cancel).
#include "tensor/gemm.h"

#include <dlfcn.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

// ---------------------------------------------------------------------------------------------------
// FMA peak: each thread runs kChains independent chains of  acc = acc * x + y.  One FMA has a latency
// of 4 cycles and two (256-bit) or one (512-bit on Zen 4) can start per cycle, so 16 chains keep the
// FMA pipes full. The loop touches no memory, so this is the arithmetic ceiling of the core.
constexpr int kChains = 16;
constexpr int64_t kPeakIters = 20'000'000;

__attribute__((target("avx512f"))) float fma_loop_avx512(int64_t iters) {
    __m512 acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(0.001f * i);
    const __m512 x = _mm512_set1_ps(0.9999f), y = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
        for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    }
    alignas(64) float lanes[16];
    __m512 sum = acc[0];
    for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
    _mm512_store_ps(lanes, sum);
    return lanes[0] + lanes[15];
}

__attribute__((target("avx2,fma"))) float fma_loop_avx2(int64_t iters) {
    __m256 acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(0.001f * i);
    const __m256 x = _mm256_set1_ps(0.9999f), y = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
        for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
    }
    alignas(32) float lanes[8];
    __m256 sum = acc[0];
    for (int i = 1; i < kChains; ++i) sum = _mm256_add_ps(sum, acc[i]);
    _mm256_store_ps(lanes, sum);
    return lanes[0] + lanes[7];
}

volatile float g_sink;  // keeps the FMA results alive

void print_fma_peak() {
    __builtin_cpu_init();
    bool avx512 = __builtin_cpu_supports("avx512f");
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!avx512 && !avx2) {
        std::printf("{\"bench\":\"fma_peak\",\"isa\":\"none\",\"note\":\"no AVX2/AVX-512: not measured\"}\n");
        return;
    }
    int lanes = avx512 ? 16 : 8;
    int threads = omp_get_max_threads();
    double best = 0.0;
    for (int rep = 0; rep < 3; ++rep) {  // best of 3: the peak is a ceiling, not a typical value
        auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
        {
            float r = avx512 ? fma_loop_avx512(kPeakIters) : fma_loop_avx2(kPeakIters);
#pragma omp critical
            g_sink = g_sink + r;
        }
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, 2.0 * kPeakIters * kChains * lanes * threads / s / 1e9);
    }
    std::printf("{\"bench\":\"fma_peak\",\"isa\":\"%s\",\"threads\":%d,\"gflops\":%.1f}\n",
                avx512 ? "avx512" : "avx2", threads, best);
}

// ---------------------------------------------------------------------------------------------------
// OpenBLAS through dlopen: cblas_sgemm(order, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta,
// C, ldc) with CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112.
using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int,
                            float, float*, int);

struct OpenBlas {
    CblasSgemm sgemm = nullptr;
    std::string kernel = "cblas_sgemm";  // plus the core OpenBLAS picked, e.g. "Cooperlake"
};

OpenBlas load_openblas() {
    OpenBlas blas;
    void* lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        std::printf("{\"bench\":\"gemm\",\"impl\":\"openblas\","
                    "\"note\":\"libopenblas.so.0 not found, skipped\"}\n");
        return blas;
    }
    blas.sgemm = reinterpret_cast<CblasSgemm>(dlsym(lib, "cblas_sgemm"));
    auto set_threads = reinterpret_cast<void (*)(int)>(dlsym(lib, "openblas_set_num_threads"));
    if (set_threads) set_threads(omp_get_max_threads());
    auto corename = reinterpret_cast<const char* (*)()>(dlsym(lib, "openblas_get_corename"));
    if (corename) blas.kernel += std::string(" ") + corename();
    return blas;
}

// ---------------------------------------------------------------------------------------------------
struct Shape {
    int64_t m, n, k;
    bool trans_a, trans_b;
};

struct Problem {
    Shape s;
    int64_t lda, ldb, ldc;
    std::vector<float> A, B, C;

    explicit Problem(Shape shape) : s(shape) {
        // Stored A is [M, K] or [K, M]; stored B is [K, N] or [N, K].
        lda = s.trans_a ? s.m : s.k;
        ldb = s.trans_b ? s.k : s.n;
        ldc = s.n;
        std::mt19937 rng(42);
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        A.resize(s.m * s.k);
        B.resize(s.k * s.n);
        C.assign(s.m * s.n, 0.0f);
        for (float& x : A) x = uniform(rng);
        for (float& x : B) x = uniform(rng);
    }
    float a(int64_t i, int64_t p) const { return s.trans_a ? A[p * lda + i] : A[i * lda + p]; }
    float b(int64_t p, int64_t j) const { return s.trans_b ? B[j * ldb + p] : B[p * ldb + j]; }

    // Error of C = A @ B on 512 sampled entries (always including the four corners).
    double max_rel_err() const {
        std::mt19937 rng(7);
        double worst = 0.0;
        for (int t = 0; t < 512; ++t) {
            int64_t i = t < 4 ? (t & 1) * (s.m - 1) : int64_t(rng() % s.m);
            int64_t j = t < 4 ? (t >> 1) * (s.n - 1) : int64_t(rng() % s.n);
            double exact = 0.0, scale = 0.0;
            for (int64_t p = 0; p < s.k; ++p) {
                double term = double(a(i, p)) * double(b(p, j));
                exact += term;
                scale += std::fabs(term);
            }
            worst = std::max(worst, std::fabs(C[i * ldc + j] - exact) / std::max(scale, 1e-30));
        }
        return worst;
    }
};

// Median wall time in milliseconds of run(), after one warm-up call; repeats until ~0.5 s or 21 runs.
double median_ms(const std::function<void()>& run) {
    run();
    std::vector<double> times;
    double total = 0.0;
    while (times.size() < 5 || (total < 500.0 && times.size() < 21)) {
        auto t0 = std::chrono::steady_clock::now();
        run();
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        times.push_back(ms);
        total += ms;
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

void print_result(const char* impl, const char* kernel, const Problem& p, double ms) {
    double gflops = 2.0 * p.s.m * p.s.n * p.s.k / (ms * 1e6);
    std::printf("{\"bench\":\"gemm\",\"impl\":\"%s\",\"kernel\":\"%s\",\"m\":%ld,\"n\":%ld,\"k\":%ld,"
                "\"trans_a\":%s,\"trans_b\":%s,\"threads\":%d,\"gflops\":%.1f,\"ms\":%.4f,"
                "\"max_rel_err\":%.2e}\n",
                impl, kernel, long(p.s.m), long(p.s.n), long(p.s.k), p.s.trans_a ? "true" : "false",
                p.s.trans_b ? "true" : "false", omp_get_max_threads(), gflops, ms, p.max_rel_err());
    std::fflush(stdout);
}

}  // namespace

int main() {
    print_fma_peak();
    const Shape shapes[] = {
        {256, 256, 256, false, false},
        {512, 512, 512, false, false},
        {1024, 1024, 1024, false, false},
        {2048, 2048, 2048, false, false},
        {128, 400, 784, false, true},   // MLP forward:   Y = X @ W^T,   X [128, 784], W [400, 784]
        {128, 784, 400, false, false},  // MLP backward:  dX = dY @ W,   dY [128, 400]
        {400, 784, 128, true, false},   // MLP backward:  dW = dY^T @ X
    };
    for (const Shape& s : shapes) {
        Problem p(s);
        double ms = median_ms([&] {
            hd::sgemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, p.A.data(), p.lda, p.B.data(), p.ldb,
                      0.0f, p.C.data(), p.ldc);
        });
        print_result("hundun", hd::sgemm_kernel_name(), p, ms);
    }

    // OpenBLAS runs last and only after loading it here: its idle threads keep spinning for a while
    // after each call and would steal the cores from hundun's OpenMP threads.
    OpenBlas openblas = load_openblas();
    if (!openblas.sgemm) return 0;
    for (const Shape& s : shapes) {
        Problem p(s);
        double ms = median_ms([&] {
            openblas.sgemm(101, s.trans_a ? 112 : 111, s.trans_b ? 112 : 111, int(s.m), int(s.n), int(s.k),
                           1.0f, p.A.data(), int(p.lda), p.B.data(), int(p.ldb), 0.0f, p.C.data(),
                           int(p.ldc));
        });
        print_result("openblas", openblas.kernel.c_str(), p, ms);
    }
    return 0;
}
