// make_corpus — writes the committed seed corpus fuzz/corpus/<target>/ with hundun's own writers: a few tiny valid
// files per harness, the starting points the fuzzer mutates. Run by `make fuzz-corpus`; the files are committed, so
// `make fuzz` never needs it. Every file stays at a few KB.
#include <fmt/format.h>
#include <stb/stb_image_write.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "data/image.h"
#include "models/autoencoder.h"
#include "models/classifier.h"
#include "models/diffusion.h"
#include "models/vae.h"
#include "nn/checkpoint.h"
#include "nn/ema.h"
#include "nn/layers.h"
#include "nn/optim.h"
#include "tensor/safetensors.h"

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {

std::string folder;  // fuzz/corpus

std::string target(const std::string& harness, const std::string& name) {
  fs::create_directories(folder + "/" + harness);
  return folder + "/" + harness + "/" + name;
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

hd::Tensor counting(const hd::Shape& shape) {
  hd::Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = 0.25f * static_cast<float>(i % 7) - 0.5f;
  return t;
}

// A safetensors file written byte by byte, for the dtypes hundun reads but never writes.
Bytes handmade_safetensors(const std::string& json, const Bytes& data) {
  std::string header = json;
  header.append((8 - header.size() % 8) % 8, ' ');
  Bytes out(8);
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void safetensors_seeds() {
  hd::save_safetensors(target("safetensors", "empty.safetensors"), {});
  hd::TensorFile f;
  f.tensors["w"] = counting({2, 3});
  f.tensors["b"] = counting({3});
  f.tensors["scalar"] = hd::Tensor::full({}, 1.5f);
  f.tensors["none"] = hd::Tensor({0, 4});
  f.metadata = {{"model", "vae"}, {"note", "caf\xc3\xa9 \"quoted\"\n"}};
  hd::save_safetensors(target("safetensors", "f32_with_metadata.safetensors"), f);
  write_bytes(target("safetensors", "other_dtypes.safetensors"),
              handmade_safetensors("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                                   "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[4,6]},"
                                   "\"c\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[6,8]},"
                                   "\"d\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]},"
                                   "\"e\":{\"dtype\":\"U8\",\"shape\":[1,2],\"data_offsets\":[16,18]},"
                                   "\"f\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[18,26]}}",
                                   {0x00, 0x3c, 0x00, 0xc0, 0x80, 0x3f, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0, 200, 3,
                                    0, 0, 0, 0, 0, 0, 0xf0, 0x3f}));
}

template <typename M>
void save_model(const std::string& name, const M& model, const std::map<std::string, std::string>& metadata) {
  hd::CheckpointInfo info;
  info.step = 3;
  info.epoch = 1;
  info.metadata = metadata;
  hd::save_checkpoint(target("checkpoint", name), model, nullptr, nullptr, info);
}

void checkpoint_seeds() {
  const hd::ImageShape tiny{1, 4, 4};
  hd::Generator gen(0);
  hd::VaeOptions vae;
  vae.latent_dim = 2;
  vae.hidden = 3;
  vae.image = tiny;
  save_model("vae.safetensors", hd::VAE(vae, gen), vae.to_metadata());
  vae.likelihood = hd::Likelihood::Gaussian;
  vae.learn_sigma = true;
  save_model("vae_gaussian.safetensors", hd::VAE(vae, gen), vae.to_metadata());

  hd::AutoencoderOptions ae;
  ae.latent_dim = 2;
  ae.hidden = 3;
  ae.image = tiny;
  save_model("ae.safetensors", hd::Autoencoder(ae, gen), ae.to_metadata());

  hd::MLPClassifier mlp(2, gen, tiny);
  save_model("classifier_mlp.safetensors", mlp, mlp.options.to_metadata());

  // A diffusion model is loaded with its EMA (the sampling weights): a 2-level U-Net of 4 channels, T = 10.
  hd::diffusion::DiffusionOptions diffusion;
  diffusion.unet.channels = {4, 4};
  diffusion.unet.time_dim = 4;
  diffusion.unet.groups = 2;
  diffusion.unet.image = tiny;
  diffusion.T = 10;
  hd::Generator diffusion_gen(0);  // its own stream: the seeds after it keep their bytes
  hd::diffusion::DiffusionModel denoiser(diffusion, diffusion_gen);
  hd::EMA denoiser_ema(denoiser, 0.9f);
  hd::CheckpointInfo diffusion_info;
  diffusion_info.step = 3;
  diffusion_info.metadata = diffusion.to_metadata();
  hd::save_checkpoint(target("checkpoint", "diffusion.safetensors"), denoiser, nullptr, nullptr, diffusion_info,
                      &denoiser_ema);

  // The fixed model of fuzz_checkpoint.cpp, with everything a training run saves.
  hd::Sequential model({std::make_shared<hd::Linear>(3, 2, gen), std::make_shared<hd::ReLU>(),
                        std::make_shared<hd::Linear>(2, 1, gen)});
  hd::Adam optimizer(model.parameters());
  for (hd::Variable& p : model.parameters()) p.set_grad(hd::Variable(hd::Tensor::full(p.shape(), 0.1f)));
  optimizer.step();
  hd::EMA ema(model, 0.99f);
  hd::CheckpointInfo info;
  info.step = 1;
  info.epoch = 1;
  info.metadata = {{"note", "training state"}};
  hd::save_checkpoint(target("checkpoint", "training_state.safetensors"), model, &optimizer, &gen, info, &ema);
}

Bytes idx_bytes(const std::vector<uint32_t>& dims) {
  Bytes b = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  size_t n = 1;
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(d >> shift));
    n *= d;
  }
  for (size_t i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(i * 37 % 256));
  return b;
}

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

