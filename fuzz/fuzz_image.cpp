// fuzz_image — data/image.h's readers: read_image_file (PNG or JPEG, a pixel limit from the header) and load_png
// (PNG, width and height limits), both through stb_image. The limits here keep each decode small.
#include <cstdint>
#include <stdexcept>

#include "data/image.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static hd::fuzz::InputFile input("image");
  const std::string& path = input.write(data, size);
  try {
    const hd::Tensor image = hd::read_image_file(path, 256 * 256);
    if (image.dim() != 3 || (image.size(0) != 1 && image.size(0) != 3) || image.size(1) * image.size(2) > 256 * 256)
      hd::fuzz::finding("read_image_file returned an image of shape " + hd::shape_str(image.shape()));
  } catch (const std::exception& e) {
    hd::fuzz::expect_names(e, path);
  }
  try {
    hd::load_png(path, 256, 256);
  } catch (const std::exception& e) {
    hd::fuzz::expect_names(e, path);
  }
  return 0;
}
