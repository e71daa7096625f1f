// pix2pix.h — the conditional GAN for image repair and paired translation (圖像修復; Isola et al. 2017,
// "Image-to-Image Translation with Conditional Adversarial Networks").
//
// The DCGAN of gan.h makes an image from noise. pix2pix makes one from another image: a damaged image x (a hole,
// blur, noise, lost tones; with a mask channel where the damage has one) goes in, its repair G(x) comes out. The
// discriminator judges pairs, D(x, y): is y the real clean image of this x, or G's repair of it? Its objective
// (the paper's equations 1, 3 and 4):
//
//     G* = arg min_G max_D  L_cGAN(G, D) + lambda L_L1(G),      lambda = 100
//     L_cGAN = E[log D(x, y)] + E[log(1 - D(x, G(x)))],        L_L1 = E[|y - G(x)|]
//
// and one step per batch (train_step), as Algorithm 1 of Goodfellow et al. with pix2pix's choices:
//
//     x, y ~ data (damaged, clean),  y^ = G(x)
//     discriminator step:  minimise 1/2 [BCE(D(x, y), 1) + BCE(D(x, y^), 0)]        y^ held fixed (detached)
//     generator step:      minimise BCE(D(x, y^), 1) + lambda |y^ - y|_1              non-saturating, through the new D
//
// Why both terms: the L1 term alone makes G predict the per-pixel median of every image that could be behind the
// damage, a blur (the `adversarial = false` baseline, the same network trained on L1 only, shows it); the
// adversarial term punishes blur because blurry patches are easy for D to tell from real ones.
//
// Networks, for base width f, an input of C_in = C (+ 1 mask channel) planes, H and W multiples of 4
// (shapes for 1 x 28 x 28: H/2 = 14, H/4 = 7), the same layers, order and state_dict names as the PyTorch twin
// bench/torch/pix2pix.py:
//   G, a U-Net (Ronneberger et al. 2015; pix2pix section 3.2.1): an encoder-decoder whose decoder also reads the
//   encoder's maps at the same size (skip connections, concatenated), so the fine detail of the undamaged pixels
//   need not squeeze through the 7 x 7 bottleneck:
//     enc1 Conv2d(C_in -> f, 4, 2, 1), LeakyReLU(0.2)                          e1 [B, f, H/2, W/2]   (no BN: pix2pix)
//     enc2 Conv2d(f -> 2f, 4, 2, 1), bn2, LeakyReLU(0.2)                       e2 [B, 2f, H/4, W/4]
//     mid  Conv2d(2f -> 2f, 3, 1, 1), bn_mid, ReLU (, Dropout)                 b  [B, 2f, H/4, W/4]  the bottleneck
//     up2  ConvTranspose2d(4f -> f, 4, 2, 1) on [b, e2], bn_up2, ReLU (, Dropout)  d2 [B, f, H/2, W/2]
//     up1  ConvTranspose2d(2f -> C, 4, 2, 1) on [d2, e1], Sigmoid              y^ [B, C, H, W] in [0, 1]
//   D, a PatchGAN (section 3.2.2): a map of logits, each judging one 18 x 18 patch of the pair (the receptive field
//   of 4x4/2, 4x4/2, 3x3/1), so D asks "is every patch sharp and right?" rather than "is the whole image?":
//     conv1 Conv2d(C_in + C -> f, 4, 2, 1), LeakyReLU(0.2)                     [B, f, H/2, W/2]
//     conv2 Conv2d(f -> 2f, 4, 2, 1), bn2, LeakyReLU(0.2)                      [B, 2f, H/4, W/4]
//     conv3 Conv2d(2f -> 1, 3, 1, 1)                                           [B, 1, H/4, W/4] patch logits
// A convolution followed by BatchNorm has no bias (as in pix2pix): the norm subtracts any shift, so a bias there
// would be a parameter with no effect. PyTorch's default initialisation (nn/layers.h), G first then D.
//
// Pixels: hundun's images are in [0, 1] (images.h), so G ends in a sigmoid and works in [0, 1] throughout; pix2pix
// ends in tanh on data scaled to [-1, 1] (gan.h does the same). sigmoid(a) = (1 + tanh(a / 2)) / 2 is the same
// family of outputs, and with [0, 1] the L1 term, the mask composite and the metrics all read the data as they are,
// with no rescaling anywhere. (One consequence to know: an L1 distance in [0, 1] is half the one in [-1, 1], so
// lambda = 100 here weighs the L1 term half as much against the adversarial one as in the paper's scale.)
//
// The mask, where there is one: [B, 1, H, W], 1 where a pixel is missing (white = missing, as `hundun repair --mask`
// reads it), 0 where it is known.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "models/images.h"
#include "nn/layers.h"
#include "nn/metadata.h"
#include "nn/optim.h"

namespace hd::pix2pix {

struct Pix2PixOptions {
  ImageShape image = {};      // (C, H, W) of the clean and the damaged image; H and W multiples of 4
  bool with_mask = false;     // G and D also read the mask as one more input plane (inpainting)
  int64_t base_width = 32;    // f: the U-Net's and PatchGAN's first layer has f channels, the inner ones 2f
  float lambda_l1 = 100.f;    // lambda: the L1 term's weight (pix2pix's value)
  bool adversarial = true;    // false: the L1-only baseline, the same G trained on lambda L1 alone; D never steps
  float dropout = 0.f;        // p of Dropout after the bottleneck and up2 (pix2pix: 0.5, its only noise); 0: none

  int64_t input_channels() const { return image.channels + (with_mask ? 1 : 0); }  // C_in

