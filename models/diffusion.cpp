#include "models/diffusion.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "autograd/activation.h"
#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "autograd/shape.h"
#include "data/loader.h"
#include "nn/checkpoint.h"
#include "tensor/random.h"

namespace hd::diffusion {

// ------------------------------------------------------------------------------------------ noise schedules

std::string schedule_name(ScheduleKind kind) { return kind == ScheduleKind::Linear ? "linear" : "cosine"; }

ScheduleKind schedule_from_name(const std::string& name) {
  if (name == "linear") return ScheduleKind::Linear;
  if (name == "cosine") return ScheduleKind::Cosine;
  throw std::invalid_argument("diffusion: unknown schedule '" + name + "', expected linear or cosine");
}

// alpha_t = 1 - beta_t, abar_t = prod_{s <= t} alpha_s (Ho et al., above eq. 4).
static NoiseSchedule from_betas(ScheduleKind kind, std::vector<double> beta) {
  NoiseSchedule s;
  s.kind = kind;
  s.T = static_cast<int64_t>(beta.size());
  s.beta = std::move(beta);
  double prod = 1.0;
  for (double b : s.beta) {
    s.alpha.push_back(1.0 - b);
    prod *= 1.0 - b;
    s.alpha_bar.push_back(prod);
  }
  return s;
}

static void check_T(int64_t T) {
  if (T < 1 || T > 10000) throw std::invalid_argument(fmt::format("diffusion: T must be in [1, 10000], got {}", T));
}

NoiseSchedule NoiseSchedule::linear(int64_t T, double beta_start, double beta_end) {
  check_T(T);
  std::vector<double> beta(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t)  // torch.linspace(beta_start, beta_end, T)
    beta[t] = T == 1 ? beta_start : beta_start + (beta_end - beta_start) * static_cast<double>(t) / (T - 1);
  return from_betas(ScheduleKind::Linear, std::move(beta));
}

NoiseSchedule NoiseSchedule::cosine(int64_t T, double s, double max_beta) {
  check_T(T);
  // f(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2), abar_t = f(t) / f(0) (Nichol & Dhariwal, eq. 17)
  const auto f = [&](double t) { return std::pow(std::cos((t / T + s) / (1 + s) * std::numbers::pi / 2), 2); };
  std::vector<double> beta(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t)  // beta_t = 1 - abar_t / abar_{t-1}, clipped at 0.999 (their section 3.2)
    beta[t] = std::min(1.0 - f(static_cast<double>(t + 1)) / f(static_cast<double>(t)), max_beta);
  return from_betas(ScheduleKind::Cosine, std::move(beta));
}

NoiseSchedule NoiseSchedule::make(ScheduleKind kind, int64_t T) {
  return kind == ScheduleKind::Linear ? linear(T) : cosine(T);
}

double NoiseSchedule::snr(int64_t t) const { return alpha_bar[t] / (1.0 - alpha_bar[t]); }  // abar / (1 - abar)

ScheduleHealth check_schedule(const NoiseSchedule& s) {
  ScheduleHealth h;
  h.snr_falls = true;
  for (int64_t t = 1; t < s.T; ++t) h.snr_falls &= s.snr(t) < s.snr(t - 1);
  h.snr_first = s.snr(0);
  h.snr_last = s.snr(s.T - 1);
  h.signal_left = std::sqrt(s.alpha_bar.back());       // x_T = sqrt(abar_T) x_0 + ...
  h.noise_std = std::sqrt(1.0 - s.alpha_bar.back());  // ... + sqrt(1 - abar_T) eps
  return h;
}

std::string ScheduleHealth::str() const {
  return fmt::format("SNR {} from {:.4g} (t = 1) to {:.3g} (t = T); x_T = {:.4f} x_0 + {:.5f} eps: {}",
                     snr_falls ? "falls at every step" : "does NOT fall at every step", snr_first, snr_last,
                     signal_left, noise_std, ok() ? "close to N(0, I)" : "NOT close to N(0, I)");
}

// One coefficient per image, [B, 1, 1, 1], so that it broadcasts over the image's pixels.
static Tensor per_image(const std::vector<double>& table, const Tensor& t, double (*f)(double)) {
  Tensor c({t.numel(), 1, 1, 1});
  for (int64_t b = 0; b < t.numel(); ++b) {
    const auto step = static_cast<int64_t>(t.data()[b]);
    if (step < 0 || step >= static_cast<int64_t>(table.size()))
      throw std::invalid_argument(fmt::format("diffusion: step {} outside [0, {})", step, table.size()));
    c.data()[b] = static_cast<float>(f(table[step]));
  }
  return c;
}

static double sqrt_of(double a) { return std::sqrt(a); }
static double sqrt_one_minus(double a) { return std::sqrt(1.0 - a); }

Tensor q_sample(const NoiseSchedule& schedule, const Tensor& x0, const Tensor& t, const Tensor& noise) {
  if (x0.dim() != 4 || noise.shape() != x0.shape() || t.shape() != Shape{x0.size(0)})
    throw std::invalid_argument(fmt::format("q_sample: expected x0 [B, C, H, W], t [B] and noise like x0, got {}, {}, {}",
                                            shape_str(x0.shape()), shape_str(t.shape()), shape_str(noise.shape())));
  NoGradGuard no_grad;
  const Variable a(per_image(schedule.alpha_bar, t, sqrt_of)), s(per_image(schedule.alpha_bar, t, sqrt_one_minus));
  return (a * Variable(x0) + s * Variable(noise)).data();  // x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (eq. 4)
}

// ------------------------------------------------------------------------------------------------ U-Net

Tensor timestep_embedding(const Tensor& t, int64_t dim) {
  if (dim < 2 || dim % 2 != 0) throw std::invalid_argument(fmt::format("timestep_embedding: dim must be even, got {}", dim));
  const int64_t half = dim / 2, B = t.numel();
  Tensor emb({B, dim});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < half; ++i) {
      // w_i = 10000^(-i / half), in float as the twin computes it
      const float w = std::exp(-std::log(10000.f) * static_cast<float>(i) / static_cast<float>(half));
      emb.data()[b * dim + i] = std::sin(t.data()[b] * w);
      emb.data()[b * dim + half + i] = std::cos(t.data()[b] * w);
    }
  return emb;
}

