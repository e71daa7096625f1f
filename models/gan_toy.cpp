#include "models/gan_toy.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>

#include "autograd/activation.h"
#include "autograd/reduction.h"
#include "autograd/shape.h"

namespace hd::gan {

// --- the mixtures ---

ToyMixture ring_mixture() {
  ToyMixture m{"ring", {}, 0.01};
  for (int k = 0; k < 8; ++k) {
    const double angle = 2 * std::numbers::pi * k / 8;
    m.means.push_back({std::cos(angle), std::sin(angle)});
  }
  return m;
}

ToyMixture grid_mixture() {
  ToyMixture m{"grid", {}, 0.05};
  for (int i = -2; i <= 2; ++i)
    for (int j = -2; j <= 2; ++j) m.means.push_back({2.0 * i, 2.0 * j});
  return m;
}

ToyMixture toy_mixture(const std::string& name) {
  if (name == "ring") return ring_mixture();
  if (name == "grid") return grid_mixture();
  throw std::invalid_argument("gan: unknown toy mixture '" + name + "', expected ring or grid");
}

Tensor sample_mixture(const ToyMixture& mixture, int64_t n, Generator& rng) {
  if (n < 0 || mixture.means.empty())
    throw std::invalid_argument(fmt::format("sample_mixture: need n >= 0 and at least one mode, got n = {}, {} modes",
                                            n, mixture.means.size()));
  std::vector<int64_t> mode(static_cast<size_t>(n));
  rng.fill_randint(mode.data(), n, 0, static_cast<int64_t>(mixture.means.size()));  // k ~ U{0..K-1}
  Tensor x = normal({n, 2}, 0.0, mixture.std, rng);                                   // N(0, std^2 I)
  for (int64_t i = 0; i < n; ++i) {
    x.data()[2 * i] += static_cast<float>(mixture.means[mode[i]].first);
    x.data()[2 * i + 1] += static_cast<float>(mixture.means[mode[i]].second);
  }
  return x;
}

// --- the metrics (VEEGAN section 5.1, PacGAN Table 1) ---

ModeMetrics mode_metrics(const ToyMixture& mixture, const Tensor& samples) {
  if (samples.dim() != 2 || samples.size(1) != 2)
    throw std::invalid_argument("mode_metrics: samples must be [N, 2], got " + shape_str(samples.shape()));
  const int64_t K = static_cast<int64_t>(mixture.means.size()), n = samples.size(0);
  ModeMetrics m;
  m.modes = K;
  m.counts.assign(static_cast<size_t>(K), 0);
  const Tensor& x = samples;
  int64_t good = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double px = x.data()[2 * i], py = x.data()[2 * i + 1];
    int64_t nearest = 0;
    double best = std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < K; ++k) {
      const double dx = px - mixture.means[k].first, dy = py - mixture.means[k].second, d = dx * dx + dy * dy;
      if (d < best) best = d, nearest = k;
    }
    if (std::sqrt(best) < 3 * mixture.std) ++m.counts[nearest], ++good;  // high quality: within 3 std
  }
  for (int64_t c : m.counts) m.modes_covered += c > 0;
  m.high_quality = n > 0 ? static_cast<double>(good) / static_cast<double>(n) : 0.0;
  if (good == 0) {
    m.reverse_kl = std::numeric_limits<double>::infinity();
    return m;
  }
  for (int64_t c : m.counts) {  // KL(p || u) = sum_k p_k log(p_k / (1/K)), empty modes adding 0
    const double p = static_cast<double>(c) / static_cast<double>(good);
    if (p > 0) m.reverse_kl += p * std::log(p * static_cast<double>(K));
  }
  return m;
}

// --- the networks ---

Maxout::Maxout(int64_t in, int64_t out, int64_t k, Generator& rng) : in_features(in), out_features(out), pieces(k) {
  linear = register_module("linear", std::make_shared<Linear>(in, out * k, rng));
}

Variable Maxout::forward(const Variable& x) {
  // Piece i of every unit in one block of `out` columns: the max then runs over whole rows of a [B, k, out]
  // view, which the broadcasting kernels (max's backward compares x with its max) walk in long contiguous runs.
  const Variable pieces_of_units = reshape((*linear)(x), {x.size(0), pieces, out_features});  // [B, k, out]
  return max(pieces_of_units, {1});                                                           // [B, out]
}

