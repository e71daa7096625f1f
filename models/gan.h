// gan.h — the generative adversarial network (生成對抗網路; Goodfellow et al. 2014, "Generative Adversarial
// Nets"), as DCGAN (Radford et al. 2016) at Fashion-MNIST's 28 x 28.
//
// Two networks play a game (對抗訓練). The generator (生成器) G turns noise z ~ N(0, I) into an image G(z) in one
// pass (一步生成); the discriminator (判別器) D gives a logit: how real it thinks an image is. D learns to tell
// data from G's fakes; G learns to make fakes that D calls real. Algorithm 1 of the paper, one step per batch:
//
//     x ~ data (a batch),  z ~ N(0, I)
//     discriminator step:  minimise L_D(D(x), D(G(z)))     G(z) held fixed (detached)
//     generator step:      minimise L_G(D(G(z)))           through the updated D, only G's weights change
//
// with L_D and L_G one of five losses (GanLoss below; discriminator_loss and generator_loss write each as one line). In WGAN-GP the
// discriminator is called the critic and steps n_critic = 5 times for every generator step.
//
// DCGAN-28, the same layers, order and state_dict names as its PyTorch twin bench/torch/dcgan.py, f = features = 64,
// s = H/4 (7 for 28 x 28):
//   G: fc Linear(latent -> 2f*s*s), view [2f, s, s], bn0 BatchNorm2d(2f), ReLU,
//      up1 ConvTranspose2d(2f -> f, 4, 2, 1), bn1 BatchNorm2d(f), ReLU, up2 ConvTranspose2d(f -> C, 4, 2, 1), Tanh
//   D: conv1 Conv2d(C -> f, 4, 2, 1), LeakyReLU(0.2), conv2 Conv2d(f -> 2f, 4, 2, 1), bn2 BatchNorm2d(2f),
//      LeakyReLU(0.2), fc Linear(2f*s*s -> 1): a logit
// PyTorch's default initialisation (nn/layers.h), G's layers drawn first then D's, so the same seed gives the
// same starting weights in both. Switchable (GanOptions), each also in the twin:
//   conditional (Mirza & Osindero 2014)   G reads z and the one-hot class [z, onehot(y)]; D reads the image and
//                                          K label planes (plane y all ones); `hundun sample gan --class 7`
//   pack m (PacGAN, Lin et al. 2018)       D judges m samples at once, stacked as m*C channels: a generator that
//                                          makes one image m times is easier to catch than one image
//   minibatch std (Karras et al. 2018)     D sees, as one more feature plane before fc, the standard deviation
//                                          of its features across the batch: a collapsed batch has a small one
//   R1 (Mescheder et al. 2018)             (gamma / 2) E_x[||grad_x D(x)||^2] on real images added to L_D: D
//                                          stays flat around the data, which calms the game's oscillation G's tanh makes pixels in [-1, 1]: the data are scaled to match
// (data/loader.h's to_minus_one_one), and decode_images maps back to [0, 1].
//
// Names: hd::Generator is the random-number generator (as torch.Generator), so the networks are
// gan::GeneratorNet and gan::Discriminator, and every function that draws noise takes it as `Generator& rng`.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "models/generative_model.h"
#include "nn/layers.h"
#include "nn/metadata.h"
#include "nn/optim.h"

namespace hd::gan {

// The game's losses, on the discriminator's logits d_real = D(x), d_fake = D(G(z)) (formulas in train_step):
//   Minimax          Goodfellow's original min_G max_D: G minimises log(1 - D(G(z))), whose gradient vanishes
//                    while D easily rejects the fakes (early training): the saturation the paper warns of
//   NonSaturating    the paper's fix, G maximises log D(G(z)) instead (the default)
//   LeastSquares     LSGAN (Mao et al. 2017): squared distances of the logits to 1 (real) and 0 (fake)
//   Hinge            (Lim & Ye 2017; Miyato et al. 2018): D's margins at +-1, G raises D's score
//   WassersteinGP    WGAN-GP (Gulrajani et al. 2017): D is a critic estimating the Wasserstein-1 distance,
//                    kept 1-Lipschitz by a penalty on its gradient norm (lambda 10), n_critic 5
enum class GanLoss { Minimax, NonSaturating, LeastSquares, Hinge, WassersteinGP };

// "minimax", "ns", "lsgan", "hinge", "wgan-gp" (the --loss words); and back (std::invalid_argument otherwise).
std::string loss_name(GanLoss loss);
GanLoss loss_from_name(const std::string& name);

struct GanOptions {
  int64_t latent_dim = 100;  // z's size
  int64_t features = 64;     // DCGAN's ngf = ndf: D's first and G's last hidden layer have f channels, the middle 2f
  ImageShape image = {};     // (C, H, W), H and W multiples of 4 (two stride-2 layers each way)
  GanLoss loss = GanLoss::NonSaturating;  // also shapes D: the WGAN-GP critic has no BatchNorm (see Discriminator)

