// diffusion.h — the denoising diffusion model (擴散模型; Ho, Jain & Abbeel 2020, "Denoising Diffusion Probabilistic
// Models"; DDIM sampling from Song, Meng & Ermon 2021).
//
// The forward process (正向過程) destroys an image in T small steps of Gaussian noise,
//     q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I),
// and in closed form from the image itself (eq. 4 of Ho et al.), with alpha_t = 1 - beta_t, abar_t = prod alpha_s:
//     x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,   eps ~ N(0, I)                       (q_sample)
// so that x_T is (almost) pure noise. The reverse process (逆向過程) learns to undo one step at a time: a network
// eps_theta(x_t, t) predicts the noise in x_t. Training (Algorithm 1), one step per batch:
//     x_0 ~ data,  t ~ Uniform{1..T},  eps ~ N(0, I)
//     minimise || eps - eps_theta(sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, t) ||^2        (eq. 14, "L_simple")
// the variational bound (基於變分下界的多步去噪損失) with its weights dropped. Sampling is a Markov chain of many
// denoising steps (多步生成) from x_T ~ N(0, I): ddpm_sample (Algorithm 2, T steps) or ddim_sample (any number of
// steps, eta = 0 deterministic). Highest quality of the four families, slowest to sample.
//
// Time steps in code are 0-based: t = 0 .. T-1 stands for the paper's t = 1 .. T, so abar[t] is the paper's
// abar_{t+1}, and "t = -1" (abar = 1) is the clean image x_0.
//
// The denoiser is U-Net-28, the same layers, order and state_dict names as its PyTorch twin bench/torch/ddpm.py
// (channels c = (32, 64, 128), time embedding d = 128, GroupNorm(8)); shapes for a 28 x 28 image:
//   time_mlp   sinusoidal(t) [B, d] -> Linear(d, d), SiLU, Linear(d, d): temb [B, d]
//   conv_in    Conv2d(C -> c0, 3, 1, 1)                                  [B, 32, 28, 28]
//   down.0     ResBlock(c0 -> c0), kept as skip 0, downsample.0 Conv2d(c0, c0, 3, 2, 1)   -> [B, 32, 14, 14]
//   down.1     ResBlock(c0 -> c1), kept as skip 1, downsample.1 Conv2d(c1, c1, 3, 2, 1)   -> [B, 64, 7, 7]
//   down.2     ResBlock(c1 -> c2), kept as skip 2                        [B, 128, 7, 7]
//   mid        ResBlock(c2 -> c2)                                        [B, 128, 7, 7]
//   up.0       concat(h, skip 2) -> ResBlock(2 c2 -> c2)                 [B, 128, 7, 7]
//   upsample.0 ConvTranspose2d(c2 -> c1, 4, 2, 1), concat skip 1, up.1 ResBlock(2 c1 -> c1)   [B, 64, 14, 14]
//   upsample.1 ConvTranspose2d(c1 -> c0, 4, 2, 1), concat skip 0, up.2 ResBlock(2 c0 -> c0)   [B, 32, 28, 28]
//   out        norm_out GroupNorm(8, c0), SiLU, conv_out Conv2d(c0 -> C, 3, 1, 1)       [B, 1, 28, 28]
// A ResBlock(in -> out): GroupNorm, SiLU, 3x3 conv, + time_proj(SiLU(temb)) per channel, GroupNorm, SiLU, 3x3 conv,
// added to x (through a 1x1 conv, "skip", when in != out). Levels and channels are options (H and W divisible by
// 2^(levels - 1)).
//
// Class-conditional (num_classes > 0), with classifier-free guidance (Ho & Salimans 2022): label_emb, an
// Embedding(num_classes + 1, d) whose last row is "no label", is added to temb. Training drops the label (to "no
// label") with probability 0.1, so one network learns eps(x_t, t, c) and eps(x_t, t); sampling can then push away
// from the unconditional prediction:  eps = (1 + w) eps(x_t, t, c) - w eps(x_t, t)   (Ho & Salimans, eq. 6).
//
// Pixels live in [-1, 1] (data/loader.h's to_minus_one_one), as in Ho et al.; sample() maps back to [0, 1].
// Every random draw takes a Generator, so a run and its samples repeat exactly from a seed.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/generative_model.h"
#include "nn/ema.h"
#include "nn/layers.h"
#include "nn/metadata.h"
#include "nn/optim.h"

