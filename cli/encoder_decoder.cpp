// `hundun train ae` and `hundun train vae` — train the autoencoder (models/autoencoder.h) or the variational
// autoencoder (models/vae.h) on Fashion-MNIST.
//
//   hundun train vae                         pytorch/examples' VAE: 784-400-20, Adam 1e-3, batch 128, 10 epochs
//   hundun train vae --latent 2 --out out/vae2d      the variant whose latent space is a drawable map
//   hundun train ae --arch conv --out out/ae-conv
//
// After every epoch: the test loss (per image, one z per image for the VAE, from a generator seeded 0 every time,
// so `hundun eval` on the final checkpoint repeats the last number exactly), then these files in --out, rewritten
// atomically:
//   checkpoint.safetensors   the model, Adam's moments, the generator, and as metadata the model's options,
//                            the run's settings and its history
//   log.jsonl                one JSON object per epoch
//   loss.svg                 training loss per step and test loss per epoch
//   recon_epochNN.png        16 test images (rows of 8) above their reconstructions
//   (the family's own pictures: the VAE's samples_epochNN.png, latent_map_epochNN.png)
//   latent_scatter.svg       --latent 2, at the end: every test image's code, coloured by class
//
// --resume CKPT continues exactly, as `hundun train classifier` does: settings from the checkpoint, the model, Adam
// and the generator restored, and the data loader's finished epochs drawn and discarded (train/loop.h).
#include "cli/encoder_decoder.h"

#include <fmt/format.h>

#include <algorithm>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/image_commands.h"
#include "cli/model_files.h"
#include "cli/paths.h"
#include "cli/training_run.h"
#include "data/files.h"
#include "data/loader.h"
#include "nn/checkpoint.h"
#include "nn/optim.h"
#include "report/comparison_grid.h"
#include "report/plot.h"
#include "train/loop.h"

