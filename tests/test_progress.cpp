// Tests for report/progress.h: duration formatting and the progress line in both modes, driven by a
// fake clock and captured in a temporary file.
#include "report/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace {

TEST(FormatDuration, PicksAUnitForHumans) {
  EXPECT_EQ(hd::format_duration(0.85), "850ms");
  EXPECT_EQ(hd::format_duration(0), "0ms");
  EXPECT_EQ(hd::format_duration(3.21), "3.2s");
  EXPECT_EQ(hd::format_duration(42.4), "42s");
  EXPECT_EQ(hd::format_duration(65), "1m05s");
  EXPECT_EQ(hd::format_duration(7380), "2h03m");
  EXPECT_EQ(hd::format_duration(59.7), "1m00s");  // rounding never shows "60s"
  EXPECT_EQ(hd::format_duration(3599.9), "1h00m");
  EXPECT_EQ(hd::format_duration(-1), "?");
}

// Owns a temporary file to write progress into, and a clock the test moves by hand.
class ProgressTest : public ::testing::Test {
 protected:
  void SetUp() override { file_ = std::tmpfile(); ASSERT_NE(file_, nullptr); }
  void TearDown() override { std::fclose(file_); }

  void attach(hd::Progress& p) { p.set_clock([this] { return now_; }); }

  std::string output() {
    std::fflush(file_);
    std::rewind(file_);
    std::string s;
    for (int c; (c = std::fgetc(file_)) != EOF;) s += static_cast<char>(c);
    return s;
  }

  std::FILE* file_ = nullptr;
  double now_ = 100.0;  // any origin: only differences count
};

TEST_F(ProgressTest, ShowsEpochStepLossSpeedElapsedAndEta) {
  hd::Progress p("train", 100, 2, file_, 5.0);
  attach(p);
  p.set_epoch(0);
  for (int64_t step = 0; step < 50; ++step) {
    now_ += 0.1;  // 50 steps of 64 samples in 5 s: 640 samples/s, 0.1 s per step
    p.update(step, 2.0f, 64);
  }
  // 150 steps left of 2 epochs x 100 at 0.1 s each.
  EXPECT_EQ(p.line(), "train  epoch 1/2  step 50/100  loss 2  640 samples/s  elapsed 5.0s  eta 15s");
}

// A run in steps (the diffusion model): steps/s too, and a time budget caps the eta.
TEST_F(ProgressTest, ShowsStepsPerSecondAndCapsTheEtaAtATimeLimit) {
  hd::Progress p("train diffusion", 1000, 0, file_, 5.0);
  attach(p);
  p.set_steps_per_second(true);
  for (int64_t step = 0; step < 10; ++step) {
    now_ += 0.5;  // 2 steps/s: 990 steps left would take 495 s
    p.update(step, 0.1f, 64);
  }
  EXPECT_EQ(p.line(), "train diffusion  step 10/1000  loss 0.1  128 samples/s  2 steps/s  elapsed 5.0s  eta 8m15s");
  p.set_time_limit(65.0);  // 60 s of the budget left
  EXPECT_EQ(p.line(), "train diffusion  step 10/1000  loss 0.1  128 samples/s  2 steps/s  elapsed 5.0s  eta 1m00s");
}

// A GAN's step has two losses: each is averaged on its own and shown by its name, in the order given.
TEST_F(ProgressTest, ShowsSeveralNamedLosses) {
  hd::Progress p("train gan", 10, 1, file_, 5.0);
  attach(p);
  p.set_epoch(0);
  for (int64_t step = 0; step < 4; ++step) {
    now_ += 1.0;
    p.update(step, {{"D", 0.5}, {"G", 2.0}}, 64);
  }
  EXPECT_EQ(p.line(), "train gan  epoch 1/1  step 4/10  D 0.5  G 2  64 samples/s  elapsed 4.0s  eta 6.0s");
  EXPECT_THROW(p.update(4, {{"D", 0.5}}, 64), std::invalid_argument);  // the same losses every step
}

TEST_F(ProgressTest, PlainModePrintsALineEveryIntervalAndOneAtFinish) {
  hd::Progress p("fit", 10, 0, file_, 5.0);  // a tmpfile is not a terminal: plain lines
  attach(p);
  for (int64_t step = 0; step < 10; ++step) {
    now_ += 1.0;
    p.update(step, 1.0f, 8);
  }
  p.finish();
  p.finish();  // only once
  EXPECT_EQ(output(),
            "fit  step 5/10  loss 1  8 samples/s  elapsed 5.0s  eta 5.0s\n"
            "fit  step 10/10  loss 1  8 samples/s  elapsed 10s\n");
}

TEST_F(ProgressTest, ZeroIntervalPrintsEveryUpdate) {
  hd::Progress p("x", 3, 0, file_, 0.0);
  attach(p);
  for (int64_t step = 0; step < 3; ++step) {
    now_ += 1.0;
    p.update(step, 1.0f, 1);
  }
  std::string out = output();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3);
  EXPECT_EQ(out.find('\r'), std::string::npos);
}

TEST_F(ProgressTest, LossIsABiasCorrectedMovingAverage) {
  hd::Progress p("x", 0, 0, file_);
  attach(p);
  p.update(0, 4.0f, 1);
  EXPECT_NE(p.line().find("loss 4  "), std::string::npos) << p.line();  // the first value, not 0.4
  p.update(1, 0.0f, 1);
  // (0.9 * 0.1 * 4) / (1 - 0.81) = 0.36 / 0.19
  EXPECT_NE(p.line().find("loss 1.895  "), std::string::npos) << p.line();
}

TEST_F(ProgressTest, TerminalModeRedrawsOneLineAtMostTenTimesASecond) {
  hd::Progress p("train", 100, 0, file_);
  attach(p);
  p.set_redraw(true);
  p.set_epoch(0);
  for (int64_t step = 0; step < 100; ++step) {
    now_ += 0.01;  // 100 steps in 1 s
    p.update(step, 1.0f, 1);
  }
  std::string out = output();
  int64_t draws = std::count(out.begin(), out.end(), '\r');
  EXPECT_GE(draws, 9);
  EXPECT_LE(draws, 11);  // ~10 redraws, the last one forced by the end of the epoch
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_NE(out.find("\rtrain  epoch 1  step 100/100"), std::string::npos);

  p.set_epoch(1);  // keeps the finished epoch's line
  now_ += 0.01;
  p.update(0, 1.0f, 1);
  p.finish();
  out = output();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  EXPECT_NE(out.find("\rtrain  epoch 2  step 1/100"), std::string::npos);
  EXPECT_EQ(out.back(), '\n');
}

}  // namespace