namespace hd::diffusion {

// ------------------------------------------------------------------------------------------ noise schedules

// Linear: beta from 1e-4 to 0.02 (Ho et al.); cosine: abar_t = cos^2(((t/T + s) / (1 + s)) pi/2) (Nichol &
// Dhariwal 2021, eq. 17), which destroys information more slowly at the start.
enum class ScheduleKind { Linear, Cosine };
std::string schedule_name(ScheduleKind kind);               // "linear", "cosine"
ScheduleKind schedule_from_name(const std::string& name);  // std::invalid_argument for another word

// beta, alpha = 1 - beta and abar = prod alpha, in double, index t = 0 .. T-1 (the paper's 1 .. T).
struct NoiseSchedule {
  ScheduleKind kind = ScheduleKind::Linear;
  int64_t T = 0;
  std::vector<double> beta, alpha, alpha_bar;

  static NoiseSchedule linear(int64_t T = 1000, double beta_start = 1e-4, double beta_end = 0.02);
  static NoiseSchedule cosine(int64_t T = 1000, double s = 0.008, double max_beta = 0.999);
  static NoiseSchedule make(ScheduleKind kind, int64_t T);
  // Signal-to-noise ratio of x_t: abar_t / (1 - abar_t).
  double snr(int64_t t) const;
};

// The schedule health check the training command prints: the SNR must fall at every step (each x_t noisier than
// the last), and x_T must be close to N(0, I) (sqrt(abar_T), the fraction of x_0 left in x_T, small).
struct ScheduleHealth {
  bool snr_falls = false;
  double snr_first = 0, snr_last = 0;  // SNR at t = 1 and t = T
  double signal_left = 0;              // sqrt(abar_T)
  double noise_std = 0;                // sqrt(1 - abar_T)
  bool ok() const { return snr_falls && signal_left < 0.05; }
  std::string str() const;             // one line
};
ScheduleHealth check_schedule(const NoiseSchedule& schedule);

// x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (eq. 4), each image at its own step.
// x0, noise: [B, C, H, W]; t: [B] integer steps in [0, T) (as floats) -> [B, C, H, W].
Tensor q_sample(const NoiseSchedule& schedule, const Tensor& x0, const Tensor& t, const Tensor& noise);

// ------------------------------------------------------------------------------------------------ U-Net

struct UNetOptions {
  std::vector<int64_t> channels = {32, 64, 128};  // per level; one stride-2 step between levels
  int64_t time_dim = 128;                         // the sinusoidal embedding and the MLP's width
  int64_t groups = 8;                             // GroupNorm's groups; divides every channel count
  int64_t num_classes = 0;                        // > 0: class-conditional (label_emb), 0: unconditional
  ImageShape image = {};
};

// The transformer's position encoding (Vaswani et al. 2017) as Ho et al. use it for t: for i < d/2,
// emb[b, i] = sin(t_b w_i), emb[b, d/2 + i] = cos(t_b w_i), w_i = 10000^(-i / (d/2)). t: [B] -> [B, d].
Tensor timestep_embedding(const Tensor& t, int64_t dim);

// x: [B, in, H, W], temb: [B, time_dim] -> [B, out, H, W].
class ResBlock : public Module {
 public:
  ResBlock(int64_t in_channels, int64_t out_channels, int64_t time_dim, int64_t groups, Generator& gen);
  Variable forward(const Variable& x, const Variable& temb) override;
  bool takes_context() const override { return true; }
  std::string describe() const override;

