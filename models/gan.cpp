#include "models/gan.h"

#include <fmt/format.h>

#include <stdexcept>

#include "autograd/activation.h"
#include "autograd/elementwise.h"
#include "autograd/loss.h"
#include "autograd/reduction.h"
#include "autograd/shape.h"
#include "data/loader.h"
#include "nn/checkpoint.h"
#include "tensor/random.h"

namespace hd::gan {

std::string loss_name(GanLoss loss) {
  switch (loss) {
    case GanLoss::Minimax: return "minimax";
    case GanLoss::NonSaturating: return "ns";
    case GanLoss::LeastSquares: return "lsgan";
    case GanLoss::Hinge: return "hinge";
    case GanLoss::WassersteinGP: return "wgan-gp";
  }
  return "?";
}

GanLoss loss_from_name(const std::string& name) {
  for (GanLoss l : {GanLoss::Minimax, GanLoss::NonSaturating, GanLoss::LeastSquares, GanLoss::Hinge,
                    GanLoss::WassersteinGP})
    if (loss_name(l) == name) return l;
  throw std::invalid_argument("gan: unknown loss '" + name + "', expected one of ns, minimax, lsgan, hinge, wgan-gp");
}

// --- options <-> checkpoint metadata ---

std::map<std::string, std::string> GanOptions::to_metadata() const {
  std::map<std::string, std::string> m = {{"trained_by", "hundun train gan"},
                                          {"model", "gan"},
                                          {"arch", "dcgan"},
                                          {"latent_dim", std::to_string(latent_dim)},
                                          {"features", std::to_string(features)},
                                          {"loss", loss_name(loss)}};
  add_image_shape(image, m);
  return m;
}

GanOptions GanOptions::from_metadata(const Metadata& m) {
  GanOptions o;
  m.choice("arch", {"dcgan"});
  o.latent_dim = m.integer("latent_dim", 1, 4096);
  o.features = m.integer("features", 1, 1024);
  o.loss = loss_from_name(m.choice("loss", {"minimax", "ns", "lsgan", "hinge", "wgan-gp"}));
  o.image = image_shape_from(m);
  if (o.image.height % 4 != 0 || o.image.width % 4 != 0)
    throw std::runtime_error(fmt::format("{}: metadata 'image_shape' {}: the DCGAN needs a height and width that are "
                                         "multiples of 4 (two stride-2 layers)",
                                         m.path(), o.image.str()));
  const int64_t s = (o.image.height / 4) * (o.image.width / 4);
  m.expect_shape("generator.fc.weight", {2 * o.features * s, o.latent_dim});   // pins latent_dim
  m.expect_shape("generator.up2.weight", {o.features, o.image.channels, 4, 4});  // pins features and C
  m.expect_shape("discriminator.fc.weight", {1, 2 * o.features * s});            // pins H/4 * W/4
  return o;
}

static void check_options(const GanOptions& o) {
  if (o.latent_dim <= 0 || o.features <= 0)
    throw std::invalid_argument(fmt::format("gan: latent_dim and features must be positive, got {} and {}",
                                            o.latent_dim, o.features));
  if (o.image.height < 4 || o.image.width < 4 || o.image.height % 4 != 0 || o.image.width % 4 != 0)
    throw std::invalid_argument(fmt::format("gan: the DCGAN needs images whose height and width are multiples of 4 "
                                            "(two stride-2 layers), got {}",
                                            o.image.str()));
}

// --- G: z -> image ---

GeneratorNet::GeneratorNet(const GanOptions& opts, Generator& rng) : options(opts) {
  check_options(options);
  const int64_t f = options.features, s = (options.image.height / 4) * (options.image.width / 4);
  fc = register_module("fc", std::make_shared<Linear>(options.latent_dim, 2 * f * s, rng));
  bn0 = register_module("bn0", std::make_shared<BatchNorm2d>(2 * f));
  up1 = register_module("up1", std::make_shared<ConvTranspose2d>(2 * f, f, 4, 2, 1, 0, true, 1, rng));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(f));
  up2 = register_module("up2", std::make_shared<ConvTranspose2d>(f, options.image.channels, 4, 2, 1, 0, true, 1, rng));
}

