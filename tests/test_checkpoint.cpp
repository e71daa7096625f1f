// nn/checkpoint.h: resuming a training run exactly, and refusing files that do not fit.
//
//   Resume*        a run saved at step k and resumed continues bit for bit like the run never stopped
//   Parts*         several named modules, optimizers and EMAs in one file (a GAN's G and D, each with its Adam)
//   Rejects*       truncated files, files of another model or optimizer: a clear error, nothing changed
//   AtomicSave*    a save failing mid-write leaves the previous checkpoint loadable
//   TorchExport    writes a Fashion-MNIST MLP checkpoint to /tmp for tests/reference/load_checkpoint_into_torch.py
#include "nn/checkpoint.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

#include "autograd/elementwise.h"
#include "autograd/loss.h"
#include "data/fashion_mnist.h"
#include "data/loader.h"
#include "error_of.h"
#include "models/vae.h"
#include "nn/layers.h"
#include "nn/schedulers.h"
#include "tensor/safetensors.h"

namespace hd {
namespace {

namespace fs = std::filesystem;

using test::error_of;  // tests/error_of.h

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A fresh folder under /tmp, removed with everything in it at the end of the test.
struct ScratchFolder {
  ScratchFolder() {
    char name[] = "/tmp/hundun_checkpoint_XXXXXX";
    if (!mkdtemp(name)) throw std::runtime_error("mkdtemp failed");
    path = name;
  }
  ~ScratchFolder() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

void expect_identical(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b,
                      const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << what << ": no " << name;
    const Tensor& u = b.at(name);
    ASSERT_EQ(t.shape(), u.shape()) << what << ": " << name;
    for (int64_t i = 0; i < t.numel(); ++i)
      ASSERT_EQ(t.data()[i], u.data()[i]) << what << ": " << name << " element " << i;
  }
}

std::map<std::string, Tensor> cloned(const std::map<std::string, Tensor>& state) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : state) out[name] = t.clone();
  return out;
}

// ------------------------------------------------------------------------------------------ a tiny run

// Everything a training run holds: model (with dropout, so the random stream matters), Adam, a
// warmup-cosine schedule and an EMA of the weights. Not copyable: Dropout keeps a pointer to `noise`.
struct TinyRun {
  Generator noise;
  std::shared_ptr<Sequential> net = std::make_shared<Sequential>();
  std::unique_ptr<Adam> adam;
  std::unique_ptr<WarmupCosine> schedule;
  std::unique_ptr<EMA> ema;
  int64_t step = 0;

  TinyRun(uint64_t init_seed, uint64_t noise_seed) : noise(noise_seed) {
    Generator init(init_seed);
    net->add(std::make_shared<Linear>(4, 16, init));
    net->add(std::make_shared<ReLU>());
    net->add(std::make_shared<Dropout>(0.3, noise));
    net->add(std::make_shared<Linear>(16, 3, init));
    adam = std::make_unique<Adam>(net->parameters(), 1e-2f);
    schedule = std::make_unique<WarmupCosine>(*adam, 3, 30, 1e-4);
    ema = std::make_unique<EMA>(*net, 0.9f);
  }
  TinyRun(const TinyRun&) = delete;

  // One step on a batch that depends only on the step number: x: [8, 4], labels: [8].
  void train_step() {
    std::vector<float> x(8 * 4), labels(8);
    for (int i = 0; i < 32; ++i) x[i] = std::sin(0.37f * static_cast<float>(step * 32 + i));
    for (int i = 0; i < 8; ++i) labels[i] = static_cast<float>((step + i) % 3);
    Variable loss = cross_entropy((*net)(Variable(Tensor::from({8, 4}, x))), Tensor::from({8}, labels));
    adam->zero_grad();
    loss.backward();
    adam->step();
    schedule->step();
    ema->update(*net);
    ++step;
  }
  void train_to(int64_t last) {
    while (step < last) train_step();
  }
  void save(const std::string& path) const {
    CheckpointInfo info;
    info.step = step;
    info.epoch = step / 4;
    info.metadata["note"] = "tiny run";
    save_checkpoint(path, *net, adam.get(), &noise, info, ema.get());
  }
  CheckpointInfo load(const std::string& path) {
    CheckpointInfo info = load_checkpoint(path, *net, adam.get(), &noise, ema.get());
    step = info.step;
    schedule->set_last_epoch(info.step);
    return info;
  }
};

