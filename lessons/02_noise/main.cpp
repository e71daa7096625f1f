// Lesson 02 — random noise as the input of generation (隨機雜訊).
//
// The lecture asks: what is a generative model's input (生成式模型的輸入來源是什麼？)? Noise (雜訊).
// Generation starts from chaos (渾沌、太虛: a primitive, unorganised state from which order is born)
// and a model turns it into something with structure. This notebook shows the three properties of
// noise the slide lists, with no trained model yet:
//   1. randomness and diversity (隨機性與多樣性): another seed gives another sample, while the same
//      seed gives exactly the same one (reproducible runs);
//   2. a low-dimensional latent variable (低維的隱變量): 8 numbers become a 28x28 = 784-pixel image;
//   3. exploring the data space (生成數據空間的探索): walking through the noise walks through images.
// Both generators here are NOT trained: one is a hand-written drawing rule, the other a neural
// decoder with random weights. Lessons 05-07 train generators (MLP decoders) on real pictures.
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "data/image.h"
#include "lessons/lesson.h"
#include "nn/layers.h"
#include "report/labels.h"
#include "tensor/elementwise.h"
#include "tensor/random.h"
#include "tensor/reduce.h"
#include "tensor/shape_ops.h"

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kLatent = 8;  // numbers of noise per image
constexpr int64_t kSide = 28;   // images are 28x28, like Fashion-MNIST

// A fingerprint of a tensor's exact bytes (64-bit FNV-1a): equal fingerprints mean bit-identical numbers.
uint64_t checksum(const hd::Tensor& t) {
  uint64_t h = 1469598103934665603ULL;
  const auto* bytes = reinterpret_cast<const unsigned char*>(t.data());
  for (size_t i = 0; i < static_cast<size_t>(t.numel()) * sizeof(float); ++i) h = (h ^ bytes[i]) * 1099511628211ULL;
  return h;
}

// The noise for `count` images from one seed: z: [count, kLatent] ~ N(0, I).
hd::Tensor noise_for_seed(uint64_t seed, int64_t count) {
  hd::Generator gen(seed);
  return hd::randn({count, kLatent}, gen);
}

// A squashing map R -> (-1, 1), so any noise value becomes a bounded drawing parameter.
double squash(float z) { return std::tanh(0.5 * z); }

// A hand-written generator: z: [N, 8] -> images [N, 1, 28, 28] in [0, 1].
// Each of the 8 noise numbers controls one property of a pen stroke around an ellipse:
//   z0, z1 centre;  z2, z3 the two radii;  z4 rotation;  z5 stroke thickness;
//   z6 how wide an opening is cut into the ring ("O" or "C");  z7 where the opening is.
// A pixel's brightness falls off like a Gaussian with its distance to the stroke.
hd::Tensor draw_rings(const hd::Tensor& z) {
  const int64_t n = z.size(0);
  hd::Tensor images = hd::Tensor::zeros({n, 1, kSide, kSide});
  for (int64_t i = 0; i < n; ++i) {
    const float* zi = z.data() + i * kLatent;
    double cx = 13.5 + 3.0 * squash(zi[0]), cy = 13.5 + 3.0 * squash(zi[1]);
    double ra = 7.5 + 3.0 * squash(zi[2]), rb = 7.5 + 3.0 * squash(zi[3]);
    double rotation = 0.5 * kPi * squash(zi[4]);
    double thickness = 1.6 + 0.8 * squash(zi[5]);
    double opening = 1.0 + 1.0 * squash(zi[6]);  // half-width of the cut, radians: 0 (closed "O") to 2 (open "C")
    double opening_at = kPi * squash(zi[7]);
    float* img = images.data() + i * kSide * kSide;
    for (int64_t r = 0; r < kSide; ++r) {
      for (int64_t c = 0; c < kSide; ++c) {
        // The pixel in the ellipse's own frame (rotated back), then its distance to the ellipse.
        double dx = c - cx, dy = r - cy;
        double u = std::cos(rotation) * dx + std::sin(rotation) * dy;
        double v = -std::sin(rotation) * dx + std::cos(rotation) * dy;
        double angle = std::atan2(v / rb, u / ra);
        double rho = std::hypot(u / ra, v / rb);                     // 1 on the ellipse
        double radius_here = std::hypot(ra * std::cos(angle), rb * std::sin(angle));
        double distance = std::abs(rho - 1.0) * radius_here;       // in pixels, approximately
        double ink = std::exp(-(distance * distance) / (thickness * thickness));
        // The opening: ink fades out within `opening` radians of `opening_at`.
        double from_opening = std::abs(std::remainder(angle - opening_at, 2 * kPi));
        double keep = 1.0 / (1.0 + std::exp(-6.0 * (from_opening - opening)));
        img[r * kSide + c] = static_cast<float>(ink * keep);
      }
    }
  }
  return images;
}

