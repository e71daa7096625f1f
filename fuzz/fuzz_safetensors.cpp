// fuzz_safetensors — tensor/safetensors.h: the header's JSON, every entry's dtype, shape and offsets, the tiling of
// the data buffer, the dtype conversions; from memory (parse_safetensors) and from a file (load_safetensors, with
// its checks before the whole file is read). Besides crashes, a finding is: an error not naming the file, the two
// entry points disagreeing about an input, or a file that reads back differently once written.
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "tensor/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static hd::fuzz::InputFile input("input.safetensors");
  const std::string& path = input.write(data, size);

  bool parsed = false;
  try {
    hd::parse_safetensors(std::vector<uint8_t>(data, data + size), "fuzz input");
    parsed = true;
  } catch (const std::exception& e) {
    hd::fuzz::expect_names(e, "fuzz input");
  }

  try {
    const hd::TensorFile file = hd::load_safetensors(path);
    if (!parsed) hd::fuzz::finding("load_safetensors accepted a file that parse_safetensors refuses");
    // What was read, written and read again is the same file.
    const std::vector<uint8_t> once = hd::serialize_safetensors(file);
    if (hd::serialize_safetensors(hd::parse_safetensors(once, "written back")) != once)
      hd::fuzz::finding("a file read, written and read again changed");
  } catch (const std::exception& e) {
    hd::fuzz::expect_names(e, path);
    if (parsed) hd::fuzz::finding(std::string("load_safetensors refused what parse_safetensors accepts: ") + e.what());
  }
  return 0;
}
