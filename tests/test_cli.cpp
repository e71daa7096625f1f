// The `hundun` command line: the flag parser in-process, then the built binary's exit codes and
// one-line messages.
//
// cli/ is not part of the library, so the parser's one source file is compiled into this test
// directly. The binary tests run <build>/hundun next to this test's own folder (build/tests/test_cli
// -> build/hundun, tests/cli_runner.h), which `make test` builds first.
#include "cli/args.cpp"  // NOLINT(bugprone-suspicious-include): one translation unit, see above

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>

#include "cli_runner.h"
#include "models/classifier.h"
#include "nn/checkpoint.h"
#include "nn/optim.h"

namespace hd::cli {

static std::string usage_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

static ArgParser example_parser() {
  ArgParser args("hundun train thing", "Trains a thing.");
  args.option("--epochs", "N", "passes", "3");
  args.option("--lr", "LR", "learning rate", "0.001");
  args.option("--ckpt", "FILE", "a checkpoint");
  args.option("--model", "NAME", "cnn or mlp", "cnn");
  args.flag("--full", "longer run");
  return args;
}

// ------------------------------------------------------------------------------------------ parser

TEST(Args, DefaultsWhenNothingIsGiven) {
  ArgParser args = example_parser();
  args.parse({});
  EXPECT_EQ(args.get_int("--epochs", 1, 100), 3);
  EXPECT_DOUBLE_EQ(args.get_double("--lr", 0, 1), 1e-3);
  EXPECT_FALSE(args.given("--epochs"));
  EXPECT_FALSE(args.get_flag("--full"));
  EXPECT_EQ(args.get("--ckpt"), "");
}

TEST(Args, ValuesBothSeparateAndWithEquals) {
  ArgParser args = example_parser();
  args.parse({"--epochs", "7", "--lr=0.5", "--full"});
  EXPECT_EQ(args.get_int("--epochs", 1, 100), 7);
  EXPECT_DOUBLE_EQ(args.get_double("--lr", 0, 1), 0.5);
  EXPECT_TRUE(args.given("--epochs"));
  EXPECT_TRUE(args.get_flag("--full"));
}

TEST(Args, ValueMayStartWithMinus) {
  // "--epochs -3" is the value -3 (then rejected by the range), not a flag named "-3".
  ArgParser args = example_parser();
  args.parse({"--epochs", "-3"});
  EXPECT_EQ(usage_error_of([&] { args.get_int("--epochs", 1, 100); }),
            "--epochs expects an integer from 1 to 100, got '-3'");
}

TEST(Args, BadNumbersAreUsageErrors) {
  ArgParser args = example_parser();
  args.parse({"--epochs", "2.5", "--lr", "abc"});
  EXPECT_EQ(usage_error_of([&] { args.get_int("--epochs", 1, 100); }),
            "--epochs expects an integer from 1 to 100, got '2.5'");
  EXPECT_EQ(usage_error_of([&] { args.get_double("--lr", 0, 10); }),
            "--lr expects a number greater than 0 and at most 10, got 'abc'");
}

TEST(Args, NumberParsingIsStrict) {
  int64_t i = 0;
  double d = 0;
  EXPECT_TRUE(parse_int("+12", &i));
  EXPECT_EQ(i, 12);
  EXPECT_FALSE(parse_int("", &i));
  EXPECT_FALSE(parse_int("12x", &i));
  EXPECT_FALSE(parse_int("99999999999999999999", &i));  // overflow
  EXPECT_TRUE(parse_double("1e-3", &d));
  EXPECT_DOUBLE_EQ(d, 1e-3);
  EXPECT_FALSE(parse_double("nan", &d));
  EXPECT_FALSE(parse_double("inf", &d));
  EXPECT_FALSE(parse_double("1e999", &d));
  EXPECT_FALSE(parse_double(" 1", &d));
  EXPECT_FALSE(parse_double("0.1.2", &d));
}

TEST(Args, UnknownFlagMissingValueRepeatsAndPositionals) {
  auto parse = [](std::vector<std::string> words) {
    return usage_error_of([&] { example_parser().parse(words); });
  };
  EXPECT_EQ(parse({"--epoch", "3"}), "unknown flag '--epoch' (see 'hundun train thing --help')");
  EXPECT_EQ(parse({"--epochs"}), "--epochs needs a value (N)");
  EXPECT_EQ(parse({"--epochs", "1", "--epochs=2"}), "--epochs is given twice");
  EXPECT_EQ(parse({"data.bin"}), "unexpected argument 'data.bin' (see 'hundun train thing --help')");
  EXPECT_EQ(parse({"--full=yes"}), "--full takes no value, got 'yes'");
}

TEST(Args, RequiredAndChoice) {
  ArgParser args = example_parser();
  args.parse({"--model", "vgg"});
  EXPECT_EQ(usage_error_of([&] { args.get_required("--ckpt"); }), "--ckpt FILE is required");
  EXPECT_EQ(usage_error_of([&] { args.get_choice("--model", {"cnn", "mlp"}); }),
            "--model expects one of cnn, mlp, got 'vgg'");
}

TEST(Args, HelpWinsOverEverythingElse) {
  ArgParser args = example_parser();
  args.parse({"--nonsense", "--help"});
  EXPECT_TRUE(args.help_requested());
  std::string help = args.help();
  EXPECT_NE(help.find("usage: hundun train thing [flags]"), std::string::npos);
  EXPECT_NE(help.find("--epochs N"), std::string::npos);
  EXPECT_NE(help.find("(default 3)"), std::string::npos);
}

// ------------------------------------------------------------------------------------ the binary

using test::has_fashion_mnist;
using test::read_text;
using test::expect_same_log;
using test::RunResult;
using HundunBinary = test::HundunCommandTest;  // tests/cli_runner.h

TEST_F(HundunBinary, HelpExitsZero) {
  RunResult r = run("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("train classifier"), std::string::npos);
  r = run("train classifier --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--resume CKPT"), std::string::npos);
  EXPECT_EQ(run("eval classifier --help").code, 0);
}

TEST_F(HundunBinary, UsageMistakesExitTwoWithOneLine) {
  expect_one_line_error("train classifier --epochs -3", 2,
                        "hundun train classifier: --epochs expects an integer from 1 to");
  expect_one_line_error("train classifier --lr abc", 2, "--lr expects a number greater than 0");
  expect_one_line_error("train classifier --bogus 1", 2, "unknown flag '--bogus'");
  expect_one_line_error("train classifier --batch", 2, "--batch needs a value (B)");
  expect_one_line_error("eval classifier", 2, "--ckpt FILE is required");
  expect_one_line_error("frobnicate", 2, "unknown command 'frobnicate'");
  EXPECT_EQ(run("").code, 2);  // no command: the usage, on stderr
}

TEST_F(HundunBinary, MissingFilesExitOneWithOneLine) {
  expect_one_line_error("eval classifier --ckpt /nonexistent/c.safetensors", 1,
                        "/nonexistent/c.safetensors: cannot open");
  expect_one_line_error("train classifier --resume /nonexistent/c.safetensors", 1, "cannot open");
  expect_one_line_error("train classifier --data /nonexistent --out " + (dir_ / "x").string(), 1,
                        "Fashion-MNIST not found in /nonexistent");
  // A file that is not a checkpoint at all.
  std::ofstream(dir_ / "junk.safetensors") << "not a checkpoint";
  expect_one_line_error("eval classifier --ckpt " + (dir_ / "junk.safetensors").string(), 1, "junk.safetensors");
}

// Training two epochs straight and stopping after one, then resuming for the second, give the same
// log (seconds aside): the checkpoint restores the model, Adam's moments, the lr schedule and the
// data order.
TEST_F(HundunBinary, ResumeContinuesExactly) {
  if (!has_fashion_mnist()) GTEST_FAIL() << "no Fashion-MNIST (make deps installs dataset-fashion-mnist)";
  const std::string common = " --model mlp --train-size 512 --test-size 256 --batch 64 --seed 3 --out ";
  const std::string a = (dir_ / "a").string(), b = (dir_ / "b").string();
  RunResult r = run("train classifier --epochs 2" + common + a);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote " + a + "/checkpoint.safetensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wrote " + a + "/log.jsonl"), std::string::npos);
  EXPECT_NE(r.out.find("wrote " + a + "/loss.svg"), std::string::npos);
  r = run("train classifier --epochs 2 --stop-after 1" + common + b);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("stopped after epoch 1 of 2"), std::string::npos) << r.out;
  r = run("train classifier --out " + b + " --resume " + b + "/checkpoint.safetensors");
  ASSERT_EQ(r.code, 0) << r.err;