Variable GeneratorNet::forward(const Variable& z) {
  check_latents(z, options.latent_dim, *this);
  const int64_t f = options.features, h = options.image.height / 4, w = options.image.width / 4;
  Variable x = reshape((*fc)(z), {z.size(0), 2 * f, h, w});  // [B, 2f, H/4, W/4]
  x = relu((*bn0)(x));
  x = relu((*bn1)((*up1)(x)));                               // [B, f, H/2, W/2]
  return tanh((*up2)(x));                                    // [B, C, H, W] in [-1, 1]
}

std::string GeneratorNet::describe() const {
  return fmt::format("gan::GeneratorNet(latent_dim={}, features={}, image={})", options.latent_dim, options.features,
                     options.image.str());
}

// --- D: image -> logit ---

Discriminator::Discriminator(const GanOptions& opts, Generator& rng) : options(opts) {
  check_options(options);
  const int64_t f = options.features, s = (options.image.height / 4) * (options.image.width / 4);
  conv1 = register_module("conv1", std::make_shared<Conv2d>(options.image.channels, f, 4, 2, 1, 1, true, rng));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(f, 2 * f, 4, 2, 1, 1, true, rng));
  if (options.loss != GanLoss::WassersteinGP) bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(2 * f));
  fc = register_module("fc", std::make_shared<Linear>(2 * f * s, 1, rng));
}

Variable Discriminator::forward(const Variable& images) {
  Variable x = as_images(images, options.image, *this);
  x = leaky_relu((*conv1)(x), 0.2f);  // [B, f, H/2, W/2]
  x = (*conv2)(x);                    // [B, 2f, H/4, W/4]
  if (bn2) x = (*bn2)(x);
  x = leaky_relu(x, 0.2f);
  return (*fc)(flatten(x, 1));        // [B, 1]: a logit (WGAN-GP: the critic's score)
}

std::string Discriminator::describe() const {
  return fmt::format("gan::Discriminator(features={}, image={}{})", options.features, options.image.str(),
                     bn2 ? "" : ", no BatchNorm (WGAN-GP critic)");
}

// --- the pair ---

GAN::GAN(GanOptions opts, Generator& rng) : options(opts) {
  // G first, then D: the order bench/torch/dcgan.py builds them in, so the same seed draws the same weights.
  generator = register_module("generator", std::make_shared<GeneratorNet>(options, rng));
  discriminator = register_module("discriminator", std::make_shared<Discriminator>(options, rng));
}

Tensor GAN::decode_images(const Tensor& z) {
  NoGradGuard no_grad;
  return from_minus_one_one((*generator)(z).data());
}

std::string GAN::describe() const {
  return fmt::format("DCGAN(latent_dim={}, features={}, image={}, loss={})", options.latent_dim, options.features,
                     options.image.str(), loss_name(options.loss));
}

// --- Algorithm 1 ---

Variable gradient_penalty(Discriminator& critic, const Tensor& real, const Tensor& fake, const Tensor& eps,
                          float lambda) {
  Tensor x_hat_data;
  {
    NoGradGuard no_grad;
    const Variable e(eps);
    x_hat_data = (e * real + (1.f - e) * fake).data();  // x^ = eps x + (1 - eps) G(z), on the line between them
  }
  Variable x_hat(x_hat_data, /*requires_grad=*/true);
  // grad_x^ D(x^) per image: the critic has no BatchNorm, so image i's score depends on x^_i alone and the
  // gradient of the sum is each score's own gradient. create_graph: the penalty is differentiated again.
  BackwardOptions second_order;
  second_order.create_graph = true;
  const Variable g = grad(sum(critic(x_hat)), {x_hat}, Variable(), second_order)[0];  // [B, C, H, W]
  const Variable norm = sqrt(sum(square(g), {1, 2, 3}) + 1e-12f);                  // ||grad||_2 per image: [B]
  return lambda * mean(square(norm - 1.f));                                         // lambda E[(||grad|| - 1)^2]
}