  int64_t num_classes = 0;   // 0: unconditional; K (10 for Fashion-MNIST): G and D are told the class
  int64_t pack = 1;          // PacGAN's m: D judges m samples stacked (1: one at a time, DCGAN)
  bool minibatch_std = false;  // Karras et al.'s minibatch-standard-deviation plane in D
  float r1_gamma = 0.f;      // R1 penalty weight gamma on real images (0: off)

  int64_t n_critic() const { return loss == GanLoss::WassersteinGP ? 5 : 1; }
  float gp_lambda = 10.f;    // WGAN-GP's penalty weight

  // As checkpoint metadata: "model" "gan", "arch" "dcgan", "latent_dim", "features", "loss", "image_shape",
  // "num_classes", "pack", "minibatch_std", "r1_gamma"; and back, each entry checked against its bounds (latent_dim
  // 1..4096, features 1..1024, H and W multiples of 4, num_classes 0..1000, pack 1..16) and against the file's own
  // tensors (expect_shape) before anything is built.
  std::map<std::string, std::string> to_metadata() const;
  static GanOptions from_metadata(const Metadata& metadata);
};

// One-hot rows of class labels: labels [B] (whole numbers 0..K-1, as Dataset keeps them) -> [B, K]. Throws
// std::invalid_argument naming the label for one outside 0..K-1.
Tensor one_hot(const Tensor& labels, int64_t num_classes);

// G: z [B, latent_dim] (and, conditional, labels [B]) -> images [B, C, H, W] in [-1, 1] (tanh).
class GeneratorNet : public Module {
 public:
  GeneratorNet(const GanOptions& options, Generator& rng);
  Variable forward(const Variable& z) override { return forward(z, Tensor()); }
  Variable forward(const Variable& z, const Tensor& labels);
  std::string describe() const override;

  GanOptions options;
  std::shared_ptr<Linear> fc;
  std::shared_ptr<BatchNorm2d> bn0, bn1;
  std::shared_ptr<ConvTranspose2d> up1, up2;
};

// D: images [B, C, H, W] in [-1, 1] -> logits [B, 1]. For WGAN-GP it has no bn2: Gulrajani et al. (section 4)
// leave BatchNorm out of the critic, because it makes each image's score depend on the rest of its batch,
// while the penalty asks for the gradient of each score with respect to its own input alone. (They suggest
// layer normalisation as a replacement; the plain critic trains well at this size, so hundun uses none.)
// With pack m it returns B/m logits, one per pack of m consecutive images.
class Discriminator : public Module {
 public:
  Discriminator(const GanOptions& options, Generator& rng);
  Variable forward(const Variable& images) override { return forward(images, Tensor()); }
  Variable forward(const Variable& images, const Tensor& labels);
  std::string describe() const override;

  GanOptions options;
  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> bn2;  // nullptr for the WGAN-GP critic
  std::shared_ptr<Linear> fc;
};

// Karras et al.'s minibatch standard deviation (2018, section 3): x [N, c, h, w] -> [N, c + 1, h, w], the extra plane
// holding the standard deviation of each feature over the N images, averaged into one number (small when G's images
// are alike). Any rank from 2 on: the 2-D toy's features [N, c] -> [N, c + 1].
Variable minibatch_std(const Variable& x);

// Both networks; its state_dict is "generator.*" and "discriminator.*", the parts a training checkpoint names.
class GAN : public LatentVariableModel {
 public:
  explicit GAN(GanOptions options = {}, Generator& rng = default_generator());

