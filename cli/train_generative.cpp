// `hundun train ae` and `hundun train vae` — train the autoencoder (models/autoencoder.h) or the
// variational autoencoder (models/vae.h) on Fashion-MNIST.
//
//   hundun train vae                         pytorch/examples' VAE: 784-400-20, Adam 1e-3, batch 128, 10 epochs
//   hundun train vae --latent 2 --out out/vae2d      the variant whose latent space is a drawable map
//   hundun train ae --arch conv --out out/ae-conv
//
// The VAE minimises the negative ELBO summed over each batch (as pytorch/examples does); the autoencoder
// the reconstruction BCE per image. After every epoch: the test loss (per image, one z per image for the
// VAE, from a generator seeded 0 every time, so `hundun eval` on the final checkpoint repeats the last
// number exactly), then these files in --out, rewritten atomically:
//   checkpoint.safetensors   the model, Adam's moments, the generator, and as metadata the model
//                            (generative.h), the run's settings and its history
//   log.jsonl                one JSON object per epoch
//   loss.svg                 training loss per step and test loss per epoch
//   recon_epochNN.png        16 test images (rows of 8) above their reconstructions
//   samples_epochNN.png      VAE: 64 images decoded from the same 64 draws z ~ N(0, I) every epoch
//   latent_map_epochNN.png   VAE with --latent 2: the decoder over the square [-3, 3]^2 of the latent plane
//   latent_scatter.svg       --latent 2, at the end: every test image's code, coloured by class
//
// --resume CKPT continues exactly, as `hundun train classifier` does: settings from the checkpoint, the
// model, Adam and the generator restored, and the data loader's finished epochs drawn and discarded.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/generative.h"
#include "cli/training_run.h"
#include "data/files.h"
#include "data/image.h"
#include "data/loader.h"
#include "data/plot.h"
#include "data/progress.h"
#include "nn/optim.h"

