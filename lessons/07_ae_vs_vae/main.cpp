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

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/loss.h"
#include "data/fashion_mnist.h"
#include "data/image.h"
#include "data/loader.h"
#include "report/labels.h"
#include "report/plot.h"
#include "lessons/lesson.h"
#include "lessons/lesson_models.h"
#include "nn/batches.h"
#include "models/autoencoder.h"
#include "models/classifier.h"
#include "metrics/frechet.h"
#include "models/vae.h"
#include "tensor/elementwise.h"
#include "tensor/matmul.h"
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
  fmt::print("  {:<52} {:>9.2f} {:>11.3f} {:>8d}/10\n", what, r.fd, r.mean_confidence, r.classes_covered);
}

// Values and what to call them in a plot's legend.
struct Sample {
  std::vector<double> values;
  std::string label;
};

// The density histogram of `bars`, optionally the density of `outline` as a line, and the N(0, 1)
// density f(z) = exp(-z^2 / 2) / sqrt(2 pi) on top. The x axis spans the data (every value shown, none clipped).
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
  auto [lo, hi] = std::minmax_element(bars.values.begin(), bars.values.end());
  std::vector<double> zs, f;
  for (int i = 0; i <= 400; ++i) {
    zs.push_back(*lo + (*hi - *lo) * i / 400);
    f.push_back(std::exp(-zs.back() * zs.back() / 2) / std::sqrt(2 * M_PI));
  }
  plot.line(zs, f, "N(0, 1) density", "#d62728");
  plot.save(path);
}

// For each row of `images` [N, 1, 28, 28], the L2 distance in pixel space to the nearest row of `pool` [M, 1, 28, 28],
// and which row it is: ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b, the products a.b as one matrix product [N, M].
static std::vector<std::pair<double, int64_t>> nearest_in(const Tensor& images, const Tensor& pool) {
  const int64_t n = images.size(0), m = pool.size(0), d = images.numel() / n;
  Tensor a = images.reshape({n, d}), b = pool.reshape({m, d});
  Tensor dots = matmul(a, b, false, /*trans_b=*/true);  // [N, M]
  Tensor a2 = sum(square(a), {1}), b2 = sum(square(b), {1});
  std::vector<std::pair<double, int64_t>> nearest(static_cast<size_t>(n), {INFINITY, -1});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double d2 = a2.data()[i] + b2.data()[j] - 2.0 * dots.data()[i * m + j];
      if (d2 < nearest[i].first) nearest[i] = {d2, j};
    }
  for (auto& [dist, j] : nearest) dist = std::sqrt(std::max(dist, 0.0));
  return nearest;
}