ResBlock::ResBlock(int64_t in, int64_t out, int64_t time_dim, int64_t groups, Generator& gen)
    : in_channels(in), out_channels(out) {
  norm1 = register_module("norm1", std::make_shared<GroupNorm>(groups, in));
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in, out, 3, 1, 1, 1, true, gen));
  time_proj = register_module("time_proj", std::make_shared<Linear>(time_dim, out, gen));
  norm2 = register_module("norm2", std::make_shared<GroupNorm>(groups, out));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(out, out, 3, 1, 1, 1, true, gen));
  if (in != out) skip = register_module("skip", std::make_shared<Conv2d>(in, out, 1, 1, 0, 1, true, gen));
}

Variable ResBlock::forward(const Variable& x, const Variable& temb) {
  Variable h = (*conv1)(silu((*norm1)(x)));                                     // [B, out, H, W]
  h = h + reshape((*time_proj)(silu(temb)), {x.size(0), out_channels, 1, 1});  // + the step, per channel
  h = (*conv2)(silu((*norm2)(h)));
  return h + (skip ? (*skip)(x) : x);                                           // the residual path
}

std::string ResBlock::describe() const { return fmt::format("ResBlock({} -> {})", in_channels, out_channels); }

static void check_unet_options(const UNetOptions& o) {
  const auto levels = static_cast<int64_t>(o.channels.size());
  if (levels < 1 || levels > 5)
    throw std::invalid_argument(fmt::format("diffusion: the U-Net needs 1 to 5 levels, got {}", levels));
  for (int64_t c : o.channels)
    if (c < 1 || o.groups < 1 || c % o.groups != 0)
      throw std::invalid_argument(fmt::format("diffusion: every level's channels must be a positive multiple of the "
                                              "{} GroupNorm groups, got {}",
                                              o.groups, c));
  if (o.num_classes < 0 || o.num_classes > 1000)
    throw std::invalid_argument(fmt::format("diffusion: num_classes must be in [0, 1000], got {}", o.num_classes));
  if (o.time_dim < 2 || o.time_dim % 2 != 0)
    throw std::invalid_argument(fmt::format("diffusion: time_dim must be even and positive, got {}", o.time_dim));
  const int64_t factor = int64_t{1} << (levels - 1);
  if (o.image.height % factor != 0 || o.image.width % factor != 0)
    throw std::invalid_argument(fmt::format("diffusion: {} levels halve the image {} times: its height and width must "
                                            "be multiples of {}, got {}",
                                            levels, levels - 1, factor, o.image.str()));
}