namespace hd::cli {
namespace {

// The pictures must show the same images and the same z every epoch, whatever the run's seed.
constexpr uint64_t kPictureSeed = 0;
// Test losses draw the VAE's eps from Generator(kTestSeed): `hundun eval --seed 0` gives the same numbers.
constexpr uint64_t kTestSeed = 0;

// What makes two runs the same run; stored in the checkpoint.
struct Settings {
  ModelSpec spec;
  RunSettings run;  // batch, lr, seed (--seed 1 by default, as pytorch/examples), train_size, test_size
};

struct EpochRecord {
  int64_t epoch;  // from 1
  double train_loss, test_loss, test_reconstruction, test_kl, seconds;
};

struct History {
  std::vector<EpochRecord> epochs;
  std::vector<double> step_losses;  // per image
};

ArgParser make_parser(const std::string& model) {
  const bool vae = model == "vae";
  ArgParser args("hundun train " + model,
                 vae ? "Trains the variational autoencoder of models/vae.h (pytorch/examples' VAE: 784-400-latent,\n"
                       "Bernoulli decoder, negative ELBO summed over each batch, Adam) on Fashion-MNIST."
                     : "Trains the autoencoder of models/autoencoder.h (reconstruction BCE per image, Adam) on\n"
                       "Fashion-MNIST.");
  args.option("--epochs", "N", "total passes over the training set (with --resume: including those done)", "10");
  args.option("--batch", "B", "images per step", "128");
  args.option("--lr", "LR", "Adam's learning rate", "0.001");
  args.option("--latent", "D", vae ? "size of the latent code z (2: a drawable latent map)" : "size of the code z",
              "20");
  if (!vae) args.option("--arch", "NAME", "mlp (784-400-D-400-784) or conv (two strided convolutions)", "mlp");
  args.option("--seed", "S", "seeds the initial weights, the shuffling and the VAE's noise", "1");
  args.option("--data", "DIR", "folder of the Fashion-MNIST IDX files", default_fashion_mnist_dir());
  args.option("--out", "DIR", "where the checkpoint, log and pictures go", "out/" + model);
  args.option("--resume", "CKPT", "continue the run saved in this checkpoint");
  args.option("--train-size", "N", "train on the first N training images only, 0 for all", "0");
  args.option("--test-size", "N", "test on the first N test images only, 0 for all", "0");
  return args;
}

std::string jsonl(const History& history, bool vae) {
  std::string out;
  for (const EpochRecord& r : history.epochs) {
    out += fmt::format("{{\"epoch\":{},\"train_loss\":{},\"test_loss\":{}", r.epoch, json_number(r.train_loss),
                       json_number(r.test_loss));
    if (vae)
      out += fmt::format(",\"test_reconstruction\":{},\"test_kl\":{}", json_number(r.test_reconstruction),
                         json_number(r.test_kl));
    out += fmt::format(",\"seconds\":{}}}\n", json_number(r.seconds));
  }
  return out;
}

// --- settings and history <-> checkpoint metadata (cli/training_run.h) ---

std::map<std::string, std::string> to_metadata(const Settings& s, const History& h) {
  std::map<std::string, std::string> m = spec_metadata(s.spec);
  add_run_settings(s.run, m);
  std::string epochs;
  for (const EpochRecord& r : h.epochs)  // "epoch train test test_reconstruction test_kl seconds;" per epoch
    epochs += fmt::format("{} {} {} {} {} {};", r.epoch, r.train_loss, r.test_loss, r.test_reconstruction, r.test_kl,
                          r.seconds);
  m["history_epochs"] = epochs;
  m["history_step_losses"] = step_losses_text(h.step_losses);
  return m;
}

Settings settings_from_metadata(const RunMetadata& m) {
  Settings s;
  s.spec = spec_from_metadata(m.metadata(), m.path());
  s.run = run_settings_from(m);
  return s;
}

History history_from_metadata(const RunMetadata& m) {
  History h;
  for (const std::vector<double>& f : epoch_records_from(m, 6))
    h.epochs.push_back({static_cast<int64_t>(f[0]), f[1], f[2], f[3], f[4], f[5]});
  h.step_losses = step_losses_from(m);
  return h;
}

// --- pictures ---

// Training loss per step (x in epochs) and test loss per epoch, one picture.
void save_curves(const History& h, int64_t steps_per_epoch, const std::string& path, const std::string& model) {
  Plot plot(model == "vae" ? "VAE: negative ELBO per image" : "autoencoder: reconstruction loss per image", "epoch",
            "nats per image");
  std::vector<double> x, y;
  for (size_t i = 0; i < h.step_losses.size(); ++i) {
    x.push_back(static_cast<double>(i + 1) / static_cast<double>(steps_per_epoch));
    y.push_back(h.step_losses[i]);
  }
  plot.line(x, y, "train (per step)", "#1f77b4");
  std::vector<double> ex, ey;
  for (const EpochRecord& r : h.epochs) {
    ex.push_back(static_cast<double>(r.epoch));
    ey.push_back(r.test_loss);
  }
  plot.line(ex, ey, "test (per epoch)", "#ff7f0e");
  plot.scatter(ex, ey, "", "#ff7f0e", 3.0, 1.0);
  // The first steps' losses are several times the final ones; show the part where the models differ.
  if (!ey.empty()) plot.set_ylim(0.9 * *std::min_element(ey.begin(), ey.end()), 1.6 * ey.front());
  plot.save(path);
}

// For a 2-D latent space: every test image's code, one colour per class.
void save_latent_scatter(GenerativeModel& model, const Dataset& test, const std::string& path) {
  const Tensor z = model.encode(test.images);  // [N, 2]
  const auto& names = fashion_mnist_classes();
  Plot plot(fmt::format("{}: codes of {} test images", model.spec().model == "vae" ? "VAE means mu" : "autoencoder",
                        test.images.size(0)),
            "z1", "z2", 640, 560);
  for (size_t c = 0; c < names.size(); ++c) {
    std::vector<double> x, y;
    for (int64_t i = 0; i < z.size(0); ++i)
      if (static_cast<size_t>(test.labels.data()[i]) == c) {
        x.push_back(z.data()[2 * i]);
        y.push_back(z.data()[2 * i + 1]);
      }
    plot.scatter(x, y, names[c], "", 1.5, 0.5);
  }
  plot.save(path);
}

int train_generative(const std::string& model_name, const std::vector<std::string>& words) {
  ArgParser args = make_parser(model_name);
  if (parse_or_print_help(args, words)) return 0;
  // Every flag is read and checked before anything slow happens.
  Settings s;
  s.spec.model = model_name;
  const int64_t epochs = args.get_int("--epochs", 1, 100000);
  s.run.batch = args.get_int("--batch", 1, 1 << 20);
  s.run.lr = args.get_double("--lr", 0.0, 10.0);
  s.spec.latent_dim = args.get_int("--latent", 1, 4096);
  if (model_name == "ae") s.spec.arch = args.get_choice("--arch", {"mlp", "conv"});
  s.run.seed = args.get_int("--seed", 0, INT64_MAX);
  s.run.train_size = args.get_int("--train-size", 0, 1 << 30);
  s.run.test_size = args.get_int("--test-size", 0, 1 << 30);
  const std::string data_dir = args.get("--data"), out_dir = args.get("--out"), resume = args.get("--resume");

  History history;
  if (!resume.empty()) {
    const CheckpointInfo info = read_checkpoint_info(resume);
    check_model(info, resume, model_name, "train");
    const RunMetadata metadata(info.metadata, resume,
                               "was it written by 'hundun train ae|vae', or stripped by 'hundun export'?");
    const Settings saved = settings_from_metadata(metadata);
    check_resume_flag(args, "--latent", s.spec.latent_dim == saved.spec.latent_dim,
                      std::to_string(saved.spec.latent_dim));
    if (model_name == "ae") check_resume_flag(args, "--arch", s.spec.arch == saved.spec.arch, saved.spec.arch);
    check_resume_flags(args, s.run, saved.run);
    s = saved;
    history = history_from_metadata(metadata);
    if (info.epoch >= epochs) {
      fmt::print("{} has already trained {} epochs; pass --epochs larger than {} to train further\n", resume,
                 info.epoch, info.epoch);
      return 0;
    }
  }
  const Dataset train = first_images(load_fashion_mnist(true, data_dir), s.run.train_size, "--train-size");
  const Dataset test = first_images(load_fashion_mnist(false, data_dir), s.run.test_size, "--test-size");
  const std::string ckpt_path = out_dir + "/checkpoint.safetensors", log_path = out_dir + "/log.jsonl",
                    curve_path = out_dir + "/loss.svg";

  // One generator draws the initial weights and then every eps of the reparameterisation.
  Generator gen(static_cast<uint64_t>(s.run.seed));
  GenerativeModel model(s.spec, gen);
  Adam optimizer(model.module().parameters(), static_cast<float>(s.run.lr));
  DataLoader loader(train, s.run.batch, /*shuffle=*/true, static_cast<uint64_t>(s.run.seed));
  int64_t first_epoch = 0;  // epochs already done
  if (!resume.empty()) {
    first_epoch = load_checkpoint(resume, model.module(), &optimizer, &gen).epoch;
    for (int64_t e = 0; e < first_epoch; ++e) loader.start_epoch();  // skip the finished epochs' orders
  }
  std::filesystem::create_directories(out_dir);  // only once everything loaded

  // The same 16 test images and 64 latent draws in every epoch's pictures.
  const int64_t shown = std::min<int64_t>(16, test.images.size(0));
  const Tensor shown_images = shown >= 10 ? images_by_class(test, shown) : test.images.narrow0(0, shown);
  Generator picture_gen(kPictureSeed);
  const Tensor prior_z = randn({64, s.spec.latent_dim}, picture_gen);

  fmt::print("train {}: {} ({} parameters), Adam lr {}, batch {}, seed {}, {} training / {} test images\n", model_name,
             model.describe(), model.module().num_parameters(), s.run.lr, s.run.batch, s.run.seed, train.images.size(0),
             test.images.size(0));
  if (first_epoch > 0) fmt::print("resuming {} after epoch {}\n", resume, first_epoch);
  std::fflush(stdout);

  for (int64_t epoch = first_epoch; epoch < epochs; ++epoch) {
    Progress progress("train", loader.num_batches(), static_cast<int>(epochs));
    progress.set_epoch(static_cast<int>(epoch));
    const auto start = std::chrono::steady_clock::now();
    model.module().train();
    loader.start_epoch();
    double loss_sum = 0;  // over the epoch's images
    Tensor x, y;
    for (int64_t step = 0; loader.next(x, y); ++step) {
      optimizer.zero_grad();
      Variable loss = model.training_loss(x, gen);
      loss.backward();
      optimizer.step();
      const double per_image = loss.item() / static_cast<double>(model.loss_divisor(x.size(0)));
      loss_sum += per_image * static_cast<double>(x.size(0));
      history.step_losses.push_back(per_image);
      progress.update(step, static_cast<float>(per_image), x.size(0));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.finish();

    model.module().eval();
    Generator test_gen(kTestSeed);
    const GenerativeModel::TestLoss t = model.test_loss(test.images, test_gen);
    const double train_loss = loss_sum / static_cast<double>(train.images.size(0));
    history.epochs.push_back({epoch + 1, train_loss, t.total, t.reconstruction, t.kl, seconds});
    if (model.vae)
      fmt::print("epoch {}/{}  train loss {:.2f}  test negative ELBO {:.2f} = reconstruction {:.2f} + KL {:.2f}  "
                 "({:.1f}s)\n",
                 epoch + 1, epochs, train_loss, t.total, t.reconstruction, t.kl, seconds);
    else
      fmt::print("epoch {}/{}  train loss {:.2f}  test reconstruction loss {:.2f}  ({:.1f}s)\n", epoch + 1, epochs,
                 train_loss, t.total, seconds);

    CheckpointInfo info;
    info.epoch = epoch + 1;
    info.step = optimizer.steps_taken();
    info.metadata = to_metadata(s, history);
    save_checkpoint(ckpt_path, model.module(), &optimizer, &gen, info);
    write_file_atomically(log_path, jsonl(history, model.vae != nullptr), ("train " + model_name).c_str());
    save_curves(history, loader.num_batches(), curve_path, model_name);

    // Pictures: from their own generators, so that drawing them leaves the training stream alone.
    const std::string tag = fmt::format("epoch{:02d}", epoch + 1);
    Generator recon_gen(kPictureSeed);
    const std::string recon_path = fmt::format("{}/recon_{}.png", out_dir, tag);
    save_comparison_grid(shown_images, model.reconstruct(shown_images, recon_gen), recon_path);
    print_wrote(recon_path, "test images, their reconstructions below");
    if (model.vae) {
      const std::string samples_path = fmt::format("{}/samples_{}.png", out_dir, tag);
      save_image_grid(model.decode(prior_z), samples_path);
      print_wrote(samples_path, "64 samples, z ~ N(0, I), the same z every epoch");
      if (s.spec.latent_dim == 2) {
        const std::string map_path = fmt::format("{}/latent_map_{}.png", out_dir, tag);
        GridOptions grid;
        grid.nrow = 20;
        grid.padding = 1;
        save_image_grid(model.vae->latent_grid(20, 3.f), map_path, grid);
        print_wrote(map_path, "the decoder over z in [-3, 3]^2, z2 up, z1 right");
      }
    }
    std::fflush(stdout);
  }

  if (s.spec.latent_dim == 2) {
    const std::string scatter_path = out_dir + "/latent_scatter.svg";
    save_latent_scatter(model, test, scatter_path);
    print_wrote(scatter_path, "the test images' codes, coloured by class");
  }
  print_wrote(ckpt_path, fmt::format("model, optimizer and generator after epoch {}; --resume, sample or eval it",
                                     epochs));
  print_wrote(log_path, "one JSON line per epoch");
  print_wrote(curve_path, "training loss per step, test loss per epoch");
  fmt::print("final test {} {:.2f} nats per image after {} epoch{}\n",
             model.vae ? "negative ELBO" : "reconstruction loss", history.epochs.back().test_loss, epochs,
             epochs == 1 ? "" : "s");
  return 0;
}

const bool registered = register_ae_and_vae(
    "train", "train the autoencoder (MLP, or --arch conv)",
    "train the variational autoencoder (pytorch/examples' VAE; --latent 2 for a 2-D map)", train_generative);

}  // namespace
}  // namespace hd::cli
