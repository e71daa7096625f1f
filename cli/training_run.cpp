#include "cli/training_run.h"

#include <fmt/format.h>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace hd::cli {

// --------------------------------------------------------------------------------- settings

void add_run_settings(const RunSettings& s, std::map<std::string, std::string>& m) {
  m["batch"] = std::to_string(s.batch);
  m["lr"] = fmt::format("{}", s.lr);  // shortest text that reads back as the same double
  m["seed"] = std::to_string(s.seed);
  m["train_size"] = std::to_string(s.train_size);
  m["test_size"] = std::to_string(s.test_size);
}

RunSettings run_settings_from(const Metadata& m) {
  RunSettings s;
  // The bounds of the flags that wrote them (--batch, --seed, --train-size, --test-size, --lr): a damaged file
  // cannot resume a run that no command line could have started.
  s.batch = m.integer("batch", 1, 1 << 20);
  s.seed = m.integer("seed", 0, INT64_MAX);
  s.train_size = m.integer("train_size", 0, 1 << 30);
  s.test_size = m.integer("test_size", 0, 1 << 30);
  s.lr = m.number("lr");
  if (!(s.lr > 0.0 && s.lr <= 10.0))
    throw std::runtime_error(fmt::format("{}: metadata 'lr' should be a number greater than 0 and at most 10, got '{}'",
                                         m.path(), m.text("lr")));
  return s;
}

// --------------------------------------------------------------------------------- history

void add_training_data_flags(ArgParser& args, const std::string& default_out, const std::string& what,
                             const std::string& resume_help) {
  args.option("--data", "DIR", "folder of the Fashion-MNIST IDX files", default_fashion_mnist_dir());
  args.option("--out", "DIR", "where " + what + " go", default_out);
  args.option("--resume", "CKPT", resume_help);
  args.option("--train-size", "N", "train on the first N training images only, 0 for all", "0");
}

bool already_trained(const std::string& resume, int64_t done, int64_t epochs, const std::string& unit) {
  if (done < epochs) return false;
  fmt::print("{} has already trained {} {}; pass --{} larger than {} to train further\n", resume, done, unit, unit, done);
  return true;
}

std::string epoch_records_text(const std::vector<std::vector<double>>& records) {
  std::string text;
  for (const std::vector<double>& record : records) {
    for (size_t i = 0; i < record.size(); ++i) text += (i == 0 ? "" : " ") + fmt::format("{}", record[i]);
    text += ';';
  }
  return text;
}

std::map<std::string, std::string> training_metadata(std::map<std::string, std::string> m, const RunSettings& run,
                                                     const std::vector<std::vector<double>>& epochs,
                                                     const std::vector<double>& step_losses) {
  add_run_settings(run, m);
  m["history_epochs"] = epoch_records_text(epochs);
  m["history_step_losses"] = step_losses_text(step_losses);
  return m;
}

std::vector<std::vector<double>> epoch_records_from(const Metadata& m, size_t fields) {
  std::vector<std::vector<double>> records;
  std::istringstream epochs(m.text("history_epochs"));
  std::string record;
  while (std::getline(epochs, record, ';')) {
    std::istringstream numbers(record);
    std::vector<double> values(fields);
    for (double& v : values)
      if (!(numbers >> v))
        throw std::runtime_error(fmt::format("{}: damaged metadata 'history_epochs': '{}'", m.path(), record));
    records.push_back(values);
  }
  return records;
}

std::string step_losses_text(const std::vector<double>& losses) {
  std::string text;
  for (double l : losses) text += fmt::format("{:.5g} ", l);
  return text;
}

std::vector<double> step_losses_from(const Metadata& m) {
  std::vector<double> losses;
  std::istringstream steps(m.text("history_step_losses"));
  for (double l; steps >> l;) losses.push_back(l);
  return losses;
}

// --------------------------------------------------------------------------------- flags and data

void check_resume_flag(const ArgParser& args, const std::string& flag, bool same, const std::string& saved) {
  if (args.given(flag) && !same)
    throw UsageError(fmt::format("{} {} contradicts the checkpoint's {} (a resumed run keeps its settings)", flag,
                                 args.get(flag), saved));
}

void check_resume_flags(const ArgParser& args, const RunSettings& given, const RunSettings& saved) {
  check_resume_flag(args, "--batch", given.batch == saved.batch, std::to_string(saved.batch));
  check_resume_flag(args, "--lr", given.lr == saved.lr, fmt::format("{}", saved.lr));
  check_resume_flag(args, "--seed", given.seed == saved.seed, std::to_string(saved.seed));
  check_resume_flag(args, "--train-size", given.train_size == saved.train_size, std::to_string(saved.train_size));
  if (args.declared("--test-size"))  // the GAN has no test split to size
    check_resume_flag(args, "--test-size", given.test_size == saved.test_size, std::to_string(saved.test_size));
}

Dataset first_images(const Dataset& data, int64_t n, const char* flag) {
  if (n == 0) return data;
  if (n > data.images.size(0))
    throw UsageError(fmt::format("{} {} is more than the {} images there are", flag, n, data.images.size(0)));
  return subset(data, n, /*seed=*/0);  // seed 0: the first n, not a random choice
}

TrainingData load_training_data(const std::string& data_dir, const RunSettings& run, bool resumed) {
  TrainingData d;
  d.train = first_images(load_fashion_mnist(true, data_dir), run.train_size,
                         resumed ? "train_size (from the checkpoint)" : "--train-size");
  d.test = first_images(load_fashion_mnist(false, data_dir), run.test_size,
                        resumed ? "test_size (from the checkpoint)" : "--test-size");
  return d;
}

std::string json_number(double x) { return std::isfinite(x) ? fmt::format("{:.6g}", x) : "null"; }

}  // namespace hd::cli
