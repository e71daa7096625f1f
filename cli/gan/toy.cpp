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
#include "cli/gan/toy.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/paths.h"
#include "data/files.h"
#include "models/gan_toy.h"
#include "report/plot.h"
#include "report/progress.h"

namespace hd::cli {
namespace {

constexpr int64_t kEvalSamples = 2500;  // VEEGAN's and PacGAN's sample count for the metrics

ArgParser make_toy_parser() {
  ArgParser args("hundun train gan --toy ring|grid",
                 "Trains PacGAN's MLP GAN (models/gan_toy.h; G 4 x 400 ReLU with BatchNorm, D 3 x 200 maxout) on a\n"
                 "2-D mixture: ring (8 Gaussians, radius 1, std 0.01) or grid (25 at {-4..4}^2 step 2, std 0.05),\n"
                 "and prints every --every steps the modes covered, the share of high-quality samples (within 3 std\n"
                 "of a mode) and the reverse KL of the mode frequencies against uniform, over 2,500 samples.");
  args.option("--toy", "NAME", "ring or grid", "ring");
  args.option("--pack", "M", "PacGAN: the discriminator judges M samples concatenated (1: the plain GAN)", "1");
  args.option("--loss", "NAME", "ns (non-saturating), minimax, lsgan or hinge", "ns");
  args.option("--steps", "N", "discriminator + generator steps", "1000");
  args.option("--g-hidden", "W", "G's hidden width (PacGAN: 400; smaller by default so a run takes under a minute)",
              "128");
  args.option("--d-hidden", "W", "D's maxout units per layer (PacGAN: 200)", "64");
  args.option("--every", "K", "evaluate and draw every K steps (0: --steps / 10)", "0");
  args.option("--batch", "B", "real samples per step, a multiple of --pack (120 suits every M up to 4)", "120");
  args.option("--lr", "LR", "both Adams' learning rate (betas 0.8, 0.999 as PacGAN; the paper's lr is 1e-4)",
              "0.0005");
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
                  int64_t pack, const std::string& path) {
  const std::string who = pack > 1 ? fmt::format("PacGAN m = {}", pack) : "GAN";
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

}  // namespace

int train_toy_gan(const std::vector<std::string>& words) {
  ArgParser args = make_toy_parser();
  if (parse_or_print_help(args, words)) return 0;
  const std::string toy = args.get_choice("--toy", {"ring", "grid"});
  gan::ToyGanOptions options;
  options.pack = args.get_int("--pack", 1, 16);
  options.g_hidden = args.get_int("--g-hidden", 1, 4096);
  options.d_hidden = args.get_int("--d-hidden", 1, 4096);
  options.loss = gan::loss_from_name(args.get_choice("--loss", {"ns", "minimax", "lsgan", "hinge"}));
  const int64_t steps = args.get_int("--steps", 1, 100000000);
  const int64_t batch = args.get_int("--batch", 1, 1 << 20);
  int64_t every = args.get_int("--every", 0, 100000000);
  if (every == 0) every = std::max<int64_t>(1, steps / 10);
  const float lr = static_cast<float>(args.get_double("--lr", 0.0, 10.0));
  const int64_t seed = args.get_int("--seed", 0, INT64_MAX);
  const std::string out_dir = args.get("--out");
  if (batch % options.pack != 0)
    throw UsageError(fmt::format("--pack {} does not divide --batch {}: the discriminator judges packs of {} samples",
                                 options.pack, batch, options.pack));

  const gan::ToyMixture mixture = gan::toy_mixture(toy);
  // One random stream draws the initial weights (G's, then D's), then every real batch and every z.
  Generator rng(static_cast<uint64_t>(seed));
  gan::ToyGAN model(options, rng);
  Adam adam_d(model.discriminator->parameters(), lr, 0.8f, 0.999f);
  Adam adam_g(model.generator->parameters(), lr, 0.8f, 0.999f);
  Generator eval_rng(0);  // the same 2,500 z at every evaluation, so the frames show G moving, not z
  const Tensor eval_z = randn({kEvalSamples, options.latent_dim}, eval_rng);
  const OutputFolder out_folder("--out", out_dir);

  fmt::print("train gan --toy {}: {}, G {} + D {} parameters, Adam lr {} betas (0.8, 0.999), batch {}, {} steps, "
             "seed {}\n",
             toy, model.describe(), model.generator->num_parameters(), model.discriminator->num_parameters(), lr,
             batch, steps, seed);
  std::fflush(stdout);

  std::string log;
  std::vector<std::string> pictures;
  const int rounds = static_cast<int>((steps + every - 1) / every);
  for (int round = 0; round < rounds; ++round) {  // a round: --every steps, one progress line, one evaluation
    const int64_t first = round * every, last = std::min(steps, first + every);
    Progress progress(fmt::format("train gan --toy {}", toy), last - first, rounds);
    progress.set_epoch(round);
    gan::AdversarialLosses l;
    for (int64_t step = first; step < last; ++step) {
      l = gan::train_step(model, adam_d, adam_g, gan::sample_mixture(mixture, batch, rng), rng);
      if (!std::isfinite(l.discriminator) || !std::isfinite(l.generator))
        throw std::runtime_error(fmt::format("train gan --toy: a loss is not finite at step {} (D {}, G {})", step + 1,
                                             l.discriminator, l.generator));
      progress.update(step - first, {{"D", l.discriminator}, {"G", l.generator}}, batch);
    }
    progress.finish();

    Tensor samples;
    {
      NoGradGuard no_grad;
      model.generator->eval();  // BatchNorm's running statistics, as a sampler uses them
      samples = (*model.generator)(Variable(eval_z)).data();
      model.generator->train();
    }
    const gan::ModeMetrics m = gan::mode_metrics(mixture, samples);
    fmt::print("step {:>6}/{}  {}  (D {:.3f}, G {:.3f})\n", last, steps, metrics_text(m), l.discriminator,
               l.generator);
    const std::string picture = fmt::format("{}/samples_step{:06d}.svg", out_dir, last);
    save_scatter(mixture, samples, m, last, options.pack, picture);
    pictures.push_back(picture);
    log += metrics_json(last, m, l.discriminator, l.generator);
    write_file_atomically(out_dir + "/metrics.jsonl", log, "train gan --toy");
    std::fflush(stdout);
  }
  print_wrote(fmt::format("{}/samples_step*.svg", out_dir),
              fmt::format("{} scatter plots of 2,500 samples over the mode centres, {} to {}", pictures.size(),
                          pictures.front().substr(out_dir.size() + 1), pictures.back().substr(out_dir.size() + 1)));
  print_wrote(out_dir + "/metrics.jsonl", "one JSON line per evaluation");
  return 0;
}

}  // namespace hd::cli
