// The diffusion model's commands (models/diffusion.h): train, sample, eval — each one registration line at the end.
//
//   hundun train diffusion                       U-Net-28, linear schedule, T = 1000, eps objective, Adam 2e-4,
//                                                batch 64, 20000 steps, EMA 0.999
//   hundun train diffusion --minutes 60 --schedule cosine --objective v --min-snr 5
//   hundun sample diffusion --ckpt out/diffusion/checkpoint.safetensors --out s.png --sampler ddim --steps 50
//
// Diffusion trains in steps, not epochs: the step is Algorithm 1 (diffusion::train_step: t, eps, one Adam step on
// || eps - eps_theta(x_t, t) ||^2, one EMA update), and after a step whose loss or a gradient is not finite the run
// stops before anything is written. Every --save-every steps, at the last step, and when --minutes runs out, in
// --out, rewritten atomically:
//   checkpoint.safetensors   the network, its EMA, Adam, the random stream, and as metadata the model's options,
//                            the run's settings and its history
//   log.jsonl                one JSON object per save: the step, the mean loss since the last save, the loss per
//                            timestep band (t in [0, 0.1 T), [0.1 T, 0.3 T), [0.3 T, 0.6 T), [0.6 T, T): where a
//                            model fails), the FD of the 64 EMA samples below against 1000 test images (judged by
//                            --classifier, when there is one), seconds
//   loss.svg                 the loss of every step
//   samples_stepNNNNNNN.png  64 samples of the EMA weights, DDIM from the same 64 x_T every time: "the loss falls
//                            but the samples are still noise" shows here, which the loss alone cannot tell
// --resume CKPT continues exactly: settings from the checkpoint, the network, EMA, Adam and the random stream
// restored, and the data loader's finished batches drawn and dropped, so the run ends bit-identical to one that
// never stopped.
#include <fmt/format.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <cmath>
#include <optional>

#include "autograd/elementwise.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/image_commands.h"
#include "cli/judge.h"
#include "cli/model_files.h"
#include "cli/paths.h"
#include "cli/training_run.h"
#include "data/files.h"
#include "data/loader.h"
#include "metrics/frechet.h"
#include "models/diffusion.h"
#include "nn/checkpoint.h"
#include "report/labels.h"
#include "report/plot.h"
#include "report/progress.h"
#include "tensor/shape_ops.h"
#include "train/loop.h"