TEST(Checkpoint, ResumeIsBitIdentical) {
  ScratchFolder dir;
  const int64_t k = 5, n = 12;
  TinyRun straight(1, 2);
  straight.train_to(k);
  straight.save(dir.file("step5.safetensors"));
  straight.train_to(n);

  // Different initial weights and a different random stream: everything must come from the file.
  TinyRun resumed(10, 20);
  CheckpointInfo info = resumed.load(dir.file("step5.safetensors"));
  EXPECT_EQ(info.step, k);
  EXPECT_EQ(info.epoch, 1);
  EXPECT_EQ(info.metadata, (std::map<std::string, std::string>{{"note", "tiny run"}}));
  resumed.train_to(n);

  expect_identical(resumed.net->state_dict(), straight.net->state_dict(), "model");
  expect_identical(resumed.adam->state_dict(), straight.adam->state_dict(), "optimizer");
  expect_identical(resumed.ema->state_dict(), straight.ema->state_dict(), "ema");
  EXPECT_EQ(resumed.adam->lr(), straight.adam->lr());
  EXPECT_EQ(resumed.noise.get_state(), straight.noise.get_state());
}

// The control for the test above: without the generator's state the dropout masks differ, and so does the result.
TEST(Checkpoint, ResumeWithoutTheGeneratorDiverges) {
  ScratchFolder dir;
  TinyRun straight(1, 2);
  straight.train_to(5);
  straight.save(dir.file("step5.safetensors"));
  straight.train_to(12);

  TinyRun resumed(1, 2);
  load_checkpoint(dir.file("step5.safetensors"), *resumed.net, resumed.adam.get(), /*generator=*/nullptr);
  resumed.step = 5;
  resumed.schedule->set_last_epoch(5);
  resumed.train_to(12);
  EXPECT_NE(resumed.net->state_dict().at("0.weight").tolist(), straight.net->state_dict().at("0.weight").tolist());
}

TEST(Checkpoint, FileLayout) {
  ScratchFolder dir;
  TinyRun run(1, 2);
  run.train_to(2);
  run.save(dir.file("c.safetensors"));
  TensorFile file = load_safetensors(dir.file("c.safetensors"));
  for (const char* name : {"model.0.weight", "model.3.bias", "optimizer.step", "optimizer.lr", "optimizer.0.exp_avg",
                           "optimizer.3.exp_avg_sq", "optimizer.1.step", "ema.0.weight"})
    EXPECT_TRUE(file.tensors.count(name)) << name;
  EXPECT_EQ(file.metadata.at("hundun.step"), "2");
  EXPECT_EQ(file.metadata.at("hundun.epoch"), "0");
  EXPECT_EQ(file.metadata.at("hundun.generator").size(), 2 * run.noise.get_state().size());
  CheckpointInfo info = read_checkpoint_info(dir.file("c.safetensors"));
  EXPECT_EQ(info.step, 2);
  EXPECT_EQ(info.metadata.size(), 1u);  // "note"; hundun's own keys are not repeated there
}

// A model alone (no optimizer, generator or EMA) saves and loads too.
TEST(Checkpoint, ModelOnly) {
  ScratchFolder dir;
  TinyRun a(1, 2), b(3, 4);
  save_checkpoint(dir.file("m.safetensors"), *a.net);
  CheckpointInfo info = load_checkpoint(dir.file("m.safetensors"), *b.net);
  EXPECT_EQ(info.step, 0);
  expect_identical(a.net->state_dict(), b.net->state_dict(), "model");
  EXPECT_TRUE(contains(error_of([&] { load_checkpoint(dir.file("m.safetensors"), *b.net, b.adam.get()); }),
                       "no 'optimizer.*' entries"));
  EXPECT_TRUE(contains(error_of([&] { load_checkpoint(dir.file("m.safetensors"), *b.net, nullptr, &b.noise); }),
                       "no generator state"));
}

// ------------------------------------------------------------------------------------------ rejected files