// Built in the order of the forward pass, as the twin builds it, so the same seed gives the same weights.
UNet::UNet(const UNetOptions& opts, Generator& gen) : options(opts) {
  check_unet_options(options);
  const std::vector<int64_t>& ch = options.channels;
  const int64_t levels = static_cast<int64_t>(ch.size()), d = options.time_dim, g = options.groups;
  time_mlp = register_module("time_mlp", std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
                                             std::make_shared<Linear>(d, d, gen), std::make_shared<SiLU>(),
                                             std::make_shared<Linear>(d, d, gen)}));
  if (options.num_classes > 0)  // the last row: "no label"
    label_emb = register_module("label_emb", std::make_shared<Embedding>(options.num_classes + 1, d, gen));
  conv_in = register_module("conv_in", std::make_shared<Conv2d>(options.image.channels, ch[0], 3, 1, 1, 1, true, gen));
  down = register_module("down", std::make_shared<ModuleList>());
  downsample = register_module("downsample", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < levels; ++i) {
    down->add(std::make_shared<ResBlock>(i == 0 ? ch[0] : ch[i - 1], ch[i], d, g, gen));
    if (i + 1 < levels) downsample->add(std::make_shared<Conv2d>(ch[i], ch[i], 3, 2, 1, 1, true, gen));
  }
  mid = register_module("mid", std::make_shared<ResBlock>(ch[levels - 1], ch[levels - 1], d, g, gen));
  upsample = register_module("upsample", std::make_shared<ModuleList>());
  up = register_module("up", std::make_shared<ModuleList>());
  for (int64_t i = levels - 1; i >= 0; --i) {  // deepest level first
    if (i < levels - 1) upsample->add(std::make_shared<ConvTranspose2d>(ch[i + 1], ch[i], 4, 2, 1, 0, true, 1, gen));
    up->add(std::make_shared<ResBlock>(2 * ch[i], ch[i], d, g, gen));
  }
  norm_out = register_module("norm_out", std::make_shared<GroupNorm>(g, ch[0]));
  conv_out = register_module("conv_out", std::make_shared<Conv2d>(ch[0], options.image.channels, 3, 1, 1, 1, true, gen));
}

Variable UNet::forward(const Variable& x, const Variable& t) { return forward(x, t, Tensor()); }

