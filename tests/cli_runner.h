// cli_runner.h — running the built `hundun` binary from a test (tests/test_cli.cpp,
// tests/test_cli_generative.cpp): its exit code, stdout and stderr, and a scratch folder for its files.
//
// A test binary runs as <build>/tests/<name>; the tool is <build>/hundun, next to that folder, which
// `make test` builds first. A missing binary fails the test instead of skipping it.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <regex>
#include <string>

#include "data/fashion_mnist.h"

namespace hd::test {

struct RunResult {
  int code;
  std::string out, err;
};

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A run's log.jsonl without its "seconds" fields: what a resumed run must repeat exactly (time may differ).
inline std::string log_without_seconds(const std::string& path) {
  return std::regex_replace(read_text(path), std::regex(",\"seconds\":[^}]*"), "");
}

// Two runs' logs agree line for line, and hold `epochs` lines.
inline void expect_same_log(const std::string& log_a, const std::string& log_b, int64_t epochs) {
  const std::string a = log_without_seconds(log_a), b = log_without_seconds(log_b);
  EXPECT_EQ(std::count(a.begin(), a.end(), '\n'), epochs) << a;
  EXPECT_EQ(a, b);
}

// The runs that train need the real data set (in its default folder).
inline bool has_fashion_mnist() {
  return std::filesystem::exists(default_fashion_mnist_dir() + "/train-images-idx3-ubyte.gz") ||
         std::filesystem::exists(default_fashion_mnist_dir() + "/train-images-idx3-ubyte");
}

// A fixture: run("train vae --epochs 1 ...") runs the binary with those words; every test has its own
// folder under /tmp (path("a.png") names a file in it), removed with everything in it at the end.
class HundunCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
    binary_ = self.parent_path().parent_path() / "hundun";
    if (!std::filesystem::exists(binary_)) GTEST_FAIL() << binary_ << " is not built (make test builds it)";
    dir_ = std::filesystem::temp_directory_path() /
           ("hundun_" + self.filename().string() + "_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  RunResult run(const std::string& args) {
    const std::string out = path("stdout"), err = path("stderr");
    int status = std::system((binary_.string() + " " + args + " >" + out + " 2>" + err).c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(out), read_text(err)};
  }

  // A usage or runtime error: the exit code and exactly one line on stderr containing message_part.
  void expect_one_line_error(const std::string& args, int code, const std::string& message_part) {
    SCOPED_TRACE("hundun " + args);
    RunResult r = run(args);
    EXPECT_EQ(r.code, code) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(message_part), std::string::npos) << r.err;
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A small training run ("train vae --epochs 1") into the folder path(name), on the first `sizes` images;
  // returns its checkpoint. The run must succeed.
  std::string train(const std::string& name, const std::string& args,
                    const std::string& sizes = "--train-size 256 --test-size 128 --batch 64") {
    const std::string out = path(name);
    RunResult r = run(args + " " + sizes + " --out " + out);
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    return out + "/checkpoint.safetensors";
  }

  std::filesystem::path binary_, dir_;
};

}  // namespace hd::test
