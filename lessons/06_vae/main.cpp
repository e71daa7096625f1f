// Lesson 06 — the variational autoencoder (變分自編碼器, VAE): reparameterization (重參數化) and the ELBO.
//
// The lecture's slide: "從潛在空間的機率分佈中採樣，然後通過解碼器生成圖像：生成圖像與輸入圖像類似，但不完全相同"
// — sample from the probability distribution in the latent space, then generate through the decoder: the
// result is similar to the input, but not exactly the same. This notebook:
//   1. builds the VAE of models/vae.h (784 -> 400 -> (mu, logvar) of 20 -> 400 -> 784), loads the shipped
//      weights (weights/vae.safetensors) or trains it, minimising ELBO = reconstruction + KL;
//   2. samples brand-new images from the prior z ~ N(0, I);
//   3. reconstructs the same input several times: similar, not identical;
//   4. a VAE with a 2-number latent space: the whole space drawn as a map, and where each class lives;
//   5. walks through the latent space from one image to another (interpolation).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "data/fashion_mnist.h"
#include "data/image.h"
#include "data/loader.h"
#include "report/labels.h"
#include "report/plot.h"
#include "lessons/lesson.h"
#include "lessons/lesson_models.h"
#include "nn/batches.h"
#include "models/vae.h"
#include "tensor/elementwise.h"
#include "tensor/random.h"
#include "tensor/reduce.h"

using namespace hd;

// The negative ELBO's two parts on a data set, per image (one sampled z per image, as in training).
struct ElboParts {
  double reconstruction = 0, kl = 0;
};
static ElboParts evaluate_elbo(VAE& vae, const Tensor& images, Generator& gen) {
  NoGradGuard no_grad;
  ElboParts parts;
  const int64_t n = images.size(0);
  for (int64_t begin = 0; begin < n; begin += 1000) {
    VAE::Loss loss = vae.loss(Variable(images.narrow0(begin, std::min(n, begin + 1000))), gen, Reduction::Sum);
    parts.reconstruction += loss.reconstruction.item() / static_cast<double>(n);
    parts.kl += loss.kl.item() / static_cast<double>(n);
  }
  return parts;
}

// Trains a fresh VAE with this latent size on the training set, and draws its loss curve.
static std::shared_ptr<VAE> train_vae(int64_t latent_dim, float beta, const lesson::TrainingBudget& budget,
                                      const lesson::Options& opt, Generator& gen, const std::string& name) {
  auto vae = std::make_shared<VAE>(VaeOptions{.latent_dim = latent_dim, .beta = beta}, gen);
  fmt::print("  {}, {} parameters\n", vae->describe(), vae->num_parameters());
  Dataset train = load_fashion_mnist(/*train=*/true);
  // One training step minimises the negative ELBO of a batch (models/vae.h, VAE::loss):
  //   encode -> (mu, logvar);  z = mu + exp(logvar / 2) * eps, eps ~ N(0, I)   (重參數化)
  //   loss = BCE(decode(z), x)            reconstruction: the decoder must rebuild x from a *noisy* z
  //        + beta * KL(N(mu, sigma^2) || N(0, I))  keeps every image's distribution close to the prior (beta = 1:
  //                                                 the ELBO; --beta changes it, beta = 0 drops the term)
  std::vector<double> losses =
      lesson::train_short(*vae, train, budget, opt.seed, name,
                          [&](const Tensor& x, const Tensor&) { return vae->loss(Variable(x), gen).total; });
  std::vector<double> steps(losses.size());
  for (size_t i = 0; i < steps.size(); ++i) steps[i] = static_cast<double>(i);
  std::string path = opt.out + "/loss_" + name + ".svg";
  const std::string what = beta == 1.f   ? "negative ELBO per image (reconstruction + KL)"
                           : beta == 0.f ? "reconstruction loss per image (beta = 0: no KL term)"
                                         : fmt::format("reconstruction + {:g} * KL per image", beta);
  save_loss_curve(steps, losses, path, name + ": " + what);
  lesson::wrote(path, "the training loss falling, step by step: " + what);
  return vae;
}