Variable UNet::forward(const Variable& x_in, const Variable& t, const Tensor& labels) {
  const Variable x = as_images(x_in, options.image, *this);
  if (t.shape() != Shape{x.size(0)})
    throw std::invalid_argument(fmt::format("{}: expected steps t [{}], got {}", describe(), x.size(0),
                                            shape_str(t.shape())));
  const int64_t levels = static_cast<int64_t>(options.channels.size());
  Variable temb = (*time_mlp)(Variable(timestep_embedding(t.data(), options.time_dim)));  // [B, d]
  if (labels.defined() && !label_emb)
    throw std::invalid_argument(fmt::format("{}: labels given to an unconditional U-Net", describe()));
  if (label_emb) {  // + the class's embedding, "no label" when none is given
    const Tensor c = labels.defined() ? labels : Tensor::full({x.size(0)}, static_cast<float>(options.num_classes));
    if (c.shape() != Shape{x.size(0)})
      throw std::invalid_argument(fmt::format("{}: expected labels [{}], got {}", describe(), x.size(0),
                                              shape_str(c.shape())));
    temb = temb + (*label_emb)(Variable(c));
  }
  Variable h = (*conv_in)(x);                                                                   // [B, c0, H, W]
  std::vector<Variable> skips;
  for (int64_t i = 0; i < levels; ++i) {
    h = (*(*down)[i])(h, temb);  // [B, c_i, H / 2^i, W / 2^i]
    skips.push_back(h);
    if (i + 1 < levels) h = (*(*downsample)[i])(h);  // stride 2: [B, c_i, H / 2^(i+1), W / 2^(i+1)]
  }
  h = (*mid)(h, temb);
  for (int64_t j = 0; j < levels; ++j) {  // level i = levels - 1 - j, deepest first
    if (j > 0) h = (*(*upsample)[j - 1])(h);                      // [B, c_i, 2 H', 2 W']
    h = (*(*up)[j])(concat({h, skips[levels - 1 - j]}, 1), temb);  // skip concatenated: 2 c_i in, c_i out
  }
  return (*conv_out)(silu((*norm_out)(h)));  // [B, C, H, W]
}

std::string UNet::describe() const {
  std::string ch;
  for (int64_t c : options.channels) ch += (ch.empty() ? "" : ",") + std::to_string(c);
  return fmt::format("UNet(channels=({}), time_dim={}, groups={}, image={}{})", ch, options.time_dim, options.groups,
                     options.image.str(),
                     options.num_classes > 0 ? fmt::format(", {} classes", options.num_classes) : std::string());
}

// -------------------------------------------------------------------------------------------- the model

std::string objective_name(Objective o) { return o == Objective::Epsilon ? "eps" : "v"; }

Objective objective_from_name(const std::string& name) {
  if (name == "eps") return Objective::Epsilon;
  if (name == "v") return Objective::V;
  throw std::invalid_argument("diffusion: unknown objective '" + name + "', expected eps or v");
}

std::string sampler_name(Sampler s) { return s == Sampler::DDPM ? "ddpm" : "ddim"; }

Sampler sampler_from_name(const std::string& name) {
  if (name == "ddpm") return Sampler::DDPM;
  if (name == "ddim") return Sampler::DDIM;
  throw std::invalid_argument("diffusion: unknown sampler '" + name + "', expected ddpm or ddim");
}

void check_sampler(const SamplerOptions& o, int64_t T, int64_t num_classes) {
  if (num_classes == 0 && (o.guidance != 0 || o.label >= 0))
    throw std::invalid_argument("diffusion: guidance and classes need a class-conditional model; this one is "
                                "unconditional");
  if (o.label < -1 || o.label >= num_classes)
    throw std::invalid_argument(fmt::format("diffusion: the class must be in [0, {}), got {}", num_classes, o.label));
  if (!(o.guidance >= 0 && o.guidance <= 100))
    throw std::invalid_argument(fmt::format("diffusion: the guidance weight must be in [0, 100], got {}", o.guidance));
  if (o.steps < 1 || o.steps > T)
    throw std::invalid_argument(fmt::format("diffusion: the sampler's steps must be in [1, T = {}], got {}", T, o.steps));
  if (!(o.eta >= 0.0 && o.eta <= 1.0))
    throw std::invalid_argument(fmt::format("diffusion: DDIM's eta must be in [0, 1], got {}", o.eta));
  if (o.keep_every < 0)
    throw std::invalid_argument(fmt::format("diffusion: keep_every must be >= 0, got {}", o.keep_every));
}

