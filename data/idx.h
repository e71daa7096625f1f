// idx.h — reading IDX files, the format MNIST and Fashion-MNIST are distributed in.
//
// An IDX file is a tiny header followed by raw values (http://yann.lecun.com/exdb/mnist/):
//   bytes 0-1   zero
//   byte  2     value type: 0x08 = unsigned byte (the only type the MNIST family uses)
//   byte  3     number of dimensions D (1..4 here)
//   then D big-endian uint32 sizes, then prod(sizes) values in row-major order.
// train-images-idx3-ubyte is [60000, 28, 28]; train-labels-idx1-ubyte is [60000].
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace hd {

// Reads a raw or gzipped (.gz) IDX file of unsigned bytes into a float32 tensor whose shape is
// the file's dimensions. Values keep their byte value (pixels 0..255, labels 0..9), as floats.
// Throws std::runtime_error "read_idx: FILE: problem" when the file is missing, not IDX, of an
// unsupported type, truncated, or has bytes after the data.
Tensor read_idx(const std::string& path);

}  // namespace hd
