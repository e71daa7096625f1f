// models/classifier.h: the CNN's shapes and names, the evaluation helpers, and that a small
// classifier actually learns Fashion-MNIST.
#include "error_of.h"
#include "models/classifier.h"
#include "train/loop.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <string>

#include "data/fashion_mnist.h"
#include "data/loader.h"
#include "nn/optim.h"
#include "tensor/random.h"
#include "tensor/reduce.h"
#include "tensor/safetensors.h"
#include "model_file.h"

namespace hd {

using test::error_of;  // tests/error_of.h

// Ten random "images" with labels 0..9.
static Dataset tiny_dataset(Generator& gen) {
  Dataset d;
  d.images = rand({10, 1, 28, 28}, gen);
  d.labels = Tensor::arange(0, 10);
  return d;
}

TEST(Classifier, ShapesOfLogitsAndFeatures) {
  Generator gen(0);
  Classifier model(gen);
  Variable x(rand({3, 1, 28, 28}, gen));
  EXPECT_EQ(model.forward(x).shape(), (Shape{3, 10}));
  EXPECT_EQ(model.features(x).shape(), (Shape{3, 128}));
  EXPECT_EQ(model.feature_dim(), 128);
}

TEST(Classifier, ParameterNamesMatchThePyTorchTwin) {
  // bench/torch/classifier.py names its layers conv1, conv2, fc1, fc2: checkpoints load in both.
  Classifier model;
  std::vector<std::string> names;
  for (const auto& [name, p] : model.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight",
                                             "bn2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}));
  // conv1 32*1*9, bn1 2*32, conv2 64*32*9, bn2 2*64, fc1 3136*128 + 128, fc2 128*10 + 10
  EXPECT_EQ(model.num_parameters(), 421738);
  EXPECT_EQ(model.named_buffers().size(), 6u);  // running_mean, running_var, num_batches_tracked per BatchNorm
}

TEST(Classifier, RejectsImagesOfTheWrongShape) {
  Classifier model;
  EXPECT_EQ(error_of([&] { model.forward(Variable(Tensor::zeros({2, 3, 28, 28}))); }),
            "Classifier: expected images [B, 1, 28, 28], got [2, 3, 28, 28]");
  MLPClassifier mlp;
  EXPECT_EQ(error_of([&] { mlp.forward(Variable(Tensor::zeros({2, 100}))); }),
            "MLPClassifier: expected images [B, 1, 28, 28], got [2, 100]");
}

TEST(Classifier, MakeClassifierByName) {
  EXPECT_EQ(make_classifier("cnn")->feature_dim(), 128);
  EXPECT_NE(dynamic_cast<MLPClassifier*>(make_classifier("mlp").get()), nullptr);
  EXPECT_EQ(error_of([] { make_classifier("resnet"); }),
            "make_classifier: unknown architecture 'resnet' (expected cnn or mlp)");
}

TEST(Classifier, PredictIsTheArgmaxOfTheLogitsInAnyBatching) {
  Generator gen(1);
  MLPClassifier model(16, gen);
  Dataset d = tiny_dataset(gen);
  Tensor logits = model.forward(Variable(d.images)).data();
  Tensor expected = argmax(logits, 1);
  EXPECT_EQ(predict(model, d.images, /*batch_size=*/3).tolist(), expected.tolist());
  EXPECT_EQ(predict(model, d.images, /*batch_size=*/100).tolist(), expected.tolist());

  Tensor p = predict_probabilities(model, d.images, 4);  // [10, 10], each row sums to 1
  ASSERT_EQ(p.shape(), (Shape{10, 10}));
  for (int64_t i = 0; i < 10; ++i) EXPECT_NEAR(sum(p[i]).item(), 1.f, 1e-5f);

  Tensor f = extract_features(model, d.images, 4);
  EXPECT_EQ(f.shape(), (Shape{10, 16}));
  EXPECT_TRUE(allclose(f, model.features(Variable(d.images)).data(), 1e-5f, 1e-6f));
}

TEST(Classifier, EvaluateCountsCorrectAnswersAndRestoresTrainingMode) {
  Generator gen(2);
  MLPClassifier model(16, gen);
  Dataset d = tiny_dataset(gen);
  Tensor guess = predict(model, d.images);
  d.labels = guess.clone();
  d.labels.data()[0] = std::fmod(guess.data()[0] + 1, 10.f);  // exactly one wrong answer
  model.train();
  ClassifierMetrics m = evaluate(model, d, /*batch_size=*/4);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.9);
  EXPECT_GT(m.loss, 0);
  EXPECT_TRUE(model.is_training());

  model.eval();
  evaluate(model, d);
  EXPECT_FALSE(model.is_training());
}

TEST(Classifier, EvaluateNeedsLabels) {
  MLPClassifier model;
  Dataset d;
  d.images = Tensor::zeros({4, 1, 28, 28});
  EXPECT_EQ(error_of([&] { evaluate(model, d); }), "evaluate: the data set needs one label per image");
  EXPECT_EQ(error_of([&] { predict(model, Tensor::zeros({4, 1, 28, 28}), 0); }),
            "predict: batch_size must be >= 1, got 0");
}

// The end-to-end check: forward, cross-entropy, backward and Adam together must learn. An MLP
// (784 -> 128 -> 10) trained for 2 epochs on 2000 images with batch 32 (126 Adam steps, well under a
// second) reaches 75-78% on 1000 held-out test images for seeds 0-2 (measured). 70% leaves room for
// legitimate rounding differences (another GEMM summation order) while any real bug — a wrong
// gradient, a missing optimizer step, shuffled labels — lands far below: chance is 10%, and
// predicting the most common class gives about 11%.
TEST(Classifier, SmallMLPLearnsFashionMNIST) {
  Dataset train, test;
  try {
    train = subset(load_fashion_mnist(true), 2000, /*seed=*/0);
    test = subset(load_fashion_mnist(false), 1000, /*seed=*/0);
  } catch (const std::runtime_error& e) {
    GTEST_FAIL() << e.what();
  }
  Generator gen(0);
  MLPClassifier model(128, gen);
  Adam optimizer(model.parameters(), 1e-3f);
  DataLoader loader(train, /*batch_size=*/32, /*shuffle=*/true, /*seed=*/0);
  std::vector<double> epoch_losses;
  TrainLoop loop;
  loop.epochs = 2;
  loop.show_progress = false;
  loop.watched = {&model};
  loop.step = [&](const Tensor& x, const Tensor& y) {
    return StepLosses{{"loss", classifier_step(model, optimizer, x, y)}};
  };
  loop.end_of_epoch = [&](const EpochResult& r) { epoch_losses.push_back(r.mean_losses.at(0).second); };
  run_training(loop, loader);
  ASSERT_EQ(epoch_losses.size(), 2u);
  EXPECT_LT(epoch_losses[1], epoch_losses[0]);  // the mean training loss falls from one epoch to the next
  ClassifierMetrics m = evaluate(model, test);
  EXPECT_GT(m.accuracy, 0.70) << "test loss " << m.loss;
  EXPECT_EQ(optimizer.steps_taken(), 2 * 63);  // ceil(2000 / 32) steps per epoch
}

using test::write_model_file;

// An image_shape the CNN's poolings cannot take (2x2: its fc1.weight [128, 0] holds no bytes, so the file agrees) is
// an error naming the file, not the constructor's, naming none.
TEST(ClassifierFile, AnImageShapeTheCnnCannotPoolNamesTheFile) {
  const std::string path = write_model_file(
      "cnn.safetensors", {{"conv1.weight", {32, 1, 3, 3}}, {"fc1.weight", {128, 0}}},
      {{"trained_by", "hundun train classifier"}, {"model", "cnn"}, {"image_shape", "1,2,2"}});
  const std::string e = test::error_of([&] { load_classifier(path); });
  std::remove(path.c_str());
  EXPECT_NE(e.find(path + ": metadata 'image_shape' 1x2x2 does not fit the CNN"), std::string::npos) << e;
}

}  // namespace hd
