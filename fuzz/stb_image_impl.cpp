// stb_image_impl.cpp — stb_image and stb_image_write compiled from Debian's headers (libstb-dev) into the fuzz
// build, with the fuzzer's coverage and the sanitizers, in place of the precompiled libstb the other builds link:
// data/image.cpp hands stb the fuzzed bytes, so stb's decoders are fuzzed too, not a black box beside them.
// stb_truetype comes along because report/labels.cpp (in the same library) draws text with it; no harness feeds it.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_TRUETYPE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#include <stb/stb_truetype.h>