// Loads `path` into a fresh run, expecting an error containing `expected`, and checks nothing changed.
void expect_rejected(const std::string& path, const std::string& expected) {
  TinyRun run(7, 8);
  run.train_to(1);
  auto model = cloned(run.net->state_dict());
  auto optimizer = cloned(run.adam->state_dict());
  auto noise = run.noise.get_state();
  std::string error = error_of([&] { run.load(path); });
  EXPECT_TRUE(contains(error, expected)) << error;
  EXPECT_TRUE(contains(error, path)) << "the message should name the file: " << error;
  expect_identical(run.net->state_dict(), model, "model after a failed load");
  expect_identical(run.adam->state_dict(), optimizer, "optimizer after a failed load");
  EXPECT_EQ(run.noise.get_state(), noise);
}

TEST(Checkpoint, RejectsTruncatedFile) {
  ScratchFolder dir;
  TinyRun run(1, 2);
  run.save(dir.file("c.safetensors"));
  fs::resize_file(dir.file("c.safetensors"), fs::file_size(dir.file("c.safetensors")) / 2);
  expect_rejected(dir.file("c.safetensors"), "runs past the end of the file");  // half of it: the header is cut
  expect_rejected(dir.file("missing.safetensors"), "cannot open");
}

// A file written for a model with other layers: the message names the entry.
TEST(Checkpoint, RejectsAnotherModel) {
  ScratchFolder dir;
  TinyRun run(1, 2);

  Sequential wider;  // 0.bias is [32] instead of [16] (and 0.weight [32, 4])
  wider.add(std::make_shared<Linear>(4, 32));
  wider.add(std::make_shared<ReLU>());
  wider.add(std::make_shared<Dropout>(0.3));
  wider.add(std::make_shared<Linear>(32, 3));
  save_checkpoint(dir.file("wider.safetensors"), wider, nullptr, &run.noise);
  expect_rejected(dir.file("wider.safetensors"), "entry 'model.0.bias' has shape [32], the model expects [16]");

  Sequential shorter;  // no layer 3
  shorter.add(std::make_shared<Linear>(4, 16));
  save_checkpoint(dir.file("shorter.safetensors"), shorter, nullptr, &run.noise);
  expect_rejected(dir.file("shorter.safetensors"), "no entry 'model.3.bias'");

  Sequential longer;  // an extra layer 4
  for (int i = 0; i < 3; ++i) longer.add(std::make_shared<Linear>(4, 16));
  longer.add(std::make_shared<Linear>(16, 3));
  longer.add(std::make_shared<Linear>(3, 3));
  save_checkpoint(dir.file("longer.safetensors"), longer, nullptr, &run.noise);
  expect_rejected(dir.file("longer.safetensors"), "unexpected entry 'model.1.bias'");
}

// The model fits but the optimizer state does not (saved with SGD, loaded into Adam): the model must
// not have been loaded either.
TEST(Checkpoint, RejectsAnotherOptimizer) {
  ScratchFolder dir;
  TinyRun run(1, 2);
  SGD sgd(run.net->parameters(), 0.1f, 0.9f);
  run.train_step();
  sgd.step();
  save_checkpoint(dir.file("sgd.safetensors"), *run.net, &sgd, &run.noise);
  expect_rejected(dir.file("sgd.safetensors"), "in the 'optimizer.*' entries: Adam.load_state_dict: unexpected entry '0.momentum_buffer'");
}

TEST(Checkpoint, RejectsBadMetadata) {
  ScratchFolder dir;
  TinyRun run(1, 2);
  TensorFile file;
  for (const auto& [name, t] : run.net->state_dict()) file.tensors["model." + name] = t;
  file.metadata["hundun.step"] = "12x";
  save_safetensors(dir.file("step.safetensors"), file);
  EXPECT_TRUE(contains(error_of([&] { load_checkpoint(dir.file("step.safetensors"), *run.net); }),
                       "metadata 'hundun.step' is \"12x\", expected an integer"));

  file.metadata = {{"hundun.generator", "00zz"}};
  save_safetensors(dir.file("gen.safetensors"), file);
  EXPECT_TRUE(contains(error_of([&] { load_checkpoint(dir.file("gen.safetensors"), *run.net, nullptr, &run.noise); }),
                       "'hundun.generator' is not hexadecimal"));

  CheckpointInfo info;
  info.metadata["hundun.mine"] = "x";
  EXPECT_TRUE(contains(error_of([&] { save_checkpoint(dir.file("x.safetensors"), *run.net, nullptr, nullptr, info); }),
                       "metadata key 'hundun.mine'"));
}

