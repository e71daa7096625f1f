// train/loop.h: the epoch loop every training command shares — epochs and steps in order, the mean losses
// at the end of each epoch, a resumed run skipping the loader's finished epochs, and divergence: a non-finite
// loss or gradient stops the run at that step, before end_of_epoch can save anything of the broken epoch; and
// a GAN-shaped step (two networks, two Adams, an EMA as a diffusion model keeps) saving CheckpointParts every
// epoch and resuming from them.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "autograd/elementwise.h"
#include "autograd/loss.h"
#include "autograd/reduction.h"
#include "error_of.h"
#include "nn/checkpoint.h"
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

// A GAN-shaped run for the loop: a generator network and a discriminator network, each with its Adam, an EMA of
// the generator network (what a diffusion model samples from), one random stream for z. `epochs` of the loop;
// every epoch's end saves everything as CheckpointParts to <folder>/epoch<N>.safetensors.
struct LoopedGan {
  Generator noise;
  Linear generator_net, discriminator_net;  // z [2, 1] -> x [2, 1] -> logit [2, 1]
  Adam adam_g, adam_d;
  EMA ema_g;

  LoopedGan(uint64_t seed, Generator init = Generator(0))
      : noise(seed), generator_net(1, 1, init), discriminator_net(1, 1, init),
        adam_g(generator_net.parameters(), 0.05f, 0.5f), adam_d(discriminator_net.parameters(), 0.05f, 0.5f),
        ema_g(generator_net, 0.8f) {}

  CheckpointParts parts() {
    CheckpointParts p;
    p.modules = {{"generator", &generator_net}, {"discriminator", &discriminator_net}};
    p.optimizers = {{"generator", &adam_g}, {"discriminator", &adam_d}};
    p.emas = {{"generator", &ema_g}};
    p.random_stream = &noise;
    return p;
  }

  // Trains up to epoch `epochs`, resuming from `resume` when given.
  void run(const std::string& folder, int64_t epochs, const std::string& resume = "") {
    TrainLoop loop;
    loop.show_progress = false;
    loop.epochs = epochs;
    if (!resume.empty()) {
      const CheckpointInfo info = load_checkpoint(resume, parts());
      loop.first_epoch = info.epoch;
      loop.steps_done = info.step;
    }
    loop.watched = {&generator_net, &discriminator_net};
    loop.step = [&](const Tensor& x, const Tensor&) {
      const Variable ones(Tensor::ones({x.size(0), 1})), zeros(Tensor::zeros({x.size(0), 1}));
      const Variable fake = generator_net(Variable(randn({x.size(0), 1}, noise)));
      Variable loss_d = binary_cross_entropy_with_logits(discriminator_net(Variable(x)), ones) +
                        binary_cross_entropy_with_logits(discriminator_net(fake.detach()), zeros);
      adam_d.zero_grad();
      loss_d.backward();
      adam_d.step();
      Variable loss_g = binary_cross_entropy_with_logits(discriminator_net(fake), ones);
      adam_g.zero_grad();
      loss_g.backward();
      adam_g.step();
      ema_g.update(generator_net);
      return StepLosses{{"D", loss_d.item()}, {"G", loss_g.item()}};
    };
    loop.end_of_epoch = [&](const EpochResult& r) {
      CheckpointInfo info;
      info.epoch = r.epoch;
      info.step = adam_g.steps_taken();
      save_checkpoint(folder + "/epoch" + std::to_string(r.epoch) + ".safetensors", parts(), info);
    };
    DataLoader loader = eight_examples(/*shuffle=*/true);
    run_training(loop, loader);
  }
};

TEST(TrainLoop, AGanStepWithTwoOptimizersAndAnEmaResumesFromItsCheckpointParts) {
  char name[] = "/tmp/hundun_train_loop_XXXXXX";
  ASSERT_TRUE(mkdtemp(name));
  const std::string folder = name;

  LoopedGan unbroken(1);
  unbroken.run(folder, 3);
  LoopedGan resumed(99, Generator(5));  // other weights and another stream: all of it comes from epoch 1's file
  resumed.run(folder, 3, folder + "/epoch1.safetensors");

  auto same = [](const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [key, t] : a)
      if (!b.count(key) || t.tolist() != b.at(key).tolist()) return false;
    return true;
  };
  EXPECT_TRUE(same(resumed.generator_net.state_dict(), unbroken.generator_net.state_dict()));
  EXPECT_TRUE(same(resumed.discriminator_net.state_dict(), unbroken.discriminator_net.state_dict()));
  EXPECT_TRUE(same(resumed.adam_g.state_dict(), unbroken.adam_g.state_dict()));
  EXPECT_TRUE(same(resumed.adam_d.state_dict(), unbroken.adam_d.state_dict()));
  EXPECT_TRUE(same(resumed.ema_g.state_dict(), unbroken.ema_g.state_dict()));
  EXPECT_EQ(resumed.noise.get_state(), unbroken.noise.get_state());
  EXPECT_EQ(resumed.adam_g.steps_taken(), 12);  // 3 epochs of 4 steps
  std::filesystem::remove_all(folder);
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
