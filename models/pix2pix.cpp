#include "models/pix2pix.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "autograd/activation.h"
#include "autograd/elementwise.h"
#include "autograd/loss.h"
#include "autograd/reduction.h"
#include "autograd/shape.h"
#include "nn/checkpoint.h"

namespace hd::pix2pix {

// --- options ---

void check_options(const Pix2PixOptions& o) {
  const ImageShape& s = o.image;
  if (s.channels < 1 || s.height < 4 || s.width < 4 || s.height % 4 != 0 || s.width % 4 != 0)
    throw std::invalid_argument(fmt::format("pix2pix: image {}: the U-Net needs at least one channel and a height and "
                                            "width that are multiples of 4 (two stride-2 layers down, two up)",
                                            s.str()));
  if (o.base_width < 1 || o.base_width > 1024)
    throw std::invalid_argument(fmt::format("pix2pix: base_width {} should be in 1..1024", o.base_width));
  if (!std::isfinite(o.lambda_l1) || o.lambda_l1 < 0.f)
    throw std::invalid_argument(fmt::format("pix2pix: lambda_l1 {} should be a finite number >= 0", o.lambda_l1));
  if (!(o.dropout >= 0.f && o.dropout < 1.f))
    throw std::invalid_argument(fmt::format("pix2pix: dropout {} should be in [0, 1)", o.dropout));
}

std::map<std::string, std::string> Pix2PixOptions::to_metadata() const {
  std::map<std::string, std::string> m = {{"trained_by", "hundun train repair"},
                                          {"model", "pix2pix"},
                                          {"arch", "unet-patchgan"},
                                          {"with_mask", with_mask ? "1" : "0"},
                                          {"base_width", std::to_string(base_width)},
                                          {"lambda_l1", fmt::format("{}", lambda_l1)},
                                          {"adversarial", adversarial ? "1" : "0"},
                                          {"dropout", fmt::format("{}", dropout)}};
  add_image_shape(image, m);
  return m;
}

Pix2PixOptions Pix2PixOptions::from_metadata(const Metadata& m) {
  Pix2PixOptions o;
  m.choice("arch", {"unet-patchgan"});
  o.image = image_shape_from(m);
  o.with_mask = m.choice("with_mask", {"0", "1"}) == "1";
  o.base_width = m.integer("base_width", 1, 1024);
  o.adversarial = m.choice("adversarial", {"0", "1"}) == "1";
  const double lambda = m.number("lambda_l1"), dropout = m.number("dropout");
  if (!(lambda >= 0 && lambda <= 1e6))
    throw std::runtime_error(fmt::format("{}: metadata 'lambda_l1' should be in [0, 1e6], got '{}'", m.path(),
                                         m.text("lambda_l1")));
  if (!(dropout >= 0 && dropout <= 0.9))
    throw std::runtime_error(fmt::format("{}: metadata 'dropout' should be in [0, 0.9], got '{}'", m.path(),
                                         m.text("dropout")));
  o.lambda_l1 = static_cast<float>(lambda);
  o.dropout = static_cast<float>(dropout);
  if (o.image.height % 4 != 0 || o.image.width % 4 != 0)
    throw std::runtime_error(fmt::format("{}: metadata 'image_shape' {}: the pix2pix U-Net needs a height and width "
                                         "that are multiples of 4 (two stride-2 layers)",
                                         m.path(), o.image.str()));
  const int64_t f = o.base_width, C = o.image.channels;
  m.expect_shape("generator.enc1.weight", {f, o.input_channels(), 4, 4});  // pins f, C_in
  m.expect_shape("generator.up1.weight", {2 * f, C, 4, 4});                // pins C
  m.expect_shape("discriminator.conv1.weight", {f, o.input_channels() + C, 4, 4});
  return o;
}

Tensor generator_input(const Pix2PixOptions& o, const Tensor& damaged, const Tensor& mask) {
  const bool has_mask = mask.defined() && mask.numel() > 0;
  if (damaged.dim() != 4 || damaged.size(1) != o.image.channels || damaged.size(2) != o.image.height ||
      damaged.size(3) != o.image.width || damaged.size(0) == 0)
    throw std::invalid_argument(fmt::format("pix2pix: expected damaged images [B, {}, {}, {}] with B >= 1, got {}",
                                            o.image.channels, o.image.height, o.image.width,
                                            shape_str(damaged.shape())));
  if (!o.with_mask) {
    if (has_mask) throw std::invalid_argument("pix2pix: a mask was given to a model built without with_mask");
    return damaged;
  }
  const Shape want = {damaged.size(0), 1, o.image.height, o.image.width};
  if (!has_mask || mask.shape() != want)
    throw std::invalid_argument(fmt::format("pix2pix: a model with_mask needs a mask {} beside the damaged images, got {}",
                                            shape_str(want), has_mask ? shape_str(mask.shape()) : "none"));
  return concat({Variable(damaged), Variable(mask)}, 1).data();  // [B, C + 1, H, W]
}

// x: [B, channels, H, W] as the options say, else a message naming the network and what it expected.
static void check_batch(const Variable& x, int64_t channels, const ImageShape& image, const Module& net,
                        const char* what) {
  const Shape& s = x.shape();
  if (s.size() != 4 || s[0] == 0 || s[1] != channels || s[2] != image.height || s[3] != image.width)
    throw std::invalid_argument(fmt::format("{}: expected {} [B, {}, {}, {}] with B >= 1, got {}", net.describe(), what,
                                            channels, image.height, image.width, shape_str(s)));
}

// --- G: the U-Net ---

UNetGenerator::UNetGenerator(const Pix2PixOptions& opts, Generator& rng) : options(opts) {
  check_options(options);
  const int64_t f = options.base_width, C_in = options.input_channels(), C = options.image.channels;
  // Conv2d(in, out, k, stride, padding, dilation, bias); no bias where BatchNorm follows (see pix2pix.h)
  enc1 = register_module("enc1", std::make_shared<Conv2d>(C_in, f, 4, 2, 1, 1, true, rng));
  enc2 = register_module("enc2", std::make_shared<Conv2d>(f, 2 * f, 4, 2, 1, 1, false, rng));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(2 * f));
  mid = register_module("mid", std::make_shared<Conv2d>(2 * f, 2 * f, 3, 1, 1, 1, false, rng));
  bn_mid = register_module("bn_mid", std::make_shared<BatchNorm2d>(2 * f));
  // ConvTranspose2d(in, out, k, stride, padding, output_padding, bias): the decoder reads [its input, the skip]
  up2 = register_module("up2", std::make_shared<ConvTranspose2d>(4 * f, f, 4, 2, 1, 0, false, 1, rng));
  bn_up2 = register_module("bn_up2", std::make_shared<BatchNorm2d>(f));
  up1 = register_module("up1", std::make_shared<ConvTranspose2d>(2 * f, C, 4, 2, 1, 0, true, 1, rng));
  if (options.dropout > 0.f) {  // pix2pix's noise; masks from the default stream (hd::manual_seed sets it)
    drop_mid = register_module("drop_mid", std::make_shared<Dropout>(options.dropout));
    drop_up2 = register_module("drop_up2", std::make_shared<Dropout>(options.dropout));
  }
}