namespace hd::cli {
namespace {

using diffusion::DiffusionModel;
using diffusion::DiffusionOptions;

constexpr uint64_t kPictureSeed = 0;  // the same 64 x_T in every picture, whatever the run's seed

// The timestep bands of the log, as fractions of T: the first is where the network must see the finest detail.
constexpr double kBandEdges[] = {0.0, 0.1, 0.3, 0.6, 1.0};
constexpr int kBands = 4;

int64_t band_start(int band, int64_t T) { return static_cast<int64_t>(kBandEdges[band] * static_cast<double>(T)); }

int band_of(int64_t t, int64_t T) {
  int band = 0;
  while (band + 1 < kBands && t >= band_start(band + 1, T)) ++band;
  return band;
}

struct SaveRecord {
  int64_t step;
  double loss, seconds;
  double bands[kBands];  // mean unweighted loss of the images whose t fell in each band; -1 when none did
  double fd;             // of the save's 64 EMA samples; -1 without a judge
};

struct History {
  std::vector<SaveRecord> saves;
  std::vector<double> steps;  // the loss of every step
};

std::string jsonl(const History& h, int64_t T) {
  std::string out;
  for (const SaveRecord& r : h.saves) {
    out += fmt::format("{{\"step\":{},\"loss\":{}", r.step, json_number(r.loss));
    for (int b = 0; b < kBands; ++b)
      out += fmt::format(",\"loss_t_{}_{}\":{}", band_start(b, T), band_start(b + 1, T),
                         r.bands[b] < 0 ? "null" : json_number(r.bands[b]));
    out += fmt::format(",\"fd_64\":{},\"seconds\":{}}}\n", r.fd < 0 ? "null" : json_number(r.fd), json_number(r.seconds));
  }
  return out;
}

std::map<std::string, std::string> to_metadata(const DiffusionModel& model, const RunSettings& run, const History& h,
                                               int64_t save_every, int64_t picture_steps) {
  std::vector<std::vector<double>> records;  // step, loss, seconds, the four bands, FD
  for (const SaveRecord& r : h.saves)
    records.push_back(
        {static_cast<double>(r.step), r.loss, r.seconds, r.bands[0], r.bands[1], r.bands[2], r.bands[3], r.fd});
  std::map<std::string, std::string> m = training_metadata(model.metadata(), run, records, h.steps);
  m["save_every"] = std::to_string(save_every);
  m["picture_steps"] = std::to_string(picture_steps);
  return m;
}

History history_from_metadata(const Metadata& m) {
  History h;
  for (const std::vector<double>& f : epoch_records_from(m, 3 + kBands + 1))
    h.saves.push_back({static_cast<int64_t>(f[0]), f[1], f[2], {f[3], f[4], f[5], f[6]}, f[7]});
  h.steps = step_losses_from(m);
  return h;
}

void save_curve(const History& h, const std::string& path, const std::string& title) {
  Plot plot(title, "step", "loss (mean squared error)");
  std::vector<double> x;
  for (size_t i = 0; i < h.steps.size(); ++i) x.push_back(static_cast<double>(i + 1));
  plot.line(x, h.steps, "training loss", "#1f77b4");
  plot.save(path);
}

// "--channels 32,64,128" -> {32, 64, 128}.
std::vector<int64_t> channels_flag(const ArgParser& args) {
  const std::string text = args.get("--channels");
  std::vector<int64_t> channels;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t end = std::min(text.find(',', begin), text.size());
    int64_t c = 0;
    if (!parse_int(text.substr(begin, end - begin), &c) || c < 1 || c > 1024)
      throw UsageError(fmt::format("--channels expects 1 to 5 channel counts from 1 to 1024 separated by commas "
                                   "(e.g. 32,64,128), got '{}'",
                                   text));
    channels.push_back(c);
    begin = end + 1;
  }
  if (channels.size() > 5)
    throw UsageError(fmt::format("--channels expects 1 to 5 channel counts, got {} in '{}'", channels.size(), text));
  return channels;
}

std::string channels_text(const std::vector<int64_t>& channels) {
  std::string s;
  for (int64_t c : channels) s += (s.empty() ? "" : ",") + std::to_string(c);
  return s;
}

ArgParser make_parser() {
  ArgParser args("hundun train diffusion",
                 "Trains the denoising diffusion model of models/diffusion.h (a U-Net predicting the noise in\n"
                 "x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps) on Fashion-MNIST scaled to [-1, 1], Ho et al.'s\n"
                 "Algorithm 1 with Adam and an EMA of the weights for sampling. Trains in steps.");
  // flag, value's name, help, default
  const std::vector<std::array<const char*, 4>> flags = {
      {"--schedule", "NAME", "linear (beta 1e-4 .. 0.02) or cosine (Nichol & Dhariwal)", "linear"},
      {"--objective", "NAME", "eps (predict the noise) or v (v = sqrt(abar) eps - sqrt(1 - abar) x_0)", "eps"},
      {"--min-snr", "G", "Min-SNR-gamma loss weights with this gamma (e.g. 5); 0 for the plain loss", "0"},
      {"--steps", "N", "total training steps (with --resume: including those done)", "20000"},
      {"--minutes", "M", "also stop, cleanly and saved, after M minutes of this run", ""},
      {"--batch", "B", "images per step", "64"},
      {"--lr", "LR", "Adam's learning rate", "0.0002"},
      {"--seed", "S", "seeds the initial weights, the shuffling, every t and every eps", "1"},
      {"--timesteps", "T", "the diffusion's number of steps T", "1000"},
      {"--channels", "LIST", "the U-Net's channels per level, each a multiple of 8", "32,64,128"},
      {"--ema-decay", "D", "the EMA's decay: shadow = D shadow + (1 - D) weights", "0.999"},
      {"--save-every", "K", "checkpoint, log line and sample grid every K steps", "1000"},
      {"--sample-steps", "S", "DDIM steps of the sample grids", "50"},
  };
  for (const auto& [flag, metavar, help, value] : flags) args.option(flag, metavar, help, value);
  args.flag("--conditional", "class-conditional, for classifier-free guidance (labels dropped with probability 0.1)");
  args.option("--classifier", "CKPT", "the judge of the FD in the log ('none': no FD)", default_classifier_path());
  add_training_data_flags(args, "out/diffusion", "the checkpoint, log and pictures");
  return args;
}

// The value of a flag with 0 <= value <= max (get_double is exclusive below).
double nonnegative(const ArgParser& args, const std::string& flag, double max) {
  double v = 0;
  if (!parse_double(args.get(flag), &v) || v < 0 || v > max)
    throw UsageError(fmt::format("{} expects a number from 0 to {}, got '{}'", flag, max, args.get(flag)));
  return v;
}

int train(const std::vector<std::string>& words) {
  ArgParser args = make_parser();
  if (parse_or_print_help(args, words)) return 0;
  RunSettings run;
  const int64_t steps = args.get_int("--steps", 1, 1000000000);
  const double minutes = args.given("--minutes") ? args.get_double("--minutes", 0.0, 1e6) : 0.0;
  const std::string schedule = args.get_choice("--schedule", {"linear", "cosine"});
  const std::string objective = args.get_choice("--objective", {"eps", "v"});
  const double min_snr = nonnegative(args, "--min-snr", 1e6);
  run.batch = args.get_int("--batch", 1, 1 << 20);
  run.lr = args.get_double("--lr", 0.0, 10.0);
  run.seed = args.get_int("--seed", 0, INT64_MAX);
  run.train_size = args.get_int("--train-size", 0, 1 << 30);
  run.test_size = 1000;  // the reference images of the FD in the log
  int64_t save_every = args.get_int("--save-every", 1, 1000000000);
  int64_t picture_steps = args.get_int("--sample-steps", 1, 10000);
  const std::string data_dir = args.get("--data"), out_dir = args.get("--out"), resume = args.get("--resume");
  const std::string ckpt_path = out_dir + "/checkpoint.safetensors", log_path = out_dir + "/log.jsonl",
                    curve_path = out_dir + "/loss.svg";
  refuse_overwriting_inputs({{"--out", log_path}, {"--out", curve_path}}, {{"--resume", resume}});

  DiffusionOptions options;
  options.schedule = diffusion::schedule_from_name(schedule);
  options.objective = diffusion::objective_from_name(objective);
  options.min_snr_gamma = min_snr;
  options.T = args.get_int("--timesteps", 1, 10000);
  options.unet.channels = channels_flag(args);
  options.ema_decay = static_cast<float>(nonnegative(args, "--ema-decay", 1.0));
  const bool conditional = args.get_flag("--conditional");
  options.unet.num_classes = conditional ? 10 : 0;  // Fashion-MNIST's ten kinds of clothes
  History history;
  int64_t done = 0;
  const bool resumed = !resume.empty();
  if (resumed) {
    const CheckpointInfo info = check_family(resume, "diffusion", "train");
    const Metadata saved = read_model_metadata(resume, "diffusion");
    options = DiffusionOptions::from_metadata(saved);
    check_resume_flag(args, "--schedule", schedule == diffusion::schedule_name(options.schedule),
                      diffusion::schedule_name(options.schedule));
    check_resume_flag(args, "--objective", objective == diffusion::objective_name(options.objective),
                      diffusion::objective_name(options.objective));
    check_resume_flag(args, "--min-snr", min_snr == options.min_snr_gamma, fmt::format("{}", options.min_snr_gamma));
    check_resume_flag(args, "--timesteps", args.get_int("--timesteps", 1, 10000) == options.T, std::to_string(options.T));
    check_resume_flag(args, "--channels", channels_flag(args) == options.unet.channels,
                      channels_text(options.unet.channels));
    if (conditional && options.unet.num_classes == 0)
      throw UsageError(fmt::format("--conditional contradicts the checkpoint's unconditional model (a resumed run keeps "
                                   "its settings)"));
    const RunSettings saved_run = run_settings_from(saved);
    check_resume_flags(args, run, saved_run);
    run = saved_run;
    save_every = saved.integer("save_every", 1, 1000000000);
    picture_steps = saved.integer("picture_steps", 1, 10000);
    history = history_from_metadata(saved);
    done = info.step;
    if (already_trained(resume, done, steps, "steps")) return 0;
  }
  if (picture_steps > options.T)
    throw UsageError(fmt::format("--sample-steps {} is more than the T = {} steps of the diffusion", picture_steps,
                                 options.T));
  const TrainingData data = load_training_data(data_dir, run, resumed);
  const int64_t batches = data.train.images.size(0) / run.batch;  // per pass; the last partial batch is dropped
  if (batches == 0)
    throw UsageError(fmt::format("--batch {} is more than the {} training images", run.batch, data.train.images.size(0)));

  // One random stream draws the initial weights, then every t and eps of Algorithm 1.
  Generator rng(static_cast<uint64_t>(run.seed));
  std::optional<DiffusionModel> built;
  try {
    built.emplace(options, rng);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("--channels {}: {}", channels_text(options.unet.channels), e.what()));
  }
  DiffusionModel& model = *built;
  Adam adam(model.parameters(), static_cast<float>(run.lr));
  EMA ema(model, options.ema_decay);
  CheckpointParts parts;
  parts.modules = {{"", &model}};
  parts.optimizers = {{"", &adam}};
  parts.emas = {{"", &ema}};
  parts.random_stream = &rng;
  DataLoader loader(data.train, run.batch, /*shuffle=*/true, static_cast<uint64_t>(run.seed), /*drop_last=*/true);
  if (resumed) done = load_checkpoint(resume, parts).step;
  // The batches an unbroken run has drawn by step `done`: each pass starts at a step that is a multiple of batches.
  Tensor x, y;
  for (int64_t e = 0; e < done / batches; ++e) loader.start_epoch();
  if (done % batches > 0) {
    loader.start_epoch();
    for (int64_t b = 0; b < done % batches; ++b) loader.next(x, y);
  }
  // The judge of "the loss falls but the samples are still noise": the FD of each save's samples. Optional: without
  // the classifier's file the log says null.
  const std::string judge_path = args.get("--classifier");
  std::shared_ptr<ImageClassifier> judge;
  FeatureStatistics reference;
  if (judge_path != "none" && std::filesystem::exists(judge_path)) {
    judge = load_judge(judge_path);
    reference = feature_statistics(classify_in_batches(data.test.images, feature_classifier(*judge)).first);
  }
  const OutputFolder out_folder("--out", out_dir);  // only once everything loaded, and before any training

