// stb_image_impl.cpp — stb_image and stb_image_write compiled from Debian's headers (libstb-dev) into the fuzz
// build, with the fuzzer's coverage and the sanitizers, in place of the precompiled libstb the other builds link:
// data/image.cpp hands stb the fuzzed bytes, so stb's decoders are fuzzed too, not a black box beside them.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
