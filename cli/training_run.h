// training_run.h — what the training commands share (`hundun train classifier`, `hundun train ae|vae`, ...):
// the settings every run has, and how a run keeps them and its history in the checkpoint it writes
// after every epoch, so that --resume goes on exactly and can write the whole log and loss curve.
//
// Besides its model's entries, a training run's checkpoint metadata (nn/checkpoint.h) holds
//   "batch", "lr", "seed", "train_size", "test_size"   RunSettings, as text
//   "history_epochs"       one record per finished epoch, "<epoch> <number> ... <number>;" (which numbers
//                          is the command's business: losses, accuracy, seconds)
//   "history_step_losses"  the training loss of every step, separated by spaces
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cli/args.h"
#include "data/loader.h"
#include "nn/metadata.h"

namespace hd::cli {

// What, besides the model and the number of epochs, makes two runs the same run.
struct RunSettings {
  int64_t batch = 128;
  double lr = 1e-3;
  int64_t seed = 0;
  int64_t train_size = 0;  // 0: the whole split
  int64_t test_size = 0;
};

// RunSettings as metadata entries, added to `metadata`; and back.
void add_run_settings(const RunSettings& settings, std::map<std::string, std::string>& metadata);
RunSettings run_settings_from(const Metadata& metadata);

// "history_epochs": the numbers of each record, `fields` of them (a record with fewer is damaged).
std::vector<std::vector<double>> epoch_records_from(const Metadata& metadata, size_t fields);
// The other way: "1 243.1 240.2;2 ...;" for metadata "history_epochs", a record's numbers in the order given.
std::string epoch_records_text(const std::vector<std::vector<double>>& records);
// The flags every Fashion-MNIST training command takes: --data, --out (default `default_out`, holding `what`),
// --resume (`resume_help` says what it does), --train-size.
void add_training_data_flags(ArgParser& args, const std::string& default_out, const std::string& what,
                             const std::string& resume_help = "continue the run saved in this checkpoint");

// For --resume: true (after saying so) when the run in `resume` has trained its `done` epochs and --epochs asks for
// no more, so there is nothing to do. `unit` is "steps" for a command that trains in steps (--steps).
bool already_trained(const std::string& resume, int64_t done, int64_t epochs, const std::string& unit = "epochs");

// What a training checkpoint's metadata holds: the model's own, the run's settings, and its history (one record of
// numbers per epoch, the loss of every step).
std::map<std::string, std::string> training_metadata(std::map<std::string, std::string> model_metadata,
                                                     const RunSettings& run,
                                                     const std::vector<std::vector<double>>& epochs,
                                                     const std::vector<double>& step_losses);
// "history_step_losses", written with 5 significant digits; and back.
std::string step_losses_text(const std::vector<double>& losses);
std::vector<double> step_losses_from(const Metadata& metadata);

// With --resume the checkpoint's settings win; a flag given with another value would silently make a
// different run, so it is refused: UsageError "--batch 32 contradicts the checkpoint's 64 (...)".
void check_resume_flag(const ArgParser& args, const std::string& flag, bool same, const std::string& saved);
// The same for the flags of RunSettings: --batch, --lr, --seed, --train-size, --test-size (where declared).
void check_resume_flags(const ArgParser& args, const RunSettings& given, const RunSettings& saved);

// The first n images of a split (n = 0: all of it), for --train-size and --test-size (`flag`, in the
// UsageError when n is more than there are).
Dataset first_images(const Dataset& data, int64_t n, const char* flag);

// The training and test images of a run: the first --train-size and --test-size of each Fashion-MNIST split.
// Sizes that came from a resumed checkpoint are not blamed on flags the user never typed: the error says
// "train_size (from the checkpoint)".
struct TrainingData {
  Dataset train, test;
};
TrainingData load_training_data(const std::string& data_dir, const RunSettings& run, bool resumed);

// A number for the JSONL logs: NaN and infinities are not JSON, "null" is.
std::string json_number(double x);

}  // namespace hd::cli