  // z: [B, latent_dim] -> G(z) mapped to [0, 1], in evaluation mode's BatchNorm statistics, no graph. A
  // conditional GAN makes the classes in turn (image i of class i mod K); decode_class_images picks them.
  Tensor decode_images(const Tensor& z) override;
  Tensor decode_class_images(const Tensor& z, const Tensor& labels);
  int64_t num_classes() const override { return options.num_classes; }
  Tensor sample_class(int64_t n, int64_t label, Generator& rng) override;
  // (New images: sample(n, rng), z ~ N(0, I) decoded, from LatentVariableModel.)
  Variable forward(const Variable& z) override { return (*generator)(z); }

  int64_t latent_dim() const override { return options.latent_dim; }
  ImageShape image_shape() const override { return options.image; }
  std::map<std::string, std::string> metadata() const override { return options.to_metadata(); }
  std::string describe() const override;

  GanOptions options;
  std::shared_ptr<GeneratorNet> generator;
  std::shared_ptr<Discriminator> discriminator;
};

// WGAN-GP's penalty lambda E[(||grad_x^ D(x^)||_2 - 1)^2] at x^ = eps x + (1 - eps) G(z) (train_step draws
// eps ~ U[0, 1] per image): a scalar whose graph goes through the gradient (create_graph), so backward
// differentiates it. real, fake: [B, C, H, W] (fake detached); eps: [B, 1, 1, 1].
// labels: the conditional critic's classes of the images (empty otherwise).
Variable gradient_penalty(Discriminator& critic, const Tensor& real, const Tensor& fake, const Tensor& eps, float lambda,
                          const Tensor& labels = Tensor());

// R1 (Mescheder et al. 2018): (gamma / 2) E_x[||grad_x D(x)||^2] over real images x, from d_real = D(x) whose
// input x requires its gradient; a scalar whose graph goes through that gradient (create_graph). With BatchNorm
// in D the gradient of the batch's sum is not each score's alone (the batch statistics mix them); it is still
// the slope of D around the real data that R1 flattens.
Variable r1_penalty(const Variable& d_real, const Variable& x, float gamma);

// The losses of the game on D's logits d_real = D(x) and d_fake = D(G(z)) ([B, 1]), averaged over the batch, each
// with its formula beside it in gan.cpp. discriminator_loss is without WGAN-GP's penalty (train_step adds it).
Variable discriminator_loss(GanLoss loss, const Variable& d_real, const Variable& d_fake);
Variable generator_loss(GanLoss loss, const Variable& d_fake);

// One player's move: zero its gradients, backpropagate its loss, one Adam step on its own parameters
// (theta <- theta - Adam(dL/dtheta)); returns the loss's value.
double descend(Adam& optimizer, const Variable& loss);

// One step of the game on a batch, as the progress line and the log report it.
struct AdversarialLosses {
  double discriminator = 0;  // L_D of the discriminator step (the WGAN-GP penalty included)
  double generator = 0;      // L_G: of the generator step, or, on a critic-only WGAN-GP step, -E[D(G(z))] before it
  double d_real = 0, d_fake = 0;  // mean logits D(x), D(G(z)) in the discriminator step
  double d_accuracy = 0;          // the share of D's calls right in that step: D(x) > 0 on real, D(G(z)) < 0 on fake
  bool generator_stepped = false;
};

// Algorithm 1 on one batch: a discriminator step on `real` ([B, C, H, W] in [-1, 1]) and G(z) for B draws z ~ N(0, I)
// from rng, then (every n_critic-th discriminator step) a generator step. adam_d and adam_g hold D's and G's
// parameters; the gradients are zeroed before each backward. labels: the real images' classes [B] for a
// conditional GAN (G makes the same classes), else empty. With pack m the batch is cut to a multiple of m.
AdversarialLosses train_step(GAN& gan, Adam& adam_d, Adam& adam_g, const Tensor& real, Generator& rng,
                             const Tensor& labels = Tensor());

// The GAN a checkpoint of `hundun train gan` holds: built from its metadata, both networks' weights loaded (not
// the optimizers), in evaluation mode. Throws std::runtime_error naming the file for a damaged file or another model.
std::shared_ptr<GAN> load_gan(const std::string& path);

}  // namespace hd::gan
