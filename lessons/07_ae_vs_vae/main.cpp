// Lesson 07 — autoencoder (自編碼器) versus variational autoencoder (變分自編碼器).
//
// The lecture's slide: "VAE可以根據學到的潛在分佈生成全新的圖像，這是autoencoder無法做到的" — a VAE can
// generate brand-new images from the latent distribution it learned; an autoencoder cannot. This
// notebook tests that claim with numbers instead of eyes:
//   1. a judge: the Fashion-MNIST classifier of models/classifier.h (shipped weights or one short epoch);
//   2. the two models, built alike (784 -> 400 -> 20 -> 400 -> 784), shipped or trained alike;
//   3. the same random latents z ~ N(0, I) through both decoders, side by side;
//   4. the judge's verdict: Frechet distance (FD) to real images, confidence, classes covered;
//   5. why: the two latent distributions against N(0, 1).
#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/loss.h"
#include "data/fashion_mnist.h"
#include "data/image.h"
#include "data/loader.h"
#include "report/plot.h"
#include "lessons/lesson.h"
#include "lessons/lesson_models.h"
#include "nn/batches.h"
#include "models/autoencoder.h"
#include "models/classifier.h"
#include "metrics/frechet.h"
#include "models/vae.h"
#include "tensor/elementwise.h"
#include "tensor/random.h"
#include "tensor/reduce.h"

using namespace hd;

// Two grids side by side with a gap: left [1, H, W1], right [1, H, W2] -> [1, H, W1 + gap + W2], white gap.
static Tensor side_by_side(const Tensor& left, const Tensor& right, int64_t gap = 16) {
  const int64_t h = left.size(1), w1 = left.size(2), w2 = right.size(2);
  Tensor out = Tensor::full({1, h, w1 + gap + w2}, 1.f);
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w1; ++x) out.data()[y * (w1 + gap + w2) + x] = left.data()[y * w1 + x];
    for (int64_t x = 0; x < w2; ++x) out.data()[y * (w1 + gap + w2) + w1 + gap + x] = right.data()[y * w2 + x];
  }
  return out;
}

// One row of the results table.
static void print_row(const std::string& what, const QualityReport& r) {
  fmt::print("  {:<46} {:>9.2f} {:>11.3f} {:>8d}/10\n", what, r.fd, r.mean_confidence, r.classes_covered);
}

// Values and what to call them in a plot's legend.
struct Sample {
  std::vector<double> values;
  std::string label;
};

// The density histogram of `bars`, optionally the density of `outline` as a line, and the N(0, 1)
// density f(z) = exp(-z^2 / 2) / sqrt(2 pi) on top, over [-8, 8].
static void save_latent_histogram(const Sample& bars, const Sample& outline, const std::string& title,
                                  const std::string& path) {
  Plot plot(title, "latent value", "density");
  plot.histogram(bars.values, 120, bars.label);
  if (!outline.values.empty()) {
    Histogram h = compute_histogram(outline.values, 120, /*density=*/true);
    std::vector<double> centres;
    for (size_t i = 0; i + 1 < h.edges.size(); ++i) centres.push_back((h.edges[i] + h.edges[i + 1]) / 2);
    plot.line(centres, h.heights, outline.label, "#2ca02c");
  }
  std::vector<double> zs, f;
  for (int i = 0; i <= 320; ++i) {
    zs.push_back(-8 + 0.05 * i);
    f.push_back(std::exp(-zs.back() * zs.back() / 2) / std::sqrt(2 * M_PI));
  }
  plot.line(zs, f, "N(0, 1) density", "#d62728");
  plot.set_xlim(-8, 8);
  plot.save(path);
}

