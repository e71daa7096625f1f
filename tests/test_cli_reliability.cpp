// The `hundun` binary against a careless or hostile user (issue 12): checkpoints whose metadata asks for
// impossible sizes, outputs that would overwrite inputs, training that diverges, folders that cannot be written.
// Each case must end in a clear one-line error and leave the user's files as they were.
//
// Like tests/test_cli.cpp this runs <build>/hundun (tests/cli_runner.h); the few runs that train use a couple
// of hundred Fashion-MNIST images.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <regex>
#include <thread>

#include "cli_runner.h"
#include "tensor/safetensors.h"

namespace hd {

using test::has_fashion_mnist;
using test::log_without_seconds;
using test::read_text;
using test::RunResult;
namespace fs = std::filesystem;

class Reliability : public test::HundunCommandTest {
 protected:
  std::string train(const std::string& name, const std::string& args) {
    return HundunCommandTest::train(name, args, "--train-size 128 --test-size 64 --batch 64");
  }
  // A copy of `ckpt` named `name` with one metadata entry changed.
  std::string with_metadata(const std::string& ckpt, const std::string& name, const std::string& key,
                            const std::string& value) {
    TensorFile file = load_safetensors(ckpt);
    file.metadata[key] = value;
    save_safetensors(path(name), file);
    return path(name);
  }
};

// Issue 12.1 and 12.5: a size of 2^62 once overflowed the shape arithmetic into a 0-byte allocation and a
// SIGSEGV; 500000 drove memory to 3 GB before the shape error. Now every command refuses the file at once.
TEST_F(Reliability, ImpossibleSizesInMetadataAreRefusedBeforeAnythingIsBuilt) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string vae = train("vae", "train vae --epochs 1");
  const std::string judge = train("judge", "train classifier --model mlp --epochs 1");
  const std::string huge = "4611686018427387904";  // 2^62
  struct Bad {
    std::string file, expected;
  };
  const std::vector<Bad> bad = {
      {with_metadata(vae, "hidden.safetensors", "hidden", huge), "metadata 'hidden' should be an integer in [1, 16384]"},
      {with_metadata(vae, "latent.safetensors", "latent_dim", huge), "metadata 'latent_dim' should be an integer in"},
      {with_metadata(vae, "big.safetensors", "hidden", "500000"), "metadata 'hidden' should be an integer in"},
      {with_metadata(vae, "shape.safetensors", "image_shape", "1,1024,1024"), "metadata implies 'model.fc1.weight'"},
      {with_metadata(vae, "lies.safetensors", "hidden", "1000"),
       "its metadata implies 'model.fc1.weight' of shape [1000, 784], the file holds [400, 784]"},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.file);
    for (const std::string& command : std::vector<std::string>
         {"sample vae --out " + path("s.png") + " --ckpt ", "export --out " + path("e.safetensors") + " --ckpt ",
          std::string("eval vae --ckpt "), "reconstruct vae --out " + path("r.png") + " --ckpt ",
          "interpolate vae --out " + path("i.png") + " --ckpt ", "train vae --epochs 2 --out " + path("t") + " --resume "})
      expect_one_line_error(command + b.file, 1, b.expected);
  }
  expect_one_line_error("eval vae --ckpt " + vae + " --classifier " +
                            with_metadata(judge, "judge_hidden.safetensors", "hidden", huge),
                        1, "metadata 'hidden' should be an integer in");
  for (const char* made : {"s.png", "e.safetensors", "r.png", "i.png", "t"}) EXPECT_FALSE(fs::exists(path(made))) << made;
}

