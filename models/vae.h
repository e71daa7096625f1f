// vae.h — the variational autoencoder (變分自編碼器; Kingma & Welling 2014, "Auto-Encoding Variational Bayes").
//
// An autoencoder whose encoder outputs a distribution instead of a point. For an image x it gives
// the Gaussian q(z | x) = N(mu, diag(sigma^2)), written as (mu, logvar = log sigma^2); a z drawn from it
// goes through the decoder, which gives p(x | z) (a Bernoulli probability per pixel). Training
// minimises the negative ELBO (evidence lower bound), per image:
//
//     loss = E_q[-log p(x | z)]  +  beta * KL( q(z | x) || N(0, I) )
//            reconstruction          keeps the codes near the prior, so that a z ~ N(0, I)
//            (one sample of z)       decodes to a plausible image: the VAE can generate, the autoencoder cannot
//
// with KL = -1/2 sum_j (1 + logvar_j - mu_j^2 - e^logvar_j) in closed form. Sampling z would block the
// gradient, so it is written as a deterministic function of (mu, logvar) and outside noise — the
// reparameterisation (重參數化): z = mu + sigma * eps, eps ~ N(0, I).
//
// The MLP is exactly pytorch/examples' vae/main.py (same layer names, so state_dicts interchange):
//     fc1 784 -> 400, ReLU;  fc21, fc22 400 -> 20 (mu, logvar);  fc3 20 -> 400, ReLU;  fc4 400 -> 784
// The example applies a sigmoid after fc4 and uses F.binary_cross_entropy(recon, x, reduction='sum');
// hundun's decoder returns the logits and uses binary_cross_entropy_with_logits. That is the same
// function of the weights (BCE(sigmoid(l), x) = softplus(l) - x l), computed without log(0) (PyTorch
// clamps those logs at -100 instead), so training follows the same path. latent_dim = 2 gives the
// variant whose whole latent space can be drawn as a map (latent_grid).
//
// Every random draw takes a Generator, so a run repeats exactly from its seed.
#pragma once

#include <memory>
#include <string>

#include "autograd/loss.h"
#include "models/generative_model.h"
#include "nn/layers.h"
#include "nn/metadata.h"

namespace hd {

// The decoder's distribution p(x | z):
//   Bernoulli  each pixel "ink" with probability sigmoid(logit): -log p = BCE with logits (the default)
//   Gaussian   N(sigmoid(logit), sigma^2) per pixel: -log p = (x - x_hat)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2,
//              sigma fixed (options.sigma) or learned (one shared log sigma, a parameter)
enum class Likelihood { Bernoulli, Gaussian };

struct VaeOptions {
  int64_t latent_dim = 20;
  int64_t hidden = 400;
  Likelihood likelihood = Likelihood::Bernoulli;
  float beta = 1.f;           // weight of the KL term (beta-VAE, Higgins et al. 2017); 1 is the ELBO
  float sigma = 0.1f;         // Gaussian decoder: the pixel noise (the starting value when learned)
  bool learn_sigma = false;   // Gaussian decoder: learn sigma as a parameter "log_sigma"
  ImageShape image = {};      // (C, H, W); the MLP sees C*H*W inputs (784 for Fashion-MNIST)

  // As checkpoint metadata: "model" "vae", "arch" "mlp", "latent_dim", "hidden", "image_shape", and for a
  // Gaussian decoder "likelihood", "sigma", "learn_sigma" (beta only shapes training); and back, each entry checked
  // against its bounds (latent_dim 1..4096, hidden 1..16384) before anything is built.
  std::map<std::string, std::string> to_metadata() const;
  static VaeOptions from_metadata(const Metadata& metadata);
};

class VAE : public EncoderDecoderModel {
 public:
  explicit VAE(VaeOptions options = {}, Generator& gen = default_generator());

  // q(z | x): images [B, C, H, W] (or [B, C*H*W]) -> mu, logvar: [B, latent_dim]
  struct Posterior {
    Variable mu, logvar;
  };
  Posterior encode(const Variable& images);
  // z = mu + exp(logvar / 2) * eps with eps ~ N(0, I) drawn from gen: [B, latent_dim]
  static Variable reparameterize(const Variable& mu, const Variable& logvar, Generator& gen);
  // z: [B, latent_dim] -> logits of p(x | z): [B, C, H, W]
  Variable decode(const Variable& z);

  // encode, reparameterize, decode.
  struct Output {
    Variable logits, mu, logvar, z;
  };
  Output forward(const Variable& images, Generator& gen);
  // Deterministic: the decoder's logits at z = mu (no noise), for evaluation.
  Variable forward(const Variable& images) override;

  // The negative ELBO, its two parts reported separately (total = reconstruction + beta * kl).
  // reduction Mean: each part summed over an image's pixels / latents, averaged over the batch (per-image nats).
  // reduction Sum: summed over the batch too, as pytorch/examples does (divide by the data set size afterwards).
  struct Loss {
    Variable total, reconstruction, kl;
  };
  Loss loss(const Variable& images, Generator& gen, Reduction reduction = Reduction::Mean);

  // --- without gradients, for pictures; all images have pixels in [0, 1] ---
  // z: [B, latent_dim] -> sigmoid(decode(z)) [B, C, H, W] (the decoder's mean image)
  Tensor decode_images(const Tensor& z) override;
  // images -> the posterior means mu [B, latent_dim]
  Tensor encode_images(const Tensor& images) override;
  // One sampled reconstruction per image (calling again gives similar, not identical images).
  Tensor reconstruct(const Tensor& images, Generator& gen) override;
  // (New images: sample(n, gen), z ~ N(0, I) decoded, from LatentVariableModel. From image a to image b:
  //  interpolate_images(vae, a, b, steps), along z_t = (1 - t) mu_a + t mu_b; models/generative_model.h.)
  // latent_dim == 2 only: decodes a per_side x per_side grid of z over [-range, range]^2, row by row from
  // z_2 = +range at the top to -range at the bottom, z_1 from -range on the left. [per_side^2, C, H, W]
  Tensor latent_grid(int64_t per_side, float range = 3.f);

  int64_t latent_dim() const override { return options.latent_dim; }
  ImageShape image_shape() const override { return options.image; }
  std::map<std::string, std::string> metadata() const override { return options.to_metadata(); }
  std::string describe() const override;

  VaeOptions options;
  std::shared_ptr<Linear> fc1, fc21, fc22, fc3, fc4;
  Variable log_sigma;  // [1]; defined only for a Gaussian decoder with learn_sigma
};

// The VAE a checkpoint of `hundun train vae` holds: built from its metadata, weights loaded (not the optimizer),
// in evaluation mode. Throws std::runtime_error naming the file for a damaged file or another model.
std::shared_ptr<VAE> load_vae(const std::string& path);

}  // namespace hd