Variable discriminator_loss(GanLoss loss, const Variable& d_real, const Variable& d_fake) {
  const Variable ones(Tensor::ones(d_real.shape())), zeros(Tensor::zeros(d_fake.shape()));
  switch (loss) {
    case GanLoss::Minimax:
    case GanLoss::NonSaturating:  // -E[log D(x)] - E[log(1 - D(G(z)))], D(.) = sigmoid(logit)
      return binary_cross_entropy_with_logits(d_real, ones) + binary_cross_entropy_with_logits(d_fake, zeros);
    case GanLoss::LeastSquares:  // 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]
      return 0.5f * mean(square(d_real - 1.f)) + 0.5f * mean(square(d_fake));
    case GanLoss::Hinge:  // E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]
      return mean(relu(1.f - d_real)) + mean(relu(1.f + d_fake));
    case GanLoss::WassersteinGP:  // E[D(G(z))] - E[D(x)]: minus the critic's estimate of W_1 (the penalty apart)
      return mean(d_fake) - mean(d_real);
  }
  throw std::logic_error("discriminator_loss: unknown loss");
}

Variable generator_loss(GanLoss loss, const Variable& d_fake) {
  const Variable ones(Tensor::ones(d_fake.shape())), zeros(Tensor::zeros(d_fake.shape()));
  switch (loss) {
    case GanLoss::Minimax:  // E[log(1 - D(G(z)))]: flat (no gradient) while D rejects the fakes
      return -binary_cross_entropy_with_logits(d_fake, zeros);
    case GanLoss::NonSaturating:  // -E[log D(G(z))]
      return binary_cross_entropy_with_logits(d_fake, ones);
    case GanLoss::LeastSquares:  // 1/2 E[(D(G(z)) - 1)^2]
      return 0.5f * mean(square(d_fake - 1.f));
    case GanLoss::Hinge:
    case GanLoss::WassersteinGP:  // -E[D(G(z))]
      return -mean(d_fake);
  }
  throw std::logic_error("generator_loss: unknown loss");
}

double descend(Adam& optimizer, const Variable& loss) {
  optimizer.zero_grad();
  loss.backward();
  optimizer.step();
  return loss.item();
}

AdversarialLosses train_step(GAN& gan, Adam& adam_d, Adam& adam_g, const Tensor& real, Generator& rng) {
  GeneratorNet& G = *gan.generator;
  Discriminator& D = *gan.discriminator;
  const GanLoss loss = gan.options.loss;
  const Variable x = as_images(real, gan.options.image, gan);  // x ~ data, [B, C, H, W] in [-1, 1]
  const int64_t batch = x.size(0);
  // WGAN-GP: the generator steps after every n_critic-th critic step (Gulrajani et al., Algorithm 1).
  const bool generator_steps = (adam_d.steps_taken() + 1) % gan.options.n_critic() == 0;
  AdversarialLosses out;

  // --- discriminator step: D learns to tell x from G(z), z ~ N(0, I); G(z) is held fixed ---
  const Tensor z = randn({batch, gan.options.latent_dim}, rng);
  Variable fake;
  {
    GradModeGuard graph_only_if_g_steps(generator_steps);  // a critic-only step never backpropagates into G
    fake = G(z);
  }
  const Variable d_real = D(x), d_fake = D(fake.detach());
  Variable loss_d = discriminator_loss(loss, d_real, d_fake);
  if (loss == GanLoss::WassersteinGP) {  // + lambda E[(||grad D(x^)||_2 - 1)^2], x^ = eps x + (1 - eps) G(z)
    const Tensor eps = rand({batch, 1, 1, 1}, rng);  // eps ~ U[0, 1] per image
    loss_d = loss_d + gradient_penalty(D, x.data(), fake.data(), eps, gan.options.gp_lambda);
  }
  out.discriminator = descend(adam_d, loss_d);
  out.d_real = mean(d_real.detach()).item();
  out.d_fake = mean(d_fake.detach()).item();
  if (!generator_steps) {
    out.generator = -out.d_fake;  // the critic's -E[D(G(z))] before its step: what G would minimise
    return out;
  }

  // --- generator step: G learns to fool the updated D; only G's weights change ---
  const Variable loss_g = generator_loss(loss, D(fake));
  out.generator = descend(adam_g, loss_g);
  out.generator_stepped = true;
  return out;
}

std::shared_ptr<GAN> load_gan(const std::string& path) {
  auto model = std::make_shared<GAN>(GanOptions::from_metadata(read_model_metadata(path, "gan")));
  CheckpointParts parts;  // the two named networks of a training checkpoint; not the optimizers
  parts.modules = {{"generator", model->generator.get()}, {"discriminator", model->discriminator.get()}};
  load_checkpoint(path, parts);
  model->eval();
  return model;
}

}  // namespace hd::gan
