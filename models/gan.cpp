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
                                          {"loss", loss_name(loss)},
                                          {"num_classes", std::to_string(num_classes)},
                                          {"pack", std::to_string(pack)},
                                          {"minibatch_std", minibatch_std ? "1" : "0"},
                                          {"r1_gamma", fmt::format("{}", r1_gamma)}};
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
  // The switches came after the first checkpoints: a file without them is a plain DCGAN.
  if (m.has("num_classes")) o.num_classes = m.integer("num_classes", 0, 1000);
  if (m.has("pack")) o.pack = m.integer("pack", 1, 16);
  if (m.has("minibatch_std")) o.minibatch_std = m.choice("minibatch_std", {"0", "1"}) == "1";
  if (m.has("r1_gamma")) o.r1_gamma = static_cast<float>(m.number("r1_gamma"));
  if (o.num_classes > 0 && o.pack > 1)
    throw std::runtime_error(m.path() + ": metadata asks for a conditional GAN with pack > 1, which hundun does not build");
  if (o.image.height % 4 != 0 || o.image.width % 4 != 0)
    throw std::runtime_error(fmt::format("{}: metadata 'image_shape' {}: the DCGAN needs a height and width that are "
                                         "multiples of 4 (two stride-2 layers)",
                                         m.path(), o.image.str()));
  const int64_t s = (o.image.height / 4) * (o.image.width / 4);
  m.expect_shape("generator.fc.weight", {2 * o.features * s, o.latent_dim + o.num_classes});  // pins latent_dim, K
  m.expect_shape("generator.up2.weight", {o.features, o.image.channels, 4, 4});  // pins features and C
  m.expect_shape("discriminator.conv1.weight", {o.features, o.pack * o.image.channels + o.num_classes, 4, 4});
  m.expect_shape("discriminator.fc.weight", {1, (2 * o.features + (o.minibatch_std ? 1 : 0)) * s});  // H/4 * W/4
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
  if (o.num_classes < 0 || o.pack < 1 || (o.num_classes > 0 && o.pack > 1) || !(o.r1_gamma >= 0.f))
    throw std::invalid_argument(fmt::format("gan: expected num_classes >= 0, pack >= 1 (not both a conditional GAN and "
                                            "pack > 1) and r1_gamma >= 0, got {}, {} and {}",
                                            o.num_classes, o.pack, o.r1_gamma));
}

Tensor one_hot(const Tensor& labels, int64_t num_classes) {
  const int64_t n = labels.numel();
  Tensor out = Tensor::zeros({n, num_classes});
  for (int64_t i = 0; i < n; ++i) {
    const float y = labels.data()[i];
    if (!(y >= 0.f && y < static_cast<float>(num_classes)) || y != static_cast<float>(static_cast<int64_t>(y)))
      throw std::invalid_argument(fmt::format("gan: class label {} at position {} is not one of 0..{}", y, i,
                                              num_classes - 1));
    out.data()[i * num_classes + static_cast<int64_t>(y)] = 1.f;
  }
  return out;
}

// The conditional D's extra input: K planes of H x W per image, plane y(i) all ones, the others zero.
static Tensor label_planes(const Tensor& labels, int64_t num_classes, int64_t height, int64_t width) {
  const Tensor rows = one_hot(labels, num_classes);  // [B, K]
  Tensor planes({rows.size(0), num_classes, height, width});
  const int64_t hw = height * width;
  for (int64_t p = 0; p < rows.numel(); ++p)
    std::fill_n(planes.data() + p * hw, hw, rows.data()[p]);
  return planes;
}

// The labels a conditional network needs, checked: [B] beside a batch of B (and none for an unconditional one).
static void check_labels(const Tensor& labels, int64_t batch, int64_t num_classes, const Module& net) {
  if (num_classes == 0 && labels.defined() && labels.numel() > 0)
    throw std::invalid_argument(net.describe() + ": class labels given to an unconditional network");
  if (num_classes > 0 && (!labels.defined() || labels.numel() != batch))
    throw std::invalid_argument(fmt::format("{}: a conditional network needs one class label per image, {} here, got {}",
                                            net.describe(), batch, labels.defined() ? shape_str(labels.shape()) : "none"));
}

