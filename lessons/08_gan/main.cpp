// Lesson 08 — the generative adversarial network (生成對抗網路, GAN).
//
// The lecture: a generator (生成器) turns noise into data, a discriminator (判別器) tells real from fake, and
// the two improve by competing (對抗訓練). The GAN is the fastest generator (一步生成: one pass of G per image),
// its images are sharp, its latent space has no explicit structure, and its training is unstable: it can
// collapse onto a few modes (模式崩潰). This notebook shows each claim with numbers:
//   1. the game on a ring of 8 Gaussians: the plain GAN drops and hops between modes; PacGAN spreads out;
//   2. reading D's and G's losses (they do not fall like a VAE's);
//   3. why G's loss is -log D(G(z)) and not the paper's log(1 - D(G(z))): the saturating gradient;
//   4. DCGAN on Fashion-MNIST: samples, and the judge's verdict against the VAE's;
//   5. one pass per image: sampling speed;
//   6. a conditional GAN: asking for one class;
//   7. walking the latent space: lerp against slerp.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "autograd/loss.h"
#include "data/fashion_mnist.h"
#include "data/loader.h"
#include "lessons/lesson.h"
#include "lessons/lesson_models.h"
#include "metrics/diversity.h"
#include "metrics/frechet.h"
#include "models/classifier.h"
#include "models/gan.h"
#include "models/gan_toy.h"
#include "models/vae.h"
#include "report/labels.h"
#include "report/plot.h"
#include "report/progress.h"
#include "tensor/random.h"
#include "tensor/shape_ops.h"

using namespace hd;

// One snapshot of the toy generator: its 2,500 samples' mode metrics at a step.
struct Snapshot {
  int64_t step;
  gan::ModeMetrics metrics;
};

// The mode most of the high-quality samples sit at, and its share of them.
static std::pair<int64_t, double> busiest_mode(const gan::ModeMetrics& m) {
  const auto it = std::max_element(m.counts.begin(), m.counts.end());
  int64_t total = 0;
  for (int64_t c : m.counts) total += c;
  return {it - m.counts.begin(), total ? static_cast<double>(*it) / static_cast<double>(total) : 0.0};
}

// Algorithm 1 on the ring for `steps` steps (gan::train_toy_gan, the loop of `hundun train gan --toy`); every
// `every` steps 2,500 samples from the same z, their metrics and a scatter plot out/<name>_stepNNNN.svg. Returns the
// snapshots and D's and G's loss per step.
static std::vector<Snapshot> play_on_the_ring(const gan::ToyGanOptions& options, int64_t steps, int64_t every,
                                              uint64_t seed, const std::string& out, const std::string& name,
                                              lesson::GanLosses& losses) {
  const gan::ToyMixture ring = gan::ring_mixture();
  gan::ToyTraining training;  // batch 120, Adam 5e-4 with PacGAN's betas (0.8, 0.999)
  training.steps = steps;
  training.every = every;
  training.seed = seed;
  std::vector<Snapshot> snapshots;
  Progress progress("  " + name, steps);
  auto on_step = [&](int64_t step, const gan::AdversarialLosses& l) {
    losses.d.push_back(l.discriminator);
    losses.g.push_back(l.generator);
    progress.update(step, {{"D", l.discriminator}, {"G", l.generator}}, training.batch);
  };
  auto on_evaluation = [&](const gan::ToyEvaluation& e) {
    snapshots.push_back({e.step, e.metrics});
    Plot plot(fmt::format("{}, step {}: {}/8 modes", name, e.step, e.metrics.modes_covered), "x1", "x2", 420, 420);
    std::vector<double> x, y, cx, cy;
    for (int64_t i = 0; i < e.samples.size(0); ++i)
      x.push_back(e.samples.data()[2 * i]), y.push_back(e.samples.data()[2 * i + 1]);
    for (const auto& [a, b] : ring.means) cx.push_back(a), cy.push_back(b);
    plot.scatter(x, y, "G(z), 2500 samples", "#333333", 1.5, 0.3);
    plot.scatter(cx, cy, "mode centres", "#d62728", 3.0, 1.0);
    plot.set_xlim(-1.6, 1.6);
    plot.set_ylim(-1.6, 1.6);
    plot.save(fmt::format("{}/{}_step{:04d}.svg", out, name, e.step));
  };
  gan::train_toy_gan(ring, options, training, on_step, on_evaluation);
  progress.finish();
  return snapshots;
}

