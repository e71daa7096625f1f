// The `hundun` commands for the GAN (cli/gan/commands.cpp), run as the built binary: help, one-line errors and
// their exit codes, the files a training run writes, sampling, an exact --resume, and a VAE checkpoint refused.
// The runs that train use 128 Fashion-MNIST images (two steps an epoch), so they take seconds.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "cli_runner.h"
#include "tensor/safetensors.h"

namespace hd {

using test::has_fashion_mnist;
using test::read_text;
using test::expect_same_log;
using test::RunResult;

class GanCommands : public test::HundunCommandTest {};  // tests/cli_runner.h: run, train, path

static const std::string kSmall = "--train-size 128 --batch 64";

TEST_F(GanCommands, HelpListsTheCommandsAndTheLosses) {
  RunResult r = run("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* name : {"train gan", "sample gan", "eval gan", "interpolate gan"}) EXPECT_NE(r.out.find(name), std::string::npos) << name;
  r = run("train gan --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--loss NAME"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wgan-gp"), std::string::npos) << r.out;
  EXPECT_EQ(run("sample gan --help").code, 0);
}

TEST_F(GanCommands, UsageMistakesExitTwoWithOneLine) {
  expect_one_line_error("train gan --loss wasserstein", 2, "--loss expects one of ns, minimax, lsgan, hinge, wgan-gp");
  expect_one_line_error("train gan --batch 0", 2, "--batch expects an integer from 1 to");
  expect_one_line_error("sample gan --ckpt x.safetensors", 2, "--out PNG is required");
  expect_one_line_error("train gan --pack 3", 2, "--pack 3 must divide --batch 64");
  expect_one_line_error("train gan --pack 2 --conditional", 2, "--pack and --conditional do not go together");
  expect_one_line_error("train gan --r1 -1", 2, "--r1 expects");
}

// The 2-D toy (cli/gan/toy.cpp): a short run prints the mode metrics and writes one scatter plot per evaluation.
TEST_F(GanCommands, ToyRunPrintsModeMetricsAndWritesScatterPlots) {
  RunResult r = run("train gan --toy grid --pack 2 --steps 4 --every 2 --batch 20 --out " + path("toy"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("modes "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/25  high quality"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("samples_step*.svg"), std::string::npos) << r.out;
  for (const char* file : {"samples_step000002.svg", "samples_step000004.svg", "metrics.jsonl"})
    EXPECT_TRUE(std::filesystem::exists(path("toy/") + file)) << file;
  EXPECT_NE(read_text(path("toy/metrics.jsonl")).find("{\"step\":4,\"modes_covered\":"), std::string::npos);
  EXPECT_NE(read_text(path("toy/samples_step000004.svg")).find("mode centres"), std::string::npos);
}

// --table: every remedy on both mixtures over seeds 1..N, printed as Markdown and written to table.md.
TEST_F(GanCommands, ToyTableHasARowPerRemedyAndMixtureAndWritesTableMd) {
  RunResult r = run("train gan --toy both --table --seeds 2 --steps 3 --batch 8 --g-hidden 8 --d-hidden 4 --out " +
                    path("table"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("run 16/16: grid, minibatch std, seed 2"), std::string::npos) << r.out;  // progress
  const std::string table = read_text(path("table/table.md"));
  EXPECT_NE(r.out.find(table), std::string::npos) << r.out;
  EXPECT_NE(table.find("| mixture | steps | remedy | modes covered | high-quality % | reverse KL | seconds per run |"),
            std::string::npos) << table;
  for (const char* mixture : {"| ring (8 modes) | 3 | ", "| grid (25 modes) | 3 | "})
    for (const char* remedy : {"vanilla GAN |", "PacGAN m = 2 |", "PacGAN m = 4 |", "minibatch std |"})
      EXPECT_NE(table.find(std::string(mixture) + remedy), std::string::npos) << mixture << remedy << "\n" << table;
  EXPECT_EQ(table.find("nan"), std::string::npos) << table;  // an infinite KL is "inf", without a spread
}

TEST_F(GanCommands, ToyTableTakesTheRemediesAskedForInTheirOrder) {
  RunResult r = run("train gan --toy ring --table --remedies mbstd,vanilla --seeds 1 --steps 2 --batch 8 "
                    "--g-hidden 8 --d-hidden 4 --out " + path("rows"));
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string table = read_text(path("rows/table.md"));
  const size_t mbstd = table.find("| minibatch std |"), vanilla = table.find("| vanilla GAN |");
  ASSERT_NE(mbstd, std::string::npos) << table;
  ASSERT_NE(vanilla, std::string::npos) << table;
  EXPECT_LT(mbstd, vanilla) << table;
  EXPECT_EQ(table.find("PacGAN"), std::string::npos) << table;
}

TEST_F(GanCommands, ToyUsageMistakesExitTwoWithOneLine) {
  const std::vector<std::pair<std::string, std::string>> mistakes = {  // command, what its one line says
      {"--toy grid --pack 3 --batch 100", "--pack 3 does not divide --batch 100"},
      {"--toy spiral", "--toy expects one of ring, grid"},
      {"--toy ring --loss wgan-gp", "--loss expects one of ns, minimax, lsgan, hinge"},
      {"--toy grid --table --seeds 0", "--seeds"},
      {"--toy grid --table --pack 2", "--table trains every remedy"},
      {"--toy grid --table --mbstd", "drop --mbstd"},
      {"--toy grid --table --batch 10", "packs of 2 and 4 divide"},
      {"--toy grid --seeds 3", "--seeds goes with --table"},
      {"--toy grid --remedies pack2", "--remedies goes with --table"},
      {"--toy grid --table --remedies pack2,pack3", "unknown remedy 'pack3'"},
      {"--toy grid --table --remedies ''", "unknown remedy ''"},
      {"--toy grid --decay 1.5", "--decay"},
      {"--toy both", "--toy expects one of ring, grid"},
  };
  for (const auto& [command, message] : mistakes) expect_one_line_error("train gan " + command, 2, message);
}

TEST_F(GanCommands, TrainingWritesCheckpointLogCurveAndSamplesAndSampleReadsIt) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string ckpt = train("g", "train gan --epochs 1", kSmall);
  for (const char* file : {"checkpoint.safetensors", "log.jsonl", "loss.svg", "samples_epoch01.png"})
    EXPECT_TRUE(std::filesystem::exists(path("g/") + file)) << file;
  const std::string log = read_text(path("g/log.jsonl"));
  EXPECT_NE(log.find("{\"epoch\":1,\"d_loss\":"), std::string::npos) << log;
  RunResult r = run("sample gan -n 6 --ckpt " + ckpt + " --out " + path("s.png") + " --tensor " + path("s.safetensors"));
  ASSERT_EQ(r.code, 0) << r.err;
  const TensorFile samples = load_safetensors(path("s.safetensors"));
  const Tensor& x = samples.tensors.at("samples");
  EXPECT_EQ(x.shape(), (Shape{6, 1, 28, 28}));
  for (float v : x.tolist()) ASSERT_TRUE(v >= 0.f && v <= 1.f) << v;
}

// Two epochs straight, or one and then --resume for the second: the same log (seconds aside) and the same weights.
TEST_F(GanCommands, ResumeContinuesExactly) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  train("a", "train gan --epochs 2 --seed 3 --loss wgan-gp", kSmall);
  const std::string b = train("b", "train gan --epochs 1 --seed 3 --loss wgan-gp", kSmall);
  RunResult r = run("train gan --epochs 2 --out " + path("b") + " --resume " + b);
  ASSERT_EQ(r.code, 0) << r.err;
  expect_same_log(path("a/log.jsonl"), path("b/log.jsonl"), 2);
  const TensorFile fa = load_safetensors(path("a/checkpoint.safetensors")), fb = load_safetensors(b);
  ASSERT_EQ(fa.tensors.size(), fb.tensors.size());
  for (const auto& [name, t] : fa.tensors) EXPECT_EQ(t.tolist(), fb.tensors.at(name).tolist()) << name;
  EXPECT_TRUE(std::filesystem::exists(path("b/samples_epoch02.png")));
  expect_one_line_error("train gan --epochs 3 --loss ns --out " + path("b") + " --resume " + b, 2,
                        "--loss ns contradicts the checkpoint's wgan-gp");
}

TEST_F(GanCommands, AVaeCheckpointIsRefusedWithOneLine) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string vae = train("vae", "train vae --epochs 1", "--train-size 128 --test-size 64 --batch 64");
  expect_one_line_error("sample gan --out " + path("s.png") + " --ckpt " + vae, 2,
                        "holds a VAE, not a GAN: use 'hundun sample vae'");
  expect_one_line_error("train gan --epochs 2 --resume " + vae, 2, "use 'hundun train vae'");
  const std::string gan = train("g", "train gan --epochs 1", kSmall);
  expect_one_line_error("sample vae --out " + path("s.png") + " --ckpt " + gan, 2,
                        "holds a GAN, not a VAE: use 'hundun sample gan'");
}

// The switches: a conditional run with the health check, its samples of one class, its latent walks; the
// mistakes around classes exit 2 with one line; a packed, minibatch-std, R1 run trains and resumes as itself.
TEST_F(GanCommands, ConditionalRunSamplesOneClassAndWalksItsLatentSpace) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string ckpt = train("c", "train gan --epochs 1 --conditional", kSmall);
  const std::string log = read_text(path("c/log.jsonl"));
  EXPECT_NE(log.find("\"health_classes\":"), std::string::npos) << log;
  EXPECT_NE(log.find("\"d_accuracy\":"), std::string::npos) << log;
  RunResult r = run("sample gan --class 7 -n 4 --ckpt " + ckpt + " --out " + path("s7.png"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote " + path("s7.png")), std::string::npos) << r.out;
  expect_one_line_error("sample gan --class 10 --ckpt " + ckpt + " --out " + path("x.png"), 2,
                        "--class expects an integer from 0 to 9, got '10'");
  r = run("interpolate gan --pairs 2 --steps 5 --ckpt " + ckpt + " --out " + path("walk.png"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(path("walk.png")));
  EXPECT_FALSE(std::filesystem::exists(path("x.png")));
  r = run("eval gan -n 25 --test-size 100 --ckpt " + ckpt);  // 3 images of classes 0-4, 2 of classes 5-9
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("made the asked class (--class K, judged by the classifier): "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("T-shirt/top "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(", Ankle boot "), std::string::npos) << r.out;

  const std::string plain = train("p", "train gan --epochs 1 --pack 2 --mbstd --r1 1", kSmall);
  expect_one_line_error("sample gan --class 3 --ckpt " + plain + " --out " + path("x.png"), 2,
                        "holds an unconditional model");
  expect_one_line_error("interpolate gan --class 3 --ckpt " + plain + " --out " + path("x.png"), 2,
                        "holds an unconditional GAN");
  expect_one_line_error("train gan --epochs 2 --pack 4 --out " + path("p") + " --resume " + plain, 2,
                        "--pack 4 contradicts the checkpoint's 2");
  r = run("train gan --epochs 2 --out " + path("p") + " --resume " + plain);  // the switches come from the file
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("pack 2, minibatch std, R1 gamma 1"), std::string::npos) << r.out;
}

// A run whose loss stops being finite (here: D's last layer edited to 3e38, so its logits overflow) stops at that
// step with one line and exit status 2, and the checkpoint it resumed from, in the same folder, is untouched.
TEST_F(GanCommands, ANonFiniteLossStopsTheRunAndKeepsTheLastGoodCheckpoint) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string ckpt = train("d", "train gan --epochs 1", kSmall);
  TensorFile file = load_safetensors(ckpt);
  Tensor& w = file.tensors.at("model.discriminator.fc.weight");
  for (int64_t i = 0; i < w.numel(); ++i) w.data()[i] = 3e38f;
  save_safetensors(ckpt, file);
  const std::string before = read_text(ckpt);
  expect_one_line_error("train gan --epochs 2 --out " + path("d") + " --resume " + ckpt, 2, "diverged at step 3");
  EXPECT_EQ(read_text(ckpt), before) << "the last good checkpoint was changed";
}

}  // namespace hd
