// flags.h — the few command-line flags the training benchmarks share, read strictly: an unknown flag, a
// missing value or a value that is not a whole number in range prints the usage line and exits with 2, so
// a typo never runs a silently different benchmark.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace bench {

[[noreturn]] inline void usage_exit(const char* usage, const std::string& problem) {
  fmt::print(stderr, "{}\nusage: {}\n", problem, usage);
  std::exit(2);
}

// The value after flag argv[i] as an integer in [lo, hi]; advances i past it.
inline int64_t int_flag(int& i, int argc, char** argv, int64_t lo, int64_t hi, const char* usage) {
  const std::string flag = argv[i];
  if (i + 1 >= argc) usage_exit(usage, flag + " needs a value");
  const char* text = argv[++i];
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || value < lo || value > hi)
    usage_exit(usage, fmt::format("{} expects a whole number in [{}, {}], got '{}'", flag, lo, hi, text));
  return value;
}

}  // namespace bench
