// Lesson 05 — the autoencoder (自編碼器): encoder (編碼器) -> latent space (潛在空間) -> decoder (解碼器).
//
// The lecture's slide: "直接從編碼器輸出重建圖像：生成圖像與輸入圖像非常相似" — rebuild the image straight
// from the encoder's output, and the result is very similar to the input. This notebook:
//   1. loads Fashion-MNIST and builds the autoencoder of models/autoencoder.h (784 -> 400 -> 20 -> 400 -> 784);
//   2. loads the shipped weights (weights/ae.safetensors) or trains a short run;
//   3. reconstructs test images: almost identical to the input (a picture and the mean squared error);
//   4. decodes random latents z ~ N(0, I): no usable image;
//   5. shows why: the codes of real images are not distributed like N(0, I), and their lengths ‖z‖ miss the
//      chi distribution of N(0, I)'s lengths.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "data/fashion_mnist.h"
#include "data/image.h"
#include "data/loader.h"
#include "report/comparison_grid.h"
#include "report/labels.h"
#include "report/plot.h"
#include "lessons/lesson.h"
#include "lessons/lesson_models.h"
#include "nn/batches.h"
#include "models/autoencoder.h"
#include "tensor/elementwise.h"
#include "tensor/random.h"
#include "tensor/reduce.h"

using namespace hd;