Variable UNetGenerator::forward(const Variable& x) {
  check_batch(x, options.input_channels(), options.image, *this, options.with_mask ? "inputs (image and mask)" : "inputs");
  const Variable e1 = leaky_relu((*enc1)(x), 0.2f);               // [B, f, H/2, W/2]
  const Variable e2 = leaky_relu((*bn2)((*enc2)(e1)), 0.2f);      // [B, 2f, H/4, W/4]
  Variable b = relu((*bn_mid)((*mid)(e2)));                       // [B, 2f, H/4, W/4]: the bottleneck
  if (drop_mid) b = (*drop_mid)(b);
  Variable d2 = relu((*bn_up2)((*up2)(concat({b, e2}, 1))));      // skip: [B, 4f, H/4, W/4] -> [B, f, H/2, W/2]
  if (drop_up2) d2 = (*drop_up2)(d2);
  return sigmoid((*up1)(concat({d2, e1}, 1)));                    // skip: [B, 2f, H/2, W/2] -> [B, C, H, W] in [0, 1]
}

std::string UNetGenerator::describe() const {
  return fmt::format("pix2pix::UNetGenerator(base_width={}, image={}{}{})", options.base_width, options.image.str(),
                     options.with_mask ? ", with mask" : "",
                     options.dropout > 0.f ? fmt::format(", dropout={}", options.dropout) : "");
}

// --- D: the PatchGAN ---

