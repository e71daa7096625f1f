// `hundun train classifier` — trains the Fashion-MNIST classifier of models/classifier.h, the judge
// that later grades generated images (class histogram, Fréchet distance of its features).
//
// Each epoch: a progress line, the test accuracy, then the checkpoint and the log, both rewritten
// atomically (a crash leaves the previous epoch's files intact). Files in --out (default out/classifier):
//   checkpoint.safetensors  the model, Adam's moments, the generator, the epoch, and as metadata the
//                           run's settings and history (so a resumed run can write the whole log and curve)
//   log.jsonl               one JSON object per epoch: epoch, train_loss, test_loss, test_accuracy, seconds
//   loss.svg                the training loss of every step
//
// The learning rate follows a cosine from --lr down to 0 over all the run's steps, which is why --epochs
// is part of a run's plan.
//
// --resume CKPT finishes an interrupted run exactly, as if it had never stopped: the settings (--epochs
// included) come from the checkpoint and a flag that contradicts them is refused; the model, Adam's
// moments and the generator are restored, the schedule is set to the saved step, and because the data
// loader's order for epoch k depends only on the seed and k, drawing and discarding the finished
// epochs' orders puts the loader where the run stopped.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <map>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/model_files.h"
#include "cli/paths.h"
#include "cli/training_run.h"
#include "data/fashion_mnist.h"
#include "data/files.h"
#include "data/loader.h"
#include "report/plot.h"
#include "models/classifier.h"
#include "nn/checkpoint.h"
#include "nn/optim.h"
#include "nn/schedulers.h"
#include "train/loop.h"

