// timing.h — what the training benchmarks measure besides wall time: the CPU time of the whole process and its
// peak memory.
#pragma once

#include <sys/resource.h>

#include <ctime>

namespace bench {

// CPU time of the whole process (all threads). On a busy machine the wall time of an epoch includes the
// time other programs held the cores; with one thread the CPU time is what the epoch costs on a quiet one.
inline double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The largest resident set the process has had so far, in MB (getrusage's ru_maxrss is in KB on Linux).
inline double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace bench