PatchDiscriminator::PatchDiscriminator(const Pix2PixOptions& opts, Generator& rng) : options(opts) {
  check_options(options);
  const int64_t f = options.base_width, C_pair = options.input_channels() + options.image.channels;
  conv1 = register_module("conv1", std::make_shared<Conv2d>(C_pair, f, 4, 2, 1, 1, true, rng));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(f, 2 * f, 4, 2, 1, 1, false, rng));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(2 * f));
  conv3 = register_module("conv3", std::make_shared<Conv2d>(2 * f, 1, 3, 1, 1, 1, true, rng));
}

Variable PatchDiscriminator::forward(const Variable& x, const Variable& candidate) {
  check_batch(x, options.input_channels(), options.image, *this, "inputs");
  check_batch(candidate, options.image.channels, options.image, *this, "candidate images");
  if (candidate.size(0) != x.size(0))
    throw std::invalid_argument(fmt::format("{}: {} inputs beside {} candidate images: D judges pairs", describe(),
                                            x.size(0), candidate.size(0)));
  Variable h = leaky_relu((*conv1)(concat({x, candidate}, 1)), 0.2f);  // the pair [B, C_in + C, H, W] -> [B, f, H/2, W/2]
  h = leaky_relu((*bn2)((*conv2)(h)), 0.2f);                           // [B, 2f, H/4, W/4]
  return (*conv3)(h);                                                  // [B, 1, H/4, W/4]: one logit per patch
}

std::string PatchDiscriminator::describe() const {
  return fmt::format("pix2pix::PatchDiscriminator(base_width={}, image={}{})", options.base_width, options.image.str(),
                     options.with_mask ? ", with mask" : "");
}

// --- the pair ---

Pix2Pix::Pix2Pix(Pix2PixOptions opts, Generator& rng) : options(opts) {
  check_options(options);
  // G first, then D: the order bench/torch/pix2pix.py builds them in, so the same seed draws the same weights.
  generator = register_module("generator", std::make_shared<UNetGenerator>(options, rng));
  discriminator = register_module("discriminator", std::make_shared<PatchDiscriminator>(options, rng));
}

Tensor Pix2Pix::repair(const Tensor& x) {
  const bool was_training = is_training();
  eval();  // running statistics, no dropout: one image's repair does not depend on the rest of its batch
  Tensor out;
  try {
    NoGradGuard no_grad;
    out = generator->forward(Variable(x)).data();
  } catch (...) {
    train(was_training);
    throw;
  }
  train(was_training);
  return out;
}

Tensor Pix2Pix::inpaint(const Tensor& damaged, const Tensor& mask) {
  const Tensor x = generator_input(options, damaged, options.with_mask ? mask : Tensor());
  return keep_known_pixels(repair(x), damaged, mask);
}

std::string Pix2Pix::describe() const {
  return fmt::format("pix2pix(image={}, base_width={}, lambda_l1={}{}{}{})", options.image.str(), options.base_width,
                     options.lambda_l1, options.with_mask ? ", with mask" : "",
                     options.adversarial ? "" : ", L1 only",
                     options.dropout > 0.f ? fmt::format(", dropout={}", options.dropout) : "");
}

Tensor keep_known_pixels(const Tensor& repaired, const Tensor& damaged, const Tensor& mask) {
  if (repaired.dim() != 4 || repaired.shape() != damaged.shape())
    throw std::invalid_argument(fmt::format("pix2pix::keep_known_pixels: expected repaired and damaged images of one "
                                            "shape [B, C, H, W], got {} and {}",
                                            shape_str(repaired.shape()), shape_str(damaged.shape())));
  const Shape& s = damaged.shape();
  if (!mask.defined() || mask.dim() != 4 || mask.size(0) != s[0] || (mask.size(1) != 1 && mask.size(1) != s[1]) ||
      mask.size(2) != s[2] || mask.size(3) != s[3])
    throw std::invalid_argument(fmt::format("pix2pix::keep_known_pixels: expected a mask [{}, 1, {}, {}] (1 = missing) "
                                            "beside images {}, got {}",
                                            s[0], s[2], s[3], shape_str(s), mask.defined() ? shape_str(mask.shape()) : "none"));
  // out = m G(x) + (1 - m) x, pixel by pixel; with m in {0, 1} each pixel is exactly one of the two.
  const int64_t planes = s[1], hw = s[2] * s[3], mask_planes = mask.size(1);
  Tensor out = Tensor::empty(s);
  for (int64_t b = 0; b < s[0]; ++b)
    for (int64_t c = 0; c < planes; ++c) {
      const int64_t at = (b * planes + c) * hw;
      const float* m = mask.data() + (b * mask_planes + (mask_planes == 1 ? 0 : c)) * hw;
      for (int64_t i = 0; i < hw; ++i) {
        const float g = repaired.data()[at + i], x = damaged.data()[at + i];
        out.data()[at + i] = m[i] == 0.f ? x : m[i] == 1.f ? g : m[i] * g + (1.f - m[i]) * x;
      }
    }
  return out;
}

