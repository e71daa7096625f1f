// lesson.h — what every lesson program shares: its command-line flags and a few printing helpers.
//
//   --full      the longer run, for the quality a student would want to show
//   --smoke     a few seconds with tiny settings (make test runs every lesson this way)
//   --seed N    a different, repeatable run (default 0)
//   --out DIR   where pictures go (default out/<lesson>)
//   --pretrained / --train   lessons with a trained model: load the project's shipped weights (weights/),
//                            or train a short run here (by default each lesson picks; see its README)
//   a lesson's own flags        e.g. lesson 03's --components K: declared by the lesson as a LessonFlag, the value
//                               kept as text in Options::values and read with Options::number
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace hd::lesson {

struct Options {
  bool full = false;
  bool smoke = false;
  uint64_t seed = 0;
  std::string out;
  bool pretrained = false;  // --pretrained
  bool train = false;       // --train
  std::map<std::string, std::string> values;  // the lesson's own flags that were given, e.g. {"--beta", "0"}

  // The number given with a lesson's own flag, or `fallback` when the flag was not given.
  double number(const std::string& flag, double fallback) const {
    auto it = values.find(flag);
    if (it == values.end()) return fallback;
    char* end = nullptr;
    double v = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || *end) throw std::invalid_argument(flag + " expects a number, got '" + it->second + "'");
    return v;
  }
};

// A flag that only one lesson takes, with a value: {"--components", "K", "Gaussians per mixture (default 3)"}.
struct LessonFlag {
  std::string name, value, help;
};

inline Options parse_options(int argc, char** argv, const std::string& name, const std::string& what,
                             const std::vector<LessonFlag>& lesson_flags = {}) {
  Options o;
  o.out = "out/" + name;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--full") {
      o.full = true;
    } else if (a == "--smoke") {
      o.smoke = true;
    } else if (a == "--seed") {
      std::string v = value();
      char* end = nullptr;
      o.seed = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end) throw std::invalid_argument("--seed expects a non-negative integer, got '" + v + "'");
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--pretrained") {
      o.pretrained = true;
    } else if (a == "--train") {
      o.train = true;
    } else if (a == "--help" || a == "-h") {
      fmt::print("{}: {}\nflags: --full (longer run)  --smoke (seconds, tiny)  --seed N  --out DIR (default out/{})\n"
                 "       --pretrained (load the shipped weights/)  --train (train here)  [lessons with trained models]\n",
                 name, what, name);
      for (const LessonFlag& f : lesson_flags) fmt::print("       {} {}  {}\n", f.name, f.value, f.help);
      std::exit(0);
    } else if (std::any_of(lesson_flags.begin(), lesson_flags.end(), [&](const LessonFlag& f) { return f.name == a; })) {
      o.values[a] = value();
    } else {
      throw std::invalid_argument("unknown flag '" + a + "' (try --help)");
    }
  }
  if (o.pretrained && o.train) throw std::invalid_argument("--pretrained and --train exclude each other: pick one");
  std::filesystem::create_directories(o.out);
  return o;
}

// A section title, like a notebook heading.
inline void section(const std::string& title) { fmt::print("\n== {} ==\n", title); }

// Says where a picture was written.
inline void wrote(const std::string& path, const std::string& what) { fmt::print("  wrote {}  ({})\n", path, what); }

}  // namespace hd::lesson