int main(int argc, char** argv) try {
  auto opt = lesson::parse_options(argc, argv, "05_autoencoder", "an autoencoder reconstructs, but cannot generate");
  Generator gen(opt.seed);

  // ------------------------------------------------------------------------------------------
  lesson::section("1. Data and model");
  // Fashion-MNIST: 28 x 28 grey pictures of clothes, pixels in [0, 1]. A smoke run keeps a few hundred.
  Dataset test = load_fashion_mnist(/*train=*/false);
  if (opt.smoke) test = subset(test, 500, opt.seed + 1);
  fmt::print("  {} test images of {} classes ({}, {}, ...)\n", test.images.size(0), fashion_mnist_classes().size(),
             fashion_mnist_classes()[0], fashion_mnist_classes()[1]);

  // 編碼器 maps 784 pixels to 20 numbers, the image's code in the latent space (潛在空間); 解碼器 maps
  // the 20 numbers back to 784 pixels. The 20-number bottleneck forces the pair to keep what matters.
  fmt::print("  the autoencoder: encoder 784 -> 400 -> 20 (ReLU between), decoder 20 -> 400 -> 784\n");

  // ------------------------------------------------------------------------------------------
  lesson::section("2. Training: make the output equal the input");
  // The only goal is x_hat = decoder(encoder(x)) close to x: the reconstruction loss (重構損失),
  // binary cross-entropy summed over the 784 pixels (models/autoencoder.h). Nothing asks anything
  // of the codes themselves — remember this for section 5.
  std::shared_ptr<Autoencoder> ae = lesson::shipped_autoencoder(opt, "ae");
  if (!ae) {
    ae = std::make_shared<Autoencoder>(AutoencoderOptions{}, gen);
    fmt::print("  {}, {} parameters\n", ae->describe(), ae->num_parameters());
    lesson::TrainingBudget budget = opt.smoke  ? lesson::TrainingBudget{.images = 256, .epochs = 1, .batch = 64}
                                    : opt.full ? lesson::TrainingBudget{.images = 60000, .epochs = 20}
                                               : lesson::TrainingBudget{.images = 60000, .epochs = 10};
    Dataset train = load_fashion_mnist(/*train=*/true);
    std::vector<double> losses =
        lesson::train_short(*ae, train, budget, opt.seed, "autoencoder",
                            [&](const Tensor& x, const Tensor&) { return ae->loss(Variable(x)); });
    std::vector<double> steps(losses.size());
    for (size_t i = 0; i < steps.size(); ++i) steps[i] = static_cast<double>(i);
    save_loss_curve(steps, losses, opt.out + "/loss.svg", "autoencoder: reconstruction loss (BCE per image)");
    lesson::wrote(opt.out + "/loss.svg", "the reconstruction loss falling, step by step");
  }

  // ------------------------------------------------------------------------------------------
  lesson::section("3. Reconstruction: 直接從編碼器輸出重建圖像");
  // 16 test images the model never trained on, encoded to 20 numbers each and decoded again.
  Tensor inputs = subset(test, 16, opt.seed + 2).images;  // [16, 1, 28, 28]
  Tensor rebuilt = ae->reconstruct(inputs);
  save_comparison_grid(inputs, rebuilt, opt.out + "/reconstructions.png", /*cols=*/8, /*upscale=*/3, "input",
                       "reconstruction", "test images the autoencoder never trained on, each above its reconstruction");
  lesson::wrote(opt.out + "/reconstructions.png", "rows 1 and 3: inputs; rows 2 and 4: their reconstructions");

  // The same over the whole test set, as a number. For scale: drawing every image as the average
  // image (what a model that learned nothing about the input would do) gives the second number.
  Tensor all_rebuilt = map_batches(*ae, test.images, 1000, [&](const Tensor& x) { return ae->reconstruct(x); });
  Tensor average = mean(test.images, {0}, /*keepdim=*/true);  // [1, 1, 28, 28]
  double mse = mean(square(all_rebuilt - test.images)).item();
  double mse_average = mean(square(test.images - average)).item();  // the average broadcasts over N
  fmt::print("  mean squared error per pixel on {} test images: {:.4f}   (always the average image: {:.4f})\n",
             test.images.size(0), mse, mse_average);
  if (mse < mse_average / 3)
    fmt::print("  生成圖像與輸入圖像非常相似: the reconstructions are very close to their inputs.\n");
  else
    fmt::print("  (too little training for close reconstructions: run without --smoke)\n");

  // ------------------------------------------------------------------------------------------
  lesson::section("4. Generation? Decoding random latents z ~ N(0, I)");
  // If the decoder can turn 20 numbers into a garment, why not hand it 20 random numbers and get a
  // brand-new garment? Draw z from the standard normal distribution and decode.
  const int64_t latent = ae->options.latent_dim;
  Tensor z = randn({32, latent}, gen);
  save_labelled_grid(ae->decode_images(z), opt.out + "/random_latents.png",
                     {.caption = "autoencoder: decoder(z) for 32 random z ~ N(0, I)"}, {.nrow = 8, .upscale = 3});
  lesson::wrote(opt.out + "/random_latents.png", "32 decodings of z ~ N(0, I): blotches, ghosts of several garments");

  // ------------------------------------------------------------------------------------------
  lesson::section("5. Why: the codes of real images are not distributed like N(0, I)");
  // Encode every test image and look at each latent coordinate across the test set. For N(0, I) every
  // coordinate would have mean 0 and standard deviation 1. codes: [N, latent]
  Tensor codes = map_batches(*ae, test.images, 1000, [&](const Tensor& x) {
    NoGradGuard no_grad;
    return ae->encode(Variable(x)).data();
  });
  Tensor code_mean = mean(codes, {0}), code_std = sqrt(var(codes, {0}));  // [latent] each
  auto [mean_lo, mean_hi] = std::minmax_element(code_mean.data(), code_mean.data() + latent);
  auto [std_lo, std_hi] = std::minmax_element(code_std.data(), code_std.data() + latent);
  fmt::print("  per latent dimension, over the test set:\n");
  fmt::print("    means               from {:+.2f} to {:+.2f}   (N(0, I): all 0)\n", *mean_lo, *mean_hi);
  fmt::print("    standard deviations from {:.2f} to {:.2f}     (N(0, I): all 1)\n", *std_lo, *std_hi);
  fmt::print("    dimension:");
  for (int64_t j = 0; j < std::min<int64_t>(latent, 8); ++j) fmt::print(" {:>10}", j);
  fmt::print("\n    mean ± std:");
  for (int64_t j = 0; j < std::min<int64_t>(latent, 8); ++j)
    fmt::print(" {:+5.1f}±{:<4.1f}", code_mean.data()[j], code_std.data()[j]);
  fmt::print("{}\n", latent > 8 ? " ..." : "");

  // Where do random z fall? 95% of draws from N(0, I) lie within some radius r of the origin (in 20
  // dimensions r is about 5.6, the chi distribution's 95% point). How many codes of real images lie there too?
  Tensor many_z = randn({2000, latent}, gen);
  auto norm_of_row = [&](const Tensor& rows, int64_t i) {
    double sum = 0;
    for (int64_t j = 0; j < latent; ++j) sum += std::pow(rows.data()[i * latent + j], 2.0);
    return std::sqrt(sum);
  };
  std::vector<double> z_norms;
  for (int64_t i = 0; i < many_z.size(0); ++i) z_norms.push_back(norm_of_row(many_z, i));
  std::sort(z_norms.begin(), z_norms.end());
  const double radius = z_norms[z_norms.size() * 95 / 100];
  int64_t inside = 0;
  for (int64_t i = 0; i < codes.size(0); ++i) inside += norm_of_row(codes, i) < radius;
  const double share_inside = static_cast<double>(inside) / static_cast<double>(codes.size(0));
  fmt::print("  95% of z ~ N(0, I) lie within distance {:.1f} of the origin; of the {} test codes, {:.1f}% do.\n",
             radius, codes.size(0), 100 * share_inside);
  if (share_inside < 0.2)
    fmt::print(
        "  The decoder only learned to draw the codes of real images, and training put them wherever it\n"
        "  liked. The region we sample from is one it hardly ever saw: it blends what it knows into\n"
        "  blotches. The VAE (lesson 06) asks its codes to follow N(0, I), so sampling lands where it learned.\n");
  else
    fmt::print("  (after this little training the codes have not spread out yet: run without --smoke)\n");

  // The direct picture of that number: the lengths ||z|| of the codes against those of z ~ N(0, I). The length of
  // a z ~ N(0, I) in k dimensions follows the chi distribution with k degrees of freedom,
  //   f(r) = r^(k-1) exp(-r^2 / 2) / (2^(k/2 - 1) Gamma(k / 2)),
  // which in 20 dimensions is a narrow bump near sqrt(k - 1/2) = 4.4: almost no draw is near the origin, and
  // almost none is far out. The codes' lengths form their own bump, mostly further out.
  std::vector<double> code_norms;
  for (int64_t i = 0; i < codes.size(0); ++i) code_norms.push_back(norm_of_row(codes, i));
  std::vector<double> sorted_code_norms = code_norms;
  std::sort(sorted_code_norms.begin(), sorted_code_norms.end());
  const double median_code_norm = sorted_code_norms[sorted_code_norms.size() / 2];
  const double median_z_norm = z_norms[z_norms.size() / 2];
  fmt::print("  lengths ||z||: median {:.1f} for the codes, {:.1f} for z ~ N(0, I) (chi distribution, {} degrees of freedom)\n",
             median_code_norm, median_z_norm, latent);
  {
    const double k = static_cast<double>(latent), r_max = std::max(sorted_code_norms.back(), z_norms.back());
    std::vector<double> r, chi;
    for (int i = 0; i <= 400; ++i) {
      r.push_back(r_max * i / 400);
      chi.push_back(std::exp((k - 1) * std::log(std::max(r.back(), 1e-300)) - r.back() * r.back() / 2 -
                             (k / 2 - 1) * std::log(2.0) - std::lgamma(k / 2)));
    }
    Plot norms(fmt::format("lengths of {}-d latent vectors: autoencoder codes vs N(0, I)", latent), "||z||", "density");
    histogram_outline(norms, code_norms, 60, fmt::format("codes of {} test images", codes.size(0)), "#1f77b4");
    histogram_outline(norms, z_norms, 60, fmt::format("{} draws z ~ N(0, I)", z_norms.size()), "#d62728");
    norms.line(r, chi, fmt::format("chi density, {} degrees of freedom", latent), "black");
    norms.line({radius, radius}, {0, 0.3}, fmt::format("95% of N(0, I) inside {:.1f}", radius), "#7f7f7f");
    norms.save(opt.out + "/latent_norms.svg");
    lesson::wrote(opt.out + "/latent_norms.svg",
                  fmt::format("outlines: the codes' lengths (blue, median {:.1f}) {} the red N(0, I) lengths on the "
                              "chi curve (median {:.1f}); {:.1f}% of codes left of the grey line",
                              median_code_norm, median_code_norm > radius ? "lie mostly beyond" : "overlap",
                              median_z_norm, 100 * share_inside));
  }

  // The same in a flat picture: two latent coordinates of the test codes, and the random z on top. In two
  // dimensions the 95% radius of N(0, I) is sqrt(-2 ln 0.05) = 2.45, and far more of the codes' (z_0, z_1) fall
  // inside it than whole codes fall inside 5.6: a 2-D view cannot show what the 20-D lengths show.
  std::vector<double> cx, cy, zx, zy;
  int64_t inside_2d = 0;
  const double radius_2d = std::sqrt(-2 * std::log(0.05));
  for (int64_t i = 0; i < codes.size(0); ++i) {
    cx.push_back(codes.data()[i * latent]);
    cy.push_back(codes.data()[i * latent + 1]);
    inside_2d += std::hypot(cx.back(), cy.back()) < radius_2d;
  }
  for (int64_t i = 0; i < many_z.size(0); ++i) {
    zx.push_back(many_z.data()[i * latent]);
    zy.push_back(many_z.data()[i * latent + 1]);
  }
  const double share_inside_2d = static_cast<double>(inside_2d) / static_cast<double>(codes.size(0));
  fmt::print("  in latent dimensions 0 and 1 alone, {:.1f}% of the codes lie within N(0, I)'s 2-d 95% radius {:.2f}\n",
             100 * share_inside_2d, radius_2d);
  Plot plot("autoencoder codes vs N(0, I), latent dimensions 0 and 1", "z_0", "z_1");
  plot.scatter(cx, cy, "codes of test images", "#1f77b4", 1.5, 0.3);
  plot.scatter(zx, zy, "z ~ N(0, I)", "#d62728", 1.5, 0.5);
  plot.save(opt.out + "/latent_codes.svg");
  lesson::wrote(opt.out + "/latent_codes.svg",
                fmt::format("two of {} coordinates: {:.1f}% of the blue codes fall inside the red blob's radius, "
                            "against {:.1f}% of whole codes in {} dimensions",
                            latent, 100 * share_inside_2d, 100 * share_inside, latent));
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "05_autoencoder: {}\n", e.what());
  return 1;
}