  Generator picture_rng(kPictureSeed);
  const Tensor picture_noise = randn(options.unet.image.batch(64), picture_rng);  // the same x_T every time
  DiffusionModel picture_model(options, picture_rng);                              // holds the EMA weights

  fmt::print("train diffusion: {} ({} parameters), Adam lr {}, batch {}, EMA decay {}, seed {}, {} training images\n",
             model.describe(), model.num_parameters(), run.lr, run.batch, options.ema_decay, run.seed,
             data.train.images.size(0));
  fmt::print("schedule health: {}\n", diffusion::check_schedule(model.schedule).str());
  fmt::print("{}\n", judge ? fmt::format("FD of each save's 64 EMA samples against {} test images, judged by {}",
                                         data.test.images.size(0), judge_path)
                           : "no FD in the log: no classifier (--classifier " + judge_path + ")");
  if (done > 0) fmt::print("resuming {} after step {}\n", resume, done);
  std::fflush(stdout);

  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  const double seconds_before = history.saves.empty() ? 0.0 : history.saves.back().seconds;
  double loss_sum = 0, band_sum[kBands] = {}, band_count[kBands] = {};
  int64_t losses = 0;

  auto save = [&](int64_t step) {
    // Samples of the EMA weights, as `hundun sample diffusion` draws them, from the same x_T every time.
    ema.copy_to(picture_model);
    picture_model.eval();
    diffusion::SamplerOptions ddim;
    ddim.steps = picture_steps;
    Generator unused(0);  // DDIM with eta 0 draws no noise
    const Tensor samples = from_minus_one_one(picture_model.generate(picture_noise, ddim, unused));
    const double fd = judge ? quality_report(samples, feature_classifier(*judge), reference).fd : -1.0;

    SaveRecord record{step, loss_sum / static_cast<double>(std::max<int64_t>(1, losses)), seconds_before + elapsed(),
                      {}, fd};
    for (int b = 0; b < kBands; ++b) record.bands[b] = band_count[b] > 0 ? band_sum[b] / band_count[b] : -1.0;
    history.saves.push_back(record);
    loss_sum = losses = 0;
    for (int b = 0; b < kBands; ++b) band_sum[b] = band_count[b] = 0;
    CheckpointInfo info;
    info.step = step;
    info.epoch = step / batches;
    info.metadata = to_metadata(model, run, history, save_every, picture_steps);
    save_checkpoint(ckpt_path, parts, info);
    write_file_atomically(log_path, jsonl(history, options.T), "train diffusion");
    save_curve(history, curve_path, fmt::format("diffusion ({} schedule, {} objective): loss per step",
                                                diffusion::schedule_name(options.schedule),
                                                diffusion::objective_name(options.objective)));
    std::string bands;
    for (int b = 0; b < kBands; ++b)
      bands += fmt::format("{}[{}, {}) {}", b == 0 ? "" : "  ", band_start(b, options.T), band_start(b + 1, options.T),
                           record.bands[b] < 0 ? "-" : fmt::format("{:.4f}", record.bands[b]));
    fmt::print("step {}/{}  loss {:.4f}  by t: {}{}  ({:.1f}s)\n", step, steps, record.loss, bands,
               fd >= 0 ? fmt::format("  FD (64 EMA samples) {:.2f}", fd) : "", record.seconds);
    const std::string samples_path = fmt::format("{}/samples_step{:07d}.png", out_dir, step);
    GridLabels labels;
    labels.caption = fmt::format("step {}: EMA weights, DDIM-{} from the same 64 x_T{}", step, picture_steps,
                                 model.conditional() ? ", classes 0-9 in turn" : "");
    save_labelled_grid(samples, samples_path, labels);
    print_wrote(samples_path, fmt::format("64 samples of the EMA weights (DDIM, {} steps)", picture_steps));
    std::fflush(stdout);
  };