// A small convolutional decoder (the shape of hundun's conv autoencoder decoder and of DCGAN-style generators;
// lessons 05-07 train a plainer MLP decoder, 20 -> 400 -> 784): z: [N, 8] -> [N, 1, 28, 28] in (0, 1).
//   Linear 8 -> 32*7*7, reshape to [N, 32, 7, 7], Tanh,
//   ConvTranspose 32 -> 16 (7x7 -> 14x14), Tanh, ConvTranspose 16 -> 1 (14x14 -> 28x28), Sigmoid.
// Here its weights stay random (PyTorch's default initialisation): nothing is learned.
std::shared_ptr<hd::Sequential> random_decoder(hd::Generator& gen) {
  return std::make_shared<hd::Sequential>(std::initializer_list<std::shared_ptr<hd::Module>>{
      std::make_shared<hd::Linear>(kLatent, 32 * 7 * 7, gen),
      std::make_shared<hd::Unflatten>(1, hd::Shape{32, 7, 7}),
      std::make_shared<hd::Tanh>(),
      std::make_shared<hd::ConvTranspose2d>(32, 16, 4, 2, 1, 0, true, 1, gen),
      std::make_shared<hd::Tanh>(),
      std::make_shared<hd::ConvTranspose2d>(16, 1, 4, 2, 1, 0, true, 1, gen),
      std::make_shared<hd::Sigmoid>(),
  });
}

// Rows of the grids below: the lesson's seed, the same seed once more, then four other seeds.
std::vector<uint64_t> row_seeds(uint64_t seed) { return {seed, seed, seed + 1, seed + 2, seed + 3, seed + 4}; }

// Each row of those grids says its seed, drawn into the picture.
hd::GridLabels seed_labels(const std::vector<uint64_t>& seeds, const std::string& title) {
  hd::GridLabels labels;
  labels.title = title;
  for (uint64_t s : seeds) labels.row_labels.push_back(fmt::format("seed {}", s));
  return labels;
}

// Stacks the noise of every row: [rows * cols, kLatent].
hd::Tensor noise_grid(const std::vector<uint64_t>& seeds, int64_t cols) {
  std::vector<hd::Tensor> rows;
  for (uint64_t s : seeds) rows.push_back(noise_for_seed(s, cols));
  return hd::concat(rows, 0);
}

}  // namespace

