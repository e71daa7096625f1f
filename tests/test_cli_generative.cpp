// The `hundun` commands for the autoencoder and the VAE (cli/train_generative.cpp, sample.cpp,
// reconstruct.cpp, interpolate.cpp, eval_generative.cpp, export.cpp), run as the built binary: exit codes,
// one-line messages, the files they write, and an exact --resume.
//
// Like tests/test_cli.cpp, this runs <build>/hundun next to this test's own folder (tests/cli_runner.h);
// the runs that train need Fashion-MNIST and use a few hundred images, so they take seconds.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "cli_runner.h"
#include "data/image.h"
#include "tensor/safetensors.h"

namespace hd {

using test::has_fashion_mnist;
using test::read_text;
using test::expect_same_log;
using test::RunResult;

class GenerativeCommands : public test::HundunCommandTest {};  // tests/cli_runner.h: run, train, path

TEST_F(GenerativeCommands, HelpListsEveryCommandAndItsFlags) {
  RunResult r = run("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* name : {"train ae", "train vae", "sample ae", "sample vae", "reconstruct vae", "interpolate ae",
                           "eval ae", "eval vae", "export"})
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
  r = run("train ae --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--arch NAME"), std::string::npos);
  r = run("train vae --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.find("--arch"), std::string::npos);  // the VAE is an MLP only
  EXPECT_NE(r.out.find("--latent D"), std::string::npos);
  r = run("sample vae --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--tensor FILE"), std::string::npos);
  EXPECT_EQ(run("eval ae --help").code, 0);
  EXPECT_EQ(run("export --help").code, 0);
}

TEST_F(GenerativeCommands, UsageMistakesExitTwoWithOneLine) {
  const std::vector<std::pair<std::string, std::string>> mistakes = {  // command, what its one line says
      {"train vae --arch conv", "unknown flag '--arch'"},
      {"train ae --arch resnet", "--arch expects one of mlp, conv, got 'resnet'"},
      {"train vae --latent 0", "--latent expects an integer from 1 to"},
      {"train vae --lr -1", "--lr expects a number greater than 0"},
      {"sample vae --out x.png", "--ckpt FILE is required"},
      {"sample vae --ckpt x.safetensors", "--out PNG is required"},
      {"sample vae --ckpt x.safetensors --out x.png -n 0", "-n expects an integer from 1 to"},
      {"reconstruct ae --ckpt x.safetensors --out x.png -n 501", "-n expects an integer from 1 to 500"},
      {"interpolate vae --ckpt x.safetensors --out x.png --steps 1", "--steps expects"},
      {"eval vae --ckpt x.safetensors -n 1", "needs at least 2 images"},
      {"export --ckpt x.safetensors", "--out FILE is required"},
      {"sample flow --ckpt x.safetensors", "unknown command 'sample flow'"},
  };
  for (const auto& [command, message] : mistakes) expect_one_line_error(command, 2, message);
}

TEST_F(GenerativeCommands, MissingOrDamagedCheckpointsExitOne) {
  expect_one_line_error("sample vae --ckpt /nonexistent/v.safetensors --out " + path("s.png"), 1,
                        "/nonexistent/v.safetensors: cannot open");
  expect_one_line_error("eval ae --ckpt /nonexistent/a.safetensors", 1, "cannot open");
  expect_one_line_error("train vae --resume /nonexistent/v.safetensors", 1, "cannot open");
  std::ofstream(dir_ / "junk.safetensors") << "not a checkpoint";
  expect_one_line_error("reconstruct vae --out " + path("r.png") + " --ckpt " + path("junk.safetensors"), 1,
                        "junk.safetensors");
  expect_one_line_error("export --out " + path("e.safetensors") + " --ckpt " + path("junk.safetensors"), 1,
                        "junk.safetensors");
}

// Two epochs straight, or one and then --resume for the second: the same log (seconds aside).
TEST_F(GenerativeCommands, VaeResumeContinuesExactly) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string a = train("a", "train vae --epochs 2 --seed 3");
  const std::string b = train("b", "train vae --epochs 1 --seed 3");
  RunResult r = run("train vae --epochs 2 --out " + path("b") + " --resume " + b);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_same_log(path("a/log.jsonl"), path("b/log.jsonl"), 2);
  for (const char* file : {"loss.svg", "recon_epoch01.png", "recon_epoch02.png", "samples_epoch02.png"})
    EXPECT_TRUE(std::filesystem::exists(path("b/") + file)) << file;

  expect_one_line_error("train vae --epochs 3 --latent 5 --out " + path("b") + " --resume " + b, 2,
                        "--latent 5 contradicts the checkpoint's 20");
}