  std::optional<Progress> progress;
  int64_t step = done;
  bool out_of_time = false;
  while (step < steps && !out_of_time) {
    if (!progress) {
      progress.emplace("train diffusion", steps);
      progress->set_steps_per_second(true);
      if (minutes > 0) progress->set_time_limit(minutes * 60 - elapsed());  // time left: the budget's, if sooner
    }
    if (step % batches == 0) loader.start_epoch();
    loader.next(x, y);
    model.train();
    const diffusion::StepResult r =
        diffusion::train_step(model, adam, ema, to_minus_one_one(x), rng, model.conditional() ? y : Tensor());
    ++step;
    const std::string bad_gradient = first_non_finite_gradient(model);
    if (!std::isfinite(r.loss) || !bad_gradient.empty())
      throw TrainingDiverged(fmt::format("training diverged at step {}: {}{}. Nothing after step {} was saved. A "
                                         "smaller learning rate usually helps",
                                         step, fmt::format("the loss is {}", r.loss),
                                         bad_gradient.empty() ? "" : ", the first non-finite gradient is " + bad_gradient + "'s",
                                         history.saves.empty() ? 0 : history.saves.back().step),
                             step);
    history.steps.push_back(r.loss);
    loss_sum += r.loss;
    ++losses;
    for (size_t b = 0; b < r.t.size(); ++b) {
      const int band = band_of(r.t[b], options.T);
      band_sum[band] += r.per_image_loss[b];
      band_count[band] += 1;
    }
    progress->update(step - 1, {{"loss", r.loss}}, x.size(0));
    out_of_time = minutes > 0 && elapsed() >= minutes * 60;
    if (step % save_every == 0 || step == steps || out_of_time) {
      progress->finish();
      progress.reset();
      save(step);
      out_of_time = minutes > 0 && elapsed() >= minutes * 60;  // the save's samples may use up the budget too
    }
  }
  if (out_of_time)
    fmt::print("--minutes {} reached after step {}; '--resume {} --steps {}' goes on\n", minutes, step, ckpt_path,
               steps);
  print_wrote(ckpt_path, fmt::format("the network, EMA, Adam and the random stream after step {}; --resume, sample or "
                                     "eval it",
                                     step));
  print_wrote(log_path, "one JSON line per save: loss, loss per timestep band");
  print_wrote(curve_path, "the loss of every step");
  return 0;
}