  int64_t in_channels, out_channels;
  std::shared_ptr<GroupNorm> norm1, norm2;
  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<Linear> time_proj;
  std::shared_ptr<Conv2d> skip;  // 1x1, only when in != out
};

// eps_theta(x_t, t) (or v_theta): x: [B, C, H, W], t: [B] steps (floats) -> [B, C, H, W].
class UNet : public Module {
 public:
  UNet(const UNetOptions& options, Generator& gen);
  using Module::forward;  // (x) alone throws, naming the module: a U-Net needs t
  // Unconditional: for a class-conditional network, every label "no label".
  Variable forward(const Variable& x, const Variable& t) override;
  // labels: [B] classes 0 .. num_classes - 1, or num_classes for "no label" (as floats); undefined: all "no label".
  Variable forward(const Variable& x, const Variable& t, const Tensor& labels);
  bool takes_context() const override { return true; }
  std::string describe() const override;

  UNetOptions options;
  std::shared_ptr<Sequential> time_mlp;
  std::shared_ptr<Embedding> label_emb;  // only when class-conditional
  std::shared_ptr<Conv2d> conv_in, conv_out;
  std::shared_ptr<ModuleList> down, downsample, upsample, up;
  std::shared_ptr<ResBlock> mid;
  std::shared_ptr<GroupNorm> norm_out;
};

// -------------------------------------------------------------------------------------------- the model

// What the network predicts: the noise eps (Ho et al.), or v = sqrt(abar_t) eps - sqrt(1 - abar_t) x_0
// (Salimans & Ho 2022), whose scale stays the same at every t.
enum class Objective { Epsilon, V };
std::string objective_name(Objective objective);              // "eps", "v"
Objective objective_from_name(const std::string& name);

struct DiffusionOptions {
  UNetOptions unet;
  ScheduleKind schedule = ScheduleKind::Linear;
  int64_t T = 1000;
  Objective objective = Objective::Epsilon;
  double min_snr_gamma = 0;   // > 0: Min-SNR-gamma loss weights (Hang et al. 2023), e.g. 5; 0: L_simple
  float label_dropout = 0.1f; // class-conditional: the probability that training drops an image's label
  float ema_decay = 0.999f;   // the sampling weights' EMA
  // Warm-up: after k optimizer steps the EMA's decay is min(ema_decay, (1 + k) / (10 + k)), so that a young
  // shadow follows the weights instead of staying near the random start (0.999^500 = 0.61 of it after 500 steps).
  bool ema_warmup = true;

  // As checkpoint metadata: "model" "diffusion", "arch" "unet", "channels" "32,64,128", "time_dim", "groups",
  // "schedule", "T", "objective", "num_classes", "image_shape"; and back, each entry checked against its bounds (at most 5
  // levels of at most 1024 channels, T 1..10000) and against the file's own tensors before anything is built.
  std::map<std::string, std::string> to_metadata() const;
  static DiffusionOptions from_metadata(const Metadata& metadata);
};

enum class Sampler { DDPM, DDIM };
std::string sampler_name(Sampler sampler);            // "ddpm", "ddim"
Sampler sampler_from_name(const std::string& name);

struct SamplerOptions {
  Sampler sampler = Sampler::DDIM;
  int64_t steps = 50;  // DDIM: 1 .. T denoising steps (DDPM always takes T)
  double eta = 0;      // DDIM: 0 deterministic .. 1 as much noise as DDPM's posterior
  int64_t keep_every = 0;  // > 0: keep x_t every so many steps (and the end) in a Trajectory
  // Class-conditional models: the class of every image (-1: the classes in turn, image k of class k % num_classes)
  // and the guidance weight w (0: the conditional prediction alone).
  int64_t label = -1;
  double guidance = 0;
};
// Throws std::invalid_argument for steps outside [1, T], eta outside [0, 1], or guidance or a class asked of a
// model that has none (num_classes 0), naming the value.
void check_sampler(const SamplerOptions& options, int64_t T, int64_t num_classes = 0);

// x_t along a sampling run, for pictures: x[i] at step t[i] (-1 for the final x_0).
struct Trajectory {
  std::vector<int64_t> t;
  std::vector<Tensor> x;
};

class DiffusionModel : public GenerativeModel {
 public:
  explicit DiffusionModel(DiffusionOptions options = {}, Generator& gen = default_generator());

  // The network's prediction at (x_t, t): x [B, C, H, W], t [B] -> [B, C, H, W].
  Variable forward(const Variable& x, const Variable& t) override { return (*unet)(x, t); }
  bool takes_context() const override { return true; }

