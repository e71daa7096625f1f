// gan_toy.h — mode collapse (模式崩潰) on 2-D data: the picture the lecture describes, measured as the papers do.
//
// The data are mixtures of Gaussians whose modes are far apart compared with their width, so a GAN that drops a
// mode, or hops from mode to mode while the discriminator chases it, is visible in one scatter plot and countable:
//   ring  8 Gaussians on a circle of radius 1, std 0.01        (Metz et al. 2017, unrolled GAN; VEEGAN; PacGAN)
//   grid  25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05          (VEEGAN, Srivastava et al. 2017; PacGAN)
//
// The networks are the MLPs of PacGAN (Lin et al. 2018, "PacGAN: The power of two samples in generative
// adversarial networks"), section 5.1 and its code (synthetic_data_experiments/2D*_GAN&PacGAN, which follow VEEGAN):
//   G: z ~ N(0, I_2) -> 4 x [Linear(400, no bias), BatchNorm1d, ReLU] -> Linear(2)
//   D: x -> 3 x [maxout Linear(200 x 5 pieces)] -> Linear(1), a logit; no BatchNorm
//   Adam lr 1e-4, beta1 0.8, 100 packs a batch.
// (hundun keeps PyTorch's default initialisation rather than the paper's N(0, 0.02). ToyGanOptions has the paper's
// widths; `hundun train gan --toy` defaults to G 4 x 128 and D 3 x 128 maxout, and 4,000 steps on the ring and
// 60,000 on the grid rather than the paper's 400 epochs of 1,000, so that a run takes minutes on one core:
// --g-hidden 400 --d-hidden 200 for the paper's. It also departs from the paper's one learning rate: D's is five
// times G's (TTUR), and both decay to 0 over the second half; ToyTraining says why.)
//
// The second remedy is Karras et al.'s (2018, section 3) minibatch standard deviation: D's last maxout layer also
// sees the std of each of its input features over the batch, averaged into one number, so a batch of look-alikes
// is told apart from real data by one feature. train_toy_gan is one run, for the single run and the table of
// `hundun train gan --toy ... --table` alike (measured numbers in cli/gan/toy.cpp's header).
//
// The game is Algorithm 1 of models/gan.h, with its losses (gan::discriminator_loss, gan::generator_loss) on these
// networks' logits. The remedy is PacGAN's packing: the discriminator judges m samples at once, concatenated,
// all real or all fake. A collapsed generator's m samples look alike, real data's m samples rarely do, so D can
// see the lack of diversity that it cannot see in one sample, and G is pushed to spread out.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/gan.h"
#include "nn/layers.h"
#include "nn/optim.h"
#include "tensor/random.h"

namespace hd::gan {

// A mixture of equally likely isotropic Gaussians, all with the same std.
struct ToyMixture {
  std::string name;
  std::vector<std::pair<double, double>> means;  // the mode centres
  double std = 0;
};

ToyMixture ring_mixture();  // 8 on the unit circle, mode k at (cos 2πk/8, sin 2πk/8), std 0.01
ToyMixture grid_mixture();  // 25 at {-4, -2, 0, 2, 4}^2, std 0.05
// "ring" or "grid" (std::invalid_argument otherwise).
ToyMixture toy_mixture(const std::string& name);

// n draws: each picks a mode uniformly, then adds N(0, std^2 I). -> [n, 2]
Tensor sample_mixture(const ToyMixture& mixture, int64_t n, Generator& rng);

// The metrics of VEEGAN and PacGAN (Table 1) on a set of samples (the papers use 2,500). Each sample goes to its
// nearest mode; it is of high quality when that mode is within 3 std of it.
struct ModeMetrics {
  int64_t modes = 0;               // the mixture's number of modes K
  int64_t modes_covered = 0;       // modes with at least one high-quality sample
  double high_quality = 0;         // share of the samples that are of high quality, in [0, 1]
  // KL(p || uniform) = sum_k p_k log(K p_k), p_k the share of the high-quality samples at mode k:
  // 0 when the modes are hit equally often, log K when all at one mode; +infinity with no high-quality sample.
  double reverse_kl = 0;
  std::vector<int64_t> counts;     // high-quality samples per mode
};
// samples: [N, 2].
ModeMetrics mode_metrics(const ToyMixture& mixture, const Tensor& samples);

struct ToyGanOptions {
  int64_t latent_dim = 2;      // z ~ N(0, I_2), as PacGAN
  int64_t g_hidden = 400, g_layers = 4;
  int64_t d_hidden = 200, d_layers = 3, maxout_pieces = 5;
  int64_t pack = 1;            // PacGAN's m: the discriminator judges m samples at a time (1: the plain GAN)
  bool minibatch_std = false;  // Karras et al.'s minibatch-standard-deviation feature before D's last maxout layer
  GanLoss loss = GanLoss::NonSaturating;  // any but WassersteinGP (its penalty is written for images)
};

// Maxout (Goodfellow et al. 2013), PacGAN's LinearMaxout: k linear pieces per unit, the unit's value their maximum.
// x: [B, in] -> [B, out];  y_j = max_i (x W_{i,j}^T + b_{i,j}), i = 1..k
class Maxout : public Module {
 public:
  Maxout(int64_t in_features, int64_t out_features, int64_t pieces, Generator& rng);
  Variable forward(const Variable& x) override;
  std::string describe() const override;