// ------------------------------------------------------------------------------------------ atomic saves

TEST(Checkpoint, AtomicSaveKeepsThePreviousCheckpoint) {
  ScratchFolder dir;
  const std::string path = dir.file("latest.safetensors");
  TinyRun run(1, 2);
  run.train_to(3);
  run.save(path);
  auto saved = cloned(run.net->state_dict());

  run.train_to(6);
  test_hooks::set_safetensors_write_fault_for_testing(200);  // the disk "fills up" 200 bytes in
  EXPECT_FALSE(error_of([&] { run.save(path); }) == "(no exception)");
  test_hooks::set_safetensors_write_fault_for_testing(-1);

  TinyRun reader(5, 6);
  EXPECT_EQ(reader.load(path).step, 3);
  expect_identical(reader.net->state_dict(), saved, "model from the previous checkpoint");
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path)) ++files;
  EXPECT_EQ(files, 1u) << "the failed save left a temporary file behind";
}

// ------------------------------------------------------------------------------------------ named parts

// A GAN-shaped run: two networks, each with its own Adam, an EMA of the generator network's weights, and one
// random stream for the noise z and the discriminator's dropout. "Generator" in hundun is the random stream;
// the networks are `generator_net` and `discriminator_net`.
struct TinyGan {
  Generator noise;
  std::shared_ptr<Sequential> generator_net = std::make_shared<Sequential>();      // z [8, 2] -> x [8, 4]
  std::shared_ptr<Sequential> discriminator_net = std::make_shared<Sequential>();  // x [8, 4] -> logit [8, 1]
  std::unique_ptr<Adam> adam_g, adam_d;
  std::unique_ptr<EMA> ema_g;
  int64_t step = 0;

  TinyGan(uint64_t init_seed, uint64_t noise_seed) : noise(noise_seed) {
    Generator init(init_seed);
    generator_net->add(std::make_shared<Linear>(2, 8, init));
    generator_net->add(std::make_shared<ReLU>());
    generator_net->add(std::make_shared<Linear>(8, 4, init));
    discriminator_net->add(std::make_shared<Linear>(4, 8, init));
    discriminator_net->add(std::make_shared<ReLU>());
    discriminator_net->add(std::make_shared<Dropout>(0.3, noise));
    discriminator_net->add(std::make_shared<Linear>(8, 1, init));
    adam_g = std::make_unique<Adam>(generator_net->parameters(), 1e-2f, 0.5f);
    adam_d = std::make_unique<Adam>(discriminator_net->parameters(), 2e-2f, 0.5f);
    ema_g = std::make_unique<EMA>(*generator_net, 0.9f);
  }
  TinyGan(const TinyGan&) = delete;

  // What a checkpoint of this run holds.
  CheckpointParts parts() {
    CheckpointParts p;
    p.modules = {{"generator", generator_net.get()}, {"discriminator", discriminator_net.get()}};
    p.optimizers = {{"generator", adam_g.get()}, {"discriminator", adam_d.get()}};
    p.emas = {{"generator", ema_g.get()}};
    p.random_stream = &noise;
    return p;
  }

  // Goodfellow et al.'s Algorithm 1 with the non-saturating generator loss, on a real batch [8, 4] that depends
  // only on the step number.
  void train_step() {
    std::vector<float> real(8 * 4);
    for (int i = 0; i < 32; ++i) real[i] = std::sin(0.37f * static_cast<float>(step * 32 + i));
    const Variable x_real(Tensor::from({8, 4}, real));
    const Variable ones(Tensor::ones({8, 1})), zeros(Tensor::zeros({8, 1}));
    const Variable fake = (*generator_net)(Variable(randn({8, 2}, noise)));
    // D: maximise log D(x) + log(1 - D(G(z)))
    Variable loss_d = binary_cross_entropy_with_logits((*discriminator_net)(x_real), ones) +
                      binary_cross_entropy_with_logits((*discriminator_net)(fake.detach()), zeros);
    adam_d->zero_grad();
    loss_d.backward();
    adam_d->step();
    // G: maximise log D(G(z))
    Variable loss_g = binary_cross_entropy_with_logits((*discriminator_net)(fake), ones);
    adam_g->zero_grad();
    loss_g.backward();
    adam_g->step();
    ema_g->update(*generator_net);
    ++step;
  }
  void train_to(int64_t last) {
    while (step < last) train_step();
  }
  void save(const std::string& path) {
    CheckpointInfo info;
    info.step = step;
    save_checkpoint(path, parts(), info);
  }
  void load(const std::string& path) { step = load_checkpoint(path, parts()).step; }

