// The `hundun` commands for the diffusion model (cli/diffusion/commands.cpp), run as the built binary: help,
// one-line errors and their exit codes, the files a training run writes, sampling with either sampler and a
// trajectory, an exact --resume, --minutes, and checkpoints of other families refused. The runs that train use a
// small U-Net (--channels 8,16) on 64 Fashion-MNIST images, a few steps of batch 8, so each takes about a second.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_runner.h"
#include "tensor/safetensors.h"

namespace hd {

using test::expect_same_log;
using test::has_fashion_mnist;
using test::read_text;
using test::RunResult;

class DiffusionCommands : public test::HundunCommandTest {};  // tests/cli_runner.h: run, train, path

static const std::string kSmall = "--channels 8,16 --train-size 64 --batch 8 --save-every 3 --sample-steps 2";

TEST_F(DiffusionCommands, HelpListsTheCommandsAndTheirFlags) {
  RunResult r = run("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* name : {"train diffusion", "sample diffusion", "eval diffusion"})
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
  r = run("train diffusion --help");
  EXPECT_EQ(r.code, 0);
  for (const char* flag : {"--schedule NAME", "--objective NAME", "--min-snr G", "--steps N", "--minutes M", "--resume"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << "\n" << r.out;
  r = run("sample diffusion --help");
  EXPECT_EQ(r.code, 0);
  for (const char* flag : {"--sampler NAME", "--eta E", "--trajectory"}) EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
}

TEST_F(DiffusionCommands, UsageMistakesExitTwoWithOneLine) {
  expect_one_line_error("train diffusion --schedule quadratic", 2, "--schedule expects one of linear, cosine");
  expect_one_line_error("train diffusion --objective x0", 2, "--objective expects one of eps, v");
  expect_one_line_error("train diffusion --steps 0", 2, "--steps expects an integer from 1 to");
  expect_one_line_error("train diffusion --min-snr -1", 2, "--min-snr expects a number from 0 to");
  expect_one_line_error("train diffusion --channels 8,x", 2, "--channels expects 1 to 5 channel counts");
  expect_one_line_error("train diffusion --channels 8,12 --train-size 64 --batch 8", 2,
                        "--channels 8,12: diffusion: every level's channels must be a positive multiple of the 8");
  expect_one_line_error("train diffusion --timesteps 10 --sample-steps 50", 2, "--sample-steps 50 is more than the T = 10");
  expect_one_line_error("sample diffusion --ckpt x.safetensors", 2, "--out PNG is required");
}

TEST_F(DiffusionCommands, TrainingWritesCheckpointLogCurveAndSamplesAndSampleAndEvalReadIt) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string out = path("d");
  RunResult r = run("train diffusion --steps 6 " + kSmall + " --out " + out);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("schedule health: SNR falls at every step"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("close to N(0, I)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("step 6/6  loss "), std::string::npos) << r.out;
  for (const char* file : {"checkpoint.safetensors", "log.jsonl", "loss.svg", "samples_step0000003.png",
                           "samples_step0000006.png"})
    EXPECT_TRUE(std::filesystem::exists(out + "/" + file)) << file;
  const std::string log = read_text(out + "/log.jsonl");
  EXPECT_NE(log.find("{\"step\":3,\"loss\":"), std::string::npos) << log;
  EXPECT_NE(log.find("\"loss_t_0_100\":"), std::string::npos) << log;
  EXPECT_NE(log.find("\"fd_64\":"), std::string::npos) << log;  // weights/classifier.safetensors judges
  EXPECT_EQ(log.find("\"fd_64\":null"), std::string::npos) << log;
  const std::string ckpt = out + "/checkpoint.safetensors";

  for (const std::string sampler : {"--sampler ddim --steps 3 --eta 0.5", "--sampler ddpm"}) {
    SCOPED_TRACE(sampler);
    r = run("sample diffusion -n 3 " + sampler + " --ckpt " + ckpt + " --out " + path("s.png") + " --tensor " +
            path("s.safetensors"));
    ASSERT_EQ(r.code, 0) << r.err;
    const Tensor x = load_safetensors(path("s.safetensors")).tensors.at("samples");
    EXPECT_EQ(x.shape(), (Shape{3, 1, 28, 28}));
    for (float v : x.tolist()) ASSERT_TRUE(v >= 0.f && v <= 1.f) << v;
  }
  EXPECT_NE(r.out.find("DDPM, 1000 steps"), std::string::npos) << r.out;

  r = run("sample diffusion -n 2 --steps 4 --trajectory --ckpt " + ckpt + " --out " + path("t.png"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(path("t_trajectory.png")));
  EXPECT_NE(r.out.find("x_t of 8 images at 5 points"), std::string::npos) << r.out;

  r = run("eval diffusion -n 0 --test-size 100 --ckpt " + ckpt);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("test loss (100 images, EMA weights): "), std::string::npos) << r.out;
}

// DDIM with eta = 0 is deterministic given x_T, so the same seed gives the same samples, and another seed others.
TEST_F(DiffusionCommands, SamplingRepeatsFromItsSeed) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string ckpt = train("d", "train diffusion --steps 3", kSmall);
  const auto samples = [&](const std::string& seed, const std::string& name) {
    RunResult r = run("sample diffusion -n 2 --steps 2 --seed " + seed + " --ckpt " + ckpt + " --out " + path(name + ".png") +
                      " --tensor " + path(name + ".safetensors"));
    EXPECT_EQ(r.code, 0) << r.err;
    return load_safetensors(path(name + ".safetensors")).tensors.at("samples").tolist();
  };
  EXPECT_EQ(samples("4", "a"), samples("4", "b"));
  EXPECT_NE(samples("4", "a"), samples("5", "c"));
}

TEST_F(DiffusionCommands, SamplerMistakesExitTwoWithOneLine) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string ckpt = train("d", "train diffusion --steps 1 --timesteps 20", kSmall);
  const std::string common = "sample diffusion --ckpt " + ckpt + " --out " + path("s.png");
  expect_one_line_error(common + " --eta 1.5", 2, "--eta expects a number from 0 to 1, got '1.5'");
  expect_one_line_error(common + " --eta -0.1", 2, "--eta expects a number from 0 to 1");
  expect_one_line_error(common + " --steps 21", 2, "--steps expects an integer from 1 to 20, got '21'");
  expect_one_line_error(common + " --steps 0", 2, "--steps expects an integer from 1 to 20, got '0'");
  expect_one_line_error(common + " --sampler ddpm --steps 5", 2, "DDPM takes all T = 20 steps");
  expect_one_line_error(common + " --sampler euler", 2, "--sampler expects one of ddpm, ddim");
  EXPECT_FALSE(std::filesystem::exists(path("s.png")));
}

// Six steps straight, or three and then --resume for three more: the same log (seconds aside) and the same file.
TEST_F(DiffusionCommands, ResumeContinuesExactly) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  // --train-size 64 --batch 8: 8 batches a pass, so the resumed run goes on in the middle of the first pass.
  train("a", "train diffusion --steps 6 --seed 3 --objective v --min-snr 5", kSmall);
  const std::string b = train("b", "train diffusion --steps 3 --seed 3 --objective v --min-snr 5", kSmall);
  RunResult r = run("train diffusion --steps 6 --out " + path("b") + " --resume " + b);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("resuming " + b + " after step 3"), std::string::npos) << r.out;
  expect_same_log(path("a/log.jsonl"), path("b/log.jsonl"), 2);
  const TensorFile fa = load_safetensors(path("a/checkpoint.safetensors")), fb = load_safetensors(b);
  ASSERT_EQ(fa.tensors.size(), fb.tensors.size());
  for (const auto& [name, t] : fa.tensors) EXPECT_EQ(t.tolist(), fb.tensors.at(name).tolist()) << name;
  expect_one_line_error("train diffusion --steps 9 --objective eps --out " + path("b") + " --resume " + b, 2,
                        "--objective eps contradicts the checkpoint's v");
  r = run("train diffusion --steps 6 --out " + path("b") + " --resume " + b);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("has already trained 6 steps; pass --steps larger than 6"), std::string::npos) << r.out;
}

