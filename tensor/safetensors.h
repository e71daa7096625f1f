// safetensors.h — reading and writing Hugging Face's safetensors files: hundun's checkpoints and the
// PyTorch reference values the tests compare against.
//
// The file format, byte by byte:
//
//   [8 bytes]  N, the header's length: an unsigned 64-bit little-endian integer
//   [N bytes]  the header: a UTF-8 JSON object, one entry per tensor
//                {"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...,
//                 "__metadata__": {"key": "value", ...}}          (metadata optional, strings only)
//              padded with trailing spaces so that the data that follows starts 8-byte aligned
//   [rest]     the data buffer: each tensor's elements, little-endian, row-major, at bytes
//              [begin, end) counted from the first byte after the header
//
// Nothing in a file is trusted: every length, offset and size is checked before it is used, and any
// problem is a std::runtime_error "<file>: <what is wrong>" — never a crash or an out-of-bounds read.
// The tensors must tile the data buffer exactly (no overlaps, no gaps, no unused bytes), as the
// reference implementation requires.
//
// hundun's tensors are float32, so reading converts every supported dtype to float32:
//   F32 as is; F64 rounded to nearest; F16 and BF16 exactly (every half/bfloat16 is a float);
//   I64, I32, I16, I8, U64, U32, U16, U8 to the nearest float (exact up to 2^24 in magnitude);
//   BOOL to 0 or 1 (any byte other than 0 or 1 is rejected).
// The 8-bit float dtypes (F8_E4M3, F8_E5M2) and anything else are rejected as unsupported.
// Writing always writes F32.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace hd {

struct TensorFile {
  std::map<std::string, Tensor> tensors;        // name -> tensor (ordered, so files are deterministic)
  std::map<std::string, std::string> metadata;  // the "__metadata__" strings
};

// Writes atomically: into a temporary file "<path>.tmp-XXXXXX" in the same folder, flushed and
// fsync'ed, then renamed over `path`, then the folder fsync'ed. An error (or a crash) mid-write
// leaves any previous file at `path` untouched; after an error the temporary file is removed too
// (a crash can leave it behind). Throws std::runtime_error naming the file on I/O errors, and
// std::invalid_argument, before touching the disk, for a TensorFile that cannot be written
// (see serialize_safetensors).
void save_safetensors(const std::string& path, const TensorFile& file);

// Removes the "<path>.tmp-XXXXXX" files that a killed earlier write of `path` left behind (every atomic writer
// calls it first, so a crash's leftover lasts only until the next write). Two processes writing one file at the
// same moment are not supported: the last rename would win anyway.
void remove_stale_temporary_files(const std::string& path);

// Reads and validates the whole file; throws std::runtime_error("<path>: <what is wrong>").
TensorFile load_safetensors(const std::string& path);

// The same from bytes in memory; `what` names the source in error messages.
TensorFile parse_safetensors(const std::vector<uint8_t>& bytes, const std::string& what);

// The file's bytes: names sorted, offsets consecutive, header padded with spaces to a multiple of 8,
// every tensor F32. Throws std::invalid_argument for an undefined tensor, a tensor named
// "__metadata__", or a name or metadata string that is not valid UTF-8.
std::vector<uint8_t> serialize_safetensors(const TensorFile& file);

// Not `namespace testing`: inside namespace hd that name would hide GoogleTest's ::testing.
namespace test_hooks {
// For tests only: the next save_safetensors fails with a simulated write error (like a full disk)
// once `fail_after_bytes` bytes of the file have been written. Fires once, then is disarmed;
// a negative value disarms it.
void set_safetensors_write_fault_for_testing(int64_t fail_after_bytes);
}  // namespace test_hooks

}  // namespace hd
