// The GAN's commands (models/gan.h): train, sample, eval — each one registration line at the end.
//
//   hundun train gan                      DCGAN-28, non-saturating loss, Adam 2e-4 (0.5, 0.999), batch 64, 5 epochs
//   hundun train gan --loss wgan-gp --out out/wgan
//   hundun train gan --conditional --out out/cgan      then: hundun sample gan --ckpt ... --class 7
//   hundun train gan --pack 2 --mbstd --r1 1           the remedies for mode collapse, each switchable
//   hundun sample gan --ckpt out/gan/checkpoint.safetensors --out samples.png
//
// The step is Algorithm 1 (gan::train_step): a discriminator step, then a generator step, through run_training
// (train/loop.h), which stops the run before anything is written when a loss or a gradient is not finite. After
// every epoch, in --out, rewritten atomically:
//   checkpoint.safetensors   both networks ("generator", "discriminator"), both Adams, the random stream, and as
//                            metadata the model's options, the run's settings and its history
//   log.jsonl                one JSON object per epoch: mean D and G losses, mean logits D(x), D(G(z)), D's accuracy,
//                            seconds, and the health check (cli/gan/health.h: FD of 500 samples, classes covered,
//                            pairwise distance), whose warnings the console shows
//   loss.svg                 D's and G's loss per step, one plot
//   samples_epochNN.png      64 samples from the same 64 z every epoch (conditional: 10 per class, a column each)
// --resume CKPT continues exactly: settings from the checkpoint, both networks, both Adams and the random stream
// restored, and the data loader's finished epochs drawn and discarded.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/gan/health.h"
#include "cli/gan/toy.h"
#include "cli/judge.h"
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
#include "tensor/shape_ops.h"
#include "train/loop.h"

