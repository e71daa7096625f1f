// `hundun train gan --toy ring|grid`: mode collapse (模式崩潰) on 2-D data, made visible and measured
// (models/gan_toy.h). cli/gan/commands.cpp hands a `train gan` with --toy to train_toy_gan.
//
//   hundun train gan --toy ring --out out/toy_ring              the plain GAN
//   hundun train gan --toy grid --pack 2 --out out/toy_grid     PacGAN with m = 2
//
// Every --every steps it draws 2,500 samples from G (the papers' count), prints the metrics of VEEGAN and PacGAN
// (modes covered, share of high-quality samples, reverse KL of the mode frequencies against uniform) and writes,
// in --out:
//   samples_stepNNNNNN.svg   the 2,500 samples over the mode centres: in sequence, the generator hopping between
//                            modes (vanilla) or spreading over them (a remedy)
//   metrics.jsonl            one JSON object per evaluation
// Nothing is checkpointed: a run is short.
//
//   hundun train gan --toy ring|grid|both --table [--seeds 5] [--steps N] --out out/toy_table
// trains vanilla, PacGAN m = 2 and m = 4 and the minibatch-std D for seeds 1..N on the mixture(s), one
// gan::train_toy_gan each, a progress line per run, and prints the Markdown table of issue 15 (mean ± standard
// deviation over the seeds of the last evaluation's metrics, seconds per run), also written to --out/table.md.
//
// Measured (2 shared cores, OMP_NUM_THREADS=1, which is ~4x faster than two OpenMP threads for these tiny GEMMs on
// a loaded machine; G 4 x 128, D 3 x 64 maxout 5, batch 120, Adam lr 5e-4 betas (0.8, 0.999), seed 1):
//   ring, 4000 steps:  vanilla 8/8 modes, 38.8% high quality, KL 0.48;  pack 2: 8/8, 67.3%, KL 0.17
//   grid, pack 2:      1500 steps 9/25, 1.5%;  6000 steps 14/25, 1.7%;  20000 steps (160 s) 22/25, 12.5%, KL 0.74
//   grid, pack 2, lr 2e-4, 6000 steps: 14/25, 1.4%;  PacGAN's sizes (G 4 x 400, D 3 x 200), lr 1e-4, batch 100,
//   1500 steps: 9/25, 2.4% (75 steps/s)
// So the grid starts to converge only after ~20,000 steps (PacGAN trains 400 epochs): issue 15's goal (24/25 modes,
// 90% high quality) is not reached by a table that runs in 10 minutes.
// The ring tables (OMP_NUM_THREADS=1 hundun train gan --toy ring --table [--seeds S] --steps N), mean ± sd:
//   5 seeds, 2000 steps, 200 s:  vanilla 7.8 ± 0.4 modes, 46.9% hq, KL 0.42;  pack 2 7.0 ± 1.0, 16.8%, 0.67;
//                                pack 4 5.4 ± 1.5, 1.3%, 0.66;  mbstd 7.2 ± 0.8, 33.3%, 0.53
//   3 seeds, 4000 steps, 224 s:  vanilla 7.7 ± 0.6 modes, 43.7% hq, KL 0.50;  pack 2 8.0 ± 0.0, 59.8%, 0.27;
//                                pack 4 3.7 ± 1.5, 0.7%, 1.14;  mbstd 7.3 ± 1.2, 45.1%, 0.41
// Pack 2 helps once trained long enough. Pack 4 stalls at these sizes: D's loss stays at 2 log 2 (D at chance, so G
// gets no signal), and not for want of packs: --batch 480 (120 packs, PacGAN's 100-pack rule) with seed 3 still
// ends at 2/8 modes, 1.9% (42 s). The paper's widths and many more steps are the next thing to measure.
#include "cli/gan/toy.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/paths.h"
#include "data/files.h"
#include "models/gan_toy.h"
#include "report/plot.h"
#include "report/progress.h"

