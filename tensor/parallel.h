// parallel.h — loops that use the OpenMP threads only when the work is big enough to pay for them.
//
// Why not `#pragma omp parallel for if (n > threshold)`? With g++'s libgomp a false `if` still
// builds a one-thread team, about 1 us per call (measured on this machine), and small tensors would
// pay that on every op. These helpers test the condition first and run a plain loop otherwise.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace hd {

// Threads available here: 1 inside an already parallel region (no nested teams).
inline int available_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

// body(i) for i in [0, n), split statically across the threads when `parallel` is true.
template <class Body>
void parallel_for(int64_t n, bool parallel, Body body) {
  if (!parallel || n < 2 || available_threads() == 1) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) body(i);
}

// body(begin, end) over contiguous pieces of [0, n): one call for n < min_parallel, otherwise a few
// pieces per thread, cut at multiples of 16 floats so that no two threads write the same cache line.
template <class Body>
void parallel_range(int64_t n, int64_t min_parallel, Body body) {
  const int threads = available_threads();
  if (n < min_parallel || threads == 1) {
    body(int64_t{0}, n);
    return;
  }
  const int64_t grain = std::max<int64_t>(1, min_parallel / 4);
  const int64_t pieces = std::clamp<int64_t>(n / grain, 1, threads * 4);
  const int64_t step = ((n + pieces - 1) / pieces + 15) / 16 * 16;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < pieces; ++p) body(std::min(n, p * step), std::min(n, (p + 1) * step));
}

}  // namespace hd