int main(int argc, char** argv) try {
  auto opt = lesson::parse_options(argc, argv, "06_vae", "a VAE samples new images from its latent distribution",
                                   {{"--beta", "B", "weight of the KL term when training (default 1, the ELBO; "
                                                     "exercises 1 and 2: 0 and 4)"}});
  const auto beta = static_cast<float>(opt.number("--beta", 1));
  if (!(beta >= 0)) throw std::invalid_argument("--beta expects a number >= 0");
  if (beta != 1.f && opt.pretrained)
    throw std::invalid_argument("--beta trains new VAEs: the shipped ones were trained with beta = 1 (drop --pretrained)");
  // The shipped weights were trained with beta = 1; another beta always trains here.
  auto shipped_vae = [&](const std::string& name) { return beta == 1.f ? lesson::shipped_vae(opt, name) : nullptr; };
  Generator gen(opt.seed);
  const lesson::TrainingBudget budget = opt.smoke  ? lesson::TrainingBudget{.images = 256, .epochs = 1, .batch = 64}
                                        : opt.full ? lesson::TrainingBudget{.images = 60000, .epochs = 20}
                                                   : lesson::TrainingBudget{.images = 60000, .epochs = 10};

  // ------------------------------------------------------------------------------------------
  lesson::section("1. The VAE: an encoder that outputs a distribution");
  Dataset test = load_fashion_mnist(/*train=*/false);
  if (opt.smoke) test = subset(test, 500, opt.seed + 1);
  // Where the autoencoder's 編碼器 gives one point z, the VAE's gives a Gaussian q(z | x) = N(mu, sigma^2)
  // per image, as (mu, logvar = log sigma^2). The loss is the negative ELBO (evidence lower bound):
  //   reconstruction  -log p(x | z): binary cross-entropy of the decoded z against x (重構損失)
  //   KL              KL(N(mu, sigma^2) || N(0, I)) = -1/2 sum_j (1 + logvar_j - mu_j^2 - sigma_j^2) (KL散度)
  // The KL term is what the autoencoder lacked: it pulls every code towards N(0, I), so that N(0, I)
  // is where the decoder learns to work.
  std::shared_ptr<VAE> vae = shipped_vae("vae");
  if (!vae) vae = train_vae(20, beta, budget, opt, gen, "vae");
  ElboParts elbo = evaluate_elbo(*vae, test.images, gen);
  fmt::print("  on {} test images, per image: reconstruction {:.1f} + KL {:.1f} = negative ELBO {:.1f} nats\n",
             test.images.size(0), elbo.reconstruction, elbo.kl, elbo.reconstruction + elbo.kl);

  Tensor one = test.images.narrow0(0, 1);
  VAE::Posterior q = [&] {
    NoGradGuard no_grad;
    return vae->encode(Variable(one));
  }();
  fmt::print("  q(z | x) for the first test image ({}), first 5 of {} latent dimensions:\n",
             fashion_mnist_classes()[static_cast<int>(test.labels.data()[0])], vae->options.latent_dim);
  fmt::print("    mu    ");
  for (int j = 0; j < 5; ++j) fmt::print(" {:+.2f}", q.mu.data().data()[j]);
  fmt::print("\n    sigma ");
  for (int j = 0; j < 5; ++j) fmt::print(" {:5.2f}", std::exp(0.5f * q.logvar.data().data()[j]));
  fmt::print("\n    (a sigma near 1 with mu near 0 is a dimension this image does not use: it stays the prior)\n");

  // 重參數化, written out for this image: z = mu + sigma * eps, sigma = exp(logvar / 2), eps ~ N(0, I). The
  // randomness is all in eps, drawn outside the network; z is a plain function of mu and logvar, so gradients
  // reach the encoder. Two generators from the same seed give the lesson and the model the same eps.
  const int64_t latent_dim = vae->options.latent_dim;
  const float* mu_j = q.mu.data().data();
  const float* logvar_j = q.logvar.data().data();
  Generator eps_gen(opt.seed + 7), model_eps_gen(opt.seed + 7);
  Tensor eps = randn({1, latent_dim}, eps_gen);
  Tensor z_by_hand({1, latent_dim});
  for (int64_t j = 0; j < latent_dim; ++j) z_by_hand.data()[j] = mu_j[j] + std::exp(0.5f * logvar_j[j]) * eps.data()[j];
  Tensor z_model = VAE::reparameterize(q.mu, q.logvar, model_eps_gen).data();
  const double z_gap = max(abs(z_by_hand - z_model)).item();
  // The KL term in closed form (Kingma & Welling 2014, appendix B): KL(N(mu, sigma^2) || N(0, I)) =
  //   -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)), against what VAE::loss computes for the same image.
  double kl_by_hand = 0;
  for (int64_t j = 0; j < latent_dim; ++j)
    kl_by_hand += -0.5 * (1 + logvar_j[j] - mu_j[j] * mu_j[j] - std::exp(logvar_j[j]));
  const double kl_model = [&] {
    NoGradGuard no_grad;
    Generator unused(opt.seed + 8);  // the loss samples a z for its reconstruction term; the KL does not use it
    return vae->loss(Variable(one), unused).kl.item();
  }();
  fmt::print("  by hand: z = mu + sigma * eps; VAE::reparameterize with the same eps: largest difference {:.1e} ({})\n",
             z_gap, z_gap <= 1e-5 ? "equal" : "DIFFERENT");
  fmt::print("  by hand: KL = -1/2 sum(1 + logvar - mu^2 - exp(logvar)) = {:.4f} nats; VAE::loss's KL: {:.4f} ({})\n",
             kl_by_hand, kl_model,
             std::abs(kl_by_hand - kl_model) <= 1e-3 * std::max(1.0, kl_model) ? "equal" : "DIFFERENT");

  // ------------------------------------------------------------------------------------------
  lesson::section("2. New images from the prior z ~ N(0, I)");
  // Generation is one step: draw z from the standard normal and decode it. No input image at all.
  Tensor samples = vae->sample(64, gen);
  save_labelled_grid(samples, opt.out + "/prior_samples.png",
                     {.caption = fmt::format("VAE: decoder(z) for 64 z ~ N(0, I), seed {}", opt.seed)},
                     {.nrow = 8, .upscale = 3});
  lesson::wrote(opt.out + "/prior_samples.png", "64 samples decoder(z), z ~ N(0, I): no input image at all");

  // ------------------------------------------------------------------------------------------
  lesson::section("3. The same input, reconstructed several times: 類似，但不完全相同");
  // reconstruct() samples z ~ q(z | x) each time (重參數化: z = mu + sigma * eps with a fresh eps).
  const int64_t rows = 6, repeats = 7;
  Tensor inputs = subset(test, rows, opt.seed + 2).images;  // [6, 1, 28, 28]
  Tensor grid({rows * (repeats + 1), 1, 28, 28});
  std::vector<Tensor> reconstructions;
  for (int64_t r = 0; r < repeats; ++r) reconstructions.push_back(vae->reconstruct(inputs, gen));
  for (int64_t i = 0; i < rows; ++i) {
    grid[i * (repeats + 1)].copy_(inputs[i]);
    for (int64_t r = 0; r < repeats; ++r) grid[i * (repeats + 1) + 1 + r].copy_(reconstructions[r][i]);
  }
  GridLabels repeat_labels;
  repeat_labels.column_labels.push_back("input");
  for (int64_t r = 1; r <= repeats; ++r) repeat_labels.column_labels.push_back(fmt::format("recon {}", r));
  repeat_labels.caption = "each reconstruction decodes its own z = mu + sigma * eps";
  save_labelled_grid(grid, opt.out + "/repeated_reconstructions.png", repeat_labels, {.nrow = repeats + 1, .upscale = 3});
  lesson::wrote(opt.out + "/repeated_reconstructions.png",
                "each row: an input, then 7 reconstructions of it, each from a new z ~ q(z | x)");
  double between_repeats = mean(abs(reconstructions[0] - reconstructions[1])).item();
  double to_input = mean(abs(reconstructions[0] - inputs)).item();
  // For scale: drawing every input as the average test image.
  double to_average = mean(abs(inputs - mean(test.images, {0}, /*keepdim=*/true))).item();
  const double mean_sigma = [&] {
    NoGradGuard no_grad;
    return mean(exp(0.5f * vae->encode(Variable(inputs)).logvar.data())).item();
  }();
  // "Similar": far closer to its input than the average image is (under half). "Not twice the same": two
  // reconstructions differ by at least a tenth of what separates them from the input.
  const bool similar = to_input < 0.5 * to_average, different = between_repeats >= 0.1 * to_input;
  fmt::print(
      "  mean |difference| per pixel: between two reconstructions of the same image {:.4f},\n"
      "  between a reconstruction and its input {:.4f} (the average image: {:.4f}); mean sigma of q(z | x) {:.3f}:\n"
      "  {}, and {}.\n",
      between_repeats, to_input, to_average, mean_sigma,
      similar ? "similar to the input" : "NOT similar to the input (too little training)",
      different ? "not twice the same" : "practically the same every time (sigma is too small to move z)");
  // The difference made visible: |reconstruction r - reconstruction 1|, scaled so that the 99th percentile of all
  // the differences in the grid is white (larger ones are clipped to white too).
  Tensor differences({rows * repeats, 1, 28, 28});
  for (int64_t i = 0; i < rows; ++i) {
    differences[i * repeats].copy_(reconstructions[0][i]);
    for (int64_t r = 1; r < repeats; ++r)
      differences[i * repeats + r].copy_(abs(reconstructions[r][i] - reconstructions[0][i]));
  }
  std::vector<float> all_differences;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t r = 1; r < repeats; ++r) {
      Tensor d = differences[i * repeats + r];
      all_differences.insert(all_differences.end(), d.data(), d.data() + d.numel());
    }
  std::sort(all_differences.begin(), all_differences.end());
  const float white = std::max(all_differences[all_differences.size() * 99 / 100], 1e-6f);
  const float scale = 1.f / white;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t r = 1; r < repeats; ++r)
      differences[i * repeats + r].copy_(clamp(differences[i * repeats + r] * scale, 0.f, 1.f));
  GridLabels difference_labels;
  difference_labels.column_labels.push_back("recon 1");
  for (int64_t r = 2; r <= repeats; ++r) difference_labels.column_labels.push_back(fmt::format("|{} - 1|", r));
  difference_labels.caption = fmt::format("differences scaled x{:.1f}: white = {:.2g} or more, black = none", scale, white);
  save_labelled_grid(differences, opt.out + "/reconstruction_differences.png", difference_labels,
                     {.nrow = repeats, .upscale = 3});
  lesson::wrote(opt.out + "/reconstruction_differences.png",
                fmt::format("each row: reconstruction 1, then |reconstruction r - reconstruction 1| for r = 2..{}, "
                            "scaled x{:.1f} (white = a difference of {:.2g} or more, black = none)",
                            repeats, scale, white));

  // ------------------------------------------------------------------------------------------
  lesson::section("4. A latent space you can see: the VAE with 2 latent dimensions");
  // With only two numbers per image the reconstructions are blurrier, but the whole latent space fits
  // on a page. Decode a grid of z over [-3, 3]^2: the map of everything the decoder can draw.
  std::shared_ptr<VAE> vae2d = shipped_vae("vae2d");
  if (!vae2d) vae2d = train_vae(2, beta, budget, opt, gen, "vae2d");
  const int64_t per_side = opt.smoke ? 8 : 20;
  save_labelled_grid(vae2d->latent_grid(per_side, 3.f), opt.out + "/latent_map.png",
                     square_axes(per_side, 3.f, "z_1", "z_2", "the 2-d VAE's decoder over z in [-3, 3]^2"),
                     {.nrow = per_side, .upscale = 2});
  lesson::wrote(
      opt.out + "/latent_map.png",
      fmt::format("decoder(z) for a {0} x {0} grid: z_1 from -3 (left) to 3, z_2 from 3 (top) to -3", per_side));

  // Where do the test images go? Scatter each image's mean mu (the centre of q(z | x)), one colour per class.
  Tensor mu2 = map_batches(*vae2d, test.images, 1000, [&](const Tensor& x) {
    NoGradGuard no_grad;
    return vae2d->encode(Variable(x)).mu.data();
  });  // [N, 2]
  Plot map("VAE (2-d latent): where each class of the test set is encoded", "z_1", "z_2", 760, 560);
  scatter_by_class(map, mu2, test.labels, fashion_mnist_classes());
  map.set_xlim(-4, 4);
  map.set_ylim(-4, 4);
  map.save(opt.out + "/latent_classes.svg");
  // How much of the test set lies where the prior draws (|z_1|, |z_2| < 3, latent_map.png's square), and how much
  // falls outside the plot's [-4, 4]^2 (not drawn)?
  int64_t in_square = 0, outside_plot = 0;
  for (int64_t i = 0; i < mu2.size(0); ++i) {
    const float a = std::abs(mu2.data()[2 * i]), b = std::abs(mu2.data()[2 * i + 1]);
    in_square += a < 3 && b < 3;
    outside_plot += a > 4 || b > 4;
  }
  const double n_mu = static_cast<double>(mu2.size(0));
  lesson::wrote(opt.out + "/latent_classes.svg",
                fmt::format("the test images' mu, coloured by class: similar clothes are neighbours; {:.0f}% lie in "
                            "[-3, 3]^2, where N(0, I) draws; {:.1f}% fall outside the plotted [-4, 4]^2",
                            100 * in_square / n_mu, 100 * outside_plot / n_mu));

  // ------------------------------------------------------------------------------------------
  lesson::section("5. Walking through the latent space: interpolation");
  // z_t = (1 - t) mu_a + t mu_b for t from 0 to 1, decoded: the KL term packs the codes together around the
  // origin, so the line from mu_a to mu_b runs through places the decoder has learned. Each row: image a,
  // 10 steps, image b, where a and b are test images of two different classes. The endpoints are picked, and
  // the picking is said: for each class, of 20 test images drawn at random (--seed draws others), the one
  // the VAE reconstructs best (smallest mean |x - decoder(mu)|), so that the walk starts and ends at pictures
  // the model draws well. A random image of an unusual shape (a dark bag with a thin outline) starts its
  // row with a dark blob instead: try it by changing `candidates` to 1.
  const int64_t steps = 10;
  const std::vector<std::pair<int, int>> class_pairs = {{1, 3}, {0, 4}, {7, 9}, {8, 5}};  // Trouser -> Dress, ...
  const int64_t pairs = static_cast<int64_t>(class_pairs.size());
  Generator pick(opt.seed + 4);
  const int candidates = 20;
  auto well_drawn_image_of_class = [&](int c) {
    Tensor best;
    double best_error = INFINITY;
    for (int tried = 0; tried < candidates;) {
      int64_t i = static_cast<int64_t>(pick.random() % static_cast<uint32_t>(test.images.size(0)));
      if (static_cast<int>(test.labels.data()[i]) != c) continue;
      ++tried;
      Tensor x = test.images.narrow0(i, i + 1);
      double error = mean(abs(vae->decode_images(vae->encode_images(x)) - x)).item();
      if (error < best_error) best_error = error, best = test.images[i];
    }
    return best;
  };
  Tensor walk({pairs * (steps + 2), 1, 28, 28});
  fmt::print("  largest change between neighbouring steps, as a share of the whole walk (9 equal changes: 11% each):\n");
  for (int64_t p = 0; p < pairs; ++p) {
    Tensor a = well_drawn_image_of_class(class_pairs[p].first), b = well_drawn_image_of_class(class_pairs[p].second);
    Tensor path = interpolate_images(*vae, a, b, steps);  // [steps, 1, 28, 28]
    walk[p * (steps + 2)].copy_(a);
    walk.narrow0(p * (steps + 2) + 1, p * (steps + 2) + 1 + steps).copy_(path);
    walk[p * (steps + 2) + steps + 1].copy_(b);
    // Does the picture change gradually, or jump somewhere on the way (a hole between the codes)?
    double total = 0, largest_step = 0;
    for (int64_t s = 0; s + 1 < steps; ++s) {
      double change = mean(abs(path[s + 1] - path[s])).item();
      total += change;
      largest_step = std::max(largest_step, change);
    }
    const double share = total > 0 ? largest_step / total : 0;
    fmt::print("    {} -> {}: {:.0f}%{}\n", fashion_mnist_classes()[class_pairs[p].first],
               fashion_mnist_classes()[class_pairs[p].second], 100 * share,
               share <= 0.25 ? " (gradual)" : " (a jump: one step carries much of the change)");
  }
  GridLabels walk_labels;
  walk_labels.column_labels.push_back("a");
  for (int64_t s = 0; s < steps; ++s)
    walk_labels.column_labels.push_back(fmt::format("t={:.2g}", static_cast<double>(s) / static_cast<double>(steps - 1)));
  walk_labels.column_labels.push_back("b");
  for (const auto& [from, to] : class_pairs)
    walk_labels.row_labels.push_back(fashion_mnist_classes()[from] + " -> " + fashion_mnist_classes()[to]);
  save_labelled_grid(walk, opt.out + "/interpolation.png", walk_labels, {.nrow = steps + 2, .upscale = 3});
  lesson::wrote(opt.out + "/interpolation.png",
                "each row: image a, decoded points on the line from mu_a to mu_b, image b (Trouser -> Dress, "
                "T-shirt -> Coat, Sneaker -> Ankle boot, Bag -> Sandal); a and b: the best-reconstructed of 20 "
                "random test images of their class");
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "06_vae: {}\n", e.what());
  return 1;
}