int main(int argc, char** argv) {
  auto opt = hd::lesson::parse_options(argc, argv, "02_noise", "random noise (隨機雜訊) as the input of generation");
  const int64_t cols = opt.smoke ? 4 : opt.full ? 12 : 8;  // samples per seed, one row each
  const int64_t upscale = opt.full ? 4 : 3;
  const std::vector<uint64_t> seeds = row_seeds(opt.seed);
  hd::GridOptions grid;
  grid.nrow = cols;
  grid.upscale = upscale;
  fmt::print("Lesson 02: random noise (隨機雜訊) as the input of generation, seed {}\n", opt.seed);

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("1. The input of a generative model is noise");
  fmt::print(
      "Q: 生成式模型的輸入來源是什麼？ (what does a generative model start from?)  A: 雜訊 (noise).\n"
      "Like 地是空虛混沌 (the earth was without form, and void), generation begins in chaos (渾沌、太虛).\n"
      "Our noise is a vector z of {} numbers drawn from N(0, 1) (lesson 01) by a Generator started from a seed.\n"
      "The noise of the top-left picture in the grids below (seed {}):\n",
      kLatent, opt.seed);
  hd::Tensor z = noise_for_seed(opt.seed, cols);
  fmt::print("  z = [");
  for (int64_t j = 0; j < kLatent; ++j) fmt::print("{}{:.3f}", j ? ", " : "", z.data()[j]);
  fmt::print("]\n");

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("2. Same seed, same noise; another seed, other noise");
  fmt::print(
      "A random generator is a deterministic machine: from the same seed it produces the same stream.\n"
      "That makes every run of a program repeatable, while changing the seed gives new samples.\n");
  for (uint64_t s : {opt.seed, opt.seed, opt.seed + 1}) {
    hd::Tensor many = noise_for_seed(s, 1000);
    fmt::print("  seed {:3d}: first numbers {:7.4f} {:7.4f} {:7.4f}   checksum of 8000 numbers {:016x}\n", s,
               many.data()[0], many.data()[1], many.data()[2], checksum(many));
  }

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("3. Noise as a picture: chaos (渾沌) without structure");
  fmt::print(
      "784 numbers of N(0, 1) drawn straight into a 28x28 picture (values -3..3 shown as black..white).\n"
      "Rows are seeds: {} (twice), then {}..{}. Every picture is different, yet they all look alike:\n"
      "noise has no structure, and that is the point: it is the raw material, not the result.\n",
      opt.seed, opt.seed + 1, opt.seed + 4);
  {
    std::vector<hd::Tensor> rows;
    for (uint64_t s : seeds) {
      hd::Generator gen(s);
      rows.push_back(hd::randn({cols, 1, kSide, kSide}, gen));
    }
    hd::Tensor noise_images = hd::concat(rows, 0);
    hd::GridOptions noise_grid_options = grid;
    noise_grid_options.lo = -3.f;
    noise_grid_options.hi = 3.f;
    noise_grid_options.pad_value = 3.f;  // white borders on the -3..3 scale
    hd::save_labelled_grid(noise_images, opt.out + "/noise_images.png",
                           seed_labels(seeds, "z ~ N(0, 1) per pixel, shown from -3 (black) to 3 (white)"),
                           noise_grid_options);
    hd::lesson::wrote(opt.out + "/noise_images.png", "pure Gaussian noise, 784 dimensions per picture");
  }

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("4. A low-dimensional noise vector becomes a high-dimensional picture");
  fmt::print(
      "The slide: 雜訊是一種低維的隱變量 (noise is a low-dimensional latent variable); the generator turns it into\n"
      "high-dimensional, complex data (高維的複雜數據). Here the generator is a rule written by hand, not learned:\n"
      "each of the {} numbers sets one property of a pen stroke (centre, radii, rotation, thickness, an opening),\n"
      "and the rule draws {} pixels from them. Same grid of seeds as above.\n",
      kLatent, kSide * kSide);
  hd::Tensor z_grid = noise_grid(seeds, cols);
  hd::Tensor rings = draw_rings(z_grid);
  hd::save_labelled_grid(rings, opt.out + "/handmade_generator.png",
                         seed_labels(seeds, fmt::format("a hand-written rule: {} noise numbers -> a ring", kLatent)), grid);
  hd::lesson::wrote(opt.out + "/handmade_generator.png",
                    "rows 1 and 2 share a seed and are identical; every other picture differs (多樣性)");
  fmt::print("  {} noise numbers in, {} pixels out: a {}x larger picture made from a short random code.\n",
             kLatent, kSide * kSide, kSide * kSide / kLatent);
  fmt::print("Determinism, checked: checksums of the pictures of each row (two runs with seed {}):\n", opt.seed);
  for (size_t r = 0; r < seeds.size(); ++r) {
    hd::Tensor row = rings.narrow0(static_cast<int64_t>(r) * cols, static_cast<int64_t>(r + 1) * cols);
    fmt::print("  row {} (seed {:3d}): {:016x}\n", r + 1, seeds[r], checksum(row));
  }
  hd::Tensor again = draw_rings(noise_grid(seeds, cols));
  fmt::print("  the whole grid, generated again from the same seeds: {} (checksums {:016x} and {:016x})\n",
             checksum(again) == checksum(rings) ? "bit-identical" : "DIFFERENT", checksum(rings), checksum(again));

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("5. A neural decoder with random weights (untrained)");
  hd::Generator weight_gen(1000 + opt.seed);
  auto decoder = random_decoder(weight_gen);
  fmt::print(
      "Trained generators are networks like this one (lessons 05-07 use an MLP, 20 -> 400 -> 784, instead of\n"
      "these transposed convolutions); this one has {} parameters:\n{}\n"
      "Its weights here are random: it was never trained. It is still a function: the same z always gives\n"
      "the same picture. But its pictures look like noise again: 8 random numbers through random weights\n"
      "give no order. The order must come from somewhere: from rules a person writes (section 4), or from\n"
      "training on real pictures, which is what lessons 05-07 do with such a network.\n",
      decoder->num_parameters(), decoder->print());
  hd::Tensor blobs;
  {
    hd::NoGradGuard no_grad;
    blobs = decoder->forward(z_grid).data();
  }
  hd::GridOptions blob_grid = grid;
  blob_grid.normalize = true;  // a random network's outputs sit near 0.5; stretch their common range to black..white
  hd::save_labelled_grid(blobs, opt.out + "/random_decoder.png",
                         seed_labels(seeds, "an untrained decoder: the same noise, random weights"), blob_grid);
  hd::lesson::wrote(opt.out + "/random_decoder.png", "noise-like pictures; rows 1 and 2 identical again");
  {
    hd::NoGradGuard no_grad;
    hd::Tensor blobs_again = decoder->forward(noise_grid(seeds, cols)).data();
    fmt::print("  decoded twice from the same seeds: {}\n",
               checksum(blobs_again) == checksum(blobs) ? "bit-identical" : "DIFFERENT");
  }

  // ---------------------------------------------------------------------------------------------
  hd::lesson::section("6. Exploring the space (生成數據空間的探索): walking through the noise");
  fmt::print(
      "Take the noise of two pictures, z_a and z_b = -z_a, and walk in a straight line between them:\n"
      "  z(t) = (1 - t) z_a + t z_b,  t = 0 ... 1,\n"
      "drawing the picture of every z(t). Small steps in z are small changes of the stroke, and every\n"
      "picture on the way is a proper ring: the noise space is a map of the pictures the generator can make.\n"
      "Compare the same walk in pixel space, (1 - t) image_a + t image_b: halfway it is a double exposure of\n"
      "two rings, a picture this generator would never draw.\n");
  {
    const int64_t steps = opt.smoke ? 5 : opt.full ? 12 : 8;
    // z_b = -z_a: just as likely as z_a (N(0, 1) is symmetric) and as far from it as it gets, so the two
    // rings differ in every property; halfway, z = 0 draws the "average" ring.
    hd::Tensor z_a = noise_for_seed(opt.seed + 100, 1);
    hd::Tensor path({steps, kLatent});
    for (int64_t k = 0; k < steps; ++k) {
      float t = static_cast<float>(k) / static_cast<float>(steps - 1);
      for (int64_t j = 0; j < kLatent; ++j)
        path.data()[k * kLatent + j] = (1 - 2 * t) * z_a.data()[j];  // (1 - t) z_a + t z_b with z_b = -z_a
    }
    hd::Tensor noise_walk = draw_rings(path);
    hd::Tensor image_a = noise_walk.narrow0(0, 1), image_b = noise_walk.narrow0(steps - 1, steps);
    std::vector<hd::Tensor> fades;
    for (int64_t k = 0; k < steps; ++k) {
      float t = static_cast<float>(k) / static_cast<float>(steps - 1);
      fades.push_back(image_a * (1 - t) + image_b * t);
    }
    hd::GridOptions walk_grid = grid;
    walk_grid.nrow = steps;
    hd::GridLabels walk_labels;
    walk_labels.row_labels = {"noise space", "pixel space"};
    for (int64_t k = 0; k < steps; ++k)
      walk_labels.column_labels.push_back(fmt::format("t={:.2g}", static_cast<double>(k) / static_cast<double>(steps - 1)));
    hd::save_labelled_grid(hd::concat({noise_walk, hd::concat(fades, 0)}, 0), opt.out + "/latent_walk.png", walk_labels,
                           walk_grid);
    hd::lesson::wrote(opt.out + "/latent_walk.png",
                      "top: walk in noise space, the ring morphs; bottom: walk in pixel space, a double exposure");
  }
  fmt::print(
      "\nTake-away: noise supplies the randomness (a new seed, a new sample: 多樣性) and a generator supplies the\n"
      "order. The next lesson contrasts a function model z = f(x) with a probability model z ~ p_theta(z).\n");
  return 0;
}