// --- G: z -> image ---

GeneratorNet::GeneratorNet(const GanOptions& opts, Generator& rng) : options(opts) {
  check_options(options);
  const int64_t f = options.features, s = (options.image.height / 4) * (options.image.width / 4);
  fc = register_module("fc", std::make_shared<Linear>(options.latent_dim + options.num_classes, 2 * f * s, rng));
  bn0 = register_module("bn0", std::make_shared<BatchNorm2d>(2 * f));
  up1 = register_module("up1", std::make_shared<ConvTranspose2d>(2 * f, f, 4, 2, 1, 0, true, 1, rng));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(f));
  up2 = register_module("up2", std::make_shared<ConvTranspose2d>(f, options.image.channels, 4, 2, 1, 0, true, 1, rng));
}

Variable GeneratorNet::forward(const Variable& z, const Tensor& labels) {
  check_latents(z, options.latent_dim, *this);
  check_labels(labels, z.size(0), options.num_classes, *this);
  const int64_t f = options.features, h = options.image.height / 4, w = options.image.width / 4;
  // conditional: G reads [z, onehot(y)], so the class is one more input it learns to obey. (one_hot, which may
  // throw, runs before the braced list: GCC 12 destroys a half-built initializer_list wrongly on an exception.)
  Variable input = z;
  if (options.num_classes > 0) {
    const Variable y = one_hot(labels, options.num_classes);
    input = concat({z, y}, 1);
  }
  Variable x = reshape((*fc)(input), {z.size(0), 2 * f, h, w});  // [B, 2f, H/4, W/4]
  x = relu((*bn0)(x));
  x = relu((*bn1)((*up1)(x)));                               // [B, f, H/2, W/2]
  return tanh((*up2)(x));                                    // [B, C, H, W] in [-1, 1]
}

std::string GeneratorNet::describe() const {
  return fmt::format("gan::GeneratorNet(latent_dim={}, features={}, image={}{})", options.latent_dim, options.features,
                     options.image.str(), options.num_classes ? fmt::format(", {} classes", options.num_classes) : "");
}

// --- D: image -> logit ---

Discriminator::Discriminator(const GanOptions& opts, Generator& rng) : options(opts) {
  check_options(options);
  const int64_t f = options.features, s = (options.image.height / 4) * (options.image.width / 4);
  const int64_t in_channels = options.pack * options.image.channels + options.num_classes;
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in_channels, f, 4, 2, 1, 1, true, rng));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(f, 2 * f, 4, 2, 1, 1, true, rng));
  if (options.loss != GanLoss::WassersteinGP) bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(2 * f));
  fc = register_module("fc", std::make_shared<Linear>((2 * f + (options.minibatch_std ? 1 : 0)) * s, 1, rng));
}

Variable minibatch_std(const Variable& x) {
  if (x.dim() < 2) throw std::invalid_argument("minibatch_std: expects [N, c, ...], got " + shape_str(x.shape()));
  std::vector<int64_t> one(x.shape().size(), 1), plane_shape = x.shape();
  plane_shape[1] = 1;                                                 // [N, 1, ...]
  const Variable mu = mean(x, {0}, /*keepdim=*/true);                 // each feature's mean over the batch
  const Variable sd = sqrt(mean(square(x - mu), {0}) + 1e-8f);        // its standard deviation: [c, ...]
  const Variable plane = expand(reshape(mean(sd), one), plane_shape);  // averaged: one number
  return concat({x, plane}, 1);                                       // [N, c + 1, ...]
}

