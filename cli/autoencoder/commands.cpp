// The autoencoder's commands (models/autoencoder.h): train, sample, reconstruct, interpolate, eval — each one
// registration line below, over the shared command bodies of cli/image_commands.h and cli/encoder_decoder.h. What is
// the autoencoder's own is here: its loss (reconstruction BCE per image, averaged over the batch) and its test loss.
// `hundun sample ae` decodes z ~ N(0, I) although the autoencoder was never asked to put its codes anywhere in
// particular: the draws land where no training image's code lies and decode to smudges (lesson 07).
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/encoder_decoder.h"
#include "cli/image_commands.h"
#include "cli/model_files.h"
#include "models/autoencoder.h"

namespace hd::cli {
namespace {

// Reconstruction loss per image (BCE summed over the pixels, nats).
TestLoss ae_test_loss(Autoencoder& ae, const Tensor& images) {
  return test_loss_in_batches(images, [&](const Tensor& x) {
    // ae.loss averages over the batch; times its size gives the batch's sum
    const double batch_sum = static_cast<double>(ae.loss(x).item()) * static_cast<double>(x.size(0));
    return TestLoss{batch_sum, batch_sum, 0};
  });
}

EncoderDecoderFamily ae_family() {
  EncoderDecoderFamily f;
  f.name = "ae";
  f.summary = "train the autoencoder (MLP, or --arch conv)";
  f.about =
      "Trains the autoencoder of models/autoencoder.h (reconstruction BCE per image, Adam) on\n"
      "Fashion-MNIST.";
  f.loss_title = "autoencoder: reconstruction loss per image";
  f.test_loss_name = "reconstruction loss";
  f.archs = {"mlp", "conv"};
  f.build = [](const Metadata& options, Generator& gen) {
    auto ae = std::make_shared<Autoencoder>(AutoencoderOptions::from_metadata(options), gen);
    EncoderDecoderRun run;
    run.model = ae;
    run.training_loss = [ae](const Tensor& x, Generator&) { return TrainingLoss{ae->loss(x), 1}; };
    run.test_loss = [ae](const Tensor& images, Generator&) { return ae_test_loss(*ae, images); };
    return run;
  };
  f.print_epoch = [](int64_t epoch, int64_t epochs, double train_loss, const TestLoss& t, double seconds) {
    fmt::print("epoch {}/{}  train loss {:.2f}  test reconstruction loss {:.2f}  ({:.1f}s)\n", epoch, epochs,
               train_loss, t.total, seconds);
  };
  return f;
}

OpenedEncoderDecoder open_for_reconstruct(const std::string& path) {
  std::shared_ptr<Autoencoder> ae = load_autoencoder(path);
  return {ae, [ae](const Tensor& images, Generator&) { return ae_test_loss(*ae, images).reconstruction; }};
}

OpenedForEval open_for_eval(const std::string& path) {
  std::shared_ptr<Autoencoder> ae = load_autoencoder(path);
  OpenedForEval opened{ae, {}, {}};
  opened.print_test_loss = [ae](const Dataset& test, Generator&) {
    fmt::print("test loss ({} images): reconstruction BCE {:.2f} nats per image\n", test.images.size(0),
               ae_test_loss(*ae, test.images).total);
  };
  opened.extra_rows = [ae](const Dataset& test, Generator&) {
    return std::vector<std::pair<std::string, Tensor>>{
        {fmt::format("reconstructed test images ({})", test.images.size(0)), ae->reconstruct(test.images)}};
  };
  return opened;
}

const bool registered =
    register_family({"ae", "an autoencoder", {},
                     [](const std::string& path) { return std::shared_ptr<Module>(load_autoencoder(path)); }}) &&
    register_encoder_decoder_training(ae_family()) &&
    register_sample_command({"ae", "decode z ~ N(0, I) with an autoencoder (it was never trained for this)",
                             "Decodes N draws z ~ N(0, I) with the autoencoder's decoder in a checkpoint of\n"
                             "'hundun train ae' (a prior it was never trained to have: lesson 07).",
                             [](const std::string& path) { return std::shared_ptr<GenerativeModel>(load_autoencoder(path)); }}) &&
    register_reconstruct_command({"ae", "test images and their autoencoder reconstructions", open_for_reconstruct}) &&
    register_interpolate_command({"ae", "walk the autoencoder's latent space between two images", open_for_reconstruct}) &&
    register_eval_command({"ae", "test loss of an autoencoder, and FD of its decoded N(0, I) draws",
                           "Evaluates a checkpoint of 'hundun train ae': the test-set reconstruction loss, then the\n"
                           "Frechet distance, confidence and class coverage of decoded N(0, I) draws, judged by a "
                           "classifier.",
                           open_for_eval});

}  // namespace
}  // namespace hd::cli