// Issue 12.2: an output that is one of the inputs — the same name, another spelling, or a link — is refused,
// and the input keeps every byte.
TEST_F(Reliability, OutputsThatAreInputsAreRefused) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string ckpt = train("vae", "train vae --epochs 1");
  const std::string before = read_text(ckpt);
  fs::create_symlink(ckpt, path("link.safetensors"));
  const std::string respelled = path("vae/../vae/./checkpoint.safetensors");
  for (const std::string& out : {ckpt, respelled, path("link.safetensors")}) {
    SCOPED_TRACE(out);
    expect_one_line_error("sample vae --ckpt " + ckpt + " --out " + out, 2, "is the same file as --ckpt");
    expect_one_line_error("sample vae --ckpt " + ckpt + " --out " + path("s.png") + " --tensor " + out, 2,
                          "--tensor " + out + " is the same file as --ckpt");
    expect_one_line_error("reconstruct vae --ckpt " + ckpt + " --out " + out, 2, "is the same file as --ckpt");
    expect_one_line_error("interpolate vae --ckpt " + ckpt + " --out " + out, 2, "is the same file as --ckpt");
    expect_one_line_error("export --ckpt " + ckpt + " --out " + out, 2, "is the same file as --ckpt");
  }
  expect_one_line_error("sample vae --ckpt " + ckpt + " --out " + path("s.png") + " --tensor " + path("s.png"), 2,
                        "--out and --tensor are the same file");
  EXPECT_EQ(read_text(ckpt), before);
  EXPECT_FALSE(fs::exists(path("s.png")));
}

// Issue 12.3: a learning rate that blows the VAE up used to write NaN weights and exit 0. Now the run stops
// with a non-zero status, saying where, and writes nothing (tests/test_train_loop.cpp checks that a run
// diverging in a later epoch keeps what the earlier ones saved).
TEST_F(Reliability, DivergingTrainingStopsWithAnErrorAndWritesNothing) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  for (const char* lr : {"1", "5"}) {
    SCOPED_TRACE(lr);
    RunResult r = run(std::string("train vae --lr ") + lr + " --epochs 3 --train-size 256 --batch 64 --out " +
                      path("nan"));
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.err.find("training diverged at step") != std::string::npos ||
                r.err.find("the test loss after epoch 1 is") != std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(path("nan"))) << "a failed run left its folder behind";
  }
}

// Issue 12.7: small test sets work (the pictures take what the set has); an --out that cannot be written is
// noticed before any training; a failed --resume leaves no folder.
TEST_F(Reliability, SmallTestSetsUnwritableFoldersAndFailedResumes) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  for (const char* n : {"10", "29"}) {
    RunResult r = run(std::string("train ae --epochs 1 --train-size 64 --test-size ") + n + " --out " + path(n));
    EXPECT_EQ(r.code, 0) << r.err;
  }
  std::ofstream(path("a_file")) << "x";
  expect_one_line_error("train vae --epochs 1 --train-size 64 --out " + path("a_file"), 2, "not a folder");
  expect_one_line_error("train vae --epochs 1 --train-size 64 --out /proc/hundun-cannot-be-here", 2,
                        "cannot create the folder");
  for (const char* family : {"classifier", "vae", "ae"}) {
    SCOPED_TRACE(family);
    expect_one_line_error(std::string("train ") + family + " --resume " + path("none.safetensors") + " --out " +
                              path("resumed"),
                          1, "none.safetensors");
    EXPECT_FALSE(fs::exists(path("resumed")));
  }
}

// Starts `hundun <args>` and kills it with SIGKILL once `when()` says so (polled every 0.2 ms) or the run ends.
// Returns true when the kill happened while the run was still going.
template <class When>
static bool kill_when(const fs::path& binary, const std::string& args, const std::string& log, When when) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string command = "exec " + binary.string() + " " + args + " >" + log + " 2>&1";
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return false;  // it finished first
    if (when()) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return WIFSIGNALED(status);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return true;
}

static bool has_temporary_file(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

// Issue 12.6: one NaN weight used to give "accuracy 8.00%, loss -nan" with status 0, black samples, and an
// export that shipped it. Loading refuses it, naming the file and the entry.
TEST_F(Reliability, NonFiniteWeightsAreRefusedNamingFileAndTensor) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string vae = train("vae", "train vae --epochs 1");
  const std::string judge = train("judge", "train classifier --model mlp --epochs 1");
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    TensorFile file = load_safetensors(vae);
    file.tensors.at("model.fc3.weight").data()[7] = bad;
    save_safetensors(path("bad.safetensors"), file);
    TensorFile j = load_safetensors(judge);
    j.tensors.at("model.fc2.bias").data()[3] = bad;
    save_safetensors(path("bad_judge.safetensors"), j);
    for (const std::string& command : std::vector<std::string>{
             "sample vae --out " + path("s.png") + " --ckpt ", "export --out " + path("e.safetensors") + " --ckpt ",
             "eval vae --ckpt ", "train vae --epochs 2 --out " + path("t") + " --resume "})
      expect_one_line_error(command + path("bad.safetensors"), 1, "bad.safetensors: entry 'model.fc3.weight' holds");
    expect_one_line_error("eval classifier --ckpt " + path("bad_judge.safetensors"), 1,
                          "bad_judge.safetensors: entry 'model.fc2.bias' holds");
    expect_one_line_error("eval vae --ckpt " + vae + " --classifier " + path("bad_judge.safetensors"), 1,
                          "entry 'model.fc2.bias' holds");
  }
  EXPECT_FALSE(fs::exists(path("s.png")));
  EXPECT_FALSE(fs::exists(path("e.safetensors")));
}

