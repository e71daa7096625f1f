// The GAN's commands (models/gan.h): train, sample, eval — each one registration line at the end.
//
//   hundun train gan                      DCGAN-28, non-saturating loss, Adam 2e-4 (0.5, 0.999), batch 64, 5 epochs
//   hundun train gan --loss wgan-gp --out out/wgan
//   hundun sample gan --ckpt out/gan/checkpoint.safetensors --out samples.png
//
// The step is Algorithm 1 (gan::train_step): a discriminator step, then a generator step, through run_training
// (train/loop.h), which stops the run before anything is written when a loss or a gradient is not finite. After
// every epoch, in --out, rewritten atomically:
//   checkpoint.safetensors   both networks ("generator", "discriminator"), both Adams, the random stream, and as
//                            metadata the model's options, the run's settings and its history
//   log.jsonl                one JSON object per epoch: mean D and G losses, mean logits D(x), D(G(z)), seconds
//   loss.svg                 D's and G's loss per step, one plot
//   samples_epochNN.png      64 samples from the same 64 z every epoch
// --resume CKPT continues exactly: settings from the checkpoint, both networks, both Adams and the random stream
// restored, and the data loader's finished epochs drawn and discarded.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/gan/toy.h"
#include "cli/image_commands.h"
#include "cli/model_files.h"
#include "cli/paths.h"
#include "cli/training_run.h"
#include "data/files.h"
#include "data/loader.h"
#include "models/gan.h"
#include "nn/checkpoint.h"
#include "report/labels.h"
#include "report/plot.h"
#include "train/loop.h"

