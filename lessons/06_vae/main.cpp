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
static std::shared_ptr<VAE> train_vae(int64_t latent_dim, const lesson::TrainingBudget& budget,
                                      const lesson::Options& opt, Generator& gen, const std::string& name) {
  auto vae = std::make_shared<VAE>(VaeOptions{.latent_dim = latent_dim}, gen);
  fmt::print("  {}, {} parameters\n", vae->describe(), vae->num_parameters());
  Dataset train = load_fashion_mnist(/*train=*/true);
  // One training step minimises the negative ELBO of a batch (models/vae.h, VAE::loss):
  //   encode -> (mu, logvar);  z = mu + exp(logvar / 2) * eps, eps ~ N(0, I)   (重參數化)
  //   loss = BCE(decode(z), x)            reconstruction: the decoder must rebuild x from a *noisy* z
  //        + KL(N(mu, sigma^2) || N(0, I)) keeps every image's distribution close to the prior
  std::vector<double> losses =
      lesson::train_short(*vae, train, budget, opt.seed, name,
                          [&](const Tensor& x, const Tensor&) { return vae->loss(Variable(x), gen).total; });
  std::vector<double> steps(losses.size());
  for (size_t i = 0; i < steps.size(); ++i) steps[i] = static_cast<double>(i);
  std::string path = opt.out + "/loss_" + name + ".svg";
  save_loss_curve(steps, losses, path, name + ": negative ELBO per image (reconstruction + KL)");
  lesson::wrote(path, "the negative ELBO falling, step by step");
  return vae;
}

int main(int argc, char** argv) try {
  auto opt = lesson::parse_options(argc, argv, "06_vae", "a VAE samples new images from its latent distribution");
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
  std::shared_ptr<VAE> vae = lesson::shipped_vae(opt, "vae");
  if (!vae) vae = train_vae(20, budget, opt, gen, "vae");
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

  // ------------------------------------------------------------------------------------------
  lesson::section("2. New images from the prior z ~ N(0, I)");
  // Generation is one step: draw z from the standard normal and decode it. No input image at all.
  Tensor samples = vae->sample(64, gen);
  save_image_grid(samples, opt.out + "/prior_samples.png", {.nrow = 8, .upscale = 3});
  lesson::wrote(opt.out + "/prior_samples.png", "64 brand-new images: decoder(z), z ~ N(0, I)");

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
  save_image_grid(grid, opt.out + "/repeated_reconstructions.png", {.nrow = repeats + 1, .upscale = 3});
  lesson::wrote(opt.out + "/repeated_reconstructions.png",
                "each row: an input, then 7 reconstructions of it, each from a new z ~ q(z | x)");
  double between_repeats = mean(abs(reconstructions[0] - reconstructions[1])).item();
  double to_input = mean(abs(reconstructions[0] - inputs)).item();
  fmt::print(
      "  mean |difference| per pixel: between two reconstructions of the same image {:.4f},\n"
      "  between a reconstruction and its input {:.4f}: similar to the input, and not twice the same.\n",
      between_repeats, to_input);

  // ------------------------------------------------------------------------------------------
  lesson::section("4. A latent space you can see: the VAE with 2 latent dimensions");
  // With only two numbers per image the reconstructions are blurrier, but the whole latent space fits
  // on a page. Decode a grid of z over [-3, 3]^2: the map of everything the decoder can draw.
  std::shared_ptr<VAE> vae2d = lesson::shipped_vae(opt, "vae2d");
  if (!vae2d) vae2d = train_vae(2, budget, opt, gen, "vae2d");
  const int64_t per_side = opt.smoke ? 8 : 20;
  save_image_grid(vae2d->latent_grid(per_side, 3.f), opt.out + "/latent_map.png", {.nrow = per_side, .upscale = 2});
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
  lesson::wrote(
      opt.out + "/latent_classes.svg",
      "the test images' mu, coloured by class: similar clothes are neighbours; together they cover N(0, I)'s middle");

  // ------------------------------------------------------------------------------------------
  lesson::section("5. Walking through the latent space: interpolation");
  // z_t = (1 - t) mu_a + t mu_b for t from 0 to 1, decoded: every step on the way is a garment, because
  // the KL term left no holes between the codes. Each row: image a, 10 steps, image b, where a and b
  // are test images of two different classes (--seed picks other images).
  const int64_t steps = 10;
  const std::vector<std::pair<int, int>> class_pairs = {{1, 3}, {0, 4}, {7, 9}, {8, 5}};  // Trouser -> Dress, ...
  const int64_t pairs = static_cast<int64_t>(class_pairs.size());
  Generator pick(opt.seed + 4);
  auto random_image_of_class = [&](int c) {
    while (true) {
      int64_t i = static_cast<int64_t>(pick.random() % static_cast<uint32_t>(test.images.size(0)));
      if (static_cast<int>(test.labels.data()[i]) == c) return test.images[i];
    }
  };
  Tensor walk({pairs * (steps + 2), 1, 28, 28});
  for (int64_t p = 0; p < pairs; ++p) {
    Tensor a = random_image_of_class(class_pairs[p].first), b = random_image_of_class(class_pairs[p].second);
    walk[p * (steps + 2)].copy_(a);
    walk.narrow0(p * (steps + 2) + 1, p * (steps + 2) + 1 + steps).copy_(interpolate_images(*vae, a, b, steps));
    walk[p * (steps + 2) + steps + 1].copy_(b);
  }
  save_image_grid(walk, opt.out + "/interpolation.png", {.nrow = steps + 2, .upscale = 3});
  lesson::wrote(opt.out + "/interpolation.png",
                "each row: image a, decoded points on the line from mu_a to mu_b, image b (Trouser -> Dress, "
                "T-shirt -> Coat, Sneaker -> Ankle boot, Bag -> Sandal)");
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "06_vae: {}\n", e.what());
  return 1;
}
