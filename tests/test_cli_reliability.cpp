// The `hundun` binary against a careless or hostile user (issue 12): checkpoints whose metadata asks for
// impossible sizes, outputs that would overwrite inputs, training that diverges, folders that cannot be written.
// Each case must end in a clear one-line error and leave the user's files as they were.
//
// Like tests/test_cli.cpp this runs <build>/hundun (tests/cli_runner.h); the few runs that train use a couple
// of hundred Fashion-MNIST images.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_runner.h"
#include "tensor/safetensors.h"

namespace hd {

using test::has_fashion_mnist;
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

}  // namespace hd
