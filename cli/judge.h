// judge.h — the classifier that grades generated images for every family's `hundun eval` (metrics/frechet.h):
// where it is, how it is loaded, and the quality rows every eval command prints.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "data/fashion_mnist.h"
#include "metrics/frechet.h"
#include "models/classifier.h"

namespace hd::cli {

// <repository>/weights/classifier.safetensors, written by `make weights`.
std::string default_classifier_path();
// Loads a checkpoint of `hundun train classifier`. A checkpoint of another model is a UsageError; a missing file
// a std::runtime_error that says how to make one.
std::shared_ptr<ImageClassifier> load_judge(const std::string& path);
// (features, class probabilities) of images, for metrics/frechet.h's quality_report.
FeatureClassifier feature_classifier(ImageClassifier& classifier);

// Prints one quality line per set of images (FD to the test images' features, confidence, classes covered), then
// the class histogram of the first set (the generated images):
//   judged by weights/classifier.safetensors (features of the 10000 test images as the reference)
//     generated (10000 images, z ~ N(0, I)):   FD 23.40, mean confidence 0.871, 10/10 classes covered
// A last row "real training images" is the floor: the smallest FD a model could hope for with that many images.
// Returns the rows' reports, in order.
std::vector<QualityReport> print_quality_rows(ImageClassifier& judge, const std::string& judge_path, const Dataset& test,
                        const Dataset& train, const std::vector<std::pair<std::string, Tensor>>& rows);

}  // namespace hd::cli