TEST_F(GenerativeCommands, ACheckpointOfAnotherModelIsRefused) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string vae = train("vae", "train vae --epochs 1");
  const std::string ae = train("ae", "train ae --epochs 1 --latent 2");
  expect_one_line_error("sample ae --out " + path("s.png") + " --ckpt " + vae, 2,
                        "holds a VAE, not an autoencoder: use 'hundun sample vae'");
  expect_one_line_error("eval vae --ckpt " + ae, 2, "holds an autoencoder, not a VAE: use 'hundun eval ae'");
  expect_one_line_error("train ae --epochs 2 --resume " + vae, 2, "use 'hundun train vae'");
  expect_one_line_error("eval ae --ckpt " + ae + " --classifier " + vae, 2, "not a classifier");
  expect_one_line_error("eval ae --ckpt " + ae + " --classifier /nonexistent/c.safetensors", 1,
                        "no such classifier checkpoint");
}

TEST_F(GenerativeCommands, SampleReconstructInterpolateWriteTheirFiles) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string ckpt = train("vae", "train vae --epochs 1");
  RunResult r = run("sample vae -n 10 --ckpt " + ckpt + " --out " + path("s.png") + " --tensor " + path("s.safetensors"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote " + path("s.png")), std::string::npos) << r.out;
  const TensorFile samples = load_safetensors(path("s.safetensors"));
  ASSERT_EQ(samples.tensors.count("samples"), 1u);
  const Tensor& x = samples.tensors.at("samples");
  EXPECT_EQ(x.shape(), (Shape{10, 1, 28, 28}));
  for (float v : x.tolist()) ASSERT_TRUE(v >= 0.f && v <= 1.f) << v;
  // ceil(sqrt(10)) = 4 per row, 3 rows, and a caption line below (wider than the grid)
  const Tensor sheet = load_png(path("s.png"));
  EXPECT_GT(sheet.size(1), 3 * 30 + 2 + 10);
  EXPECT_GE(sheet.size(2), 4 * 30 + 2);

  r = run("reconstruct vae -n 10 --ckpt " + ckpt + " --out " + path("r.png"));
  ASSERT_EQ(r.code, 0) << r.err;
  // Rows of 8: originals, reconstructions, then the last 2 and theirs; tiles 28 * 2 = 56 pixels, and a margin on
  // the left for the row labels "input" and "reconstruction".
  const Tensor comparison = load_png(path("r.png"));
  EXPECT_EQ(comparison.size(1), 4 * 58 + 2);
  EXPECT_GT(comparison.size(2), 8 * 58 + 2 + 50);
  EXPECT_LT(comparison.size(2), 8 * 58 + 2 + 200);
  r = run("interpolate vae --steps 5 --ckpt " + ckpt + " --out " + path("i.png"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("from test image 0 (Ankle boot) to 2 (Trouser)"), std::string::npos) << r.out;
  const Tensor row = load_png(path("i.png"));  // a, 5 steps, b, with "a t=0 ... t=1 b" above and a caption below
  EXPECT_GT(row.size(1), 58 + 2 + 2 * 12);
  EXPECT_EQ(row.size(2), 7 * 58 + 2);
}

// `hundun eval` with --seed 0 repeats the training log's last test loss; export keeps only the model.
TEST_F(GenerativeCommands, EvalRepeatsTheLogAndExportStripsTheOptimizer) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string ckpt = train("vae", "train vae --epochs 1");
  std::smatch m;
  const std::string log = read_text(path("vae/log.jsonl"));
  ASSERT_TRUE(std::regex_search(log, m, std::regex("\"test_loss\":([0-9.]+)"))) << log;
  RunResult r = run("eval vae -n 0 --test-size 128 --ckpt " + ckpt);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(fmt::format("negative ELBO {:.2f} nats per image", std::stod(m[1]))), std::string::npos)
      << r.out << log;

  r = run("export --ckpt " + ckpt + " --out " + path("w.safetensors"));
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& [name, tensor] : load_safetensors(path("w.safetensors")).tensors)
    EXPECT_EQ(name.rfind("model.", 0), 0u) << name;
  EXPECT_LT(std::filesystem::file_size(path("w.safetensors")), std::filesystem::file_size(ckpt) / 2);
  EXPECT_EQ(run("sample vae --ckpt " + path("w.safetensors") + " --out " + path("w.png")).code, 0);
  expect_one_line_error("train vae --epochs 2 --out " + path("w") + " --resume " + path("w.safetensors"), 1,
                        "optimizer");  // nothing to resume Adam from
}

// The whole quality report, with a small classifier as the judge.
TEST_F(GenerativeCommands, EvalJudgesSamplesWithAClassifier) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string ae = train("ae", "train ae --arch conv --epochs 1 --latent 8");
  const std::string judge = train("judge", "train classifier --model mlp --epochs 1");
  RunResult r = run("eval ae -n 64 --test-size 128 --ckpt " + ae + " --classifier " + judge);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Autoencoder(kind=conv, latent_dim=8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reconstruction BCE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("generated (64 images):"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("classes covered"), std::string::npos) << r.out;
  r = run("export --ckpt " + judge + " --out " + path("judge.safetensors"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(run("eval ae -n 64 --test-size 128 --ckpt " + ae + " --classifier " + path("judge.safetensors")).code, 0);
}

}  // namespace hd