std::map<std::string, std::string> DiffusionOptions::to_metadata() const {
  std::string ch;
  for (int64_t c : unet.channels) ch += (ch.empty() ? "" : ",") + std::to_string(c);
  std::map<std::string, std::string> m = {{"trained_by", "hundun train diffusion"},
                                          {"model", "diffusion"},
                                          {"arch", "unet"},
                                          {"channels", ch},
                                          {"time_dim", std::to_string(unet.time_dim)},
                                          {"groups", std::to_string(unet.groups)},
                                          {"schedule", schedule_name(schedule)},
                                          {"T", std::to_string(T)},
                                          {"objective", objective_name(objective)},
                                          {"num_classes", std::to_string(unet.num_classes)},
                                          {"min_snr_gamma", fmt::format("{}", min_snr_gamma)},
                                          {"ema_decay", fmt::format("{}", ema_decay)},
                                          {"ema_warmup", ema_warmup ? "1" : "0"}};
  add_image_shape(unet.image, m);
  return m;
}

DiffusionOptions DiffusionOptions::from_metadata(const Metadata& m) {
  DiffusionOptions o;
  m.choice("arch", {"unet"});
  o.unet.channels = m.integers("channels");
  if (o.unet.channels.empty() || o.unet.channels.size() > 5)
    throw std::runtime_error(fmt::format("{}: metadata 'channels' should list 1 to 5 levels, got '{}'", m.path(),
                                         m.text("channels")));
  for (int64_t c : o.unet.channels)
    if (c < 1 || c > 1024)
      throw std::runtime_error(fmt::format("{}: metadata 'channels' should be in [1, 1024], got '{}'", m.path(),
                                           m.text("channels")));
  o.unet.time_dim = m.integer("time_dim", 2, 4096);
  o.unet.groups = m.integer("groups", 1, 1024);
  o.schedule = schedule_from_name(m.choice("schedule", {"linear", "cosine"}));
  o.T = m.integer("T", 1, 10000);
  o.objective = objective_from_name(m.choice("objective", {"eps", "v"}));
  if (m.has("min_snr_gamma")) o.min_snr_gamma = m.number("min_snr_gamma");
  if (m.has("num_classes")) o.unet.num_classes = m.integer("num_classes", 0, 1000);
  if (m.has("ema_decay")) o.ema_decay = static_cast<float>(m.number("ema_decay"));
  o.ema_warmup = !m.has("ema_warmup") || m.integer("ema_warmup", 0, 1) == 1;
  o.unet.image = image_shape_from(m);
  const int64_t c0 = o.unet.channels[0], cl = o.unet.channels.back(), d = o.unet.time_dim, C = o.unet.image.channels;
  m.expect_shape("unet.time_mlp.0.weight", {d, d});     // pins time_dim
  m.expect_shape("unet.conv_in.weight", {c0, C, 3, 3});  // pins C and the first level
  m.expect_shape("unet.mid.conv1.weight", {cl, cl, 3, 3});
  if (o.unet.num_classes > 0) m.expect_shape("unet.label_emb.weight", {o.unet.num_classes + 1, d});
  for (size_t i = 0; i < o.unet.channels.size(); ++i) {  // pins every level
    const int64_t ci = o.unet.channels[i];
    m.expect_shape(fmt::format("unet.down.{}.conv2.weight", i), {ci, ci, 3, 3});
  }
  try {
    check_unet_options(o.unet);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(fmt::format("{}: {}", m.path(), e.what()));
  }
  return o;
}

DiffusionModel::DiffusionModel(DiffusionOptions opts, Generator& gen)
    : options(std::move(opts)), schedule(NoiseSchedule::make(options.schedule, options.T)) {
  if (!(options.min_snr_gamma >= 0))
    throw std::invalid_argument(fmt::format("diffusion: min_snr_gamma must be >= 0, got {}", options.min_snr_gamma));
  sampling.steps = std::min<int64_t>(sampling.steps, options.T);
  unet = register_module("unet", std::make_shared<UNet>(options.unet, gen));
}