  int64_t in_features, out_features, pieces;
  std::shared_ptr<Linear> linear;  // in -> out * pieces, piece i of unit j in column i*out + j
};

// G: z [B, latent_dim] -> x [B, 2].
class ToyGenerator : public Module {
 public:
  ToyGenerator(const ToyGanOptions& options, Generator& rng);
  Variable forward(const Variable& z) override;
  std::string describe() const override;

  std::shared_ptr<Sequential> hidden;  // g_layers x (Linear without bias, BatchNorm1d, ReLU)
  std::shared_ptr<Linear> out;
};

// D: packed samples [B/m, 2m] -> logits [B/m, 1]. With minibatch_std the last maxout layer takes one more input,
// minibatch_std(h) (models/gan.h): [B/m, d_hidden] -> [B/m, d_hidden + 1] (with one layer, the packed input itself).
class ToyDiscriminator : public Module {
 public:
  ToyDiscriminator(const ToyGanOptions& options, Generator& rng);
  Variable forward(const Variable& packed) override;
  std::string describe() const override;

  std::shared_ptr<Sequential> hidden;  // d_layers - 1 Maxout layers (all of them without minibatch_std)
  std::shared_ptr<Maxout> last;        // the last Maxout when minibatch_std, which sees the extra feature
  std::shared_ptr<Linear> out;
};

// PacGAN's packing: m consecutive samples side by side, [B, 2] -> [B/m, 2m] (a reshape: row i of the result is
// samples i*m .. i*m + m-1). Throws std::invalid_argument naming --pack when m does not divide B.
Variable pack(const Variable& samples, int64_t m);

class ToyGAN : public Module {
 public:
  ToyGAN(ToyGanOptions options, Generator& rng);
  // n new points: z ~ N(0, I) through G in evaluation mode (BatchNorm's running statistics), no graph. -> [n, 2]
  Tensor sample(int64_t n, Generator& rng);
  Variable forward(const Variable& z) override { return (*generator)(z); }
  std::string describe() const override;

  ToyGanOptions options;
  std::shared_ptr<ToyGenerator> generator;
  std::shared_ptr<ToyDiscriminator> discriminator;
};

// Algorithm 1 on one batch real [B, 2]: a discriminator step on pack(real) against pack(G(z)), B draws z, then a
// generator step through the updated D. B must be a multiple of options.pack.
AdversarialLosses train_step(ToyGAN& gan, Adam& adam_d, Adam& adam_g, const Tensor& real, Generator& rng);

constexpr int64_t kToyEvalSamples = 2500;  // VEEGAN's and PacGAN's sample count for the metrics

// One run of one configuration, as the single `train gan --toy` run and the table of `--table` both train it.
struct ToyTraining {
  int64_t steps = 1000;
  int64_t batch = 120;         // real samples per step, a multiple of the pack
  int64_t every = 100;         // evaluate every `every` steps, and after the last
  // The Adams' rates, betas (0.8, 0.999) as PacGAN. D may learn faster than G: the two time-scale update rule
  // (TTUR, Heusel et al. 2017). On the grid it is what lets D see the 25 small modes at all: with one rate D stays
  // at chance (loss 2 log 2) while G spreads evenly over the square (cli/gan/toy.cpp's measurements).
  float lr = 5e-4f;            // G's
  float lr_d = 5e-4f;          // D's
  // The last `decay` share of the steps lowers both rates linearly to 0 (0: constant rates). G's samples then
  // settle onto the modes instead of jittering around them with Adam's noise.
  double decay = 0;
  uint64_t seed = 1;           // one stream: the initial weights (G's, then D's), then every real batch and every z
};
// What an evaluation saw: G's samples of the fixed 2,500 z (the papers' count) and their metrics.
struct ToyEvaluation {
  int64_t step = 0;
  Tensor samples;              // [2500, 2]
  ModeMetrics metrics;
  AdversarialLosses losses;    // of the last step
};
// Trains ToyGAN(options) on the mixture for training.steps steps of train_step; after each step calls
// on_step(step counted from 0, its losses), and every training.every steps and after the last calls on_evaluation.
// Throws std::runtime_error naming the step when a loss is not finite. Returns the last evaluation.
ToyEvaluation train_toy_gan(const ToyMixture& mixture, const ToyGanOptions& options, const ToyTraining& training,
                            const std::function<void(int64_t, const AdversarialLosses&)>& on_step,
                            const std::function<void(const ToyEvaluation&)>& on_evaluation);

}  // namespace hd::gan