namespace hd::cli {

TestLoss test_loss_in_batches(const Tensor& images, const std::function<TestLoss(const Tensor& batch)>& loss_of_batch) {
  NoGradGuard no_grad;
  const int64_t n = images.size(0), batch = 500;
  TestLoss sum;
  for (int64_t begin = 0; begin < n; begin += batch) {
    const TestLoss b = loss_of_batch(images.narrow0(begin, std::min(n, begin + batch)));
    sum.total += b.total;
    sum.reconstruction += b.reconstruction;
    sum.kl += b.kl;
  }
  const double count = static_cast<double>(n);
  return {sum.total / count, sum.reconstruction / count, sum.kl / count};
}

namespace {

// The pictures must show the same images and the same z every epoch, whatever the run's seed.
constexpr uint64_t kPictureSeed = 0;
// Test losses draw the VAE's eps from Generator(kTestSeed): `hundun eval --seed 0` gives the same numbers.
constexpr uint64_t kTestSeed = 0;
// The model options a training run chooses with flags; the rest are the family's defaults.
const std::vector<std::string> kOptionKeys = {"arch", "latent_dim", "hidden"};

// What makes two runs the same run; stored in the checkpoint.
struct Settings {
  std::map<std::string, std::string> options;  // "arch", "latent_dim", "hidden"
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

ArgParser make_parser(const EncoderDecoderFamily& f) {
  ArgParser args("hundun train " + f.name, f.about);
  args.option("--epochs", "N", "total passes over the training set (with --resume: including those done)", "10");
  args.option("--batch", "B", "images per step", "128");
  args.option("--lr", "LR", "Adam's learning rate", "0.001");
  args.option("--latent", "D", "size of the latent code z (2: a drawable latent map)", "20");
  if (!f.archs.empty()) args.option("--arch", "NAME", "mlp (784-400-D-400-784) or conv (two strided convolutions)", "mlp");
  args.option("--seed", "S", "seeds the initial weights, the shuffling and any noise the model draws", "1");
  add_training_data_flags(args, "out/" + f.name, "the checkpoint, log and pictures");
  args.option("--test-size", "N", "test on the first N test images only, 0 for all", "0");
  return args;
}

std::string jsonl(const History& history, bool has_kl) {
  std::string out;
  for (const EpochRecord& r : history.epochs) {
    out += fmt::format("{{\"epoch\":{},\"train_loss\":{},\"test_loss\":{}", r.epoch, json_number(r.train_loss),
                       json_number(r.test_loss));
    if (has_kl)
      out += fmt::format(",\"test_reconstruction\":{},\"test_kl\":{}", json_number(r.test_reconstruction),
                         json_number(r.test_kl));
    out += fmt::format(",\"seconds\":{}}}\n", json_number(r.seconds));
  }
  return out;
}

// --- settings and history <-> checkpoint metadata (cli/training_run.h) ---

std::map<std::string, std::string> to_metadata(const EncoderDecoderModel& model, const RunSettings& run,
                                               const History& h) {
  std::vector<std::vector<double>> epochs;  // epoch, train, test, test_reconstruction, test_kl, seconds
  for (const EpochRecord& r : h.epochs)
    epochs.push_back({static_cast<double>(r.epoch), r.train_loss, r.test_loss, r.test_reconstruction, r.test_kl, r.seconds});
  return training_metadata(model.metadata(), run, epochs, h.step_losses);
}

History history_from_metadata(const Metadata& m) {
  History h;
  for (const std::vector<double>& f : epoch_records_from(m, 6))
    h.epochs.push_back({static_cast<int64_t>(f[0]), f[1], f[2], f[3], f[4], f[5]});
  h.step_losses = step_losses_from(m);
  return h;
}

// --- pictures ---

// Training loss per step (x in epochs) and test loss per epoch, one picture.
void save_curves(const History& h, int64_t steps_per_epoch, const std::string& path, const std::string& title) {
  Plot plot(title, "epoch", "nats per image");
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
  const double lo = ey.empty() ? 0 : 0.9 * *std::min_element(ey.begin(), ey.end()), hi = ey.empty() ? 0 : 1.6 * ey.front();
  if (std::isfinite(lo) && std::isfinite(hi) && lo < hi) plot.set_ylim(lo, hi);
  plot.save(path);
}

// For a 2-D latent space: every test image's code, one colour per class.
void save_latent_scatter(EncoderDecoderModel& model, const Dataset& test, const std::string& path) {
  const Tensor z = model.encode_images(test.images);  // [N, 2]
  Plot plot(fmt::format("{}: codes of {} test images", model.describe(), test.images.size(0)), "z1", "z2", 640, 560);
  scatter_by_class(plot, z, test.labels, fashion_mnist_classes());
  plot.save(path);
}

int train(const EncoderDecoderFamily& f, const std::vector<std::string>& words) {
  ArgParser args = make_parser(f);
  if (parse_or_print_help(args, words)) return 0;
  // Every flag is read and checked before anything slow happens.
  Settings s;
  const int64_t epochs = args.get_int("--epochs", 1, 100000);
  s.run.batch = args.get_int("--batch", 1, 1 << 20);
  s.run.lr = args.get_double("--lr", 0.0, 10.0);
  const int64_t latent = args.get_int("--latent", 1, 4096);
  s.options = {{"arch", f.archs.empty() ? "mlp" : args.get_choice("--arch", f.archs)},
               {"latent_dim", std::to_string(latent)},
               {"hidden", "400"}};
  s.run.seed = args.get_int("--seed", 0, INT64_MAX);
  s.run.train_size = args.get_int("--train-size", 0, 1 << 30);
  s.run.test_size = args.get_int("--test-size", 0, 1 << 30);
  const std::string data_dir = args.get("--data"), out_dir = args.get("--out"), resume = args.get("--resume");
  const std::string ckpt_path = out_dir + "/checkpoint.safetensors", log_path = out_dir + "/log.jsonl",
                    curve_path = out_dir + "/loss.svg";
  // Resuming in place (--resume OUT/checkpoint.safetensors --out OUT) is how a run continues: the checkpoint is
  // read whole first and replaced atomically after the next epoch. The log and the plot must not be the input.
  refuse_overwriting_inputs({{"--out", log_path}, {"--out", curve_path}}, {{"--resume", resume}});

  History history;
  int64_t done_epochs = 0;
  if (!resume.empty()) {
    const CheckpointInfo info = check_family(resume, f.name, "train");
    const Metadata saved(info.metadata, resume,
                         "was it written by 'hundun train " + f.name + "', or stripped by 'hundun export'?");
    std::map<std::string, std::string> saved_options;
    for (const std::string& key : kOptionKeys) saved_options[key] = saved.text(key);
    check_resume_flag(args, "--latent", s.options["latent_dim"] == saved_options["latent_dim"],
                      saved_options["latent_dim"]);
    if (!f.archs.empty()) check_resume_flag(args, "--arch", s.options["arch"] == saved_options["arch"], saved_options["arch"]);
    const RunSettings saved_run = run_settings_from(saved);
    check_resume_flags(args, s.run, saved_run);
    s.options = saved.entries();  // every option the model wrote (image shape, likelihood, ...)
    s.run = saved_run;
    history = history_from_metadata(saved);
    done_epochs = info.epoch;
    if (already_trained(resume, done_epochs, epochs)) return 0;
  }
  const bool resumed = !resume.empty();
  const TrainingData data = load_training_data(data_dir, s.run, resumed);
  const Dataset &train = data.train, &test = data.test;

  // One generator draws the initial weights and then every eps of the reparameterisation.
  Generator gen(static_cast<uint64_t>(s.run.seed));
  // A resumed model's sizes come from the checkpoint, checked against its own tensors before anything is built.
  const Metadata model_metadata = resumed ? read_model_metadata(resume, f.name) : Metadata(s.options, "--latent/--arch");
  const EncoderDecoderRun run = f.build(model_metadata, gen);
  EncoderDecoderModel& model = *run.model;
  Adam optimizer(model.parameters(), static_cast<float>(s.run.lr));
  DataLoader loader(train, s.run.batch, /*shuffle=*/true, static_cast<uint64_t>(s.run.seed));
  if (resumed) done_epochs = load_checkpoint(resume, model, &optimizer, &gen).epoch;
  const OutputFolder out_folder("--out", out_dir);  // only once everything loaded, and before any training

  // The same 16 test images in every epoch's pictures: the classes in turn where the test set has enough of each.
  const Tensor shown_images = shown_test_images(test, 16);

  fmt::print("train {}: {} ({} parameters), Adam lr {}, batch {}, seed {}, {} training / {} test images\n", f.name,
             model.describe(), model.num_parameters(), s.run.lr, s.run.batch, s.run.seed, train.images.size(0),
             test.images.size(0));
  if (done_epochs > 0) fmt::print("resuming {} after epoch {}\n", resume, done_epochs);
  std::fflush(stdout);

  TrainLoop loop;
  loop.first_epoch = done_epochs;
  loop.epochs = epochs;
  loop.steps_done = optimizer.steps_taken();
  loop.watched = {&model};
  loop.step = [&](const Tensor& x, const Tensor&) {
    optimizer.zero_grad();
    const TrainingLoss l = run.training_loss(x, gen);
    l.loss.backward();
    optimizer.step();
    return StepLosses{{"loss", l.loss.item() / l.images_summed}};
  };
  loop.after_step = [&](const StepLosses& l) { history.step_losses.push_back(l[0].second); };
  loop.end_of_epoch = [&](const EpochResult& r) {
    model.eval();
    Generator test_gen(kTestSeed);
    const TestLoss t = run.test_loss(test.images, test_gen);
    const double train_loss = r.mean_losses[0].second;
    history.epochs.push_back({r.epoch, train_loss, t.total, t.reconstruction, t.kl, r.seconds});
    f.print_epoch(r.epoch, epochs, train_loss, t, r.seconds);
    stop_if_not_finite("test loss", t.total, r.epoch, optimizer.steps_taken());

    CheckpointInfo info;
    info.epoch = r.epoch;
    info.step = optimizer.steps_taken();
    info.metadata = to_metadata(model, s.run, history);
    save_checkpoint(ckpt_path, model, &optimizer, &gen, info);
    write_file_atomically(log_path, jsonl(history, f.name == "vae"), ("train " + f.name).c_str());
    save_curves(history, loader.num_batches(), curve_path, f.loss_title);

    // Pictures: from their own generators, so that drawing them leaves the training stream alone.
    const std::string tag = fmt::format("epoch{:02d}", r.epoch);
    Generator recon_gen(kPictureSeed);
    const std::string recon_path = fmt::format("{}/recon_{}.png", out_dir, tag);
    save_comparison_grid(shown_images, model.reconstruct(shown_images, recon_gen), recon_path);
    print_wrote(recon_path, "test images, their reconstructions below");
    if (run.epoch_pictures) run.epoch_pictures(out_dir, tag);
    std::fflush(stdout);
  };
  run_training(loop, loader);

  if (model.latent_dim() == 2) {
    const std::string scatter_path = out_dir + "/latent_scatter.svg";
    save_latent_scatter(model, test, scatter_path);
    print_wrote(scatter_path, "the test images' codes, coloured by class");
  }
  print_wrote(ckpt_path, fmt::format("model, optimizer and generator after epoch {}; --resume, sample or eval it",
                                     epochs));
  print_wrote(log_path, "one JSON line per epoch");
  print_wrote(curve_path, "training loss per step, test loss per epoch");
  fmt::print("final test {} {:.2f} nats per image after {} epoch{}\n", f.test_loss_name, history.epochs.back().test_loss,
             epochs, epochs == 1 ? "" : "s");
  return 0;
}

}  // namespace

bool register_encoder_decoder_training(EncoderDecoderFamily f) {
  return register_command({"train " + f.name, f.summary, [f](const std::vector<std::string>& w) { return train(f, w); }});
}

}  // namespace hd::cli