Variable Discriminator::forward(const Variable& images, const Tensor& labels) {
  Variable x = as_images(images, options.image, *this);  // [B, C, H, W]
  const int64_t batch = x.size(0), m = options.pack, C = options.image.channels;
  check_labels(labels, batch, options.num_classes, *this);
  if (options.num_classes > 0) {  // conditional: the class as K more input planes (built first: see GeneratorNet)
    const Variable planes = label_planes(labels, options.num_classes, options.image.height, options.image.width);
    x = concat({x, planes}, 1);
  }
  if (batch % m != 0)
    throw std::invalid_argument(fmt::format("{}: pack {} needs a batch that is a multiple of {}, got {} images",
                                            describe(), m, m, batch));
  if (m > 1)  // PacGAN: m consecutive images side by side as one input of m*C channels
    x = reshape(x, {batch / m, m * C, options.image.height, options.image.width});
  x = leaky_relu((*conv1)(x), 0.2f);  // [B/m, f, H/2, W/2]
  x = (*conv2)(x);                    // [B/m, 2f, H/4, W/4]
  if (bn2) x = (*bn2)(x);
  x = leaky_relu(x, 0.2f);
  if (options.minibatch_std) x = minibatch_std(x);  // [B/m, 2f + 1, H/4, W/4]
  return (*fc)(flatten(x, 1));        // [B/m, 1]: a logit (WGAN-GP: the critic's score)
}

std::string Discriminator::describe() const {
  std::string extras = bn2 ? "" : ", no BatchNorm (WGAN-GP critic)";
  if (options.num_classes > 0) extras += fmt::format(", {} classes", options.num_classes);
  if (options.pack > 1) extras += fmt::format(", pack {}", options.pack);
  if (options.minibatch_std) extras += ", minibatch std";
  return fmt::format("gan::Discriminator(features={}, image={}{})", options.features, options.image.str(), extras);
}

// --- the pair ---

GAN::GAN(GanOptions opts, Generator& rng) : options(opts) {
  // G first, then D: the order bench/torch/dcgan.py builds them in, so the same seed draws the same weights.
  generator = register_module("generator", std::make_shared<GeneratorNet>(options, rng));
  discriminator = register_module("discriminator", std::make_shared<Discriminator>(options, rng));
}

Tensor GAN::decode_images(const Tensor& z) {
  if (options.num_classes == 0) return decode_class_images(z, Tensor());
  Tensor labels({z.size(0)});  // the classes in turn: 0, 1, ..., K-1, 0, 1, ...
  for (int64_t i = 0; i < z.size(0); ++i) labels.data()[i] = static_cast<float>(i % options.num_classes);
  return decode_class_images(z, labels);
}

Tensor GAN::decode_class_images(const Tensor& z, const Tensor& labels) {
  NoGradGuard no_grad;
  return from_minus_one_one(generator->forward(z, labels).data());
}

Tensor GAN::sample_class(int64_t n, int64_t label, Generator& rng) {
  if (options.num_classes == 0)
    throw std::invalid_argument(describe() + " is unconditional: it was not trained to make a chosen class "
                                "(train one with --conditional)");
  if (label < 0 || label >= options.num_classes)
    throw std::invalid_argument(fmt::format("gan: class {} is outside 0..{}", label, options.num_classes - 1));
  if (n <= 0) throw std::invalid_argument(fmt::format("{}: sample needs n >= 1 images, got {}", describe(), n));
  return decode_class_images(randn({n, options.latent_dim}, rng), Tensor::full({n}, static_cast<float>(label)));
}

std::string GAN::describe() const {
  std::string extras;
  if (options.num_classes > 0) extras += fmt::format(", conditional on {} classes", options.num_classes);
  if (options.pack > 1) extras += fmt::format(", pack {}", options.pack);
  if (options.minibatch_std) extras += ", minibatch std";
  if (options.r1_gamma > 0) extras += fmt::format(", R1 gamma {}", options.r1_gamma);
  return fmt::format("DCGAN(latent_dim={}, features={}, image={}, loss={}{})", options.latent_dim, options.features,
                     options.image.str(), loss_name(options.loss), extras);
}

// --- Algorithm 1 ---

Variable gradient_penalty(Discriminator& critic, const Tensor& real, const Tensor& fake, const Tensor& eps,
                          float lambda, const Tensor& labels) {
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
  const Variable g = grad(sum(critic.forward(x_hat, labels)), {x_hat}, Variable(), second_order)[0];  // [B, C, H, W]
  const Variable norm = sqrt(sum(square(g), {1, 2, 3}) + 1e-12f);                  // ||grad||_2 per image: [B]
  return lambda * mean(square(norm - 1.f));                                         // lambda E[(||grad|| - 1)^2]
}