  expect_same_log(a + "/log.jsonl", b + "/log.jsonl", 2);

  // A flag contradicting the checkpoint is refused; eval reads the architecture from it.
  expect_one_line_error("train classifier --batch 32 --out " + b + " --resume " + b +
                            "/checkpoint.safetensors",
                        2, "--batch 32 contradicts the checkpoint's 64");
  r = run("eval classifier --test-size 256 --ckpt " + b + "/checkpoint.safetensors");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("test accuracy"), std::string::npos);
}

// A resumable classifier checkpoint after epoch 1 of 2, written directly, with `changes` applied to its metadata.
static void write_classifier_run(const std::string& path, const std::map<std::string, std::string>& changes) {
  Generator gen(0);
  MLPClassifier model(2, gen);
  Adam optimizer(model.parameters());
  CheckpointInfo info;
  info.epoch = 1;
  info.metadata = model.options.to_metadata();
  for (const auto& [key, value] : std::map<std::string, std::string>{
           {"epochs", "2"}, {"batch", "64"}, {"lr", "0.001"}, {"seed", "0"}, {"train_size", "64"},
           {"test_size", "64"}, {"history_epochs", ""}, {"history_step_losses", ""}})
    info.metadata[key] = value;
  for (const auto& [key, value] : changes) info.metadata[key] = value;
  save_checkpoint(path, model, &optimizer, &gen, info);
}

// "model" = "classifier" passes as the family's name, but names no architecture: the error names the file (it was
// make_classifier's "unknown architecture 'classifier'", naming nothing).
TEST_F(HundunBinary, ResumingAnUnknownArchitectureNamesTheFile) {
  const std::string ckpt = (dir_ / "odd.safetensors").string();
  write_classifier_run(ckpt, {{"model", "classifier"}});
  expect_one_line_error("train classifier --out " + (dir_ / "o").string() + " --resume " + ckpt, 1,
                        ckpt + ": metadata 'model' should be one of cnn, mlp, got 'classifier'");
}

// A resumed run takes its settings from the file, within the bounds of the flags that wrote them.
TEST_F(HundunBinary, ResumingSettingsOutsideTheFlagsBoundsNamesTheFile) {
  const std::string ckpt = (dir_ / "odd.safetensors").string();
  write_classifier_run(ckpt, {{"lr", "-1"}});
  expect_one_line_error("train classifier --out " + (dir_ / "o").string() + " --resume " + ckpt, 1,
                        ckpt + ": metadata 'lr' should be a number greater than 0");
  write_classifier_run(ckpt, {{"batch", "0"}});
  expect_one_line_error("train classifier --out " + (dir_ / "o").string() + " --resume " + ckpt, 1,
                        ckpt + ": metadata 'batch' should be an integer in [1, 1048576], got '0'");
}

}  // namespace hd::cli
