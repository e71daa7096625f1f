#include "data/fashion_mnist.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "data/idx.h"

namespace hd {

namespace {

// "DIR/NAME" if it exists, else "DIR/NAME.gz" if that exists, else "". The raw file wins
// when both are there: it loads faster.
std::string find_idx_file(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const char* suffix : {"", ".gz"}) {
    fs::path p = fs::path(dir) / (name + suffix);
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return "";
}

[[noreturn]] void throw_not_found(const std::string& dir, const std::string& name) {
  throw std::runtime_error(fmt::format(
      "Fashion-MNIST not found in {} (no {}[.gz]): install it with `sudo apt-get install dataset-fashion-mnist` "
      "(or `make deps`), or point --data / HUNDUN_DATA at a folder with the IDX files",
      dir, name));
}

}  // namespace

std::string default_fashion_mnist_dir() {
  const char* env = std::getenv("HUNDUN_DATA");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

Dataset load_fashion_mnist(bool train, const std::string& dir_arg) {
  std::string dir = dir_arg.empty() ? default_fashion_mnist_dir() : dir_arg;
  std::string split = train ? "train" : "t10k";
  std::string images_name = split + "-images-idx3-ubyte";
  std::string labels_name = split + "-labels-idx1-ubyte";
  std::string images_path = find_idx_file(dir, images_name);
  if (images_path.empty()) throw_not_found(dir, images_name);
  std::string labels_path = find_idx_file(dir, labels_name);
  if (labels_path.empty()) throw_not_found(dir, labels_name);

  // images: [N, H, W] bytes -> [N, 1, H, W] in [0, 1], the layout Conv2d expects.
  Tensor images = read_idx(images_path);
  if (images.dim() != 3)
    throw std::runtime_error(fmt::format("load_fashion_mnist: {}: expected images [N, H, W], got shape {}",
                                         images_path, shape_str(images.shape())));
  float* px = images.data();
  const int64_t n_px = images.numel();
  // Divide (not multiply by 1/255) to match torchvision ToTensor bit for bit.
  for (int64_t i = 0; i < n_px; ++i) px[i] /= 255.f;
  images = images.reshape({images.size(0), 1, images.size(1), images.size(2)});

  Tensor labels = read_idx(labels_path);
  if (labels.dim() != 1)
    throw std::runtime_error(fmt::format("load_fashion_mnist: {}: expected labels [N], got shape {}", labels_path,
                                         shape_str(labels.shape())));
  if (labels.size(0) != images.size(0))
    throw std::runtime_error(fmt::format("load_fashion_mnist: {} has {} images but {} has {} labels", images_path,
                                         images.size(0), labels_path, labels.size(0)));
  const float* lab = labels.data();
  for (int64_t i = 0; i < labels.numel(); ++i)
    if (lab[i] > 9.f)
      throw std::runtime_error(fmt::format("load_fashion_mnist: {}: label {} of example {} is not a class 0..9",
                                           labels_path, lab[i], i));
  return {images, labels};
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

}  // namespace hd
