#include "cli/judge.h"

#include <fmt/format.h>

#include <filesystem>

#include "cli/args.h"
#include "cli/model_files.h"
#include "data/loader.h"

namespace hd::cli {

std::string default_classifier_path() { return std::string(HUNDUN_SOURCE_DIR) + "/weights/classifier.safetensors"; }

std::shared_ptr<ImageClassifier> load_judge(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw std::runtime_error(fmt::format("{}: no such classifier checkpoint (write it with 'make weights' or "
                                         "'hundun train classifier', or pass --classifier CKPT)",
                                         path));
  try {
    check_family(path, "classifier", "eval");
  } catch (const UsageError& e) {
    throw UsageError(std::string("--classifier ") + e.what());
  }
  return load_classifier(path);
}

FeatureClassifier feature_classifier(ImageClassifier& classifier) {
  return [&classifier](const Tensor& images) { return features_and_probabilities(classifier, images); };
}

std::vector<QualityReport> print_quality_rows(ImageClassifier& judge, const std::string& judge_path, const Dataset& test,
                        const Dataset& train, const std::vector<std::pair<std::string, Tensor>>& rows) {
  const FeatureClassifier classify = feature_classifier(judge);
  const FeatureStatistics real = feature_statistics(classify_in_batches(test.images, classify).first);
  fmt::print("judged by {} (features of the {} test images as the reference)\n", judge_path, test.images.size(0));
  std::vector<QualityReport> reports;
  for (const auto& [what, images] : rows) {
    reports.push_back(quality_report(images, classify, real));
    fmt::print("  {:<40} {}\n", what + ":", describe(reports.back()));
  }
  const int64_t n = rows.empty() ? 0 : rows[0].second.size(0);
  const int64_t floor_n = std::min<int64_t>(n, train.images.size(0));
  if (floor_n >= 2)
    fmt::print("  {:<40} {}\n", fmt::format("real training images ({}, the floor):", floor_n),
               describe(quality_report(subset(train, floor_n, /*seed=*/1).images, classify, real)));
  if (reports.empty()) return reports;
  const auto& names = fashion_mnist_classes();
  std::string histogram;
  for (size_t c = 0; c < reports[0].class_counts.size() && c < names.size(); ++c)
    histogram += fmt::format("{}{} {}", c == 0 ? "" : ", ", names[c], reports[0].class_counts[c]);
  fmt::print("classes of the generated images: {}\n", histogram);
  return reports;
}

}  // namespace hd::cli
