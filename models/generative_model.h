// generative_model.h — what every generative family can do once trained, as the commands (`hundun sample`),
// the judge (metrics/frechet.h) and the comparison lesson see it. Each family is a Module of its own with its own
// training step; only this much is shared:
//
//   GenerativeModel        sample(n): n new images from noise (隨機雜訊 in, image out) — AE, VAE, GAN, diffusion
//   LatentVariableModel    + decode_images(z): a latent space (潛在空間) that can be decoded — AE, VAE, GAN
//   EncoderDecoderModel    + encode_images(x), reconstruct(x): the way back from images to codes — AE, VAE
//
// and the checkpoint metadata a model writes about itself (metadata()), from which the same family's
// `from_metadata` builds it again.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "models/images.h"
#include "nn/module.h"
#include "tensor/random.h"

namespace hd {

class GenerativeModel : public Module {
 public:
  // n new images [n, C, H, W], pixels in [0, 1], from noise drawn with gen; records no graph.
  virtual Tensor sample(int64_t n, Generator& gen) = 0;
  virtual ImageShape image_shape() const = 0;
  // The options as checkpoint metadata, "model" (the family's name: "ae", "vae", ...) included.
  virtual std::map<std::string, std::string> metadata() const = 0;

  // A class-conditional model (conditional GAN, guided diffusion) knows num_classes() > 0 classes and makes n
  // images of one of them on request; an unconditional one has 0, and sample_class throws std::invalid_argument.
  virtual int64_t num_classes() const { return 0; }
  virtual Tensor sample_class(int64_t n, int64_t label, Generator& gen);
};

class LatentVariableModel : public GenerativeModel {
 public:
  virtual int64_t latent_dim() const = 0;
  // z: [B, latent_dim] -> images [B, C, H, W] in [0, 1], no graph.
  virtual Tensor decode_images(const Tensor& z) = 0;
  // z ~ N(0, I), decoded. For the VAE and the GAN the distribution they were trained on; for the autoencoder a
  // guess at a prior it was never trained to have (lesson 07).
  Tensor sample(int64_t n, Generator& gen) override;
};

class EncoderDecoderModel : public LatentVariableModel {
 public:
  // images [N, C, H, W] -> codes [N, latent_dim] (the VAE's posterior means mu), no graph.
  virtual Tensor encode_images(const Tensor& images) = 0;
  // images -> their reconstructions in [0, 1] (the VAE's use one sampled z per image, from gen), no graph.
  virtual Tensor reconstruct(const Tensor& images, Generator& gen) = 0;
};

// The straight line between two codes: z_t = (1 - t) z_a + t z_b for `steps` values of t from 0 to 1.
// z_a, z_b: [D] or [1, D] -> [steps, D]
Tensor lerp_latents(const Tensor& z_a, const Tensor& z_b, int64_t steps);

// The great-circle path (slerp; Shoemake 1985, for GAN latents White 2016): with cos(omega) = z_a.z_b / (|z_a| |z_b|),
// z_t = sin((1 - t) omega) / sin(omega) z_a + sin(t omega) / sin(omega) z_b. A draw z ~ N(0, I) in D dimensions lies
// near the sphere of radius sqrt(D); the straight line between two draws cuts inside it (its midpoint has norm about
// sqrt(D / 2)), where a generator trained on N(0, I) rarely saw a code; slerp stays at the draws' norms. Codes that
// (nearly) point the same way get the straight line. Shapes as lerp_latents.
Tensor slerp_latents(const Tensor& z_a, const Tensor& z_b, int64_t steps);

// From image a to image b through the latent space: the codes of both, lerp_latents, decoded.
// a, b: one image each ([C, H, W], [1, C, H, W] or [C*H*W]) -> [steps, C, H, W]
Tensor interpolate_images(EncoderDecoderModel& model, const Tensor& a, const Tensor& b, int64_t steps);

}  // namespace hd