namespace hd::cli {
namespace {

constexpr uint64_t kPictureSeed = 0;  // the same 64 z in every epoch's picture, whatever the run's seed

struct EpochRecord {
  int64_t epoch;  // from 1
  double d_loss, g_loss, d_real, d_fake, d_accuracy, seconds;
  double fd, classes, pairwise;  // the health check's (fd and classes -1 without the judge)
};
constexpr size_t kRecordFields = 10;

struct History {
  std::vector<EpochRecord> epochs;
  std::vector<double> d_steps, g_steps;  // per step
};

std::string jsonl(const History& h) {
  std::string out;
  for (const EpochRecord& r : h.epochs)
    out += fmt::format("{{\"epoch\":{},\"d_loss\":{},\"g_loss\":{},\"d_real\":{},\"d_fake\":{},\"d_accuracy\":{},"
                       "\"seconds\":{},\"health_fd\":{},\"health_classes\":{},\"health_pairwise\":{}}}\n",
                       r.epoch, json_number(r.d_loss), json_number(r.g_loss), json_number(r.d_real),
                       json_number(r.d_fake), json_number(r.d_accuracy), json_number(r.seconds), json_number(r.fd),
                       json_number(r.classes), json_number(r.pairwise));
  return out;
}

std::map<std::string, std::string> to_metadata(const gan::GAN& model, const RunSettings& run, const History& h) {
  std::vector<std::vector<double>> epochs;  // the fields of EpochRecord in order
  for (const EpochRecord& r : h.epochs)
    epochs.push_back({static_cast<double>(r.epoch), r.d_loss, r.g_loss, r.d_real, r.d_fake, r.d_accuracy, r.seconds,
                      r.fd, r.classes, r.pairwise});
  std::map<std::string, std::string> m = training_metadata(model.metadata(), run, epochs, h.d_steps);
  m["history_step_losses_g"] = step_losses_text(h.g_steps);  // G's losses beside D's
  return m;
}

History history_from_metadata(const Metadata& m) {
  History h;
  for (const std::vector<double>& f : epoch_records_from(m, kRecordFields))
    h.epochs.push_back({static_cast<int64_t>(f[0]), f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]});
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
  args.flag("--conditional", "G and D are told each image's class: then `hundun sample gan --class K`");
  args.option("--pack", "M", "PacGAN: D judges M samples at once (M divides --batch; not with --conditional)", "1");
  args.flag("--mbstd", "D sees the minibatch standard deviation of its features (Karras et al.)");
  args.option("--r1", "GAMMA", "R1 penalty (GAMMA / 2) E||grad_x D(x)||^2 on real images (0: off)", "0");
  args.option("--judge", "FILE", "the classifier of the per-epoch health check", default_classifier_path());
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
  options.num_classes = args.get_flag("--conditional") ? 10 : 0;
  options.pack = args.get_int("--pack", 1, 16);
  options.minibatch_std = args.get_flag("--mbstd");
  options.r1_gamma = static_cast<float>(args.given("--r1") ? args.get_double("--r1", 0.0, 1e6) : 0.0);
  if (options.pack > 1 && options.num_classes > 0)
    throw UsageError("--pack and --conditional do not go together here: a pack would mix the classes D is told");
  if (run.batch % options.pack != 0)
    throw UsageError(fmt::format("--pack {} must divide --batch {}: D judges the batch in packs of {}", options.pack,
                                 run.batch, options.pack));
  History history;
  int64_t done_epochs = 0;
  const bool resumed = !resume.empty();
  if (resumed) {
    const CheckpointInfo info = check_family(resume, "gan", "train");
    const Metadata saved = read_model_metadata(resume, "gan");
    const gan::GanOptions given = options;
    options = gan::GanOptions::from_metadata(saved);
    check_resume_flag(args, "--loss", loss == gan::loss_name(options.loss), gan::loss_name(options.loss));
    check_resume_flag(args, "--conditional", given.num_classes == options.num_classes,
                      options.num_classes ? "given" : "not given");
    check_resume_flag(args, "--pack", given.pack == options.pack, std::to_string(options.pack));
    check_resume_flag(args, "--mbstd", given.minibatch_std == options.minibatch_std,
                      options.minibatch_std ? "given" : "not given");
    check_resume_flag(args, "--r1", given.r1_gamma == options.r1_gamma, fmt::format("{}", options.r1_gamma));
    const RunSettings saved_run = run_settings_from(saved);
    check_resume_flags(args, run, saved_run);
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

  // The picture: 64 samples, or for a conditional GAN 10 rows of the 10 classes (decode_images takes them in turn).
  const int64_t shown = options.num_classes > 0 ? 100 : 64;
  const Tensor picture_z = [&] {
    Generator picture_rng(kPictureSeed);
    return randn({shown, options.latent_dim}, picture_rng);
  }();
  GanHealthCheck health(data.train, options.latent_dim, args.get("--judge"));
  double accuracy_sum = 0;  // D's accuracy over the epoch's steps
  int64_t accuracy_steps = 0;

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
  loop.step = [&](const Tensor& x, const Tensor& y) {
    const gan::AdversarialLosses l =
        gan::train_step(model, adam_d, adam_g, to_minus_one_one(x), rng, options.num_classes > 0 ? y : Tensor());
    accuracy_sum += l.d_accuracy;
    ++accuracy_steps;
    return StepLosses{{"D", l.discriminator}, {"G", l.generator}, {"D(x)", l.d_real}, {"D(G(z))", l.d_fake}};
  };
  loop.after_step = [&](const StepLosses& l) {
    history.d_steps.push_back(l[0].second);
    history.g_steps.push_back(l[1].second);
  };
  loop.end_of_epoch = [&](const EpochResult& r) {
    const StepLosses& m = r.mean_losses;
    fmt::print("epoch {}/{}  D loss {:.4f}  G loss {:.4f}  mean logits D(x) {:.3f}  D(G(z)) {:.3f}  ({:.1f}s)\n",
               r.epoch, epochs, m[0].second, m[1].second, m[2].second, m[3].second, r.seconds);
    model.eval();  // BatchNorm's running statistics, as `hundun sample gan` uses them
    const GanHealth h = health.measure(model, accuracy_sum / static_cast<double>(std::max<int64_t>(1, accuracy_steps)),
                                       m[3].second);
    accuracy_sum = 0;
    accuracy_steps = 0;
    fmt::print("  {}\n", GanHealthCheck::describe(h));
    for (const std::string& w : GanHealthCheck::warnings(h, options.loss)) fmt::print("  {}\n", w);
    history.epochs.push_back({r.epoch, m[0].second, m[1].second, m[2].second, m[3].second, h.d_accuracy, r.seconds,
                              h.fd, static_cast<double>(h.classes_covered), h.pairwise});
    CheckpointInfo info;
    info.epoch = r.epoch;
    info.step = adam_d.steps_taken();
    info.metadata = to_metadata(model, run, history);
    save_checkpoint(ckpt_path, parts, info);
    write_file_atomically(log_path, jsonl(history), "train gan");
    save_curves(history, loader.num_batches(), curve_path, "GAN (" + loss_name(options.loss) + "): D and G loss per step");

    const std::string tag = fmt::format("epoch{:02d}", r.epoch);
    const std::string samples_path = fmt::format("{}/samples_{}.png", out_dir, tag);
    GridLabels labels;
    GridOptions grid;
    if (options.num_classes > 0) {
      grid.nrow = options.num_classes;
      grid.upscale = 2;  // room for the class names above the columns
      labels.column_labels = fashion_mnist_classes();
    }
    labels.caption = fmt::format("{}: G(z), the same {} z ~ N(0, I) every epoch", tag, shown);
    save_labelled_grid(model.decode_images(picture_z), samples_path, labels, grid);
    print_wrote(samples_path, fmt::format("{} samples, the same z every epoch{}", shown,
                                          options.num_classes > 0 ? ", one class per column" : ""));
    std::fflush(stdout);
  };
  try {
    run_training(loop, loader);
  } catch (const TrainingDiverged& e) {  // a bad run, not a bug: exit status 2, the last good checkpoint kept
    throw UsageError(e.what());
  }

  print_wrote(ckpt_path, fmt::format("both networks, both Adams and the random stream after epoch {}; --resume, "
                                     "sample or eval it",
                                     epochs));
  print_wrote(log_path, "one JSON line per epoch");
  print_wrote(curve_path, "D and G loss per step");
  return 0;
}

// hundun interpolate gan: walks between two noise vectors z_a, z_b ~ N(0, I), each pair twice: the straight line
// (lerp_latents) and the great circle (slerp_latents), decoded by G. How smooth the rows look is the question the
// lecture raises about a GAN's latent space (no encoder ties it to the data, as the VAE's KL term does); the comparison
// lesson sets it beside the VAE's.
int interpolate(const std::vector<std::string>& words) {
  ArgParser args("hundun interpolate gan",
                 "Decodes paths between pairs of noise vectors z_a, z_b ~ N(0, I) with the generator of a checkpoint\n"
                 "of 'hundun train gan': each pair as a straight line (lerp) and on the great circle (slerp).");
  args.option("--ckpt", "FILE", "checkpoint of 'hundun train gan'");
  args.option("--pairs", "P", "pairs of endpoints (two rows each)", "4");
  args.option("--out", "PNG", "where the rows of images go");
  args.option("--steps", "K", "points on each path, both ends included", "10");
  args.option("--seed", "S", "seeds the endpoints", "0");
  args.option("--class", "K", "a conditional GAN's class for every row (default: row pair p gets class p mod 10)");
  if (parse_or_print_help(args, words)) return 0;
  const std::string ckpt = args.get_required("--ckpt"), out = args.get_required("--out");
  const int64_t pairs = args.get_int("--pairs", 1, 50), steps = args.get_int("--steps", 2, 50);
  const int64_t seed = args.get_int("--seed", 0, INT64_MAX);
  refuse_overwriting_inputs({{"--out", out}}, {{"--ckpt", ckpt}});
  check_family(ckpt, "gan", "interpolate");
  const std::shared_ptr<gan::GAN> model = gan::load_gan(ckpt);
  const int64_t K = model->num_classes();
  if (args.given("--class") && K == 0)
    throw UsageError(fmt::format("--class: {} holds an unconditional GAN; train one with --conditional", ckpt));
  const int64_t fixed_class = args.given("--class") ? args.get_int("--class", 0, K - 1) : -1;

  Generator rng(static_cast<uint64_t>(seed));
  std::vector<Tensor> rows;
  GridLabels labels;
  for (int64_t p = 0; p < pairs; ++p) {
    const Tensor z_a = randn({model->latent_dim()}, rng), z_b = randn({model->latent_dim()}, rng);
    const int64_t label = fixed_class >= 0 ? fixed_class : p % 10;
    for (const bool spherical : {false, true}) {
      const Tensor z = spherical ? slerp_latents(z_a, z_b, steps) : lerp_latents(z_a, z_b, steps);
      rows.push_back(K > 0 ? model->decode_class_images(z, Tensor::full({steps}, static_cast<float>(label)))
                           : model->decode_images(z));
      labels.row_labels.push_back(spherical ? "slerp" : "lerp");
    }
  }
  for (int64_t i = 0; i < steps; ++i)
    labels.column_labels.push_back(fmt::format("t={:.2g}", static_cast<double>(i) / static_cast<double>(steps - 1)));
  labels.caption = fmt::format("{}: G(z) along lerp and slerp paths between {} pairs of z ~ N(0, I), seed {}",
                               std::filesystem::path(ckpt).filename().string(), pairs, seed);
  labels.pixel_height = 12;
  GridOptions grid;
  grid.nrow = steps;
  grid.upscale = 2;
  save_labelled_grid(concat(rows, 0), out, labels, grid);
  fmt::print("{}: {}, {} pairs of z, {} steps each\n", ckpt, model->describe(), pairs, steps);
  print_wrote(out, "each pair's lerp row above its slerp row");
  return 0;
}

const bool registered =
    register_family({"gan", "a GAN", {}, [](const std::string& path) { return std::shared_ptr<Module>(gan::load_gan(path)); }}) &&
    register_command({"interpolate gan", "walk G's latent space between noise vectors (lerp and slerp)", interpolate}) &&
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