std::string DiffusionModel::describe() const {
  // (register_module calls describe() before unet is set)
  return fmt::format("DDPM({}, {} schedule, T={}, objective={})", unet ? unet->describe() : "UNet", schedule_name(options.schedule),
                     options.T, objective_name(options.objective));
}

DiffusionModel::Prediction DiffusionModel::predict(const Tensor& x_t, int64_t t, const Tensor& labels, double guidance) {
  NoGradGuard no_grad;
  const double abar = schedule.alpha_bar[t];
  const float a = static_cast<float>(std::sqrt(abar)), s = static_cast<float>(std::sqrt(1.0 - abar));
  const Variable x(x_t), steps(Tensor::full({x_t.size(0)}, static_cast<float>(t)));
  Variable out = unet->forward(x, steps, labels);
  if (guidance > 0) {  // eps = (1 + w) eps(x_t, c) - w eps(x_t) (Ho & Salimans, eq. 6); v the same, it is linear
    const auto w = static_cast<float>(guidance);
    out = (1.f + w) * out - w * unet->forward(x, steps, Tensor());
  }
  if (options.objective == Objective::Epsilon)
    return {out.data(), ((x - s * out) * (1.f / a)).data()};  // x0_hat = (x_t - sqrt(1 - abar) eps_hat) / sqrt(abar)
  // v = sqrt(abar) eps - sqrt(1 - abar) x_0 and x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps give
  return {(s * x + a * out).data(),   // eps_hat = sqrt(1 - abar) x_t + sqrt(abar) v_hat
          (a * x - s * out).data()};  // x0_hat  = sqrt(abar) x_t - sqrt(1 - abar) v_hat
}

Variable DiffusionModel::loss(const Tensor& x0, const Tensor& t, const Tensor& noise, Tensor* per_image_error_out,
                              const Tensor& labels) {
  const Tensor x_t = q_sample(schedule, x0, t, noise);  // x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps
  Tensor target = noise;                                // eps objective: eps_theta(x_t, t) ~ eps
  if (options.objective == Objective::V) {
    NoGradGuard no_grad;  // v = sqrt(abar_t) eps - sqrt(1 - abar_t) x_0
    target = (Variable(per_image(schedule.alpha_bar, t, sqrt_of)) * Variable(noise) -
              Variable(per_image(schedule.alpha_bar, t, sqrt_one_minus)) * Variable(x0))
                 .data();
  }
  const Variable prediction = unet->forward(Variable(x_t), Variable(t), labels);
  const Variable per_image_error = mean(square(prediction - Variable(target)), {1, 2, 3});  // [B]
  if (per_image_error_out) *per_image_error_out = per_image_error.data().clone();
  if (options.min_snr_gamma <= 0) return mean(per_image_error);                           // L_simple, eq. 14
  // Min-SNR-gamma (Hang et al. 2023): w_t = min(SNR_t, gamma) / SNR_t for eps, / (SNR_t + 1) for v
  Tensor w({t.numel()});
  for (int64_t b = 0; b < t.numel(); ++b) {
    const double snr = schedule.snr(static_cast<int64_t>(t.data()[b]));
    const double clipped = std::min(snr, options.min_snr_gamma);
    w.data()[b] = static_cast<float>(options.objective == Objective::Epsilon ? clipped / snr : clipped / (snr + 1));
  }
  return mean(Variable(w) * per_image_error);
}

std::vector<int64_t> ddim_timesteps(int64_t T, int64_t steps) {
  check_sampler(SamplerOptions{Sampler::DDIM, steps, 0.0, 0}, T);
  std::vector<int64_t> tau;
  for (int64_t i = 0; i < steps; ++i) tau.push_back((i + 1) * T / steps - 1);  // tau_i, evenly spaced, ends at T - 1
  return tau;
}