// --- the objective ---

Variable discriminator_loss(const Variable& d_real, const Variable& d_fake) {
  const Variable ones(Tensor::ones(d_real.shape())), zeros(Tensor::zeros(d_fake.shape()));
  // 1/2 (-E[log D(x, y)] - E[log(1 - D(x, G(x)))]): pix2pix halves D's loss so D learns slower than G
  return 0.5f * (binary_cross_entropy_with_logits(d_real, ones) + binary_cross_entropy_with_logits(d_fake, zeros));
}

Variable adversarial_loss(const Variable& d_fake) {
  // -E[log D(x, G(x))], the non-saturating form of log(1 - D(x, G(x))), over every patch
  return binary_cross_entropy_with_logits(d_fake, Variable(Tensor::ones(d_fake.shape())));
}

Variable l1_loss_term(const Variable& repaired, const Tensor& clean, float lambda) {
  return lambda * l1_loss(repaired, Variable(clean));  // lambda E[|y - G(x)|_1], the mean over pixels
}

// One player's move: zero its gradients, backpropagate, one Adam step on its own parameters.
static double descend(Adam& optimizer, const Variable& loss) {
  optimizer.zero_grad();
  loss.backward();
  optimizer.step();
  return loss.item();
}

Pix2PixLosses train_step(Pix2Pix& model, Adam& adam_d, Adam& adam_g, const Tensor& x_data, const Tensor& clean) {
  UNetGenerator& G = *model.generator;
  PatchDiscriminator& D = *model.discriminator;
  const Pix2PixOptions& o = model.options;
  const Variable x(x_data);                                  // the damaged image (and mask): [B, C_in, H, W]
  check_batch(Variable(clean), o.image.channels, o.image, model, "clean images");
  if (clean.size(0) != x_data.size(0))
    throw std::invalid_argument(fmt::format("pix2pix::train_step: {} inputs beside {} clean images", x_data.size(0),
                                            clean.size(0)));
  const Variable y(clean);                                   // the clean image: [B, C, H, W]
  const Variable fake = G(x);                                // y^ = G(x), once for both steps
  Pix2PixLosses out;

  if (o.adversarial) {
    // --- discriminator step: D learns to tell (x, y) from (x, G(x)); G(x) is held fixed ---
    const Variable d_real = D(x, y), d_fake = D(x, fake.detach());
    out.discriminator = descend(adam_d, discriminator_loss(d_real, d_fake));  // 1/2 [BCE(D(x,y),1) + BCE(D(x,y^),0)]
    out.d_real = mean(d_real.detach()).item();
    out.d_fake = mean(d_fake.detach()).item();
    out.discriminator_stepped = true;
  }

  // --- generator step: fool the updated D on every patch and stay close to y; only G's weights change ---
  const Variable l1 = l1_loss_term(fake, clean, o.lambda_l1);           // lambda E|y - G(x)|
  Variable loss_g = l1;
  if (o.adversarial) {
    const Variable adversarial = adversarial_loss(D(x, fake));          // -E[log D(x, G(x))]
    out.adversarial = adversarial.item();
    loss_g = adversarial + l1;                                          // L_cGAN + lambda L_L1 (equation 4)
  }
  out.generator = descend(adam_g, loss_g);
  out.l1 = l1_loss(fake.detach(), y).item();                           // E|y - G(x)|, as reported
  return out;
}

std::shared_ptr<Pix2Pix> load_pix2pix(const std::string& path) {
  auto model = std::make_shared<Pix2Pix>(Pix2PixOptions::from_metadata(read_model_metadata(path, "pix2pix")));
  CheckpointParts parts;  // the two named networks of a training checkpoint; not the optimizers
  parts.modules = {{"generator", model->generator.get()}, {"discriminator", model->discriminator.get()}};
  load_checkpoint(path, parts);
  model->eval();
  return model;
}

}  // namespace hd::pix2pix
