#include "lessons/lesson_models.h"

#include <fmt/format.h>

#include <filesystem>

#include "data/loader.h"
#include "nn/optim.h"
#include "train/loop.h"

namespace hd::lesson {

std::string shipped_weights_path(const std::string& name) {
  return std::string(HUNDUN_SOURCE_DIR) + "/weights/" + name + ".safetensors";
}

// Whether this run should try the shipped weights (see the table in the header). Prints the reason when
// the answer is no although --pretrained asked for them.
static bool wants_shipped_weights(const Options& opt, const std::string& path) {
  if (opt.train) return false;
  if (opt.smoke && !opt.pretrained) return false;
  if (std::filesystem::exists(path)) return true;
  if (opt.pretrained)
    fmt::print("  --pretrained: {} is missing (`hundun train ...` makes it)\n  training a short run instead\n", path);
  return false;
}

// load(path) for a file this run wants; on any problem (damaged file, another model) prints why and returns
// nullptr, and the lesson trains its own.
template <typename Model>
static std::shared_ptr<Model> load_shipped(const Options& opt, const std::string& name,
                                           std::shared_ptr<Model> (*load)(const std::string&)) {
  const std::string path = shipped_weights_path(name);
  if (!wants_shipped_weights(opt, path)) return nullptr;
  try {
    std::shared_ptr<Model> model = load(path);
    fmt::print("  loaded the shipped weights {}\n    {}, {} parameters\n", path, model->describe(),
               model->num_parameters());
    return model;
  } catch (const std::exception& e) {
    fmt::print("  could not use {}: {}\n  training a short run instead\n", path, e.what());
    return nullptr;
  }
}

std::shared_ptr<Autoencoder> shipped_autoencoder(const Options& opt, const std::string& name) {
  return load_shipped<Autoencoder>(opt, name, load_autoencoder);
}
std::shared_ptr<VAE> shipped_vae(const Options& opt, const std::string& name) {
  return load_shipped<VAE>(opt, name, load_vae);
}
std::shared_ptr<ImageClassifier> shipped_classifier(const Options& opt, const std::string& name) {
  return load_shipped<ImageClassifier>(opt, name, load_classifier);
}

std::shared_ptr<gan::GAN> shipped_gan(const Options& opt, const std::string& name) {
  return load_shipped<gan::GAN>(opt, name, gan::load_gan);
}

GanLosses train_short_gan(gan::GAN& model, const Dataset& data, const TrainingBudget& budget, uint64_t seed,
                          const std::string& label) {
  Dataset part = budget.images < data.images.size(0) ? subset(data, budget.images, seed + 1) : data;
  DataLoader loader(part, budget.batch, /*shuffle=*/true, seed);
  Adam adam_d(model.discriminator->parameters(), budget.lr, 0.5f, 0.999f);
  Adam adam_g(model.generator->parameters(), budget.lr, 0.5f, 0.999f);
  Generator rng(seed);
  fmt::print("  training {} on {} images, {} epoch{}, batch {}, Adam lr {} betas (0.5, 0.999)\n", label,
             part.images.size(0), budget.epochs, budget.epochs == 1 ? "" : "s", budget.batch, budget.lr);
  GanLosses losses;
  TrainLoop loop;
  loop.label = "  " + label;
  loop.epochs = budget.epochs;
  loop.watched = {model.generator.get(), model.discriminator.get()};
  loop.step = [&](const Tensor& x, const Tensor& y) {
    const gan::AdversarialLosses l = gan::train_step(model, adam_d, adam_g, to_minus_one_one(x), rng,
                                                     model.num_classes() > 0 ? y : Tensor());
    return StepLosses{{"D", l.discriminator}, {"G", l.generator}};
  };
  loop.after_step = [&](const StepLosses& l) {
    losses.d.push_back(l[0].second);
    losses.g.push_back(l[1].second);
  };
  run_training(loop, loader);
  model.eval();
  return losses;
}

std::vector<double> train_short(Module& model, const Dataset& data, const TrainingBudget& budget, uint64_t seed,
                                const std::string& label,
                                const std::function<Variable(const Tensor& x, const Tensor& y)>& loss_of_batch) {
  Dataset part = budget.images < data.images.size(0) ? subset(data, budget.images, seed + 1) : data;
  DataLoader loader(part, budget.batch, /*shuffle=*/true, seed);
  Adam adam(model.parameters(), budget.lr);
  fmt::print("  training {} on {} images, {} epoch{}, batch {}, Adam lr {}\n", label, part.images.size(0),
             budget.epochs, budget.epochs == 1 ? "" : "s", budget.batch, budget.lr);
  std::vector<double> losses;
  TrainLoop loop;
  loop.label = "  " + label;
  loop.epochs = budget.epochs;
  loop.watched = {&model};
  loop.step = [&](const Tensor& x, const Tensor& y) {
    adam.zero_grad();
    Variable loss = loss_of_batch(x, y);
    loss.backward();
    adam.step();
    return StepLosses{{"loss", loss.item()}};
  };
  loop.after_step = [&](const StepLosses& l) { losses.push_back(l[0].second); };
  run_training(loop, loader);
  model.eval();
  return losses;
}

}  // namespace hd::lesson
