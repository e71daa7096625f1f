// fuzz_idx — data/idx.h read_idx: IDX files raw or gzipped (zlib reads both), their magic number, sizes and data.
// A finding besides crashes: an allocation the file's contents cannot justify (libFuzzer's -rss_limit_mb and
// -malloc_limit_mb), an error not naming the file.
#include <cstdint>
#include <stdexcept>

#include "data/idx.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static hd::fuzz::InputFile input("images-idx3-ubyte.gz");
  const std::string& path = input.write(data, size);
  try {
    hd::read_idx(path);
  } catch (const std::exception& e) {
    hd::fuzz::expect_names(e, path);
  }
  return 0;
}
