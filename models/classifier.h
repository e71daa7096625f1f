// classifier.h — a Fashion-MNIST classifier: the judge of generated images.
//
// A generative model cannot grade its own pictures. A classifier trained on the real data can: it
// tells which class a sample looks like (are all ten kinds of clothes generated, or only shirts?), and
// its penultimate activations, the "features", are the space in which the Fréchet distance (FD, the
// FID of Heusel et al. 2017 with this network in place of Inception) compares generated and real images.
//
// Classifier is a small CNN of 422k parameters. Trained as `hundun train classifier` does it (Adam,
// lr 1e-3 decaying along a cosine to 0, batch 128, two epochs) it reaches 90.6-90.8% test accuracy
// (seeds 0, 1, 2). Batch normalisation (Ioffe & Szegedy 2015) after each convolution is what gets it
// past 90% that fast: without it the same network has 88% after two epochs and 89.7% after three.
//
//   x [B, 1, 28, 28]
//   conv1  Conv2d(1, 32, 3, padding 1, no bias), bn1 BatchNorm2d(32), ReLU, MaxPool 2   -> [B, 32, 14, 14]
//   conv2  Conv2d(32, 64, 3, padding 1, no bias), bn2 BatchNorm2d(64), ReLU, MaxPool 2  -> [B, 64, 7, 7]
//   Flatten, fc1  Linear(3136, 128), ReLU                          -> [B, 128]  features(x)
//   fc2  Linear(128, 10)                                           -> [B, 10]   forward(x): the logits
// (A convolution followed by batch norm needs no bias: the normalisation subtracts it again.)
//
// MLPClassifier (Flatten, Linear(784, hidden), ReLU, Linear(hidden, 10)) is the same idea small enough
// for a unit test. The parameter names ("conv1.weight", "bn1.running_mean", "fc2.bias") are those of
// the PyTorch twin in bench/torch/classifier.py, and the layers are built in its order, so one seed
// gives both the same initial weights.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "data/fashion_mnist.h"
#include "data/loader.h"
#include "models/images.h"
#include "nn/layers.h"
#include "nn/metadata.h"
#include "nn/optim.h"

namespace hd {

// Which classifier, enough to build it again: "cnn" (Classifier) or "mlp" (MLPClassifier), for images of `image`'s
// shape (H and W divisible by 4 for the CNN's two poolings).
struct ClassifierOptions {
  std::string arch = "cnn";
  int64_t hidden = 128;  // mlp: width of the hidden layer
  ImageShape image = {};

  // As checkpoint metadata: "trained_by" "hundun train classifier", "model" the arch, "image_shape"; and back.
  std::map<std::string, std::string> to_metadata() const;
  static ClassifierOptions from_metadata(const Metadata& metadata);
};

// What evaluate() and extract_features() need from a classifier: logits and features, and the last layer between
// them, so that features and class probabilities come from one pass over the images.
class ImageClassifier : public Module {
 public:
  // x: [B, C, H, W] -> logits [B, num_classes] = logits_of_features(features(x))
  Variable forward(const Variable& x) override { return logits_of_features(features(x)); }
  // x: [B, C, H, W] -> the penultimate activations [B, feature_dim()]
  virtual Variable features(const Variable& x) = 0;
  // features [B, feature_dim()] -> logits [B, num_classes]
  virtual Variable logits_of_features(const Variable& features) = 0;
  virtual int64_t feature_dim() const = 0;
  ClassifierOptions options;
};

class Classifier : public ImageClassifier {
 public:
  explicit Classifier(Generator& gen = default_generator()) : Classifier(ImageShape{}, gen) {}
  explicit Classifier(const ImageShape& image, Generator& gen = default_generator());
  Variable features(const Variable& x) override;
  Variable logits_of_features(const Variable& f) override { return fc2->forward(f); }
  int64_t feature_dim() const override { return 128; }
  std::string describe() const override { return "Classifier()"; }

  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> bn1, bn2;
  std::shared_ptr<Linear> fc1, fc2;
};

class MLPClassifier : public ImageClassifier {
 public:
  explicit MLPClassifier(int64_t hidden = 128, Generator& gen = default_generator(), const ImageShape& image = {});
  Variable features(const Variable& x) override;
  Variable logits_of_features(const Variable& f) override { return fc2->forward(f); }
  int64_t feature_dim() const override { return hidden; }
  std::string describe() const override { return "MLPClassifier()"; }

  int64_t hidden;
  std::shared_ptr<Linear> fc1, fc2;
};

// The architectures by name, for the command line and checkpoints: "cnn" (Classifier) or "mlp"
// (MLPClassifier with 128 hidden units). Throws std::invalid_argument naming the choices otherwise.
std::shared_ptr<ImageClassifier> make_classifier(const std::string& arch, Generator& gen = default_generator());
std::shared_ptr<ImageClassifier> make_classifier(const ClassifierOptions& options, Generator& gen = default_generator());

// The classifier a checkpoint of `hundun train classifier` holds: built from its metadata, weights loaded, in
// evaluation mode. Throws std::runtime_error naming the file for a damaged file or another model.
std::shared_ptr<ImageClassifier> load_classifier(const std::string& path);

// --- using a classifier: all in evaluation mode, without a graph, in batches of `batch_size` images;
//     the model's training mode is restored afterwards ---

struct ClassifierMetrics {
  double accuracy = 0;  // fraction of images whose largest logit is their label
  double loss = 0;      // mean cross-entropy
};
// data.labels must be defined. Throws std::invalid_argument for an empty data set or missing labels.
ClassifierMetrics evaluate(Module& model, const Dataset& data, int64_t batch_size = 250);

// images: [N, 1, 28, 28] -> [N] the most likely class of each image (as floats, like argmax).
Tensor predict(Module& model, const Tensor& images, int64_t batch_size = 250);
// images: [N, 1, 28, 28] -> [N, num_classes] softmax probabilities.
Tensor predict_probabilities(Module& model, const Tensor& images, int64_t batch_size = 250);
// images: [N, 1, 28, 28] -> [N, feature_dim] the features FD compares.
Tensor extract_features(ImageClassifier& model, const Tensor& images, int64_t batch_size = 250);
// images -> (features [N, feature_dim], softmax probabilities [N, num_classes]) in one pass.
std::pair<Tensor, Tensor> features_and_probabilities(ImageClassifier& model, const Tensor& images,
                                                     int64_t batch_size = 250);

// --- training ---

// One step of supervised training: cross-entropy of the logits of x [B, C, H, W] against labels y [B] (mean over
// the batch), backward, optimizer step. Returns the loss. (train/loop.h runs it over epochs.)
float classifier_step(Module& model, Optimizer& optimizer, const Tensor& x, const Tensor& y);

}  // namespace hd