// A budget that ends at once still saves: the run stops after its first step, with checkpoint, log and grid.
TEST_F(DiffusionCommands, MinutesStopsCleanlyAndSaves) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  RunResult r = run("train diffusion --steps 1000 --minutes 0.000001 --classifier none " + kSmall + " --out " + path("m"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(read_text(path("m/log.jsonl")).find("\"fd_64\":null"), std::string::npos);
  EXPECT_NE(r.out.find("--minutes 1e-06 reached after step 1"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(path("m/checkpoint.safetensors")));
  EXPECT_TRUE(std::filesystem::exists(path("m/samples_step0000001.png")));
}

// --conditional trains with labels; sampling then takes --class and --guidance, which an unconditional model refuses.
TEST_F(DiffusionCommands, ConditionalModelSamplesAClassWithGuidance) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string ckpt = train("c", "train diffusion --steps 3 --conditional", kSmall);
  RunResult r = run("sample diffusion -n 2 --steps 2 --class 3 --guidance 2 --ckpt " + ckpt + " --out " + path("s.png"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("10 classes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("class 3, guidance 2"), std::string::npos) << r.out;
  expect_one_line_error("sample diffusion --class 10 --ckpt " + ckpt + " --out " + path("s.png"), 2,
                        "--class expects an integer from 0 to 9, got '10'");
  const std::string plain = train("p", "train diffusion --steps 1", kSmall);
  expect_one_line_error("sample diffusion --guidance 2 --ckpt " + plain + " --out " + path("s.png"), 2,
                        "--guidance 2: the checkpoint's model is unconditional");
  expect_one_line_error("sample diffusion --class 3 --ckpt " + plain + " --out " + path("s.png"), 2,
                        "holds an unconditional model");
}

TEST_F(DiffusionCommands, OtherFamiliesCheckpointsAreRefusedWithOneLine) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string vae = train("vae", "train vae --epochs 1", "--train-size 128 --test-size 64 --batch 64");
  expect_one_line_error("sample diffusion --out " + path("s.png") + " --ckpt " + vae, 2,
                        "holds a VAE, not a diffusion model: use 'hundun sample vae'");
  expect_one_line_error("train diffusion --steps 2 --resume " + vae, 2, "use 'hundun train vae'");
  expect_one_line_error("eval diffusion -n 0 --ckpt " + vae, 2, "use 'hundun eval vae'");
  const std::string d = train("d", "train diffusion --steps 1", kSmall);
  expect_one_line_error("sample vae --out " + path("s.png") + " --ckpt " + d, 2,
                        "holds a diffusion model, not a VAE: use 'hundun sample diffusion'");
}

}  // namespace hd