  // Everything the run holds, copied.
  std::map<std::string, Tensor> snapshot() const {
    std::map<std::string, Tensor> all;
    auto add = [&](const std::string& what, const std::map<std::string, Tensor>& state) {
      for (const auto& [name, t] : state) all[what + "/" + name] = t.clone();
    };
    add("G", generator_net->state_dict());
    add("D", discriminator_net->state_dict());
    add("adam_G", adam_g->state_dict());
    add("adam_D", adam_d->state_dict());
    add("ema_G", ema_g->state_dict());
    return all;
  }
};

TEST(Checkpoint, PartsOfTwoModulesTwoOptimizersAndAnEMAResumeBitIdentically) {
  ScratchFolder dir;
  TinyGan straight(1, 2);
  straight.train_to(5);
  straight.save(dir.file("step5.safetensors"));
  straight.train_to(12);

  TinyGan resumed(10, 20);  // other weights and another random stream: everything must come from the file
  resumed.load(dir.file("step5.safetensors"));
  EXPECT_EQ(resumed.step, 5);
  resumed.train_to(12);
  expect_identical(resumed.snapshot(), straight.snapshot(), "the run");
  EXPECT_EQ(resumed.noise.get_state(), straight.noise.get_state());
}

TEST(Checkpoint, PartsFileLayoutAndLoadingOnePart) {
  ScratchFolder dir;
  TinyGan run(1, 2);
  run.train_to(2);
  run.save(dir.file("gan.safetensors"));
  TensorFile file = load_safetensors(dir.file("gan.safetensors"));
  for (const char* name : {"model.generator.0.weight", "model.discriminator.3.bias", "optimizer.generator.step",
                           "optimizer.discriminator.0.exp_avg", "ema.generator.2.bias"})
    EXPECT_TRUE(file.tensors.count(name)) << name;
  EXPECT_FALSE(file.tensors.count("model.0.weight") || file.tensors.count("optimizer.step")) << "an unnamed part";

  // A sampler needs the generator network alone (or its EMA): the file's other parts are left unread.
  TinyGan sampler(3, 4);
  CheckpointParts parts;
  parts.modules = {{"generator", sampler.generator_net.get()}};
  load_checkpoint(dir.file("gan.safetensors"), parts);
  expect_identical(sampler.generator_net->state_dict(), run.generator_net->state_dict(), "generator network");
  parts.modules = {{"generator", sampler.generator_net.get()}};
  parts.emas = {{"generator", sampler.ema_g.get()}};
  load_checkpoint(dir.file("gan.safetensors"), parts);
  expect_identical(sampler.ema_g->state_dict(), run.ema_g->state_dict(), "EMA");
}

// Loads `path` into a fresh GAN run, expecting an error naming the file and `expected`; nothing may change.
void expect_gan_rejected(const std::string& path, const std::function<CheckpointParts(TinyGan&)>& parts_of,
                         const std::string& expected) {
  TinyGan run(7, 8);
  run.train_to(1);
  const auto before = run.snapshot();
  const auto noise = run.noise.get_state();
  const std::string error = error_of([&] { load_checkpoint(path, parts_of(run)); });
  EXPECT_TRUE(contains(error, expected)) << error;
  EXPECT_TRUE(contains(error, "load_checkpoint: " + path + ": ")) << error;
  expect_identical(run.snapshot(), before, "the run after a failed load");
  EXPECT_EQ(run.noise.get_state(), noise);
}