// --- sample diffusion: the sampler's flags ---

DiffusionModel& as_diffusion(GenerativeModel& model) { return dynamic_cast<DiffusionModel&>(model); }

void add_sampler_flags(ArgParser& args) {
  args.option("--sampler", "NAME", "ddpm (Ho et al.'s Algorithm 2, all T steps) or ddim (Song et al., any steps)", "ddim");
  args.option("--steps", "S", "DDIM's denoising steps, 1 to T (DDPM always takes T)", "50, or T if fewer");
  args.option("--eta", "E", "DDIM's noise, from 0 (deterministic) to 1 (as DDPM's posterior)", "0");
  args.flag("--trajectory", "also write x_t along the way for 8 images (<out>_trajectory.png)");
  args.option("--guidance", "W", "a class-conditional model: eps = (1 + W) eps(x, c) - W eps(x)", "0");
}

std::string sampler_description(const diffusion::SamplerOptions& o) {
  std::string s = o.sampler == diffusion::Sampler::DDPM ? fmt::format("DDPM, {} steps", o.steps)
                                                        : fmt::format("DDIM, {} steps, eta {}", o.steps, o.eta);
  if (o.label >= 0) s += fmt::format(", class {}", o.label);
  if (o.guidance > 0) s += fmt::format(", guidance {}", o.guidance);
  return s;
}