namespace hd::cli {
namespace {

constexpr uint64_t kPictureSeed = 0;  // the same 64 z in every epoch's picture, whatever the run's seed

struct EpochRecord {
  int64_t epoch;  // from 1
  double d_loss, g_loss, d_real, d_fake, seconds;
};

struct History {
  std::vector<EpochRecord> epochs;
  std::vector<double> d_steps, g_steps;  // per step
};

std::string jsonl(const History& h) {
  std::string out;
  for (const EpochRecord& r : h.epochs)
    out += fmt::format("{{\"epoch\":{},\"d_loss\":{},\"g_loss\":{},\"d_real\":{},\"d_fake\":{},\"seconds\":{}}}\n",
                       r.epoch, json_number(r.d_loss), json_number(r.g_loss), json_number(r.d_real),
                       json_number(r.d_fake), json_number(r.seconds));
  return out;
}

std::map<std::string, std::string> to_metadata(const gan::GAN& model, const RunSettings& run, const History& h) {
  std::vector<std::vector<double>> epochs;  // epoch, d, g, d_real, d_fake, seconds
  for (const EpochRecord& r : h.epochs)
    epochs.push_back({static_cast<double>(r.epoch), r.d_loss, r.g_loss, r.d_real, r.d_fake, r.seconds});
  std::map<std::string, std::string> m = training_metadata(model.metadata(), run, epochs, h.d_steps);
  m["history_step_losses_g"] = step_losses_text(h.g_steps);  // G's losses beside D's
  return m;
}

History history_from_metadata(const Metadata& m) {
  History h;
  for (const std::vector<double>& f : epoch_records_from(m, 6))
    h.epochs.push_back({static_cast<int64_t>(f[0]), f[1], f[2], f[3], f[4], f[5]});
  h.d_steps = step_losses_from(m);
  // G's losses are kept under their own key; step_losses_from reads "history_step_losses".
  h.g_steps = step_losses_from(Metadata({{"history_step_losses", m.text("history_step_losses_g")}}, m.path()));
  return h;
}

// D's and G's loss per step (x in epochs), one picture: oscillating curves are normal; D near 0 means D wins.
void save_curves(const History& h, int64_t steps_per_epoch, const std::string& path, const std::string& title) {
  Plot plot(title, "epoch", "loss");
  std::vector<double> x;
  for (size_t i = 0; i < h.d_steps.size(); ++i)
    x.push_back(static_cast<double>(i + 1) / static_cast<double>(steps_per_epoch));
  plot.line(x, h.d_steps, "D (discriminator)", "#1f77b4");
  plot.line(x, h.g_steps, "G (generator)", "#ff7f0e");
  plot.save(path);
}

ArgParser make_parser() {
  ArgParser args("hundun train gan",
                 "Trains the DCGAN of models/gan.h (G: Linear, two transposed convolutions, tanh; D: two strided\n"
                 "convolutions, a logit) on Fashion-MNIST scaled to [-1, 1], Goodfellow et al.'s Algorithm 1, Adam for each.");
  args.option("--loss", "NAME", "ns (non-saturating), minimax, lsgan, hinge or wgan-gp (lambda 10, n_critic 5)", "ns");
  args.option("--epochs", "N", "total passes over the training set (with --resume: including those done)", "5");
  args.option("--batch", "B", "real images per step (and as many generated)", "64");
  args.option("--lr", "LR", "both Adams' learning rate (betas 0.5, 0.999)", "0.0002");
  args.option("--seed", "S", "seeds the initial weights, the shuffling and every z", "1");
  add_training_data_flags(args, "out/gan", "the checkpoint, log and pictures");
  args.option("--toy", "NAME", "train the 2-D toy GAN on ring or grid instead (mode collapse; see --toy ring --help)");
  return args;
}

int train(const std::vector<std::string>& words) {
  // --toy ring|grid: the 2-D mixtures of cli/gan/toy.cpp, with flags of their own.
  if (std::find(words.begin(), words.end(), "--toy") != words.end()) return train_toy_gan(words);
  ArgParser args = make_parser();
  if (parse_or_print_help(args, words)) return 0;
  RunSettings run;
  const int64_t epochs = args.get_int("--epochs", 1, 100000);
  const std::string loss = args.get_choice("--loss", {"ns", "minimax", "lsgan", "hinge", "wgan-gp"});
  run.batch = args.get_int("--batch", 1, 1 << 20);
  run.lr = args.get_double("--lr", 0.0, 10.0);
  run.seed = args.get_int("--seed", 0, INT64_MAX);
  run.train_size = args.get_int("--train-size", 0, 1 << 30);
  run.test_size = 100;  // the GAN has no test loss: a token test split, for the shared loader
  const std::string data_dir = args.get("--data"), out_dir = args.get("--out"), resume = args.get("--resume");
  const std::string ckpt_path = out_dir + "/checkpoint.safetensors", log_path = out_dir + "/log.jsonl",
                    curve_path = out_dir + "/loss.svg";
  refuse_overwriting_inputs({{"--out", log_path}, {"--out", curve_path}}, {{"--resume", resume}});

  gan::GanOptions options;
  options.loss = gan::loss_from_name(loss);
  History history;
  int64_t done_epochs = 0;
  const bool resumed = !resume.empty();
  if (resumed) {
    const CheckpointInfo info = check_family(resume, "gan", "train");
    const Metadata saved = read_model_metadata(resume, "gan");
    options = gan::GanOptions::from_metadata(saved);
    check_resume_flag(args, "--loss", loss == gan::loss_name(options.loss), gan::loss_name(options.loss));
    const RunSettings saved_run = run_settings_from(saved);
    check_resume_flag(args, "--batch", run.batch == saved_run.batch, std::to_string(saved_run.batch));
    check_resume_flag(args, "--lr", run.lr == saved_run.lr, fmt::format("{}", saved_run.lr));
    check_resume_flag(args, "--seed", run.seed == saved_run.seed, std::to_string(saved_run.seed));
    check_resume_flag(args, "--train-size", run.train_size == saved_run.train_size,
                      std::to_string(saved_run.train_size));
    run = saved_run;
    history = history_from_metadata(saved);
    done_epochs = info.epoch;
    if (already_trained(resume, done_epochs, epochs)) return 0;
  }
  const TrainingData data = load_training_data(data_dir, run, resumed);

  // One random stream draws the initial weights (G's, then D's), then every z and WGAN-GP's eps.
  Generator rng(static_cast<uint64_t>(run.seed));
  gan::GAN model(options, rng);
  const float lr = static_cast<float>(run.lr);
  Adam adam_d(model.discriminator->parameters(), lr, 0.5f, 0.999f);
  Adam adam_g(model.generator->parameters(), lr, 0.5f, 0.999f);
  CheckpointParts parts;
  parts.modules = {{"generator", model.generator.get()}, {"discriminator", model.discriminator.get()}};
  parts.optimizers = {{"generator", &adam_g}, {"discriminator", &adam_d}};
  parts.random_stream = &rng;
  DataLoader loader(data.train, run.batch, /*shuffle=*/true, static_cast<uint64_t>(run.seed));
  if (resumed) done_epochs = load_checkpoint(resume, parts).epoch;
  const OutputFolder out_folder("--out", out_dir);  // only once everything loaded, and before any training

  const Tensor picture_z = [&] {
    Generator picture_rng(kPictureSeed);
    return randn({64, options.latent_dim}, picture_rng);
  }();

  fmt::print("train gan: {} (G {} + D {} parameters), Adam lr {} betas (0.5, 0.999), batch {}, seed {}, {} training "
             "images\n",
             model.describe(), model.generator->num_parameters(), model.discriminator->num_parameters(), run.lr,
             run.batch, run.seed, data.train.images.size(0));
  if (done_epochs > 0) fmt::print("resuming {} after epoch {}\n", resume, done_epochs);
  std::fflush(stdout);

  TrainLoop loop;
  loop.label = "train gan (D loss)";
  loop.first_epoch = done_epochs;
  loop.epochs = epochs;
  loop.steps_done = adam_d.steps_taken();
  loop.watched = {model.generator.get(), model.discriminator.get()};
  loop.step = [&](const Tensor& x, const Tensor&) {
    const gan::AdversarialLosses l = gan::train_step(model, adam_d, adam_g, to_minus_one_one(x), rng);
    return StepLosses{{"D", l.discriminator}, {"G", l.generator}, {"D(x)", l.d_real}, {"D(G(z))", l.d_fake}};
  };
  loop.after_step = [&](const StepLosses& l) {
    history.d_steps.push_back(l[0].second);
    history.g_steps.push_back(l[1].second);
  };
  loop.end_of_epoch = [&](const EpochResult& r) {
    const StepLosses& m = r.mean_losses;
    history.epochs.push_back({r.epoch, m[0].second, m[1].second, m[2].second, m[3].second, r.seconds});
    fmt::print("epoch {}/{}  D loss {:.4f}  G loss {:.4f}  mean logits D(x) {:.3f}  D(G(z)) {:.3f}  ({:.1f}s)\n",
               r.epoch, epochs, m[0].second, m[1].second, m[2].second, m[3].second, r.seconds);
    CheckpointInfo info;
    info.epoch = r.epoch;
    info.step = adam_d.steps_taken();
    info.metadata = to_metadata(model, run, history);
    save_checkpoint(ckpt_path, parts, info);
    write_file_atomically(log_path, jsonl(history), "train gan");
    save_curves(history, loader.num_batches(), curve_path, "GAN (" + loss_name(options.loss) + "): D and G loss per step");

    model.eval();  // BatchNorm's running statistics, as `hundun sample gan` uses them
    const std::string tag = fmt::format("epoch{:02d}", r.epoch);
    const std::string samples_path = fmt::format("{}/samples_{}.png", out_dir, tag);
    GridLabels labels;
    labels.caption = fmt::format("{}: G(z), the same 64 z ~ N(0, I) every epoch", tag);
    save_labelled_grid(model.decode_images(picture_z), samples_path, labels);
    print_wrote(samples_path, "64 samples, the same z every epoch");
    std::fflush(stdout);
  };
  run_training(loop, loader);

  print_wrote(ckpt_path, fmt::format("both networks, both Adams and the random stream after epoch {}; --resume, "
                                     "sample or eval it",
                                     epochs));
  print_wrote(log_path, "one JSON line per epoch");
  print_wrote(curve_path, "D and G loss per step");
  return 0;
}

const bool registered =
    register_family({"gan", "a GAN", {}, [](const std::string& path) { return std::shared_ptr<Module>(gan::load_gan(path)); }}) &&
    register_command({"train gan", "train the DCGAN on Fashion-MNIST (--loss ns|minimax|lsgan|hinge|wgan-gp), or --toy ring|grid", train}) &&
    register_sample_command({"gan", "new images from a GAN: z ~ N(0, I) through the generator",
                             "Passes N draws z ~ N(0, I) through the generator network of a checkpoint of\n"
                             "'hundun train gan' (one pass each: the GAN's one-step generation).",
                             [](const std::string& path) { return std::shared_ptr<GenerativeModel>(gan::load_gan(path)); }}) &&
    register_eval_command({"gan", "FD, confidence and coverage of a GAN's samples",
                           "Evaluates a checkpoint of 'hundun train gan': the Frechet distance, confidence and class\n"
                           "coverage of generated images, judged by a classifier (a GAN has no test loss).",
                           [](const std::string& path) {
                             return OpenedForEval{std::shared_ptr<GenerativeModel>(gan::load_gan(path)), {}, {}};
                           }});

}  // namespace
}  // namespace hd::cli
