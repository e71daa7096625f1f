// The VAE's commands (models/vae.h): train, sample, reconstruct, interpolate, eval — each one registration line
// below, over the shared command bodies of cli/image_commands.h and cli/encoder_decoder.h. What is the VAE's own
// is here: its loss (the negative ELBO, summed over each batch as pytorch/examples does), its test loss with its
// two parts, and its pictures (samples from the prior, the latent map of a 2-D latent space).
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/encoder_decoder.h"
#include "cli/image_commands.h"
#include "cli/model_files.h"
#include "data/image.h"
#include "models/vae.h"
#include "report/labels.h"

namespace hd::cli {
namespace {

// Per image, one z per image drawn from gen: pytorch/examples' test loss divided by the number of images.
TestLoss vae_test_loss(VAE& vae, const Tensor& images, Generator& gen) {
  return test_loss_in_batches(images, [&](const Tensor& x) {
    const VAE::Loss l = vae.loss(x, gen, Reduction::Sum);
    return TestLoss{l.total.item(), l.reconstruction.item(), l.kl.item()};
  });
}

EncoderDecoderRun vae_run(const std::shared_ptr<VAE>& vae) {
  EncoderDecoderRun run;
  run.model = vae;
  // The negative ELBO summed over the whole batch, as pytorch/examples' vae/main.py.
  run.training_loss = [vae](const Tensor& x, Generator& gen) {
    return TrainingLoss{vae->loss(x, gen, Reduction::Sum).total, static_cast<double>(x.size(0))};
  };
  run.test_loss = [vae](const Tensor& images, Generator& gen) { return vae_test_loss(*vae, images, gen); };
  // The same 64 draws z ~ N(0, I) every epoch, so the pictures show what training changed.
  const Tensor prior_z = [&] {
    Generator picture_gen(0);
    return randn({64, vae->options.latent_dim}, picture_gen);
  }();
  run.epoch_pictures = [vae, prior_z](const std::string& out_dir, const std::string& tag) {
    const std::string samples_path = fmt::format("{}/samples_{}.png", out_dir, tag);
    GridLabels sample_labels;
    sample_labels.caption = fmt::format("{}: decoded z ~ N(0, I), the same 64 z every epoch", tag);
    save_labelled_grid(vae->decode_images(prior_z), samples_path, sample_labels);
    print_wrote(samples_path, "64 samples, z ~ N(0, I), the same z every epoch");
    if (vae->options.latent_dim == 2) {
      const std::string map_path = fmt::format("{}/latent_map_{}.png", out_dir, tag);
      GridOptions grid;
      grid.nrow = 20;
      grid.padding = 1;
      const GridLabels map_labels = square_axes(20, 3.f, "z1", "z2", tag + ": the decoder over z in [-3, 3]^2");
      save_labelled_grid(vae->latent_grid(20, 3.f), map_path, map_labels, grid);
      print_wrote(map_path, "the decoder over z in [-3, 3]^2, z2 up, z1 right");
    }
  };
  return run;
}

EncoderDecoderFamily vae_family() {
  EncoderDecoderFamily f;
  f.name = "vae";
  f.summary = "train the variational autoencoder (pytorch/examples' VAE; --latent 2 for a 2-D map)";
  f.about =
      "Trains the variational autoencoder of models/vae.h (pytorch/examples' VAE: 784-400-latent,\n"
      "Bernoulli decoder, negative ELBO summed over each batch, Adam) on Fashion-MNIST.";
  f.loss_title = "VAE: negative ELBO per image";
  f.test_loss_name = "negative ELBO";
  f.build = [](const Metadata& options, Generator& gen) {
    return vae_run(std::make_shared<VAE>(VaeOptions::from_metadata(options), gen));
  };
  f.print_epoch = [](int64_t epoch, int64_t epochs, double train_loss, const TestLoss& t, double seconds) {
    fmt::print("epoch {}/{}  train loss {:.2f}  test negative ELBO {:.2f} = reconstruction {:.2f} + KL {:.2f}  "
               "({:.1f}s)\n",
               epoch, epochs, train_loss, t.total, t.reconstruction, t.kl, seconds);
  };
  return f;
}

OpenedEncoderDecoder open_for_reconstruct(const std::string& path) {
  std::shared_ptr<VAE> vae = load_vae(path);
  return {vae, [vae](const Tensor& images, Generator& gen) { return vae_test_loss(*vae, images, gen).reconstruction; }};
}

OpenedForEval open_for_eval(const std::string& path) {
  std::shared_ptr<VAE> vae = load_vae(path);
  OpenedForEval opened{vae, {}, {}};
  opened.print_test_loss = [vae](const Dataset& test, Generator& gen) {
    const TestLoss l = vae_test_loss(*vae, test.images, gen);
    fmt::print("test loss ({} images): negative ELBO {:.2f} nats per image = reconstruction {:.2f} + KL {:.2f}\n",
               test.images.size(0), l.total, l.reconstruction, l.kl);
  };
  opened.extra_rows = [vae](const Dataset& test, Generator& gen) {
    return std::vector<std::pair<std::string, Tensor>>{
        {fmt::format("reconstructed test images ({})", test.images.size(0)), vae->reconstruct(test.images, gen)}};
  };
  return opened;
}

const bool registered =
    register_family({"vae", "a VAE", {}, [](const std::string& path) { return std::shared_ptr<Module>(load_vae(path)); }}) &&
    register_encoder_decoder_training(vae_family()) &&
    register_sample_command({"vae", "new images from a VAE: z ~ N(0, I), decoded",
                             "Decodes N draws z ~ N(0, I), the VAE's prior, with the decoder in a checkpoint of\n"
                             "'hundun train vae'.",
                             [](const std::string& path) { return std::shared_ptr<GenerativeModel>(load_vae(path)); }}) &&
    register_reconstruct_command({"vae", "test images and their VAE reconstructions", open_for_reconstruct}) &&
    register_interpolate_command({"vae", "walk the VAE's latent space between two images", open_for_reconstruct}) &&
    register_eval_command({"vae", "negative ELBO of a VAE on the test set, and FD, confidence, coverage of its samples",
                           "Evaluates a checkpoint of 'hundun train vae': the test-set negative ELBO, then the Frechet\n"
                           "distance, confidence and class coverage of generated images, judged by a classifier.",
                           open_for_eval});

}  // namespace
}  // namespace hd::cli