int main(int argc, char** argv) try {
  auto opt = lesson::parse_options(argc, argv, "07_ae_vs_vae", "the same random latents through an AE and a VAE");
  Generator gen(opt.seed);
  Dataset test = load_fashion_mnist(/*train=*/false);
  Dataset train;  // loaded only if something has to be trained
  auto training_set = [&]() -> const Dataset& {
    if (!train.images.defined()) train = load_fashion_mnist(/*train=*/true);
    return train;
  };
  if (opt.smoke) test = subset(test, 200, opt.seed + 1);
  const int64_t n_generated = opt.smoke ? 150 : 2000;  // images per model for the judge

  // ------------------------------------------------------------------------------------------
  lesson::section("1. The judge: a classifier trained on real clothes");
  // A model cannot grade its own pictures. A classifier trained on the real data can: its
  // penultimate layer turns each image into 128 features, and the Frechet distance (FD) compares
  // the Gaussian of generated images' features with that of real images' (metrics/frechet.h).
  std::shared_ptr<ImageClassifier> judge = lesson::shipped_classifier(opt);
  if (!judge) {
    judge = make_classifier("cnn", gen);
    lesson::TrainingBudget budget = opt.smoke  ? lesson::TrainingBudget{.images = 128, .epochs = 1, .batch = 64}
                                    : opt.full ? lesson::TrainingBudget{.images = 60000, .epochs = 3}
                                               : lesson::TrainingBudget{.images = 60000, .epochs = 1};
    lesson::train_short(*judge, training_set(), budget, opt.seed, "classifier", [&](const Tensor& x, const Tensor& y) {
      return cross_entropy(judge->forward(Variable(x)), y);
    });
  }
  fmt::print("  the judge's accuracy on {} test images: {:.1f}%\n", test.images.size(0),
             100 * evaluate(*judge, test).accuracy);
  FeatureClassifier classify = [&](const Tensor& x) {
    return std::pair{extract_features(*judge, x), predict_probabilities(*judge, x)};
  };
  FeatureStatistics real = feature_statistics(extract_features(*judge, test.images));

  // ------------------------------------------------------------------------------------------
  lesson::section("2. The two models, built and trained alike");
  // Same layers, same data, same optimizer. The only difference is the VAE's loss: reconstruction
  // plus KL(q(z | x) || N(0, I)); the autoencoder's is reconstruction alone.
  const lesson::TrainingBudget budget = opt.smoke  ? lesson::TrainingBudget{.images = 256, .epochs = 1, .batch = 64}
                                        : opt.full ? lesson::TrainingBudget{.images = 60000, .epochs = 20}
                                                   : lesson::TrainingBudget{.images = 60000, .epochs = 10};
  std::shared_ptr<Autoencoder> ae = lesson::shipped_autoencoder(opt, "ae");
  if (!ae) {
    ae = std::make_shared<Autoencoder>(AutoencoderOptions{}, gen);
    lesson::train_short(*ae, training_set(), budget, opt.seed, "autoencoder",
                        [&](const Tensor& x, const Tensor&) { return ae->loss(Variable(x)); });
  }
  std::shared_ptr<VAE> vae = lesson::shipped_vae(opt, "vae");
  if (!vae) {
    vae = std::make_shared<VAE>(VaeOptions{}, gen);
    lesson::train_short(*vae, training_set(), budget, opt.seed, "vae",
                        [&](const Tensor& x, const Tensor&) { return vae->loss(Variable(x), gen).total; });
  }
  fmt::print("  autoencoder: {}\n  VAE:         {}\n", ae->describe(), vae->describe());

  // ------------------------------------------------------------------------------------------
  lesson::section("3. The same random latents z ~ N(0, I) through both decoders");
  const int64_t latent = vae->options.latent_dim;
  Tensor z = randn({n_generated, latent}, gen);
  Tensor from_vae = vae->decode_images(z);
  // Shipped weights may give the two models different latent sizes; then each gets its own draws.
  Tensor from_ae = ae->options.latent_dim == latent
                       ? ae->decode_images(z)
                       : ae->decode_images(randn({n_generated, ae->options.latent_dim}, gen));
  if (ae->options.latent_dim != latent)
    fmt::print("  (the shipped models have latent sizes {} and {}: each decodes its own z ~ N(0, I))\n",
               ae->options.latent_dim, latent);
  GridOptions grid{.nrow = 6, .upscale = 3};
  save_image_grid(from_ae.narrow0(0, 36), opt.out + "/ae_random_latents.png", grid);
  lesson::wrote(opt.out + "/ae_random_latents.png", "autoencoder: decoder(z) for 36 z ~ N(0, I)");
  save_image_grid(from_vae.narrow0(0, 36), opt.out + "/vae_random_latents.png", grid);
  lesson::wrote(opt.out + "/vae_random_latents.png", "VAE: decoder(z) for the same 36 z");
  save_png(side_by_side(make_grid(from_ae.narrow0(0, 36), grid), make_grid(from_vae.narrow0(0, 36), grid)),
           opt.out + "/same_latents_ae_vs_vae.png");
  lesson::wrote(opt.out + "/same_latents_ae_vs_vae.png", "left: autoencoder, right: VAE, the same z in the same place");

  // ------------------------------------------------------------------------------------------
  lesson::section("4. The judge's verdict");
  // FD: distance between the feature Gaussians of these images and of the real test images (lower is
  // better). Confidence: the classifier's largest class probability, averaged (clear garments score
  // high). Classes covered: classes that receive at least 1% of the images (diversity).
  Tensor ae_rebuilt =
      map_batches(*ae, test.images.narrow0(0, n_generated), 1000, [&](const Tensor& x) { return ae->reconstruct(x); });
  QualityReport real_report = quality_report(subset(training_set(), n_generated, opt.seed + 5).images, classify, real);
  QualityReport ae_rebuilt_report = quality_report(ae_rebuilt, classify, real);
  QualityReport ae_report = quality_report(from_ae, classify, real);
  QualityReport vae_report = quality_report(from_vae, classify, real);
  fmt::print("  {} images each, compared with the {} real test images\n", n_generated, test.images.size(0));
  fmt::print("  {:<46} {:>9} {:>11} {:>11}\n", "images", "FD", "confidence", "classes");
  print_row("real: training images (the floor)", real_report);
  print_row("autoencoder: decoder(encoder(x)), test images", ae_rebuilt_report);
  print_row("autoencoder: decoder(z), z ~ N(0, I)", ae_report);
  print_row("VAE: decoder(z), z ~ N(0, I)", vae_report);

  const double ratio = vae_report.fd / ae_report.fd;
  fmt::print(
      "\n  FD of the VAE's samples {:.2f} / FD of the autoencoder's {:.2f} = {:.2f}: the VAE's is {:.0f}% lower.\n",
      vae_report.fd, ae_report.fd, ratio, 100 * (1 - ratio));
  if (ratio <= 0.7)
    fmt::print(
        "  The claim holds (at least 30% lower): VAE可以根據學到的潛在分佈生成全新的圖像，這是autoencoder無法做到的.\n"
        "  The autoencoder's decoder is not the problem — its reconstructions score well — the problem is\n"
        "  what it is fed: N(0, I) is not where its codes live.\n");
  else
    fmt::print("  The claim (at least 30% lower) does not hold in this run{}.\n",
               opt.smoke ? ": a smoke run trains far too little to judge" : "; train longer (--full)");

  // ------------------------------------------------------------------------------------------
  lesson::section("5. Why: the two latent distributions against N(0, 1)");
  // Each decoder learned to draw from the codes it was given in training: the autoencoder's
  // z = encoder(x), the VAE's z = mu + sigma * eps drawn from q(z | x). Generation feeds both z ~ N(0, I).
  // Pool every coordinate of every test image's code and hold it against N(0, 1).
  NoGradGuard no_grad;
  Tensor ae_codes =
      map_batches(*ae, test.images, 1000, [&](const Tensor& x) { return ae->encode(Variable(x)).data(); });
  Tensor vae_mu =
      map_batches(*vae, test.images, 1000, [&](const Tensor& x) { return vae->encode(Variable(x)).mu.data(); });
  Tensor vae_z = map_batches(*vae, test.images, 1000, [&](const Tensor& x) {
    VAE::Posterior q = vae->encode(Variable(x));
    return VAE::reparameterize(q.mu, q.logvar, gen).data();
  });
  // A latent dimension the VAE does not use has mu = 0 and sigma = 1 for every image (it stays the
  // prior, which costs no KL): its mu hardly varies over the test set.
  Tensor mu_variance = var(vae_mu, {0});  // [latent]
  std::vector<double> ae_values(ae_codes.data(), ae_codes.data() + ae_codes.numel());
  std::vector<double> mu_values(vae_mu.data(), vae_mu.data() + vae_mu.numel()), mu_used_values;
  std::vector<double> z_values(vae_z.data(), vae_z.data() + vae_z.numel());
  int used = 0;
  for (int64_t j = 0; j < latent; ++j) used += mu_variance.data()[j] > 0.1f;
  for (int64_t i = 0; i < vae_mu.numel(); ++i)
    if (mu_variance.data()[i % latent] > 0.1f) mu_used_values.push_back(vae_mu.data()[i]);
  auto mean_and_sd = [](const std::vector<double>& v) {
    double m = 0, sum_sq = 0;
    for (double x : v) m += x / static_cast<double>(v.size());
    for (double x : v) sum_sq += (x - m) * (x - m);
    return std::pair{m, std::sqrt(sum_sq / static_cast<double>(v.size()))};
  };
  auto row = [&](const std::string& what, const std::vector<double>& v) {
    auto [m, sd] = v.empty() ? std::pair{double(NAN), double(NAN)} : mean_and_sd(v);
    fmt::print("    {:<56} {:+6.2f} {:6.2f}\n", what, m, sd);
  };
  fmt::print("    {:<56} {:>6} {:>6}\n",
             fmt::format("all coordinates of {} test images' codes, pooled", test.images.size(0)), "mean", "sd");
  fmt::print("    {:<56} {:+6.2f} {:6.2f}\n", "N(0, 1), what generation draws from", 0.0, 1.0);
  row("autoencoder: z = encoder(x)", ae_values);
  row("VAE: z = mu + sigma * eps, eps ~ N(0, I)", z_values);
  row(fmt::format("VAE: mu, all {} dimensions", latent), mu_values);
  row(fmt::format("VAE: mu, the {} dimensions it uses (var(mu) > 0.1)", used), mu_used_values);
  const double ae_sd = mean_and_sd(ae_values).second;
  if (ae_sd > 1.5)
    fmt::print(
        "  The VAE's codes z match N(0, 1). The autoencoder's are {:.1f} times as wide: a z ~ N(0, I) falls\n"
        "  into a small middle region between its codes, where its decoder mixes up clothes. A distribution\n"
        "  fitted to its codes after training would help (README, exercise 1); the VAE learns one in training.\n",
        ae_sd);
  save_latent_histogram({ae_values, "autoencoder codes"}, {}, "autoencoder: codes z = encoder(x), all coordinates",
                        opt.out + "/latent_histogram_ae.svg");
  lesson::wrote(opt.out + "/latent_histogram_ae.svg", "autoencoder codes (bars) vs the N(0, 1) density: far wider");
  save_latent_histogram({z_values, "VAE codes z ~ q(z | x)"},
                        {mu_used_values, fmt::format("VAE means mu ({} used dimensions)", used)},
                        "VAE: codes z = mu + sigma * eps, all coordinates", opt.out + "/latent_histogram_vae.svg");
  lesson::wrote(opt.out + "/latent_histogram_vae.svg",
                "VAE codes (bars) on the N(0, 1) density; the means (outline) a little narrower: sigma adds the rest");
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "07_ae_vs_vae: {}\n", e.what());
  return 1;
}