// Issue 12.4: a FIFO given as a checkpoint used to block forever in open(). Loaders take regular files only.
TEST_F(Reliability, AFifoIsRefusedNotWaitedOn) {
  ASSERT_EQ(mkfifo(path("fifo").c_str(), 0600), 0);
  expect_one_line_error("sample vae --out " + path("s.png") + " --ckpt " + path("fifo"), 1, "not a regular file");
  expect_one_line_error("export --out " + path("e.safetensors") + " --ckpt " + path("fifo"), 1, "not a regular file");
  expect_one_line_error("eval ae --ckpt " + path("fifo"), 1, "not a regular file");
  const std::string shipped_ae = (binary_.parent_path().parent_path() / "weights/ae.safetensors").string();
  expect_one_line_error("eval ae --ckpt " + shipped_ae + " --classifier " + path("fifo"), 1, "not a regular file");
  expect_one_line_error("train vae --resume " + path("fifo") + " --out " + path("t"), 1, "not a regular file");
}

// kill -9 a run at several points — early in an epoch, and inside a checkpoint write (the moment its temporary
// file exists) — then: the checkpoint left behind is whole and loads, and resuming from it ends bit-identical
// to a run that was never interrupted (the log's numbers and every weight and optimizer moment).
TEST_F(Reliability, KilledRunsKeepTheirCheckpointAndResumeExactly) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string settings = " --epochs 4 --seed 2 --train-size 1024 --test-size 128 --batch 64";
  RunResult r = run("train vae" + settings + " --out " + path("a"));
  ASSERT_EQ(r.code, 0) << r.err;

  const fs::path b = path("b"), ckpt = b / "checkpoint.safetensors";
  auto command = [&] {
    return "train vae" + settings + " --out " + b.string() +
           (fs::exists(ckpt) ? " --resume " + ckpt.string() : std::string());
  };
  int inside_write = 0, killed = 0;
  for (int attempt = 0; attempt < 8 && (inside_write < 2 || killed < 4); ++attempt) {
    const bool in_write = attempt % 2 == 0;
    const auto start = std::chrono::steady_clock::now();
    const bool was_killed = kill_when(binary_, command(), path("killed.txt"), [&] {
      if (in_write) return fs::exists(b) && has_temporary_file(b);
      return std::chrono::steady_clock::now() - start > std::chrono::milliseconds(60 + 40 * attempt);
    });
    if (!was_killed) break;  // the run got to its end
    ++killed;
    inside_write += in_write;
    if (fs::exists(ckpt)) {
      SCOPED_TRACE("after kill " + std::to_string(killed));
      EXPECT_NO_THROW(load_safetensors(ckpt.string()));  // whole: the write was atomic
    }
  }
  EXPECT_GE(inside_write, 1) << "no kill landed inside a checkpoint write";
  r = run(command());
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_FALSE(has_temporary_file(b)) << "a killed write's temporary file was left behind";

  EXPECT_EQ(log_without_seconds(path("b/log.jsonl")), log_without_seconds(path("a/log.jsonl")));
  const TensorFile fa = load_safetensors(path("a/checkpoint.safetensors")), fb = load_safetensors(ckpt.string());
  ASSERT_EQ(fa.tensors.size(), fb.tensors.size());
  for (const auto& [name, t] : fa.tensors) {
    ASSERT_TRUE(fb.tensors.count(name)) << name;
    EXPECT_EQ(t.tolist(), fb.tensors.at(name).tolist()) << name;
  }
}

}  // namespace hd