Variable r1_penalty(const Variable& d_real, const Variable& x, float gamma) {
  BackwardOptions second_order;  // the penalty is differentiated again, with respect to D's weights
  second_order.create_graph = true;
  const Variable g = grad(sum(d_real), {x}, Variable(), second_order)[0];           // grad_x D(x): [B, C, H, W]
  return (0.5f * gamma / static_cast<float>(d_real.size(0))) * sum(square(g));  // (gamma / 2) E[||grad||^2]
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

AdversarialLosses train_step(GAN& gan, Adam& adam_d, Adam& adam_g, const Tensor& real, Generator& rng,
                             const Tensor& labels) {
  GeneratorNet& G = *gan.generator;
  Discriminator& D = *gan.discriminator;
  const GanOptions& o = gan.options;
  const GanLoss loss = o.loss;
  const Tensor images = as_images(real, o.image, gan).data();  // x ~ data, [B, C, H, W] in [-1, 1]
  check_labels(labels, images.size(0), o.num_classes, gan);
  // PacGAN: D judges packs of m, so the batch is cut to a multiple of m (an epoch's last batch may not be one).
  const int64_t batch = images.size(0) - images.size(0) % o.pack;
  if (batch == 0)
    throw std::invalid_argument(fmt::format("gan::train_step: pack {} needs at least {} real images, got {}", o.pack,
                                            o.pack, images.size(0)));
  const Tensor y = o.num_classes > 0 ? labels.narrow0(0, batch) : Tensor();  // the classes G makes too
  // For R1, x is a leaf whose gradient D's penalty takes.
  const Variable x(images.narrow0(0, batch), /*requires_grad=*/o.r1_gamma > 0);
  // WGAN-GP: the generator steps after every n_critic-th critic step (Gulrajani et al., Algorithm 1).
  const bool generator_steps = (adam_d.steps_taken() + 1) % o.n_critic() == 0;
  AdversarialLosses out;

  // --- discriminator step: D learns to tell x from G(z), z ~ N(0, I); G(z) is held fixed ---
  const Tensor z = randn({batch, o.latent_dim}, rng);
  Variable fake;
  {
    GradModeGuard graph_only_if_g_steps(generator_steps);  // a critic-only step never backpropagates into G
    fake = G.forward(z, y);
  }
  const Variable d_real = D.forward(x, y), d_fake = D.forward(fake.detach(), y);
  Variable loss_d = discriminator_loss(loss, d_real, d_fake);
  if (o.r1_gamma > 0) loss_d = loss_d + r1_penalty(d_real, x, o.r1_gamma);  // + (gamma / 2) E[||grad_x D(x)||^2]
  if (loss == GanLoss::WassersteinGP) {  // + lambda E[(||grad D(x^)||_2 - 1)^2], x^ = eps x + (1 - eps) G(z)
    const Tensor eps = rand({batch, 1, 1, 1}, rng);  // eps ~ U[0, 1] per image
    loss_d = loss_d + gradient_penalty(D, x.data(), fake.data(), eps, o.gp_lambda, y);
  }
  out.discriminator = descend(adam_d, loss_d);
  out.d_real = mean(d_real.detach()).item();
  out.d_fake = mean(d_fake.detach()).item();
  int64_t right = 0;
  for (int64_t i = 0; i < d_real.numel(); ++i) right += d_real.data().data()[i] > 0.f;
  for (int64_t i = 0; i < d_fake.numel(); ++i) right += d_fake.data().data()[i] < 0.f;
  out.d_accuracy = static_cast<double>(right) / static_cast<double>(d_real.numel() + d_fake.numel());
  if (!generator_steps) {
    out.generator = -out.d_fake;  // the critic's -E[D(G(z))] before its step: what G would minimise
    return out;
  }

  // --- generator step: G learns to fool the updated D; only G's weights change ---
  const Variable loss_g = generator_loss(loss, D.forward(fake, y));
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
