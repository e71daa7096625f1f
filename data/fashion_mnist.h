// fashion_mnist.h — the Fashion-MNIST data set (Xiao, Rasul & Vollgraf, 2017): 70000 grey
// 28x28 pictures of clothes in 10 classes, 60000 for training and 10000 for testing.
//
// The files are the four IDX files of the original distribution, raw or gzipped:
//   train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
//   t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]
// The Debian package dataset-fashion-mnist installs them in /usr/share/datasets/fashion-mnist.
// MNIST (digits) uses the same file names: pass its folder as `dir` to load it instead.
#pragma once

#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace hd {

// A labelled data set held in memory, row i of both tensors being example i.
struct Dataset {
  Tensor images;  // [N, 1, 28, 28], pixel values in [0, 1]
  Tensor labels;  // [N], class index 0..9 stored as float (undefined for unlabelled data)
};

// Where load_fashion_mnist looks when no folder is given: $HUNDUN_DATA if set, else the
// Debian package's folder /usr/share/datasets/fashion-mnist.
std::string default_fashion_mnist_dir();

// Loads the training split (train = true, 60000 examples) or the test split (10000).
// dir "" means default_fashion_mnist_dir(). Throws std::runtime_error with one line telling
// how to install the data when the files are missing, or naming the file and the problem
// when they are damaged.
Dataset load_fashion_mnist(bool train, const std::string& dir = "");

// Class names by label: "T-shirt/top", "Trouser", ..., "Ankle boot".
const std::vector<std::string>& fashion_mnist_classes();

}  // namespace hd
