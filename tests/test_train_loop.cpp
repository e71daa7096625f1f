// train/loop.h: the epoch loop every training command shares — epochs and steps in order, the mean losses
// at the end of each epoch, a resumed run skipping the loader's finished epochs, and divergence: a non-finite
// loss or gradient stops the run at that step, before end_of_epoch can save anything of the broken epoch.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "error_of.h"
#include "nn/layers.h"
#include "train/loop.h"

namespace hd {

using test::error_of;  // tests/error_of.h

// 8 examples in batches of 2: 4 steps an epoch.
static DataLoader eight_examples(bool shuffle = false) {
  return DataLoader(Tensor::arange(0, 8).reshape({8, 1}), Tensor::arange(0, 8), 2, shuffle, /*seed=*/5);
}

TEST(TrainLoop, RunsEveryStepAndAveragesTheLossesPerExample) {
  DataLoader loader = eight_examples();
  std::vector<float> seen;
  std::vector<EpochResult> epochs;
  TrainLoop loop;
  loop.show_progress = false;
  loop.epochs = 2;
  loop.step = [&](const Tensor& x, const Tensor&) {
    seen.push_back(x.data()[0]);
    return StepLosses{{"loss", x.data()[0]}, {"other", 1.0}};  // the batch's first value
  };
  loop.end_of_epoch = [&](const EpochResult& r) { epochs.push_back(r); };
  run_training(loop, loader);
  EXPECT_EQ(seen, (std::vector<float>{0, 2, 4, 6, 0, 2, 4, 6}));
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(epochs[1].epoch, 2);
  EXPECT_EQ(epochs[0].mean_losses[0].first, "loss");
  EXPECT_DOUBLE_EQ(epochs[0].mean_losses[0].second, 3.0);  // (0 + 2 + 4 + 6) * 2 examples / 8
  EXPECT_DOUBLE_EQ(epochs[0].mean_losses[1].second, 1.0);
}

// Resuming after epoch 1 sees exactly the batches an unbroken run sees in epoch 2.
TEST(TrainLoop, ResumedRunDrawsTheSameShuffledBatches) {
  auto batches = [](int64_t first_epoch) {
    DataLoader loader = eight_examples(/*shuffle=*/true);
    std::vector<float> seen;
    TrainLoop loop;
    loop.show_progress = false;
    loop.first_epoch = first_epoch;
    loop.epochs = 2;
    loop.step = [&](const Tensor& x, const Tensor&) {
      seen.push_back(x.data()[0]);
      return StepLosses{{"loss", 0.0}};
    };
    run_training(loop, loader);
    return seen;
  };
  const std::vector<float> unbroken = batches(0), resumed = batches(1);
  ASSERT_EQ(unbroken.size(), 8u);
  EXPECT_EQ(resumed, std::vector<float>(unbroken.begin() + 4, unbroken.end()));
}

// A step that makes the loss NaN in epoch 2: the run stops at that step, epoch 2's end_of_epoch (which is where
// commands save their checkpoint) never runs, and the message names the step, the loss and the parameter.
TEST(TrainLoop, NonFiniteLossStopsAtThatStepBeforeTheEpochIsSaved) {
  Generator gen(1);
  Linear model(1, 1, gen);
  DataLoader loader = eight_examples();
  int64_t steps = 0, saved_epochs = 0;
  TrainLoop loop;
  loop.show_progress = false;
  loop.epochs = 3;
  loop.watched = {&model};
  loop.step = [&](const Tensor& x, const Tensor&) {
    ++steps;
    model.zero_grad();
    Variable loss = sum(model(Variable(x)));
    if (steps == 6) loss = loss * std::numeric_limits<float>::quiet_NaN();
    loss.backward();
    return StepLosses{{"loss", loss.data().item()}};
  };
  loop.end_of_epoch = [&](const EpochResult&) { ++saved_epochs; };
  try {
    run_training(loop, loader);
    FAIL() << "training went on after a NaN loss";
  } catch (const TrainingDiverged& e) {
    EXPECT_EQ(e.step, 6);
    const std::string m = e.what();
    EXPECT_NE(m.find("training diverged at step 6 (epoch 2): the loss is nan"), std::string::npos) << m;
    EXPECT_NE(m.find("the first non-finite gradient is weight's"), std::string::npos) << m;
    EXPECT_NE(m.find("what epoch 1 saved is kept"), std::string::npos) << m;
  }
  EXPECT_EQ(steps, 6);
  EXPECT_EQ(saved_epochs, 1);
}

// A finite loss with an infinite gradient (sqrt at 0) is caught as well, naming the parameter; a resumed run
// counts its steps over the whole run.
TEST(TrainLoop, NonFiniteGradientIsCaughtAndNamed) {
  Generator gen(1);
  Sequential model{std::make_shared<Linear>(1, 3, gen), std::make_shared<Linear>(3, 1, gen)};
  DataLoader loader = eight_examples();
  TrainLoop loop;
  loop.show_progress = false;
  loop.steps_done = 40;
  loop.watched = {&model};
  loop.step = [&](const Tensor&, const Tensor&) {
    model.zero_grad();
    Variable w = model.named_parameters()[2].second;  // "1.weight"
    Variable loss = sum(sqrt(w * 0.f));               // d sqrt(u)/du at u = 0 is +inf
    loss.backward();
    return StepLosses{{"loss", loss.data().item()}};
  };
  const std::string m = error_of([&] { run_training(loop, loader); });
  EXPECT_NE(m.find("training diverged at step 41 (epoch 1): the losses are finite, the first non-finite gradient "
                   "is 1.weight's. Nothing of epoch 1 was saved."),
            std::string::npos)
      << m;
}

TEST(TrainLoop, ANonFiniteTestLossStopsTheRun) {
  EXPECT_NO_THROW(stop_if_not_finite("test loss", 1.5, 3, 30));
  try {
    stop_if_not_finite("test loss", std::numeric_limits<double>::infinity(), 3, 30);
    FAIL() << "an infinite test loss was accepted";
  } catch (const TrainingDiverged& e) {
    EXPECT_EQ(e.step, 30);
    EXPECT_NE(std::string(e.what()).find("the test loss after epoch 3 is inf. Nothing of epoch 3 was saved; what "
                                         "epoch 2 saved is kept"),
              std::string::npos)
        << e.what();
  }
}

TEST(TrainLoop, ALoopWithoutAStepIsAnError) {
  DataLoader loader = eight_examples();
  EXPECT_NE(error_of([&] { run_training(TrainLoop{}, loader); }).find("run_training: the loop has no step function"),
            std::string::npos);
}

}  // namespace hd