void idx_seeds() {
  write_gz(target("idx", "images-idx3-ubyte.gz"), idx_bytes({3, 4, 4}));
  write_gz(target("idx", "labels-idx1-ubyte.gz"), idx_bytes({5}));
  write_bytes(target("idx", "images-idx3-ubyte"), idx_bytes({2, 3, 3}));
  write_bytes(target("idx", "four-dims-idx4-ubyte"), idx_bytes({1, 2, 2, 2}));
}

void image_seeds() {
  hd::save_png(counting({1, 3, 5}), target("image", "grey.png"), -0.5f, 1.f);
  hd::save_png(counting({3, 4, 4}), target("image", "rgb.png"), -0.5f, 1.f);
  const unsigned char rgba[16] = {255, 0, 0, 255, 100, 100, 100, 128, 0, 0, 255, 0, 9, 8, 7, 6};
  stbi_write_png(target("image", "rgba.png").c_str(), 2, 2, 4, rgba, 8);
  unsigned char pixels[8 * 8 * 3];
  for (int i = 0; i < 8 * 8 * 3; ++i) pixels[i] = static_cast<unsigned char>(i * 11);
  stbi_write_jpg(target("image", "rgb.jpg").c_str(), 8, 8, 3, pixels, 90);
  stbi_write_jpg(target("image", "grey.jpg").c_str(), 5, 3, 1, pixels, 50);
  // stb writes baseline JPEGs only: the progressive one comes from the tests' fixtures.
  fs::copy_file(std::string(HUNDUN_SOURCE_DIR) + "/tests/fixtures/progressive.jpg", target("image", "progressive.jpg"),
                fs::copy_options::overwrite_existing);
}

void cli_seeds() {
  const std::vector<std::vector<std::string>> lines = {
      {"train", "classifier", "--epochs", "2", "--lr=0.01", "--model", "mlp", "--seed", "+7"},
      {"sample", "vae", "--ckpt", "weights/vae.safetensors", "--out", "./weights/../weights/vae.safetensors", "-n", "16"},
      {"eval", "classifier", "--ckpt", "c.safetensors", "--train-size", "1e3", "--full"},
      {"train", "vae", "--batch", "-1", "--lr", "nan", "--help"},
      {"export", "--tensor", "/tmp/x", "--out", "/tmp/x", "--resume", "/dev/null"},
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    Bytes b;
    for (size_t w = 0; w < lines[i].size(); ++w) {
      if (w > 0) b.push_back(0);
      b.insert(b.end(), lines[i][w].begin(), lines[i][w].end());
    }
    write_bytes(target("cli_args", fmt::format("argv{}", i)), b);
  }
}

}  // namespace

int main(int argc, char** argv) {
  folder = argc > 1 ? argv[1] : "fuzz/corpus";
  safetensors_seeds();
  checkpoint_seeds();
  idx_seeds();
  image_seeds();
  cli_seeds();
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file()) fmt::print("  {:>6} bytes  {}\n", entry.file_size(), entry.path().string());
  return 0;
}