namespace hd::cli {
namespace {

// Two epochs of the CNN reach 90-91% test accuracy (see models/classifier.h).
constexpr const char* kDefaultEpochs = "2";

// What makes two runs the same run; stored in the checkpoint.
struct Settings {
  int64_t epochs = 2;
  std::string model = "cnn";
  RunSettings run;  // batch, lr, seed, train_size, test_size
};

struct EpochRecord {
  int64_t epoch;  // from 1
  double train_loss, test_loss, test_accuracy, seconds;
};

// The run so far: per epoch, and the loss of every training step.
struct History {
  std::vector<EpochRecord> epochs;
  std::vector<double> step_losses;
};

ArgParser make_parser() {
  ArgParser args("hundun train classifier",
                 "Trains the Fashion-MNIST classifier (models/classifier.h) with Adam and cross-entropy, and\n"
                 "writes a checkpoint after every epoch, a JSONL log and an SVG loss curve to --out.");
  args.option("--epochs", "N", "passes over the training set; the lr decays to 0 at the end", kDefaultEpochs);
  args.option("--batch", "B", "images per step", "128");
  args.option("--lr", "LR", "Adam's learning rate at the start of the cosine schedule", "0.001");
  args.option("--seed", "S", "seeds the initial weights and the shuffling", "0");
  args.option("--model", "NAME", "cnn (the judge of generated images) or mlp (small, fast)", "cnn");
  add_training_data_flags(args, "out/classifier", "the checkpoint, log and curve",
                          "finish the run saved in this checkpoint, with its settings");
  args.option("--stop-after", "N", "stop after epoch N of the plan, as if interrupted (--resume finishes it); 0: no",
              "0");
  args.option("--test-size", "N", "test on the first N test images only, 0 for all", "0");
  return args;
}

std::string jsonl(const History& history) {
  std::string out;
  for (const EpochRecord& r : history.epochs)
    out += fmt::format("{{\"epoch\":{},\"train_loss\":{},\"test_loss\":{},\"test_accuracy\":{},\"seconds\":{}}}\n",
                       r.epoch, json_number(r.train_loss), json_number(r.test_loss), json_number(r.test_accuracy),
                       json_number(r.seconds));
  return out;
}

// --- settings and history <-> checkpoint metadata (cli/training_run.h) ---

std::map<std::string, std::string> to_metadata(const ImageClassifier& model, const Settings& s, const History& h) {
  std::map<std::string, std::string> m = model.options.to_metadata();  // "trained_by", "model" (cnn or mlp), ...
  m["epochs"] = std::to_string(s.epochs);
  std::vector<std::vector<double>> epochs;  // epoch, train_loss, test_loss, test_accuracy, seconds
  for (const EpochRecord& r : h.epochs)
    epochs.push_back({static_cast<double>(r.epoch), r.train_loss, r.test_loss, r.test_accuracy, r.seconds});
  return training_metadata(m, s.run, epochs, h.step_losses);
}

Settings settings_from_metadata(const Metadata& m) {
  Settings s;
  s.epochs = m.integer("epochs", 1, 100000);
  // "cnn" or "mlp": a file whose "model" is the family's own name ("classifier") or anything else is refused here,
  // naming the file, not later by make_classifier.
  s.model = m.choice("model", {"cnn", "mlp"});
  s.run = run_settings_from(m);
  return s;
}

History history_from_metadata(const Metadata& m) {
  History h;
  for (const std::vector<double>& f : epoch_records_from(m, 5))
    h.epochs.push_back({static_cast<int64_t>(f[0]), f[1], f[2], f[3], f[4]});
  h.step_losses = step_losses_from(m);
  return h;
}

int train_classifier(const std::vector<std::string>& words) {
  ArgParser args = make_parser();
  if (parse_or_print_help(args, words)) return 0;
  // Every flag is read and checked before anything slow happens.
  Settings s;
  s.epochs = args.get_int("--epochs", 1, 100000);
  s.run.batch = args.get_int("--batch", 1, 1 << 20);
  s.run.lr = args.get_double("--lr", 0.0, 10.0);
  s.run.seed = args.get_int("--seed", 0, INT64_MAX);
  s.model = args.get_choice("--model", {"cnn", "mlp"});
  s.run.train_size = args.get_int("--train-size", 0, 1 << 30);
  s.run.test_size = args.get_int("--test-size", 0, 1 << 30);
  const int64_t stop_after = args.get_int("--stop-after", 0, 100000);
  const std::string data_dir = args.get("--data"), out_dir = args.get("--out"), resume = args.get("--resume");
  const std::string ckpt_path = out_dir + "/checkpoint.safetensors", log_path = out_dir + "/log.jsonl",
                    curve_path = out_dir + "/loss.svg";
  // Resuming in place (--resume OUT/checkpoint.safetensors --out OUT) is how a run continues: the checkpoint is
  // read whole first and replaced atomically after the next epoch. The log and the plot must not be the input.
  refuse_overwriting_inputs({{"--out", log_path}, {"--out", curve_path}}, {{"--resume", resume}});

  History history;
  if (!resume.empty()) {
    const CheckpointInfo info = check_family(resume, "classifier", "train");
    const Metadata metadata(info.metadata, resume, "was it written by 'hundun train classifier'?");
    const Settings saved = settings_from_metadata(metadata);
    check_resume_flag(args, "--epochs", s.epochs == saved.epochs, std::to_string(saved.epochs));
    check_resume_flag(args, "--model", s.model == saved.model, saved.model);
    check_resume_flags(args, s.run, saved.run);
    s = saved;
    history = history_from_metadata(metadata);
    if (info.epoch >= s.epochs) {
      fmt::print("{} is a finished run ({} of {} epochs): nothing to resume\n", resume, info.epoch, s.epochs);
      return 0;
    }
  }
  const bool resumed = !resume.empty();
  const TrainingData data = load_training_data(data_dir, s.run, resumed);
  const Dataset &train = data.train, &test = data.test;

  Generator gen(static_cast<uint64_t>(s.run.seed));
  std::shared_ptr<ImageClassifier> model = make_classifier(s.model, gen);
  Adam optimizer(model->parameters(), static_cast<float>(s.run.lr));
  DataLoader loader(train, s.run.batch, /*shuffle=*/true, static_cast<uint64_t>(s.run.seed));
  // Cosine decay of the lr over every step of the run (SGDR's schedule without restarts): the last steps
  // are small, so the final weights settle instead of ending wherever the last noisy step left them.
  CosineAnnealingLR schedule(optimizer, s.epochs * loader.num_batches());
  int64_t first_epoch = 0;  // epochs already done
  if (!resume.empty()) {
    const CheckpointInfo info = load_checkpoint(resume, *model, &optimizer, &gen);
    first_epoch = info.epoch;
    schedule.set_last_epoch(info.step);  // the scheduler counts steps
  }
  const OutputFolder out_folder("--out", out_dir);  // only once everything loaded, and before any training

  fmt::print("train classifier: {} ({} parameters), {} epochs, Adam lr {} with cosine decay, batch {}, seed {}, "
             "{} training / {} test images\n",
             s.model, model->num_parameters(), s.epochs, s.run.lr, s.run.batch, s.run.seed, train.images.size(0),
             test.images.size(0));
  if (first_epoch > 0) fmt::print("resuming {} after epoch {}\n", resume, first_epoch);
  std::fflush(stdout);

  const int64_t last_epoch = stop_after > 0 ? std::min(stop_after, s.epochs) : s.epochs;
  TrainLoop loop;
  loop.first_epoch = first_epoch;
  loop.epochs = last_epoch;
  loop.steps_done = optimizer.steps_taken();
  loop.watched = {model.get()};
  loop.step = [&](const Tensor& x, const Tensor& y) {
    const float loss = classifier_step(*model, optimizer, x, y);
    schedule.step();
    return StepLosses{{"loss", loss}};
  };
  loop.after_step = [&](const StepLosses& l) { history.step_losses.push_back(static_cast<float>(l[0].second)); };
  loop.end_of_epoch = [&](const EpochResult& r) {
    const ClassifierMetrics m = evaluate(*model, test);
    const double train_loss = r.mean_losses[0].second;
    history.epochs.push_back({r.epoch, train_loss, m.loss, m.accuracy, r.seconds});
    fmt::print("epoch {}/{}  train loss {:.4f}  test loss {:.4f}  test accuracy {:.2f}%  ({:.1f}s)\n", r.epoch,
               s.epochs, train_loss, m.loss, 100 * m.accuracy, r.seconds);
    std::fflush(stdout);
    stop_if_not_finite("test loss", m.loss, r.epoch, optimizer.steps_taken());

    CheckpointInfo info;
    info.epoch = r.epoch;
    info.step = optimizer.steps_taken();
    info.metadata = to_metadata(*model, s, history);
    save_checkpoint(ckpt_path, *model, &optimizer, &gen, info);
    write_file_atomically(log_path, jsonl(history), "train classifier");
  };
  run_training(loop, loader);

  std::vector<double> steps(history.step_losses.size());
  for (size_t i = 0; i < steps.size(); ++i) steps[i] = static_cast<double>(i + 1);
  save_loss_curve(steps, history.step_losses, curve_path, "classifier: training loss");

  print_wrote(ckpt_path, "model, optimizer and generator state: for 'hundun eval classifier' and --resume");
  print_wrote(log_path, "one JSON line per epoch");
  print_wrote(curve_path, "training loss per step");
  if (last_epoch < s.epochs)
    fmt::print("stopped after epoch {} of {}: --resume {} to finish\n", last_epoch, s.epochs, ckpt_path);
  else
    fmt::print("final test accuracy {:.2f}% after {} epoch{}\n", 100 * history.epochs.back().test_accuracy, s.epochs,
               s.epochs == 1 ? "" : "s");
  return 0;
}

const bool registered =
    register_family({"classifier", "a classifier", {"cnn", "mlp"},
                     [](const std::string& path) { return std::shared_ptr<Module>(load_classifier(path)); }}) &&
    register_command({"train classifier", "train the Fashion-MNIST classifier that judges generated images",
                      train_classifier});

}  // namespace
}  // namespace hd::cli