static void keep(Trajectory* trajectory, int64_t every, int64_t done, int64_t t, const Tensor& x) {
  if (trajectory && every > 0 && (done % every == 0 || t < 0)) {
    trajectory->t.push_back(t);
    trajectory->x.push_back(x.clone());
  }
}

Tensor ddpm_sample(DiffusionModel& model, const Tensor& x_T, Generator& gen, int64_t keep_every, Trajectory* trajectory,
                   const Tensor& labels, double guidance) {
  NoGradGuard no_grad;
  const NoiseSchedule& s = model.schedule;
  Variable x(x_T.clone());  // x_T ~ N(0, I)
  keep(trajectory, keep_every, 0, s.T - 1, x.data());
  for (int64_t t = s.T - 1; t >= 0; --t) {  // for t = T, ..., 1 (Algorithm 2)
    const Variable eps(model.predict(x.data(), t, labels, guidance).eps);            // eps_theta(x_t, t)
    const auto c1 = static_cast<float>(1.0 / std::sqrt(s.alpha[t]));                 // 1 / sqrt(alpha_t)
    const auto c2 = static_cast<float>(s.beta[t] / std::sqrt(1.0 - s.alpha_bar[t]));  // (1 - alpha_t) / sqrt(1 - abar_t)
    x = c1 * (x - c2 * eps);                                                          // the mean mu_theta (eq. 11)
    if (t > 0) x = x + static_cast<float>(std::sqrt(s.beta[t])) * Variable(randn(x_T.shape(), gen));  // + sigma_t z, sigma_t^2 = beta_t
    keep(trajectory, keep_every, s.T - t, t - 1, x.data());
  }
  return x.data();
}

Tensor ddim_sample(DiffusionModel& model, const Tensor& x_T, int64_t steps, double eta, Generator& gen,
                   int64_t keep_every, Trajectory* trajectory, const Tensor& labels, double guidance) {
  check_sampler(SamplerOptions{Sampler::DDIM, steps, eta, keep_every}, model.options.T);
  NoGradGuard no_grad;
  const NoiseSchedule& s = model.schedule;
  const std::vector<int64_t> tau = ddim_timesteps(s.T, steps);
  Variable x(x_T.clone());
  keep(trajectory, keep_every, 0, tau.back(), x.data());
  for (int64_t i = steps - 1; i >= 0; --i) {
    const int64_t t = tau[i], t_prev = i > 0 ? tau[i - 1] : -1;
    const double abar = s.alpha_bar[t], abar_prev = t_prev >= 0 ? s.alpha_bar[t_prev] : 1.0;  // abar_{-1} = 1: x_0
    const DiffusionModel::Prediction p = model.predict(x.data(), t, labels, guidance);  // eps_hat, x0_hat (eq. 9)
    // sigma_t(eta) = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev)   (eq. 16)
    const double sigma = eta * std::sqrt((1 - abar_prev) / (1 - abar)) * std::sqrt(1 - abar / abar_prev);
    // x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps_hat + sigma z   (eq. 12)
    x = static_cast<float>(std::sqrt(abar_prev)) * Variable(p.x0) +
        static_cast<float>(std::sqrt(std::max(0.0, 1 - abar_prev - sigma * sigma))) * Variable(p.eps);
    if (sigma > 0) x = x + static_cast<float>(sigma) * Variable(randn(x_T.shape(), gen));
    keep(trajectory, keep_every, steps - i, t_prev, x.data());
  }
  return x.data();
}