static void print_snapshots(const std::vector<Snapshot>& snapshots) {
  fmt::print("    {:>6} {:>8} {:>13} {:>11} {:>22}\n", "step", "modes", "high quality", "reverse KL", "busiest mode (share)");
  for (const Snapshot& s : snapshots) {
    const auto [mode, share] = busiest_mode(s.metrics);
    fmt::print("    {:>6} {:>6}/8 {:>12.1f}% {:>11.3f} {:>15} ({:.0f}%)\n", s.step, s.metrics.modes_covered,
               100 * s.metrics.high_quality, s.metrics.reverse_kl, mode, 100 * share);
  }
}

// The mean of the last tenth of a loss curve: where the game settled.
static double settled(const std::vector<double>& v) {
  const size_t from = v.size() - std::max<size_t>(1, v.size() / 10);
  double s = 0;
  for (size_t i = from; i < v.size(); ++i) s += v[i];
  return s / static_cast<double>(v.size() - from);
}

static double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int main(int argc, char** argv) try {
  auto opt = lesson::parse_options(argc, argv, "08_gan", "generator against discriminator: the GAN's game");
  // 4000 steps: where PacGAN m = 2 beat the plain GAN over 3 seeds (cli/gan/toy.cpp's table); fewer favour neither.
  const int64_t toy_steps = opt.smoke ? 20 : opt.full ? 8000 : 4000;
  const int64_t every = toy_steps / 5;

  // ------------------------------------------------------------------------------------------
  lesson::section("1. The game on a ring of 8 Gaussians (模式崩潰: mode collapse)");
  // The data: 8 Gaussians of std 0.01 on the unit circle, far apart compared with their width. G maps
  // z ~ N(0, I_2) to a point; D gives a logit. Each step (Goodfellow et al. 2014, Algorithm 1): D learns to tell
  // a real batch from G's, then G learns to fool the updated D. Nothing in the game asks G to cover every mode:
  // a G that puts everything on the mode D currently trusts wins that round, D learns to reject that mode, G
  // moves on — the hopping the snapshots below show. PacGAN (Lin et al. 2018) lets D judge m samples at once: m
  // samples of a collapsed G look alike, m real ones rarely do, so D can see the missing diversity.
  gan::ToyGanOptions plain;
  plain.g_hidden = 128;
  plain.d_hidden = 64;
  gan::ToyGanOptions packed = plain;
  packed.pack = 2;
  lesson::GanLosses plain_losses, packed_losses;
  fmt::print("  the plain GAN, {} steps, batch 120:\n", toy_steps);
  const std::vector<Snapshot> vanilla = play_on_the_ring(plain, toy_steps, every, opt.seed + 1, opt.out, "gan", plain_losses);
  print_snapshots(vanilla);
  fmt::print("  PacGAN, m = 2, the same steps and seed:\n");
  const std::vector<Snapshot> pac = play_on_the_ring(packed, toy_steps, every, opt.seed + 1, opt.out, "pacgan", packed_losses);
  print_snapshots(pac);
  lesson::wrote(fmt::format("{}/gan_step*.svg", opt.out), "the plain GAN's 2,500 samples over the 8 mode centres, in sequence");
  lesson::wrote(fmt::format("{}/pacgan_step*.svg", opt.out), "the same for PacGAN");
  {
    // Did the plain GAN hop? Its busiest mode changes between snapshots while most samples sit there.
    int hops = 0;
    for (size_t i = 1; i < vanilla.size(); ++i) hops += busiest_mode(vanilla[i].metrics).first != busiest_mode(vanilla[i - 1].metrics).first;
    const gan::ModeMetrics& a = vanilla.back().metrics;
    const gan::ModeMetrics& b = pac.back().metrics;
    fmt::print("\n  At the end: plain GAN {}/8 modes, {:.1f}% high quality, reverse KL {:.3f}; PacGAN {}/8, {:.1f}%, {:.3f}.\n",
               a.modes_covered, 100 * a.high_quality, a.reverse_kl, b.modes_covered, 100 * b.high_quality, b.reverse_kl);
    fmt::print("  The plain GAN's busiest mode changed {} time(s) in {} snapshots.\n", hops, vanilla.size());
    const bool pac_better = b.reverse_kl < a.reverse_kl && b.modes_covered >= a.modes_covered;
    if (opt.smoke)
      fmt::print("  (a smoke run plays {} steps: too few for either to find the modes; run without --smoke)\n", toy_steps);
    else if (pac_better)
      fmt::print("  PacGAN's samples are spread more evenly over the modes (lower reverse KL): packing is a remedy.\n");
    else
      fmt::print("  In this run PacGAN did not spread better than the plain GAN: GAN training is noisy — try another\n"
                 "  --seed or --full, and see `hundun train gan --toy ring` for longer runs.\n");
  }

  // ------------------------------------------------------------------------------------------
  lesson::section("2. Reading D's and G's losses");
  // A GAN's losses are not a score that falls: each player's loss is measured against the other, who keeps
  // improving. For the non-saturating loss the game's equilibrium (D(x) = D(G(z)) = 1/2 everywhere) has
  // L_D = -log(1/2) - log(1 - 1/2) = 2 log 2 = 1.386 and L_G = -log(1/2) = log 2 = 0.693.
  {
    Plot plot("the plain GAN on the ring: D's and G's loss per step", "step", "loss");
    std::vector<double> steps;
    for (size_t i = 0; i < plain_losses.d.size(); ++i) steps.push_back(static_cast<double>(i + 1));
    plot.line(steps, plain_losses.d, "D (discriminator)", "#1f77b4");
    plot.line(steps, plain_losses.g, "G (generator)", "#ff7f0e");
    plot.line({1.0, steps.back()}, {2 * std::log(2.0), 2 * std::log(2.0)}, "2 log 2: D at the equilibrium", "#2ca02c");
    plot.save(opt.out + "/losses.svg");
    lesson::wrote(opt.out + "/losses.svg", "D's and G's loss per step of the plain ring run");
    const double d = settled(plain_losses.d), g = settled(plain_losses.g);
    fmt::print("  the last tenth of the steps: mean L_D {:.3f} (equilibrium 1.386), mean L_G {:.3f} (equilibrium 0.693)\n", d, g);
    if (d < 0.3)
      fmt::print("  L_D near 0: D wins, it tells every fake apart; G's gradient through a sure D is small.\n");
    else if (d > 1.2)
      fmt::print("  L_D near 2 log 2: D can hardly tell real from fake — close to the equilibrium, or G fools it.\n");
    else
      fmt::print("  L_D between 0 and 2 log 2: D is ahead but not winning; the usual state of a working GAN.\n");
    fmt::print("  Oscillating curves are normal: each player's loss moves with the other's progress.\n");
  }

  // ------------------------------------------------------------------------------------------
  lesson::section("3. Why G minimises -log D(G(z)), not log(1 - D(G(z)))");
  // Early in training D rejects G's images easily: its logit on a fake is very negative. The paper's minimax
  // loss log(1 - sigmoid(l)) is flat there; the non-saturating -log sigmoid(l) is steep (Goodfellow et al., 3).
  auto slope = [](gan::GanLoss loss, float logit) {  // d L_G / d logit, by backward
    Variable l(Tensor::full({1, 1}, logit), /*requires_grad=*/true);
    gan::generator_loss(loss, l).backward();
    return l.grad().data().data()[0];
  };
  fmt::print("    {:>22} {:>22} {:>30}\n", "D's logit on a fake", "d/dl log(1 - D)", "d/dl -log D  (non-saturating)");
  for (float logit : {-8.f, -4.f, -1.f, 0.f})
    fmt::print("    {:>22.1f} {:>22.5f} {:>30.5f}\n", logit, slope(gan::GanLoss::Minimax, logit),
               slope(gan::GanLoss::NonSaturating, logit));
  fmt::print("  At logit -8 the minimax loss gives G a gradient {:.0f} times smaller: G would barely move.\n",
             slope(gan::GanLoss::NonSaturating, -8.f) / slope(gan::GanLoss::Minimax, -8.f));

  // ------------------------------------------------------------------------------------------
  lesson::section("4. DCGAN on Fashion-MNIST, judged against the VAE");
  // DCGAN (Radford et al. 2016): G is a linear layer and two transposed convolutions, D two strided
  // convolutions; BatchNorm in both, data scaled to [-1, 1], Adam(2e-4, betas (0.5, 0.999)) — models/gan.h.
  Dataset test = load_fashion_mnist(/*train=*/false);
  Dataset train;
  auto training_set = [&]() -> const Dataset& {
    if (!train.images.defined()) train = load_fashion_mnist(/*train=*/true);
    return train;
  };
  if (opt.smoke) test = subset(test, 300, opt.seed + 1);
  const lesson::TrainingBudget gan_budget = opt.smoke  ? lesson::TrainingBudget{.images = 256, .epochs = 1, .batch = 64, .lr = 2e-4f}
                                            : opt.full ? lesson::TrainingBudget{.images = 60000, .epochs = 5, .batch = 64, .lr = 2e-4f}
                                                       : lesson::TrainingBudget{.images = 60000, .epochs = 1, .batch = 64, .lr = 2e-4f};
  Generator gen(opt.seed);
  bool trained_here = false;
  std::shared_ptr<gan::GAN> dcgan = lesson::shipped_gan(opt, "gan");
  if (!dcgan) {
    trained_here = true;
    dcgan = std::make_shared<gan::GAN>(gan::GanOptions{}, gen);
    lesson::train_short_gan(*dcgan, training_set(), gan_budget, opt.seed, "DCGAN");
  }
  std::shared_ptr<VAE> vae = lesson::shipped_vae(opt, "vae");
  if (!vae) {
    vae = std::make_shared<VAE>(VaeOptions{}, gen);
    lesson::train_short(*vae, training_set(), {.images = gan_budget.images, .epochs = opt.smoke ? 1 : 10}, opt.seed,
                        "vae", [&](const Tensor& x, const Tensor&) { return vae->loss(Variable(x), gen).total; });
  }
  std::shared_ptr<ImageClassifier> judge = lesson::shipped_classifier(opt);
  if (!judge) {
    judge = make_classifier("cnn", gen);
    lesson::train_short(*judge, training_set(), {.images = opt.smoke ? 256 : 60000, .epochs = 1, .batch = 64},
                        opt.seed, "classifier", [&](const Tensor& x, const Tensor& y) {
                          return cross_entropy(judge->forward(Variable(x)), y);
                        });
  }
  const FeatureClassifier classify = [&](const Tensor& x) { return features_and_probabilities(*judge, x); };
  const FeatureStatistics real = feature_statistics(classify_in_batches(test.images, classify).first);
  const int64_t n = opt.smoke ? 100 : 2000;
  const Tensor gan_images = dcgan->sample(n, gen), vae_images = vae->sample(n, gen);
  GridOptions grid{.nrow = 8, .upscale = 2};
  save_labelled_grid(gan_images.narrow0(0, 64), opt.out + "/dcgan_samples.png",
                     {.caption = "DCGAN: G(z) for 64 z ~ N(0, I)"}, grid);
  lesson::wrote(opt.out + "/dcgan_samples.png", "64 DCGAN samples");
  save_labelled_grid(vae_images.narrow0(0, 64), opt.out + "/vae_samples.png",
                     {.caption = "VAE: decoder(z) for 64 z ~ N(0, I)"}, grid);
  lesson::wrote(opt.out + "/vae_samples.png", "64 VAE samples, for comparison");
  const QualityReport gan_q = quality_report(gan_images, classify, real), vae_q = quality_report(vae_images, classify, real);
  fmt::print("  {} images each, judged against the {} test images' features:\n", n, test.images.size(0));
  fmt::print("    DCGAN: {}\n    VAE:   {}\n", describe(gan_q), describe(vae_q));
  const int64_t m = std::min<int64_t>(500, n);
  const double sharp_gan = mean_pairwise_distance(gan_images.narrow0(0, m)),
               sharp_vae = mean_pairwise_distance(vae_images.narrow0(0, m));
  fmt::print("  mean pairwise pixel distance of {} samples: DCGAN {:.2f}, VAE {:.2f} (blurry images sit closer together)\n",
             m, sharp_gan, sharp_vae);
  if (opt.smoke)
    fmt::print("  (a smoke run trains both on {} images for one epoch: the numbers above judge nothing yet)\n",
               gan_budget.images);
  else if (gan_q.fd < vae_q.fd)
    fmt::print("  The DCGAN's FD is {:.0f}% lower than the VAE's: its samples look more like real clothes to the judge\n"
               "  (the lecture: GAN images are sharper; the VAE's average over what its decoder cannot tell apart).\n",
               100 * (1 - gan_q.fd / vae_q.fd));
  else if (trained_here)
    fmt::print("  The DCGAN's FD is not lower than the VAE's in this run: it was trained here briefly (the shipped\n"
               "  weights trained 5 epochs; `make weights` makes them).\n");
  else
    fmt::print("  The DCGAN's FD is not lower than the VAE's with these weights: compare the two pictures.\n");

  // ------------------------------------------------------------------------------------------
  lesson::section("5. One pass per image (一步生成)");
  // G makes an image in one forward pass, as the VAE's decoder does; the diffusion model (the lecture's fourth) needs
  // one pass per denoising step (tens to a thousand).
  {
    const Tensor z = randn({1000, dcgan->latent_dim()}, gen), zv = randn({1000, vae->latent_dim()}, gen);
    auto t0 = std::chrono::steady_clock::now();
    dcgan->decode_images(z);
    const double gan_s = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    vae->decode_images(zv);
    const double vae_s = seconds_since(t0);
    fmt::print("  1000 images: DCGAN {:.3f} s ({:.0f} images/s), VAE decoder {:.3f} s ({:.0f} images/s)\n", gan_s,
               1000 / gan_s, vae_s, 1000 / vae_s);
    fmt::print("  Both are one pass; the DCGAN's convolutions cost more arithmetic than the VAE's two linear layers.\n");
  }

  // ------------------------------------------------------------------------------------------
  lesson::section("6. A conditional GAN: asking for a class");
  // G reads [z, onehot(y)] and D reads the image with 10 label planes (Mirza & Osindero 2014): D rejects a
  // sneaker labelled "dress", so G learns to obey the label. `hundun sample gan --class 7` does what this does.
  std::shared_ptr<gan::GAN> cgan = lesson::shipped_gan(opt, "cgan");
  if (!cgan) {
    gan::GanOptions o;
    o.num_classes = 10;
    cgan = std::make_shared<gan::GAN>(o, gen);
    lesson::train_short_gan(*cgan, training_set(), gan_budget, opt.seed, "conditional DCGAN");
  }
  {
    const auto& names = fashion_mnist_classes();
    const Tensor grid_images = cgan->decode_images(randn({100, cgan->latent_dim()}, gen));
    GridLabels labels{.column_labels = names, .caption = "conditional DCGAN: column k asked for class k"};
    save_labelled_grid(grid_images, opt.out + "/cgan_classes.png", labels, {.nrow = 10, .upscale = 2});
    lesson::wrote(opt.out + "/cgan_classes.png", "10 samples of each class, one class per column");
    int64_t right_total = 0;
    const int64_t per_class = opt.smoke ? 10 : 200;
    fmt::print("  {} samples of each class, the judge's verdict:\n", per_class);
    for (int64_t k = 0; k < 10; ++k) {
      const Tensor p = classify_in_batches(cgan->sample_class(per_class, k, gen), classify).second;
      int64_t right = 0;
      for (int64_t i = 0; i < per_class; ++i)
        right += std::max_element(p.data() + i * 10, p.data() + i * 10 + 10) - (p.data() + i * 10) == k;
      right_total += right;
      fmt::print("    {:<12} {:5.1f}% judged to be of it\n", names[static_cast<size_t>(k)], 100.0 * right / per_class);
    }
    fmt::print("  overall {:.1f}% of the asked-for class; the judge itself is right on {:.1f}% of the {} real test images\n",
               100.0 * right_total / (10 * per_class), 100 * evaluate(*judge, test).accuracy, test.images.size(0));
  }

  // ------------------------------------------------------------------------------------------
  lesson::section("7. Walking the latent space: lerp and slerp");
  // Between two noise vectors z_a, z_b: the straight line z_t = (1 - t) z_a + t z_b cuts inside the sphere where
  // N(0, I) puts its draws in 100 dimensions (its midpoint's norm is about sqrt(100 / 2) = 7.1, not 10); the great
  // circle (slerp) stays at the draws' norm. Nothing in the GAN's training ties nearby z to similar images (no
  // encoder, no KL term as in the VAE), so how smooth a walk looks is a property to measure, not a given:
  // the comparison of the four models sets it beside the VAE's.
  {
    const int64_t steps = 9;
    std::vector<Tensor> rows;
    GridLabels labels;
    double jump_sum = 0, max_jump = 0;
    int64_t jumps = 0;
    for (int p = 0; p < 3; ++p) {
      const Tensor z_a = randn({dcgan->latent_dim()}, gen), z_b = randn({dcgan->latent_dim()}, gen);
      for (const bool spherical : {false, true}) {
        const Tensor path = dcgan->decode_images(spherical ? slerp_latents(z_a, z_b, steps) : lerp_latents(z_a, z_b, steps));
        rows.push_back(path);
        labels.row_labels.push_back(spherical ? "slerp" : "lerp");
        const int64_t d = path.numel() / steps;
        for (int64_t i = 1; i < steps; ++i) {  // the pixel distance between neighbours on the path
          double sq = 0;
          for (int64_t j = 0; j < d; ++j) {
            const double diff = path.data()[i * d + j] - path.data()[(i - 1) * d + j];
            sq += diff * diff;
          }
          jump_sum += std::sqrt(sq);
          max_jump = std::max(max_jump, std::sqrt(sq));
          ++jumps;
        }
      }
    }
    labels.caption = "DCGAN: G(z) along lerp and slerp paths between 3 pairs of z ~ N(0, I)";
    labels.pixel_height = 12;
    save_labelled_grid(concat(rows, 0), opt.out + "/latent_walk.png", labels, {.nrow = steps, .upscale = 2});
    lesson::wrote(opt.out + "/latent_walk.png", "each pair's lerp row above its slerp row");
    fmt::print("  neighbouring images on the paths differ by {:.2f} pixels (L2) on average, {:.2f} at most: a largest\n"
               "  step {:.1f}x the mean {}\n",
               jump_sum / jumps, max_jump, max_jump / (jump_sum / jumps),
               max_jump > 2.5 * jump_sum / jumps ? "is a jump: the garment changes suddenly somewhere on a path"
                                                 : "means the garments change gradually along these paths");
  }
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "08_gan: {}\n", e.what());
  return 1;
}