std::string Maxout::describe() const {
  return fmt::format("Maxout({} -> {}, pieces={})", in_features, out_features, pieces);
}

ToyGenerator::ToyGenerator(const ToyGanOptions& o, Generator& rng) {
  hidden = register_module("hidden", std::make_shared<Sequential>());
  int64_t width = o.latent_dim;
  for (int64_t l = 0; l < o.g_layers; ++l) {  // no bias: the BatchNorm after it has its own
    hidden->add(std::make_shared<Linear>(width, o.g_hidden, /*bias=*/false, rng));
    hidden->add(std::make_shared<BatchNorm1d>(o.g_hidden));
    hidden->add(std::make_shared<ReLU>());
    width = o.g_hidden;
  }
  out = register_module("out", std::make_shared<Linear>(width, 2, rng));
}

Variable ToyGenerator::forward(const Variable& z) { return (*out)((*hidden)(z)); }  // [B, 2], unbounded

std::string ToyGenerator::describe() const { return "gan::ToyGenerator (PacGAN's MLP)"; }

ToyDiscriminator::ToyDiscriminator(const ToyGanOptions& o, Generator& rng) {
  hidden = register_module("hidden", std::make_shared<Sequential>());
  int64_t width = 2 * o.pack;  // m samples side by side
  for (int64_t l = 0; l < o.d_layers - (o.minibatch_std ? 1 : 0); ++l) {
    hidden->add(std::make_shared<Maxout>(width, o.d_hidden, o.maxout_pieces, rng));
    width = o.d_hidden;
  }
  // Karras et al. 2018, section 3: the feature goes in near D's end, so the layers after it can weigh a batch's
  // lack of variety against what each sample looks like; here one maxout layer and the output follow it.
  if (o.minibatch_std)
    last = register_module("last", std::make_shared<Maxout>(width + 1, o.d_hidden, o.maxout_pieces, rng)),
    width = o.d_hidden;
  out = register_module("out", std::make_shared<Linear>(width, 1, rng));
}

Variable ToyDiscriminator::forward(const Variable& packed) {
  Variable h = (*hidden)(packed);                  // [B/m, d_hidden]
  if (last) h = (*last)(minibatch_std(h));         // [B/m, d_hidden + 1] -> [B/m, d_hidden]
  return (*out)(h);                                // [B/m, 1]
}

std::string ToyDiscriminator::describe() const { return "gan::ToyDiscriminator (PacGAN's maxout MLP)"; }

Variable pack(const Variable& samples, int64_t m) {
  const int64_t batch = samples.size(0), dim = samples.size(1);
  if (m < 1 || batch % m != 0)
    throw std::invalid_argument(fmt::format("--pack {} does not divide the batch of {} samples", m, batch));
  return reshape(samples, {batch / m, m * dim});
}

ToyGAN::ToyGAN(ToyGanOptions o, Generator& rng) : options(o) {
  if (options.pack < 1 || options.pack > 16)
    throw std::invalid_argument(fmt::format("--pack must be from 1 to 16, got {}", options.pack));
  if (options.loss == GanLoss::WassersteinGP)
    throw std::invalid_argument("gan: the 2-D toy GAN takes ns, minimax, lsgan or hinge, not wgan-gp");
  generator = register_module("generator", std::make_shared<ToyGenerator>(options, rng));
  discriminator = register_module("discriminator", std::make_shared<ToyDiscriminator>(options, rng));
}

Tensor ToyGAN::sample(int64_t n, Generator& rng) {
  NoGradGuard no_grad;
  const bool was_training = generator->is_training();
  generator->eval();
  Tensor x = (*generator)(randn({n, options.latent_dim}, rng)).data();
  generator->train(was_training);
  return x;
}

std::string ToyGAN::describe() const {
  return fmt::format("toy GAN (G 2 -> {}x{} -> 2, D {}x{} maxout({}) -> 1, pack {}{}, loss {})", options.g_layers,
                     options.g_hidden, options.d_layers, options.d_hidden, options.maxout_pieces, options.pack,
                     options.minibatch_std ? ", minibatch std" : "", loss_name(options.loss));
}