Tensor DiffusionModel::generate(const Tensor& x_T, const SamplerOptions& o, Generator& gen, Trajectory* trajectory) {
  check_sampler(o, options.T, options.unet.num_classes);
  Tensor labels;  // a conditional model's class per image: the one asked for, or the classes in turn
  if (conditional()) {
    labels = Tensor({x_T.size(0)});
    for (int64_t b = 0; b < x_T.size(0); ++b)
      labels.data()[b] = static_cast<float>(o.label >= 0 ? o.label : b % options.unet.num_classes);
  }
  const Tensor x0 = o.sampler == Sampler::DDPM
                        ? ddpm_sample(*this, x_T, gen, o.keep_every, trajectory, labels, o.guidance)
                        : ddim_sample(*this, x_T, o.steps, o.eta, gen, o.keep_every, trajectory, labels, o.guidance);
  NoGradGuard no_grad;
  return clamp(Variable(x0), -1.f, 1.f).data();
}

Tensor DiffusionModel::sample(int64_t n, Generator& gen) {
  const Tensor x_T = randn(options.unet.image.batch(n), gen);  // x_T ~ N(0, I)
  return from_minus_one_one(generate(x_T, sampling, gen));
}

Tensor DiffusionModel::sample_class(int64_t n, int64_t label, Generator& gen) {
  if (options.unet.num_classes == 0)
    throw std::invalid_argument(describe() + " is unconditional: it cannot be asked for a class");
  if (label < 0 || label >= options.unet.num_classes)
    throw std::invalid_argument(fmt::format("diffusion: class {} is outside 0..{}", label, options.unet.num_classes - 1));
  sampling.label = label;
  return sample(n, gen);
}

// ------------------------------------------------------------------------------------------- Algorithm 1

StepResult train_step(DiffusionModel& model, Adam& adam, EMA& ema, const Tensor& x0, Generator& gen,
                      const Tensor& labels) {
  const int64_t B = x0.size(0);
  if (model.conditional() != labels.defined())
    throw std::invalid_argument(fmt::format("diffusion: train_step: {} model {}", model.conditional() ? "a conditional" : "an unconditional",
                                            model.conditional() ? "needs labels" : "takes no labels"));
  const Tensor t = randint(0, model.options.T, {B}, gen);  // t ~ Uniform({1, ..., T})
  const Tensor noise = randn(x0.shape(), gen);              // eps ~ N(0, I)
  Tensor c;
  if (model.conditional()) {  // c, or "no label" with probability p_uncond (Ho & Salimans, Algorithm 1)
    c = labels.clone();
    const Tensor u = rand({B}, gen);
    for (int64_t b = 0; b < B; ++b)
      if (u.data()[b] < model.options.label_dropout) c.data()[b] = static_cast<float>(model.options.unet.num_classes);
  }
  adam.zero_grad();
  Tensor per_image;
  const Variable loss = model.loss(x0, t, noise, &per_image, c);  // || eps - eps_theta(sqrt(abar) x_0 + sqrt(1 - abar) eps, t) ||^2
  loss.backward();
  adam.step();                                              // take a gradient descent step
  const auto k = static_cast<double>(adam.steps_taken());
  const float decay = model.options.ema_warmup ? std::min(model.options.ema_decay, static_cast<float>((1 + k) / (10 + k)))
                                               : model.options.ema_decay;
  ema.update(model, decay);                                 // shadow = decay shadow + (1 - decay) theta
  StepResult r;
  r.loss = loss.item();
  for (int64_t b = 0; b < B; ++b) {
    r.t.push_back(static_cast<int64_t>(t.data()[b]));
    r.per_image_loss.push_back(per_image.data()[b]);
  }
  return r;
}

std::shared_ptr<DiffusionModel> load_diffusion(const std::string& path) {
  auto model = std::make_shared<DiffusionModel>(DiffusionOptions::from_metadata(read_model_metadata(path, "diffusion")));
  EMA ema(*model, model->options.ema_decay);
  CheckpointParts parts;  // the network and its EMA; not the optimizer
  parts.modules = {{"", model.get()}};
  parts.emas = {{"", &ema}};
  load_checkpoint(path, parts);
  ema.copy_to(*model);  // sampling uses the averaged weights
  model->eval();
  return model;
}

}  // namespace hd::diffusion