std::string configure_sampler(const ArgParser& args, GenerativeModel& generative) {
  DiffusionModel& model = as_diffusion(generative);
  diffusion::SamplerOptions o;
  o.sampler = diffusion::sampler_from_name(args.get_choice("--sampler", {"ddpm", "ddim"}));
  const int64_t T = model.options.T;
  // Without --steps, DDIM takes 50 steps, or all T of a diffusion with fewer.
  o.steps = o.sampler == diffusion::Sampler::DDPM ? T
            : args.given("--steps")                ? args.get_int("--steps", 1, T)
                                                   : std::min<int64_t>(50, T);
  o.eta = nonnegative(args, "--eta", 1.0);
  if (o.sampler == diffusion::Sampler::DDPM && args.given("--steps") && args.get_int("--steps", 1, T) != T)
    throw UsageError(fmt::format("--steps {}: DDPM takes all T = {} steps; use --sampler ddim for fewer",
                                 args.get("--steps"), T));
  const int64_t classes = model.options.unet.num_classes;
  o.guidance = nonnegative(args, "--guidance", 100.0);
  if (classes == 0 && o.guidance != 0)  // (--class on such a model is refused by the sample command itself)
    throw UsageError(fmt::format("--guidance {}: the checkpoint's model is unconditional (train one with --conditional)",
                                 args.get("--guidance")));
  if (args.given("--class")) o.label = args.get_int("--class", 0, classes - 1);
  model.sampling = o;
  return sampler_description(o);
}