  // As checkpoint metadata: "model" "pix2pix", "arch" "unet-patchgan", "image_shape", "with_mask", "base_width",
  // "lambda_l1", "adversarial", "dropout"; and back, each entry checked against its bounds (base_width 1..1024, H
  // and W multiples of 4, lambda_l1 0..1e6, dropout 0..0.9) and against the file's own tensors before anything is
  // built.
  std::map<std::string, std::string> to_metadata() const;
  static Pix2PixOptions from_metadata(const Metadata& metadata);
};

// Throws std::invalid_argument "pix2pix: ..." naming the option and what was expected.
void check_options(const Pix2PixOptions& options);

// G's input x: the damaged image [B, C, H, W] and, with_mask, its mask [B, 1, H, W] as one more plane ->
// [B, C_in, H, W]. Throws std::invalid_argument for a mask given to a model without one (or none to one with).
Tensor generator_input(const Pix2PixOptions& options, const Tensor& damaged, const Tensor& mask = Tensor());

// G: x [B, C_in, H, W] -> y^ [B, C, H, W] in [0, 1] (sigmoid).
class UNetGenerator : public Module {
 public:
  UNetGenerator(const Pix2PixOptions& options, Generator& rng);
  Variable forward(const Variable& x) override;
  std::string describe() const override;

  Pix2PixOptions options;
  std::shared_ptr<Conv2d> enc1, enc2, mid;
  std::shared_ptr<BatchNorm2d> bn2, bn_mid, bn_up2;
  std::shared_ptr<ConvTranspose2d> up2, up1;
  std::shared_ptr<Dropout> drop_mid, drop_up2;  // nullptr without dropout (no parameters either way)
};

// D: the pair (x [B, C_in, H, W], candidate [B, C, H, W]) -> patch logits [B, 1, H/4, W/4] (1 x 7 x 7 for 28 x 28).
// forward(x, candidate) is Module's two-input form.
class PatchDiscriminator : public Module {
 public:
  PatchDiscriminator(const Pix2PixOptions& options, Generator& rng);
  Variable forward(const Variable& x, const Variable& candidate) override;
  std::string describe() const override;

  Pix2PixOptions options;
  std::shared_ptr<Conv2d> conv1, conv2, conv3;
  std::shared_ptr<BatchNorm2d> bn2;
};

// Both networks; state_dict "generator.*" and "discriminator.*", the parts a training checkpoint names. The
// L1-only baseline has a D too (never trained), so both modes share one layout and one seed gives both the same G.
class Pix2Pix : public Module {
 public:
  explicit Pix2Pix(Pix2PixOptions options = {}, Generator& rng = default_generator());

  // x [B, C_in, H, W] (generator_input) -> G(x) [B, C, H, W] in [0, 1]: BatchNorm's running statistics, no
  // dropout, no graph; the module's training mode is restored afterwards.
  Tensor repair(const Tensor& x);
  // Inpainting: repair, then keep the known pixels (keep_known_pixels). With with_mask the mask is also G's input.
  Tensor inpaint(const Tensor& damaged, const Tensor& mask);

  ImageShape image_shape() const { return options.image; }
  std::map<std::string, std::string> metadata() const { return options.to_metadata(); }
  std::string describe() const override;

  Pix2PixOptions options;
  std::shared_ptr<UNetGenerator> generator;
  std::shared_ptr<PatchDiscriminator> discriminator;
};

// The masked composite: out = mask * repaired + (1 - mask) * damaged. Only the missing pixels (mask 1) come from G;
// the known ones are copied from the input exactly (a mask of 0s and 1s gives bit-identical known pixels).
// repaired, damaged: [B, C, H, W]; mask: [B, 1, H, W] (shared by the C planes) or [B, C, H, W], values in [0, 1].
Tensor keep_known_pixels(const Tensor& repaired, const Tensor& damaged, const Tensor& mask);

// The losses of pix2pix, averaged over the batch and the patches (formulas beside them in pix2pix.cpp).
// d_real = D(x, y), d_fake = D(x, G(x)): patch logits [B, 1, H/4, W/4].
Variable discriminator_loss(const Variable& d_real, const Variable& d_fake);
Variable adversarial_loss(const Variable& d_fake);
Variable l1_loss_term(const Variable& repaired, const Tensor& clean, float lambda);

// One step on a batch, as a progress line reports it.
struct Pix2PixLosses {
  double discriminator = 0;  // L_D (halved); 0 for the L1-only baseline
  double adversarial = 0;    // the generator's BCE(D(x, G(x)), 1); 0 for the baseline
  double l1 = 0;             // E|G(x) - y| (without lambda)
  double generator = 0;      // what G minimised: adversarial + lambda l1
  double d_real = 0, d_fake = 0;  // mean patch logits in the discriminator step
  bool discriminator_stepped = false;
};

// One step of pix2pix on x (generator_input, [B, C_in, H, W]) and the clean y ([B, C, H, W] in [0, 1]): G(x) once,
// the discriminator step on it detached, then the generator step through the updated D. With adversarial = false
// only the generator step, on lambda L1: D is neither run nor stepped (adam_d is untouched). adam_d and adam_g hold
// D's and G's parameters (pix2pix: Adam(2e-4, betas (0.5, 0.999))); gradients are zeroed before each backward.
Pix2PixLosses train_step(Pix2Pix& model, Adam& adam_d, Adam& adam_g, const Tensor& x, const Tensor& clean);

// The model a pix2pix checkpoint holds: built from its metadata, both networks' weights loaded (not the optimizers),
// in evaluation mode. Throws std::runtime_error naming the file for a damaged file or another model.
std::shared_ptr<Pix2Pix> load_pix2pix(const std::string& path);

}  // namespace hd::pix2pix