  // eps_hat and x0_hat at (x_t, t), whichever the network predicts, without a graph. x: [B, C, H, W]. For a
  // class-conditional model, labels [B] (undefined: unconditional) and the guidance weight w.
  struct Prediction {
    Tensor eps, x0;
  };
  Prediction predict(const Tensor& x_t, int64_t t, const Tensor& labels = Tensor(), double guidance = 0);

  // The training loss on clean images x0 ([B, C, H, W] in [-1, 1]) at steps t ([B]) with noise eps: the mean
  // squared error of the prediction (per image: its pixels' mean; then the batch's mean, Min-SNR-weighted if set).
  // per_image_error, if given, receives each image's unweighted error [B] (the log's loss per timestep band).
  // labels: [B] for a class-conditional model (num_classes: "no label"), else undefined.
  Variable loss(const Tensor& x0, const Tensor& t, const Tensor& noise, Tensor* per_image_error = nullptr,
                const Tensor& labels = Tensor());

  // Images from x_T ([B, C, H, W], usually N(0, I)), in [-1, 1] (clamped), no graph; the trajectory if asked.
  Tensor generate(const Tensor& x_T, const SamplerOptions& options, Generator& gen, Trajectory* trajectory = nullptr);
  // n images in [0, 1] from x_T ~ N(0, I) drawn from gen, with `sampling` (DDIM-50 by default).
  Tensor sample(int64_t n, Generator& gen) override;

  ImageShape image_shape() const override { return options.unet.image; }
  bool conditional() const { return options.unet.num_classes > 0; }
  int64_t num_classes() const override { return options.unet.num_classes; }
  // n images of class `label` with the sampling settings of `sampling` (its label replaced).
  Tensor sample_class(int64_t n, int64_t label, Generator& gen) override;
  std::map<std::string, std::string> metadata() const override { return options.to_metadata(); }
  std::string describe() const override;

  DiffusionOptions options;
  NoiseSchedule schedule;
  SamplerOptions sampling;
  std::shared_ptr<UNet> unet;
};

// DDPM ancestral sampling, Algorithm 2 of Ho et al.: T steps from x_T. DDIM (Song et al. 2021, eq. 12) over
// `steps` evenly spaced steps. Both no graph, both return x_0 unclamped.
// labels and guidance: predict's, for a class-conditional model.
Tensor ddpm_sample(DiffusionModel& model, const Tensor& x_T, Generator& gen, int64_t keep_every = 0,
                   Trajectory* trajectory = nullptr, const Tensor& labels = Tensor(), double guidance = 0);
Tensor ddim_sample(DiffusionModel& model, const Tensor& x_T, int64_t steps, double eta, Generator& gen,
                   int64_t keep_every = 0, Trajectory* trajectory = nullptr, const Tensor& labels = Tensor(),
                   double guidance = 0);
// The DDIM steps: tau_i = (i + 1) T / S - 1 for i = 0 .. S-1, from the first step to the last (always T - 1).
std::vector<int64_t> ddim_timesteps(int64_t T, int64_t steps);

// Algorithm 1 on one batch: t ~ Uniform{0 .. T-1} per image, then eps ~ N(0, I), both from gen; one Adam step on
// the loss, then one EMA update. x0: [B, C, H, W] in [-1, 1]. Returns the loss and each image's t and error.
// A class-conditional model takes labels [B] (classes as floats) and, after eps, draws u ~ U[0, 1) per image: the
// label is dropped where u < label_dropout.
struct StepResult {
  double loss = 0;
  std::vector<int64_t> t;              // [B]
  std::vector<double> per_image_loss;  // [B], unweighted mean squared error
};
StepResult train_step(DiffusionModel& model, Adam& adam, EMA& ema, const Tensor& x0, Generator& gen,
                      const Tensor& labels = Tensor());

// The model a checkpoint of `hundun train diffusion` holds, with its EMA weights (what sampling uses) loaded into
// the network, in evaluation mode. Throws std::runtime_error naming the file for a damaged file or another model.
std::shared_ptr<DiffusionModel> load_diffusion(const std::string& path);

}  // namespace hd::diffusion