// 8 chains from their own x_T, x_t at about 10 points along the way: rows are images, columns time.
void write_trajectory(const ArgParser& args, GenerativeModel& generative, const std::string& out, int64_t seed) {
  if (!args.get_flag("--trajectory")) return;
  DiffusionModel& model = as_diffusion(generative);
  diffusion::SamplerOptions o = model.sampling;
  o.keep_every = std::max<int64_t>(1, o.steps / 10);
  Generator gen(static_cast<uint64_t>(seed));
  const Tensor x_T = randn(model.options.unet.image.batch(8), gen);
  diffusion::Trajectory trajectory;
  model.generate(x_T, o, gen, &trajectory);
  const auto frames = static_cast<int64_t>(trajectory.x.size());
  std::vector<Tensor> cells;
  for (int64_t i = 0; i < 8; ++i)
    for (const Tensor& frame : trajectory.x) cells.push_back(frame.narrow0(i, i + 1));
  GridOptions grid;
  grid.nrow = frames;
  grid.upscale = 2;  // room for the column labels
  GridLabels labels;
  labels.pixel_height = 12;
  for (int64_t t : trajectory.t) labels.column_labels.push_back(t < 0 ? "x_0" : fmt::format("t={}", t + 1));
  labels.caption = fmt::format("{}: x_T -> x_0, one row per image", sampler_description(o));
  const std::string path = (out.size() > 4 && out.substr(out.size() - 4) == ".png" ? out.substr(0, out.size() - 4) : out) +
                           "_trajectory.png";
  const Tensor shown = clamp(Variable(concat(cells, 0)), -1.f, 1.f).data();  // x_t is not bounded on the way
  save_labelled_grid(from_minus_one_one(shown), path, labels, grid);
  print_wrote(path, fmt::format("x_t of 8 images at {} points from x_T to x_0", frames));
}

// --- eval diffusion: the denoising loss on the test set ---

OpenedForEval open_for_eval(const std::string& path) {
  std::shared_ptr<DiffusionModel> model = diffusion::load_diffusion(path);
  OpenedForEval opened{model, {}, {}};
  opened.print_test_loss = [model](const Dataset& test, Generator& gen) {
    double sum = 0;
    const int64_t n = test.images.size(0);
    for (int64_t begin = 0; begin < n; begin += 250) {
      NoGradGuard no_grad;
      const Tensor x0 = to_minus_one_one(test.images.narrow0(begin, std::min<int64_t>(n, begin + 250)));
      const Tensor t = randint(0, model->options.T, {x0.size(0)}, gen);  // t ~ Uniform({1, ..., T})
      const Tensor noise = randn(x0.shape(), gen);                       // eps ~ N(0, I)
      sum += model->loss(x0, t, noise).item() * static_cast<double>(x0.size(0));
    }
    fmt::print("test loss ({} images, EMA weights): {:.5f} mean squared error of the {} prediction per pixel, "
               "t ~ U{{1..{}}}\n",
               n, sum / static_cast<double>(n), diffusion::objective_name(model->options.objective), model->options.T);
  };
  return opened;
}

const bool registered =
    register_family({"diffusion", "a diffusion model", {},
                     [](const std::string& path) { return std::shared_ptr<Module>(diffusion::load_diffusion(path)); }}) &&
    register_command({"train diffusion", "train the diffusion model's U-Net (--schedule linear|cosine, --objective eps|v)",
                      train}) &&
    register_sample_command({"diffusion", "new images from a diffusion model: x_T ~ N(0, I) denoised step by step",
                             "Denoises N draws x_T ~ N(0, I) step by step with the EMA weights of a checkpoint of\n"
                             "'hundun train diffusion' (DDPM: T steps; DDIM: any number).",
                             [](const std::string& path) {
                               return std::shared_ptr<GenerativeModel>(diffusion::load_diffusion(path));
                             },
                             add_sampler_flags, configure_sampler, write_trajectory}) &&
    register_eval_command({"diffusion", "test loss of a diffusion model, and FD, confidence, coverage of its samples",
                           "Evaluates a checkpoint of 'hundun train diffusion': the denoising loss on the test set,\n"
                           "then the Frechet distance, confidence and class coverage of DDIM-50 samples of the EMA\n"
                           "weights, judged by a classifier.",
                           open_for_eval});

}  // namespace
}  // namespace hd::cli