namespace hd::cli {
namespace {

ArgParser make_toy_parser() {
  ArgParser args("hundun train gan --toy ring|grid",
                 "Trains PacGAN's MLP GAN (models/gan_toy.h; G 4 x 400 ReLU with BatchNorm, D 3 x 200 maxout) on a\n"
                 "2-D mixture: ring (8 Gaussians, radius 1, std 0.01) or grid (25 at {-4..4}^2 step 2, std 0.05),\n"
                 "and prints every --every steps the modes covered, the share of high-quality samples (within 3 std\n"
                 "of a mode) and the reverse KL of the mode frequencies against uniform, over 2,500 samples.");
  args.option("--toy", "NAME", "ring or grid", "ring");
  args.option("--pack", "M", "PacGAN: the discriminator judges M samples concatenated (1: the plain GAN)", "1");
  args.flag("--mbstd", "D sees the minibatch standard deviation of its features (Karras et al. 2018)");
  args.flag("--table", "train every remedy (vanilla, pack 2, pack 4, mbstd) for seeds 1..--seeds and write table.md;\n"
                       "--toy both: on the ring and the grid");
  args.option("--seeds", "N", "with --table: seeds 1..N", "5");
  args.option("--remedies", "LIST", "with --table: the rows, from vanilla,pack2,pack4,mbstd", "vanilla,pack2,pack4,mbstd");
  args.option("--loss", "NAME", "ns (non-saturating), minimax, lsgan or hinge", "ns");
  args.option("--steps", "N", "discriminator + generator steps (0: the mixture's, ring 4000, grid 60000)", "0");
  args.option("--g-hidden", "W", "G's hidden width (PacGAN: 400; smaller by default so a run takes minutes)", "128");
  args.option("--d-hidden", "W", "D's maxout units per layer (PacGAN: 200)", "128");
  args.option("--every", "K", "evaluate and draw every K steps (0: --steps / 10)", "0");
  args.option("--batch", "B", "real samples per step, a multiple of --pack (120 suits every M up to 4)", "120");
  args.option("--lr", "LR", "G's Adam learning rate (betas 0.8, 0.999 as PacGAN; the paper's lr is 1e-4)", "0.0002");
  args.option("--lr-d", "LR", "D's Adam learning rate: larger than G's is TTUR (Heusel et al. 2017)", "0.001");
  args.option("--decay", "F", "the last F of the steps lower both rates linearly to 0 (0: constant)", "0.5");
  args.option("--seed", "S", "seeds the initial weights, the data and every z", "1");
  args.option("--out", "DIR", "where the scatter plots and metrics.jsonl go", "out/gan_toy");
  return args;
}

std::string metrics_text(const gan::ModeMetrics& m) {
  return fmt::format("modes {}/{}  high quality {:.1f}%  reverse KL {:.3f}", m.modes_covered, m.modes,
                     100 * m.high_quality, m.reverse_kl);
}

std::string metrics_json(int64_t step, const gan::ModeMetrics& m, double d_loss, double g_loss) {
  std::string counts;
  for (int64_t c : m.counts) counts += (counts.empty() ? "" : ",") + std::to_string(c);
  return fmt::format("{{\"step\":{},\"modes_covered\":{},\"modes\":{},\"high_quality\":{},\"reverse_kl\":{},"
                     "\"d_loss\":{},\"g_loss\":{},\"counts\":[{}]}}\n",
                     step, m.modes_covered, m.modes, m.high_quality,
                     std::isfinite(m.reverse_kl) ? fmt::format("{}", m.reverse_kl) : "null", d_loss, g_loss, counts);
}

// The samples (grey, dense where many) over the mode centres (red), on fixed axes so the frames of a run line up.
void save_scatter(const gan::ToyMixture& mixture, const Tensor& samples, const gan::ModeMetrics& m, int64_t step,
                  const gan::ToyGanOptions& options, const std::string& path) {
  std::string who = options.pack > 1 ? fmt::format("PacGAN m = {}", options.pack) : "GAN";
  if (options.minibatch_std) who += " with minibatch std";
  Plot plot(fmt::format("{} on the {}, step {}: {}", who, mixture.name, step, metrics_text(m)), "x1", "x2", 560, 560);
  std::vector<double> x, y, cx, cy;
  for (int64_t i = 0; i < samples.size(0); ++i) x.push_back(samples.data()[2 * i]), y.push_back(samples.data()[2 * i + 1]);
  for (const auto& [a, b] : mixture.means) cx.push_back(a), cy.push_back(b);
  plot.scatter(x, y, fmt::format("G(z), {} samples", samples.size(0)), "#333333", 1.5, 0.3);
  plot.scatter(cx, cy, "mode centres", "#d62728", 3.0, 1.0);
  const double r = mixture.name == "ring" ? 1.6 : 6.0;
  plot.set_xlim(-r, r);
  plot.set_ylim(-r, r);
  plot.save(path);
}

// One row of the table: a remedy, as the options it changes.
struct Remedy {
  std::string key, name;  // key: as --remedies names it
  int64_t pack = 1;
  bool minibatch_std = false;
};
const std::vector<Remedy> kRemedies = {{"vanilla", "vanilla GAN", 1, false},
                                       {"pack2", "PacGAN m = 2", 2, false},
                                       {"pack4", "PacGAN m = 4", 4, false},
                                       {"mbstd", "minibatch std", 1, true}};

// --remedies "vanilla,pack2": the rows, in the order given.
std::vector<Remedy> remedies_from_list(const std::string& list) {
  std::vector<Remedy> chosen;
  size_t begin = 0;
  while (begin <= list.size()) {
    const size_t end = std::min(list.find(',', begin), list.size());
    const std::string key = list.substr(begin, end - begin);
    const auto it = std::find_if(kRemedies.begin(), kRemedies.end(), [&](const Remedy& r) { return r.key == key; });
    if (it == kRemedies.end())
      throw UsageError(fmt::format("--remedies: unknown remedy '{}', expected a comma-separated list of vanilla, "
                                   "pack2, pack4, mbstd",
                                   key));
    chosen.push_back(*it);
    begin = end + 1;
  }
  return chosen;
}

// The steps a mixture needs when --steps is 0: the ring's 8 modes settle in a few thousand, the grid's 25 small
// ones only after tens of thousands (measured in this file's header).
int64_t default_steps(const std::string& mixture) { return mixture == "grid" ? 60000 : 4000; }

struct MeanAndSpread {
  double mean = 0, sd = 0;  // sd: the sample standard deviation over the seeds (0 for one seed)
};
MeanAndSpread mean_and_spread(const std::vector<double>& values) {
  MeanAndSpread r;
  for (double v : values) r.mean += v / static_cast<double>(values.size());
  for (double v : values)
    r.sd += values.size() > 1 ? (v - r.mean) * (v - r.mean) / static_cast<double>(values.size() - 1) : 0.0;
  r.sd = std::sqrt(r.sd);
  return r;
}

// "mean ± sd"; "inf" alone when a run's value is infinite (its sd means nothing then).
std::string cell(const MeanAndSpread& v, int digits) {
  if (!std::isfinite(v.mean)) return "inf";
  return fmt::format("{:.{}f} ± {:.{}f}", v.mean, digits, v.sd, digits);
}

// --table: every remedy on each mixture for seeds 1..N, one Markdown table printed and written to --out/table.md.
int write_mode_collapse_table(const std::vector<std::string>& mixtures, const std::vector<Remedy>& remedies,
                              const gan::ToyGanOptions& base, const gan::ToyTraining& training, int64_t seeds,
                              const std::string& out_dir) {
  const OutputFolder out_folder("--out", out_dir);
  std::string table = fmt::format(
      "Mode collapse on 2-D mixtures (models/gan_toy.h), {} seeds (1..{}), batch {}, Adam lr G {} D {}, the last "
      "{}% of the steps decaying to 0, G {}x{}, D {}x{} maxout {}; metrics over 2,500 samples, mean over the seeds "
      "(± their standard deviation)\n\n"
      "| mixture | steps | remedy | modes covered | high-quality % | reverse KL | seconds per run |\n"
      "|---|---|---|---|---|---|---|\n",
      seeds, seeds, training.batch, training.lr, training.lr_d, 100 * training.decay, base.g_layers, base.g_hidden,
      base.d_layers, base.d_hidden, base.maxout_pieces);
  const int64_t runs = static_cast<int64_t>(mixtures.size() * remedies.size()) * seeds;
  int64_t run = 0;
  for (const std::string& name : mixtures) {
    const gan::ToyMixture mixture = gan::toy_mixture(name);
    for (const Remedy& remedy : remedies) {
      gan::ToyGanOptions options = base;
      options.pack = remedy.pack;
      options.minibatch_std = remedy.minibatch_std;
      std::vector<double> modes, quality, kl, seconds;
      for (int64_t seed = 1; seed <= seeds; ++seed) {
        gan::ToyTraining t = training;
        t.seed = static_cast<uint64_t>(seed);
        if (t.steps == 0) t.steps = default_steps(name);
        t.every = t.steps;  // the table needs only the last evaluation
        Progress progress(fmt::format("run {}/{}: {}, {}, seed {}", ++run, runs, name, remedy.name, seed), t.steps);
        const auto start = std::chrono::steady_clock::now();
        const gan::ToyEvaluation e = gan::train_toy_gan(
            mixture, options, t,
            [&](int64_t step, const gan::AdversarialLosses& l) {
              progress.update(step, {{"D", l.discriminator}, {"G", l.generator}}, t.batch);
            },
            nullptr);
        progress.finish();
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        modes.push_back(static_cast<double>(e.metrics.modes_covered));
        quality.push_back(100 * e.metrics.high_quality);
        kl.push_back(e.metrics.reverse_kl);
        fmt::print("  {}\n", metrics_text(e.metrics));
        std::fflush(stdout);
      }
      const MeanAndSpread m = mean_and_spread(modes), q = mean_and_spread(quality), k = mean_and_spread(kl),
                          s = mean_and_spread(seconds);
      const int64_t K = static_cast<int64_t>(mixture.means.size());
      // A run without one high-quality sample has KL +infinity, and so has the mean.
      table += fmt::format("| {} ({} modes) | {} | {} | {} | {} | {} | {:.1f} |\n", name, K,
                           training.steps ? training.steps : default_steps(name), remedy.name, cell(m, 1),
                           cell(q, 1), cell(k, 3), s.mean);
    }
  }
  fmt::print("\n{}", table);
  write_file_atomically(out_dir + "/table.md", table, "train gan --toy --table");
  print_wrote(out_dir + "/table.md", "the table above, in Markdown");
  return 0;
}

}  // namespace

int train_toy_gan(const std::vector<std::string>& words) {
  ArgParser args = make_toy_parser();
  if (parse_or_print_help(args, words)) return 0;
  const bool table = args.get_flag("--table");
  const std::string toy = args.get_choice("--toy", table ? std::vector<std::string>{"ring", "grid", "both"}
                                                         : std::vector<std::string>{"ring", "grid"});
  gan::ToyGanOptions options;
  options.pack = args.get_int("--pack", 1, 16);
  options.minibatch_std = args.get_flag("--mbstd");
  options.g_hidden = args.get_int("--g-hidden", 1, 4096);
  options.d_hidden = args.get_int("--d-hidden", 1, 4096);
  options.loss = gan::loss_from_name(args.get_choice("--loss", {"ns", "minimax", "lsgan", "hinge"}));
  gan::ToyTraining training;
  training.steps = args.get_int("--steps", 0, 100000000);
  training.batch = args.get_int("--batch", 1, 1 << 20);
  training.every = args.get_int("--every", 0, 100000000);
  training.lr = static_cast<float>(args.get_double("--lr", 0.0, 10.0));
  training.lr_d = static_cast<float>(args.get_double("--lr-d", 0.0, 10.0));
  training.decay = args.get_double("--decay", 0.0, 1.0);
  training.seed = static_cast<uint64_t>(args.get_int("--seed", 0, INT64_MAX));
  const int64_t seeds = args.get_int("--seeds", 1, 1000);
  const std::string out_dir = args.get("--out");
  if (table) {  // the table chooses the remedies and the seeds itself
    for (const char* flag : {"--pack", "--mbstd", "--seed", "--every"})
      if (args.given(flag))
        throw UsageError(fmt::format("--table trains every remedy for seeds 1..--seeds itself: drop {}", flag));
    if (training.batch % 4 != 0)
      throw UsageError(fmt::format("--table needs a --batch that packs of 2 and 4 divide, got {}", training.batch));
    const std::vector<std::string> mixtures =
        toy == "both" ? std::vector<std::string>{"ring", "grid"} : std::vector<std::string>{toy};
    return write_mode_collapse_table(mixtures, remedies_from_list(args.get("--remedies")), options, training, seeds,
                                     out_dir);
  }
  for (const char* flag : {"--seeds", "--remedies"})
    if (args.given(flag)) throw UsageError(fmt::format("{} goes with --table; one run takes --seed", flag));
  if (training.steps == 0) training.steps = default_steps(toy);
  if (training.every == 0) training.every = std::max<int64_t>(1, training.steps / 10);
  if (training.batch % options.pack != 0)
    throw UsageError(fmt::format("--pack {} does not divide --batch {}: the discriminator judges packs of {} samples",
                                 options.pack, training.batch, options.pack));

  const gan::ToyMixture mixture = gan::toy_mixture(toy);
  const OutputFolder out_folder("--out", out_dir);
  {
    Generator rng(training.seed);  // the model train_toy_gan will build, for its description
    gan::ToyGAN model(options, rng);
    fmt::print("train gan --toy {}: {}, G {} + D {} parameters, Adam lr G {} D {} betas (0.8, 0.999), the last {}% "
               "of the steps decaying to 0, batch {}, {} steps, seed {}\n",
               toy, model.describe(), model.generator->num_parameters(), model.discriminator->num_parameters(),
               training.lr, training.lr_d, 100 * training.decay, training.batch, training.steps, training.seed);
    std::fflush(stdout);
  }

  std::string log;
  std::vector<std::string> pictures;
  const int rounds = static_cast<int>((training.steps + training.every - 1) / training.every);
  std::unique_ptr<Progress> progress;  // a round: --every steps, one progress line, one evaluation
  const auto on_step = [&](int64_t step, const gan::AdversarialLosses& l) {
    const int64_t round = step / training.every, first = round * training.every;
    if (step == first) {
      progress = std::make_unique<Progress>(fmt::format("train gan --toy {}", toy),
                                            std::min(training.steps, first + training.every) - first, rounds);
      progress->set_epoch(static_cast<int>(round));
    }
    progress->update(step - first, {{"D", l.discriminator}, {"G", l.generator}}, training.batch);
  };
  const auto on_evaluation = [&](const gan::ToyEvaluation& e) {
    progress->finish();
    const gan::AdversarialLosses& l = e.losses;
    fmt::print("step {:>6}/{}  {}  (D {:.3f}, G {:.3f})\n", e.step, training.steps, metrics_text(e.metrics),
               l.discriminator, l.generator);
    const std::string picture = fmt::format("{}/samples_step{:06d}.svg", out_dir, e.step);
    save_scatter(mixture, e.samples, e.metrics, e.step, options, picture);
    pictures.push_back(picture);
    log += metrics_json(e.step, e.metrics, l.discriminator, l.generator);
    write_file_atomically(out_dir + "/metrics.jsonl", log, "train gan --toy");
    std::fflush(stdout);
  };
  gan::train_toy_gan(mixture, options, training, on_step, on_evaluation);
  print_wrote(fmt::format("{}/samples_step*.svg", out_dir),
              fmt::format("{} scatter plots of 2,500 samples over the mode centres, {} to {}", pictures.size(),
                          pictures.front().substr(out_dir.size() + 1), pictures.back().substr(out_dir.size() + 1)));
  print_wrote(out_dir + "/metrics.jsonl", "one JSON line per evaluation");
  return 0;
}

}  // namespace hd::cli