TEST(Checkpoint, PartsMissingExtraOrMisnamedAreRefusedChangingNothing) {
  ScratchFolder dir;
  TinyGan saved(1, 2);
  saved.train_to(2);
  const std::string path = dir.file("gan.safetensors");
  saved.save(path);

  // A part the file does not hold, as a module, an optimizer and an EMA: each named with its prefix.
  expect_gan_rejected(path, [](TinyGan& r) {
    CheckpointParts p = r.parts();
    p.modules = {{"generator", r.generator_net.get()}, {"critic", r.discriminator_net.get()}};
    return p;
  }, "no entry 'model.critic.0.bias'");
  expect_gan_rejected(path, [](TinyGan& r) {
    CheckpointParts p = r.parts();
    p.optimizers["critic"] = p.optimizers.at("discriminator");
    return p;
  }, "no 'optimizer.critic.*' entries");
  expect_gan_rejected(path, [](TinyGan& r) {
    CheckpointParts p = r.parts();
    p.emas["discriminator"] = p.emas.at("generator");
    return p;
  }, "no 'ema.discriminator.*' entries");

  // Two parts swapped: the generator network's first layer is [8, 2], the discriminator network's [8, 4].
  expect_gan_rejected(path, [](TinyGan& r) {
    CheckpointParts p = r.parts();
    p.modules = {{"generator", r.discriminator_net.get()}, {"discriminator", r.generator_net.get()}};
    return p;
  }, "entry 'model.discriminator.0.weight' has shape [8, 4], the model expects [8, 2]");

  // The file edited: an extra entry inside a part, an entry renamed, an entry outside every kind of part.
  auto edited = [&](const std::string& name, const std::function<void(TensorFile&)>& edit) {
    TensorFile file = load_safetensors(path);
    edit(file);
    save_safetensors(dir.file(name), file);
    return dir.file(name);
  };
  const auto all_parts = [](TinyGan& r) { return r.parts(); };
  expect_gan_rejected(edited("extra.safetensors", [](TensorFile& f) {
    f.tensors["model.generator.9.weight"] = Tensor::zeros({2});
  }), all_parts, "unexpected entry 'model.generator.9.weight'");
  expect_gan_rejected(edited("extra_state.safetensors", [](TensorFile& f) {
    f.tensors["optimizer.discriminator.0.momentum_buffer"] = Tensor::zeros({8, 4});
  }), all_parts, "in the 'optimizer.discriminator.*' entries: Adam.load_state_dict: unexpected entry '0.momentum_buffer'");
  expect_gan_rejected(edited("renamed.safetensors", [](TensorFile& f) {
    f.tensors["ema.generator.2.b"] = f.tensors.at("ema.generator.2.bias");
    f.tensors.erase("ema.generator.2.bias");
  }), all_parts, "in the 'ema.generator.*' entries: EMA.load_state_dict: missing '2.bias'");
  expect_gan_rejected(edited("stray.safetensors", [](TensorFile& f) {
    f.tensors["models.generator.0.bias"] = Tensor::zeros({8});
  }), all_parts, "unexpected entry 'models.generator.0.bias'");
}

TEST(Checkpoint, PartNamesFollowTheRule) {
  ScratchFolder dir;
  TinyGan run(1, 2);
  auto save_with = [&](const std::function<void(CheckpointParts&)>& change) {
    CheckpointParts p = run.parts();
    change(p);
    return error_of([&] { save_checkpoint(dir.file("x.safetensors"), p); });
  };
  EXPECT_TRUE(contains(save_with([](CheckpointParts& p) { p.optimizers["a.b"] = p.optimizers.at("generator"); }),
                       "save_checkpoint: optimizer name 'a.b' has '.'"));
  EXPECT_TRUE(contains(save_with([&](CheckpointParts& p) { p.modules[""] = run.generator_net.get(); }),
                       "save_checkpoint: an unnamed model beside named ones"));
  EXPECT_TRUE(contains(save_with([](CheckpointParts& p) { p.emas["generator"] = nullptr; }),
                       "save_checkpoint: ema 'generator' is null"));
  EXPECT_FALSE(fs::exists(dir.file("x.safetensors"))) << "a refused save wrote a file";

  run.save(dir.file("gan.safetensors"));
  CheckpointParts p = run.parts();
  p.modules["G-net"] = run.generator_net.get();
  EXPECT_TRUE(contains(error_of([&] { load_checkpoint(dir.file("gan.safetensors"), p); }),
                       "load_checkpoint: model name 'G-net' has '-'"));
}