// Mean and standard deviation of every entry of a tensor, pooled (all images, all coordinates).
static std::pair<double, double> pooled_mean_and_sd(const std::vector<double>& v) {
  double m = 0, sum_sq = 0;
  for (double x : v) m += x / static_cast<double>(v.size());
  for (double x : v) sum_sq += (x - m) * (x - m);
  return {m, std::sqrt(sum_sq / static_cast<double>(v.size()))};
}
static std::vector<double> values_of(const Tensor& t) { return std::vector<double>(t.data(), t.data() + t.numel()); }

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
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
  bool trained_here = false;  // whether this run trained the two models (the advice below depends on it)
  std::shared_ptr<Autoencoder> ae = lesson::shipped_autoencoder(opt, "ae");
  if (!ae) {
    trained_here = true;
    ae = std::make_shared<Autoencoder>(AutoencoderOptions{}, gen);
    lesson::train_short(*ae, training_set(), budget, opt.seed, "autoencoder",
                        [&](const Tensor& x, const Tensor&) { return ae->loss(Variable(x)); });
  }
  std::shared_ptr<VAE> vae = lesson::shipped_vae(opt, "vae");
  if (!vae) {
    trained_here = true;
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
  // What the autoencoder is fed: the same z (exercise 1 changes this line, e.g. to `z * 3.f`). Shipped weights
  // may give the two models different latent sizes; then each gets its own draws.
  Tensor z_ae = ae->options.latent_dim == latent ? z : randn({n_generated, ae->options.latent_dim}, gen);
  Tensor from_ae = ae->decode_images(z_ae);
  // What to call the autoencoder's latents in captions and tables: N(0, I) only while their spread says so.
  const auto [fed_mean, fed_sd] = pooled_mean_and_sd(values_of(z_ae));
  std::string ae_fed = "z ~ N(0, I)";
  if (std::abs(fed_mean) >= 0.1)
    ae_fed = fmt::format("z of mean {:+.2f}, sd {:.2f} (not N(0, I))", fed_mean, fed_sd);
  else if (std::abs(fed_sd - 1) >= 0.1)
    ae_fed = fmt::format("z of sd {:.2f} (not N(0, I))", fed_sd);
  if (ae->options.latent_dim != latent)
    fmt::print("  (the shipped models have latent sizes {} and {}: each decodes its own z ~ N(0, I))\n",
               ae->options.latent_dim, latent);
  GridOptions grid{.nrow = 6, .upscale = 3};
  save_labelled_grid(from_ae.narrow0(0, 36), opt.out + "/ae_random_latents.png",
                     {.caption = "autoencoder: decoder(z), " + ae_fed}, grid);
  lesson::wrote(opt.out + "/ae_random_latents.png", "autoencoder: decoder(z) for 36 " + ae_fed);
  save_labelled_grid(from_vae.narrow0(0, 36), opt.out + "/vae_random_latents.png",
                     {.caption = "VAE: decoder(z), the same 36 z"}, grid);
  lesson::wrote(opt.out + "/vae_random_latents.png", "VAE: decoder(z) for the same 36 z");
  // Each half titled, so the picture says which is which (the titles are one line each: equal heights).
  save_png(side_by_side(labelled_grid(from_ae.narrow0(0, 36), {.title = "AE: " + ae_fed}, grid),
                        labelled_grid(from_vae.narrow0(0, 36), {.title = "VAE: z ~ N(0, I)"}, grid)),
           opt.out + "/same_latents_ae_vs_vae.png");
  lesson::wrote(opt.out + "/same_latents_ae_vs_vae.png",
                ae_fed == "z ~ N(0, I)" ? std::string("left: autoencoder, right: VAE, the same z in the same place")
                                        : "left: autoencoder fed " + ae_fed + ", right: VAE fed z ~ N(0, I)");

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
  fmt::print("  {:<52} {:>9} {:>11} {:>11}\n", "images", "FD", "confidence", "classes");
  print_row("real: training images (the floor)", real_report);
  print_row("autoencoder: decoder(encoder(x)), test images", ae_rebuilt_report);
  print_row("autoencoder: decoder(z), " + ae_fed, ae_report);
  print_row("VAE: decoder(z), z ~ N(0, I)", vae_report);

  // The autoencoder's own codes, pooled over every coordinate of every test image: how wide is what its decoder
  // learned from, against how wide is what it was fed?
  Tensor ae_codes = map_batches(*ae, test.images, 1000, [&](const Tensor& x) {
    NoGradGuard no_grad;
    return ae->encode(Variable(x)).data();
  });
  const std::vector<double> ae_values = values_of(ae_codes);
  const double ae_sd = pooled_mean_and_sd(ae_values).second;
  const bool fed_like_its_codes = fed_sd > ae_sd / 1.5 && fed_sd < ae_sd * 1.5;
  const double ratio = vae_report.fd / ae_report.fd;
  fmt::print(
      "\n  FD of the VAE's samples {:.2f} / FD of the autoencoder's {:.2f} = {:.2f}: the VAE's is {:.0f}% {}.\n",
      vae_report.fd, ae_report.fd, ratio, 100 * std::abs(1 - ratio), ratio <= 1 ? "lower" : "higher");
  fmt::print("  the autoencoder was fed latents of pooled sd {:.2f}; its own codes have sd {:.2f}\n", fed_sd, ae_sd);
  if (ratio <= 0.7) {
    fmt::print("  The claim holds (at least 30% lower): VAE可以根據學到的潛在分佈生成全新的圖像，這是autoencoder無法做到的.\n");
    if (ae_rebuilt_report.fd < 0.5 * ae_report.fd)
      fmt::print(
          "  The autoencoder's decoder is not the problem — its reconstructions score {:.0f}, far better — the\n"
          "  problem is what it is fed: N(0, I) is not where its codes live.\n",
          ae_rebuilt_report.fd);
  } else if (opt.smoke) {
    fmt::print("  The claim (at least 30% lower) does not hold in this run: a smoke run trains far too little to judge.\n");
  } else if (fed_like_its_codes) {
    fmt::print(
        "  The claim (at least 30% lower) does not hold here, and the numbers say why: the autoencoder was fed\n"
        "  latents as wide as its own codes, not N(0, I). Fed from a distribution fitted to its codes, it\n"
        "  generates about as well as the VAE (README, exercise 1); the slide's claim is about sampling N(0, I).\n");
  } else if (trained_here && !opt.full) {
    fmt::print("  The claim (at least 30% lower) does not hold in this run; the models were trained here briefly: "
               "train longer (--full).\n");
  } else {
    fmt::print("  The claim (at least 30% lower) does not hold with these models: compare the rows of the table.\n");
  }

  // ------------------------------------------------------------------------------------------
  lesson::section("5. Why: the two latent distributions against N(0, 1)");
  // Each decoder learned to draw from the codes it was given in training: the autoencoder's
  // z = encoder(x), the VAE's z = mu + sigma * eps drawn from q(z | x). Generation feeds both z ~ N(0, I).
  // Pool every coordinate of every test image's code and hold it against N(0, 1).
  NoGradGuard no_grad;
  Tensor vae_logvar =
      map_batches(*vae, test.images, 1000, [&](const Tensor& x) { return vae->encode(Variable(x)).logvar.data(); });
  Tensor vae_mu =
      map_batches(*vae, test.images, 1000, [&](const Tensor& x) { return vae->encode(Variable(x)).mu.data(); });
  Tensor vae_z = map_batches(*vae, test.images, 1000, [&](const Tensor& x) {
    VAE::Posterior q = vae->encode(Variable(x));
    return VAE::reparameterize(q.mu, q.logvar, gen).data();
  });
  // A latent dimension the VAE does not use has mu = 0 and sigma = 1 for every image (it stays the
  // prior, which costs no KL): its mu hardly varies over the test set.
  Tensor mu_variance = var(vae_mu, {0});  // [latent]
  std::vector<double> mu_values(vae_mu.data(), vae_mu.data() + vae_mu.numel()), mu_used_values;
  std::vector<double> z_values(vae_z.data(), vae_z.data() + vae_z.numel());
  int used = 0;
  for (int64_t j = 0; j < latent; ++j) used += mu_variance.data()[j] > 0.1f;
  for (int64_t i = 0; i < vae_mu.numel(); ++i)
    if (mu_variance.data()[i % latent] > 0.1f) mu_used_values.push_back(vae_mu.data()[i]);
  auto row = [&](const std::string& what, const std::vector<double>& v) {
    auto [m, sd] = v.empty() ? std::pair{double(NAN), double(NAN)} : pooled_mean_and_sd(v);
    fmt::print("    {:<56} {:+6.2f} {:6.2f}\n", what, m, sd);
  };
  fmt::print("    {:<56} {:>6} {:>6}\n",
             fmt::format("all coordinates of {} test images' codes, pooled", test.images.size(0)), "mean", "sd");
  fmt::print("    {:<56} {:+6.2f} {:6.2f}\n", "N(0, 1), what generation draws from", 0.0, 1.0);
  row("autoencoder: z = encoder(x)", ae_values);
  row("VAE: z = mu + sigma * eps, eps ~ N(0, I)", z_values);
  row(fmt::format("VAE: mu, all {} dimensions", latent), mu_values);
  row(fmt::format("VAE: mu, the {} dimensions it uses (var(mu) > 0.1)", used), mu_used_values);
  // The law of total variance: z = mu + sigma * eps, so var(z) = var(mu) + mean sigma^2 (eps adds sigma^2 to each
  // code's spread). The KL term asks for var(z) = 1.
  const auto [z_mean, z_sd] = pooled_mean_and_sd(z_values);
  const double var_mu = std::pow(pooled_mean_and_sd(mu_values).second, 2), mean_sigma2 = mean(exp(vae_logvar)).item();
  fmt::print("    var(z) {:.3f} = var(mu) {:.3f} + mean sigma^2 {:.3f} (sum {:.3f}; N(0, 1): 1)\n", z_sd * z_sd, var_mu,
             mean_sigma2, var_mu + mean_sigma2);
  const bool vae_matches = std::abs(z_mean) < 0.1 && std::abs(z_sd - 1) < 0.1;
  // In 20 dimensions a per-coordinate histogram hides where whole codes are (lesson 05): count the codes inside
  // the radius that holds 95% of z ~ N(0, I) (drawn with a generator of its own).
  Generator radius_gen(opt.seed + 9);
  Tensor prior_draws = randn({2000, ae->options.latent_dim}, radius_gen);
  std::vector<double> prior_norms = values_of(sqrt(sum(square(prior_draws), {1})));
  std::vector<double> code_norms = values_of(sqrt(sum(square(ae_codes), {1})));
  std::sort(prior_norms.begin(), prior_norms.end());
  const double radius = prior_norms[prior_norms.size() * 95 / 100];
  const double codes_inside = static_cast<double>(std::count_if(code_norms.begin(), code_norms.end(),
                                                                [&](double r) { return r < radius; })) /
                              static_cast<double>(code_norms.size());
  fmt::print("  The VAE's codes z {} N(0, 1) (mean {:+.2f}, sd {:.2f}). The autoencoder's are {:.1f} times as wide.\n",
             vae_matches ? "match" : "do not match", z_mean, z_sd, ae_sd);
  fmt::print("  {:.1f}% of the autoencoder's codes lie within {:.1f} of the origin, where 95% of z ~ N(0, I) fall.\n",
             100 * codes_inside, radius);
  if (codes_inside < 0.2)
    fmt::print(
        "  One coordinate of a z ~ N(0, I) looks like one of a code — N(0, 1) sits on the middle of the codes'\n"
        "  histogram — but a whole z does not: it lands where almost no code is (lesson 05 draws the lengths).\n"
        "  A distribution fitted to its codes after training would help (README, exercise 1); the VAE learns one\n"
        "  in training.\n");
  else
    fmt::print("  (so many codes near the origin: the autoencoder has hardly trained; run without --smoke)\n");
  save_latent_histogram({ae_values, "autoencoder codes"}, {}, "autoencoder: codes z = encoder(x), all coordinates",
                        opt.out + "/latent_histogram_ae.svg");
  auto [ae_lo, ae_hi] = std::minmax_element(ae_values.begin(), ae_values.end());
  lesson::wrote(opt.out + "/latent_histogram_ae.svg",
                fmt::format("autoencoder codes (bars, every value, {:.1f} to {:.1f}) {:.1f} times as wide as the "
                            "N(0, 1) curve, which sits on their middle",
                            *ae_lo, *ae_hi, ae_sd));
  save_latent_histogram({z_values, "VAE codes z ~ q(z | x)"},
                        {mu_used_values, fmt::format("VAE means mu ({} used dimensions)", used)},
                        "VAE: codes z = mu + sigma * eps, all coordinates", opt.out + "/latent_histogram_vae.svg");
  const double mu_used_sd = mu_used_values.empty() ? NAN : pooled_mean_and_sd(mu_used_values).second;
  lesson::wrote(opt.out + "/latent_histogram_vae.svg",
                fmt::format("VAE codes (bars, sd {:.2f}) {} the N(0, 1) density; the means (outline, sd {:.2f}) {}",
                            z_sd, vae_matches ? "on" : "away from", mu_used_sd,
                            mu_used_sd < z_sd ? "narrower: sigma adds the rest" : "not narrower"));

  // ------------------------------------------------------------------------------------------
  lesson::section("6. Brand-new images (全新)? Each sample's nearest training image");
  // A generator that only memorised would hand back its training images. For each generated image, find the
  // nearest training image (L2 distance in pixel space) and compare with the same distance for real test
  // images: those are new images of the same kind, so their distances are what "new" looks like.
  // A random subset of the training set keeps this quick (all 60000 with --full).
  const int64_t n_check = opt.smoke ? 50 : 200;
  const Dataset pool = opt.full ? training_set() : subset(training_set(), opt.smoke ? 2000 : 10000, opt.seed + 6);
  auto near_vae = nearest_in(from_vae.narrow0(0, n_check), pool.images);
  auto near_ae = nearest_in(from_ae.narrow0(0, n_check), pool.images);
  auto near_test = nearest_in(test.images.narrow0(0, n_check), pool.images);
  auto distances = [](const std::vector<std::pair<double, int64_t>>& near) {
    std::vector<double> d;
    for (const auto& [dist, j] : near) d.push_back(dist);
    return d;
  };
  std::vector<double> test_distances = distances(near_test);
  std::sort(test_distances.begin(), test_distances.end());
  // A near-copy: closer to some training image than 95% of the test images are to theirs.
  const double copy_threshold = test_distances[test_distances.size() * 5 / 100];
  auto share_below = [&](const std::vector<double>& d) {
    return static_cast<double>(std::count_if(d.begin(), d.end(), [&](double v) { return v < copy_threshold; })) /
           static_cast<double>(d.size());
  };
  fmt::print("  {} images each against {} training images; L2 distance to the nearest of them (a near-copy: closer\n"
             "  than {:.2f}, which 95% of the test images are not):\n",
             n_check, pool.images.size(0), copy_threshold);
  fmt::print("    {:<50} {:>8} {:>8} {:>12}\n", "", "median", "min", "near-copies");
  auto novelty_row = [&](const std::string& what, const std::vector<double>& d) {
    fmt::print("    {:<50} {:8.2f} {:8.2f} {:11.0f}%\n", what, median(d), *std::min_element(d.begin(), d.end()),
               100 * share_below(d));
  };
  novelty_row("real test images (new by definition)", test_distances);
  novelty_row("VAE: decoder(z), z ~ N(0, I)", distances(near_vae));
  novelty_row("autoencoder: decoder(z), " + ae_fed, distances(near_ae));
  const std::vector<double> vae_distances = distances(near_vae);
  const double vae_copies = share_below(vae_distances);
  if (vae_copies <= 0.2)
    fmt::print(
        "  {:.0f}% of the VAE's samples are near-copies (real test images: about 5%, by construction): the samples\n"
        "  sit no closer to the training set than new real images do. 全新: new images; even the closest sample is\n"
        "  {:.2f} from every training image it was compared with (whether they are good garments: section 4).\n",
        100 * vae_copies, *std::min_element(vae_distances.begin(), vae_distances.end()));
  else
    fmt::print("  {:.0f}% of the VAE's samples are near-copies (real test images: about 5%, by construction): many\n"
               "  copy the training set rather than make brand-new images.\n",
               100 * vae_copies);
  // The picture: the first 8 VAE samples (top row) above their nearest training images (bottom row).
  Tensor pairs_grid({16, 1, 28, 28});
  int shown_copies = 0;
  for (int64_t i = 0; i < 8; ++i) {
    pairs_grid[i].copy_(from_vae[i]);
    pairs_grid[8 + i].copy_(pool.images[near_vae[static_cast<size_t>(i)].second]);
    shown_copies += vae_distances[static_cast<size_t>(i)] < copy_threshold;
  }
  save_labelled_grid(pairs_grid, opt.out + "/nearest_training_images.png",
                     {.row_labels = {"VAE sample", "nearest training"},
                      .caption = fmt::format("nearest of {} training images, L2 in pixel space", pool.images.size(0))},
                     {.nrow = 8, .upscale = 3});
  lesson::wrote(opt.out + "/nearest_training_images.png",
                fmt::format("top: 8 VAE samples; bottom: the nearest of {} training images to each (L2 in pixel "
                            "space); {} of the 8 is a near-copy",
                            pool.images.size(0), shown_copies));
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "07_ae_vs_vae: {}\n", e.what());
  return 1;
}