// --- Algorithm 1, with packing ---

AdversarialLosses train_step(ToyGAN& gan, Adam& adam_d, Adam& adam_g, const Tensor& real, Generator& rng) {
  ToyGenerator& G = *gan.generator;
  ToyDiscriminator& D = *gan.discriminator;
  const GanLoss loss = gan.options.loss;
  const int64_t m = gan.options.pack;
  const Variable x(real);  // x ~ data, [B, 2]
  AdversarialLosses out;

  // --- discriminator step: D judges packs of m real samples against packs of m fakes; G(z) held fixed ---
  const Variable fake = G(randn({x.size(0), gan.options.latent_dim}, rng));  // G(z), z ~ N(0, I): [B, 2]
  const Variable d_real = D(pack(x, m)), d_fake = D(pack(fake.detach(), m));  // [B/m, 1] each
  const Variable loss_d = discriminator_loss(loss, d_real, d_fake);          // models/gan.cpp's formulas
  out.discriminator = descend(adam_d, loss_d);
  out.d_real = mean(d_real.detach()).item();
  out.d_fake = mean(d_fake.detach()).item();

  // --- generator step: G learns to fool the updated D with its packs; only G's weights change ---
  const Variable loss_g = generator_loss(loss, D(pack(fake, m)));
  out.generator = descend(adam_g, loss_g);
  out.generator_stepped = true;
  return out;
}

// --- one run ---

ToyEvaluation train_toy_gan(const ToyMixture& mixture, const ToyGanOptions& options, const ToyTraining& training,
                            const std::function<void(int64_t, const AdversarialLosses&)>& on_step,
                            const std::function<void(const ToyEvaluation&)>& on_evaluation) {
  if (training.steps < 1 || training.every < 1 || training.batch % options.pack != 0 || !(training.decay >= 0) ||
      training.decay > 1)
    throw std::invalid_argument(fmt::format("train_toy_gan: need steps >= 1, every >= 1, a batch that pack {} "
                                            "divides and a decay share in [0, 1], got steps {}, every {}, batch {}, "
                                            "decay {}",
                                            options.pack, training.steps, training.every, training.batch,
                                            training.decay));
  Generator rng(training.seed);
  ToyGAN gan(options, rng);
  Adam adam_d(gan.discriminator->parameters(), training.lr_d, 0.8f, 0.999f);
  Adam adam_g(gan.generator->parameters(), training.lr, 0.8f, 0.999f);
  // Linear decay to 0 over the last decay * steps steps: the rate's factor at a step counted from 0.
  const double decay_start = (1 - training.decay) * static_cast<double>(training.steps);
  const auto rate_factor = [&](int64_t step) {
    const double s = static_cast<double>(step);
    return s < decay_start ? 1.0 : 1.0 - (s - decay_start) / (training.decay * static_cast<double>(training.steps));
  };
  Generator eval_rng(0);  // the same 2,500 z at every evaluation, so the frames show G moving, not z
  const Tensor eval_z = randn({kToyEvalSamples, options.latent_dim}, eval_rng);
  ToyEvaluation last;
  for (int64_t step = 0; step < training.steps; ++step) {
    adam_d.set_lr(static_cast<float>(training.lr_d * rate_factor(step)));
    adam_g.set_lr(static_cast<float>(training.lr * rate_factor(step)));
    const AdversarialLosses l = train_step(gan, adam_d, adam_g, sample_mixture(mixture, training.batch, rng), rng);
    if (!std::isfinite(l.discriminator) || !std::isfinite(l.generator))
      throw std::runtime_error(fmt::format("train gan --toy: a loss is not finite at step {} (D {}, G {})", step + 1,
                                           l.discriminator, l.generator));
    if (on_step) on_step(step, l);
    if ((step + 1) % training.every != 0 && step + 1 != training.steps) continue;
    NoGradGuard no_grad;
    gan.generator->eval();  // BatchNorm's running statistics, as a sampler uses them
    last.step = step + 1;
    last.samples = (*gan.generator)(Variable(eval_z)).data();
    gan.generator->train();
    last.metrics = mode_metrics(mixture, last.samples);
    last.losses = l;
    if (on_evaluation) on_evaluation(last);
  }
  return last;
}

}  // namespace hd::gan