// The one-model forms write exactly what CheckpointParts with the unnamed parts writes, byte for byte.
TEST(Checkpoint, OneModelFormIsThePartsNamedEmpty) {
  ScratchFolder dir;
  TinyRun run(1, 2);
  run.train_to(3);
  run.save(dir.file("old.safetensors"));
  CheckpointParts parts;
  parts.modules = {{"", run.net.get()}};
  parts.optimizers = {{"", run.adam.get()}};
  parts.emas = {{"", run.ema.get()}};
  parts.random_stream = &run.noise;
  CheckpointInfo info;
  info.step = 3;
  info.metadata["note"] = "tiny run";
  save_checkpoint(dir.file("parts.safetensors"), parts, info);
  auto bytes = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(bytes(dir.file("old.safetensors")), bytes(dir.file("parts.safetensors")));
}

// weights/vae.safetensors, written before CheckpointParts existed, loads through it bit for bit.
TEST(Checkpoint, ShippedSingleModelFileLoadsThroughParts) {
  const std::string path = std::string(HUNDUN_SOURCE_DIR) + "/weights/vae.safetensors";
  std::shared_ptr<VAE> vae = load_vae(path);  // built from the metadata
  for (auto& [name, t] : vae->state_dict()) t.fill_(0.f);
  CheckpointParts parts;
  parts.modules = {{"", vae.get()}};
  load_checkpoint(path, parts);
  std::map<std::string, Tensor> saved;
  for (const auto& [name, t] : load_safetensors(path).tensors) saved[name.substr(std::string("model.").size())] = t;
  expect_identical(vae->state_dict(), saved, "weights/vae.safetensors");
}

// ------------------------------------------------------------------------------------------ PyTorch export

// Trains a 784-256-10 classifier for one short pass over part of Fashion-MNIST and leaves its checkpoint in
// /tmp/hundun_mlp_784_256_10.safetensors, with hundun's own test accuracy in the metadata, for
//   /usr/bin/python3 tests/reference/load_checkpoint_into_torch.py /tmp/hundun_mlp_784_256_10.safetensors mlp --eval
// which should report the same accuracy from PyTorch.
TEST(Checkpoint, TorchExport) {
  Dataset train, test;
  try {
    train = load_fashion_mnist(true);
    test = load_fashion_mnist(false);
  } catch (const std::exception& e) {
    GTEST_FAIL() << e.what();
  }
  Generator gen(0);
  Sequential net;  // state_dict names "0.weight", "0.bias", "2.weight", "2.bias", as PyTorch's nn.Sequential
  net.add(std::make_shared<Linear>(784, 256, gen));
  net.add(std::make_shared<ReLU>());
  net.add(std::make_shared<Linear>(256, 10, gen));
  Adam adam(net.parameters(), 1e-3f);
  DataLoader loader(subset(train, 6400, 0), 128, true, 0);  // 50 steps
  Tensor x, y;
  while (loader.next(x, y)) {
    Variable loss = cross_entropy(net(Variable(x.reshape({-1, 784}))), y);
    adam.zero_grad();
    loss.backward();
    adam.step();
  }

  net.eval();
  NoGradGuard no_grad;
  Tensor logits = net(Variable(test.images.reshape({-1, 784}))).data();  // [10000, 10]
  int64_t correct = 0;
  for (int64_t i = 0; i < logits.size(0); ++i) {
    const float* row = logits.data() + i * 10;
    int64_t best = std::max_element(row, row + 10) - row;
    correct += best == static_cast<int64_t>(test.labels.data()[i]);
  }
  double accuracy = static_cast<double>(correct) / static_cast<double>(logits.size(0));
  EXPECT_GT(accuracy, 0.6);

  CheckpointInfo info;
  info.step = adam.steps_taken();
  info.epoch = 1;
  info.metadata["model"] = "mlp";
  info.metadata["test_accuracy"] = std::to_string(accuracy);
  const std::string path = (fs::temp_directory_path() / "hundun_mlp_784_256_10.safetensors").string();
  save_checkpoint(path, net, &adam, &gen, info);
  std::cout << "wrote " << path << " (test accuracy " << accuracy << ")\n";
}

}  // namespace
}  // namespace hd
