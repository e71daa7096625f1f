// image.cpp — grids of images, PNG writing, PNG and JPEG reading (see image.h).
//
// stb's PNG functions come precompiled in Debian's libstb (link with -lstb), so this file only
// includes the headers and never defines STB_IMAGE_IMPLEMENTATION.
#include "data/image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include "data/files.h"

namespace hd {

namespace {

// [lo, hi] -> 0..255 with rounding; outside values clamp, NaN becomes 0.
unsigned char to_byte(float v, float lo, float hi) {
  float t = (v - lo) / (hi - lo) * 255.f + 0.5f;
  if (!(t > 0.f)) return 0;  // also NaN
  return t >= 255.f ? 255 : static_cast<unsigned char>(t);
}

// The smallest and largest finite values of n floats; {0, 0} when there are none.
void finite_range(const float* x, int64_t n, float& lo, float& hi) {
  lo = INFINITY;
  hi = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (lo > hi) lo = hi = 0.f;
}

// stb's [H, W, C] bytes -> [C, H, W] in [0, 1].
Tensor planes_of(const unsigned char* pixels, int64_t C, int64_t h, int64_t w) {
  Tensor image({C, h, w});
  float* dst = image.data();
  const int64_t hw = h * w;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < hw; ++i) dst[c * hw + i] = pixels[i * C + c] / 255.f;
  return image;
}

// stb_image allocates for each PNG chunk the length the chunk declares, before reading it: a 117-byte file declaring a
// 2 GB IDAT chunk made it ask for 2 GB (found by make fuzz, fuzz/fuzz_image.cpp). The chunks are walked here first
// (4 bytes length, 4 bytes type, the data, 4 bytes CRC; stb follows the lengths the same way), and one running past
// the end of the file is refused, so stb never allocates more than twice the file's size for them. Returns what is
// wrong, or "" (other damage is left for stb to refuse). The file position is left anywhere: rewind after.
std::string png_chunk_problem(FILE* file, int64_t file_size) {
  int64_t at = 8;  // after the signature
  while (at + 8 <= file_size) {
    unsigned char head[8];
    if (std::fseek(file, static_cast<long>(at), SEEK_SET) != 0 || std::fread(head, 1, 8, file) != 8) return "";
    const int64_t length = (int64_t{head[0]} << 24) | (head[1] << 16) | (head[2] << 8) | head[3];
    const std::string type(reinterpret_cast<const char*>(head + 4), 4);
    if (at + 12 + length > file_size)
      return fmt::format("its '{}' chunk of {} bytes runs past the end of the file ({} bytes)", type, length, file_size);
    if (type == "IEND") return "";
    at += 12 + length;
  }
  return "";
}

// Two faults of stb_image 2.27 (Debian 12's libstb) in JPEG's Huffman tables, both found by make fuzz
// (fuzz/fuzz_image.cpp) and both fixed in stb 2.28 (nothings/stb#1289), which Debian 12 does not ship:
//   - a DHT segment whose 16 code counts add up to more than 256 codes writes past the end of stb's tables;
//   - a scan (SOS) may name a table no DHT defined, and stb decodes with the uninitialised memory in its place (an
//     assertion in Debian's build aborts the whole program on some heaps).
// So the tables are checked here first: the markers are walked as stb walks them (and further: where stb stops at a
// stray byte, this keeps looking), every DHT is counted, and every scan must use defined tables, as the JPEG
// standard requires: a sequential scan its DC and AC tables, a progressive one the DC tables of a first DC scan or
// the AC table of an AC scan. Returns what is wrong, or "" (other damage is left for stb to refuse). The file
// position is left anywhere: rewind after.
std::string jpeg_huffman_table_problem(FILE* file) {
  auto next = [&] { return std::getc(file); };
  if (next() != 0xFF || next() != 0xD8) return "";
  bool defined[2][4] = {};  // [0 DC / 1 AC][table id]
  bool progressive = false;
  while (true) {
    int c = next();
    if (c == EOF) return "";
    if (c != 0xFF) continue;  // entropy-coded data, or junk stb skips too
    int marker = next();
    while (marker == 0xFF) marker = next();  // fill bytes
    if (marker == EOF || marker == 0xD9) return "";  // the end, or EOI
    // A stuffed 0x00 in entropy-coded data, RST0..7, TEM, SOI: markers without a length.
    if (marker == 0x00 || (marker >= 0xD0 && marker <= 0xD8) || marker == 0x01) continue;
    const int hi = next(), lo = next();
    if (lo == EOF) return "";
    long length = hi * 256 + lo - 2;  // what follows the length
    if (length < 0) return "";        // stb refuses it
    if (marker == 0xC2) progressive = true;
    if (marker == 0xDA) {  // SOS: Ns, then per component its id and table selectors (DC << 4 | AC), Ss, Se, Ah << 4 | Al
      unsigned char scan[2 + 2 * 4 + 3] = {};
      if (length > static_cast<long>(sizeof scan) || std::fread(scan, 1, static_cast<size_t>(length), file) !=
                                                         static_cast<size_t>(length))
        return "";  // stb checks the length against Ns and refuses it
      const int components = scan[0];
      if (components < 1 || components > 4 || length != 1 + 2 * components + 3) return "";
      const int first = scan[1 + 2 * components], refining = scan[3 + 2 * components] >> 4;
      for (int k = 0; k < components; ++k) {
        const int dc = scan[2 + 2 * k] >> 4, ac = scan[2 + 2 * k] & 15;
        if (dc > 3 || ac > 3) return "";  // stb refuses it
        const bool needs_dc = progressive ? first == 0 && refining == 0 : true;
        const bool needs_ac = progressive ? first > 0 : true;
        if (needs_dc && !defined[0][dc])
          return fmt::format("a scan uses the DC Huffman table {}, which no DHT segment before it defines", dc);
        if (needs_ac && !defined[1][ac])
          return fmt::format("a scan uses the AC Huffman table {}, which no DHT segment before it defines", ac);
      }
      continue;
    }
    if (marker != 0xC4) {
      if (std::fseek(file, length, SEEK_CUR) != 0) return "";
      continue;
    }
    while (length > 0) {  // DHT: tables of [class << 4 | id, 16 counts, the codes' values]
      // Past the end of the file stb reads zeros and goes on: so do the counts here.
      const int table = std::max(next(), 0);
      long codes = 0;
      for (int i = 0; i < 16; ++i) codes += std::max(next(), 0);
      if (codes > 256) return fmt::format("a Huffman table (DHT) of {} codes, more than the 256 a JPEG can have", codes);
      if ((table >> 4) <= 1 && (table & 15) <= 3) defined[table >> 4][table & 15] = true;
      if (std::feof(file) || std::fseek(file, codes, SEEK_CUR) != 0) return "";
      length -= 17 + codes;
    }
  }
}

}  // namespace

Tensor make_grid(const Tensor& images, const GridOptions& options) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3))
    throw std::invalid_argument(fmt::format(
        "make_grid: expected images [N, C, H, W] with C = 1 or 3, got {} (reshape flat images to [N, 1, H, W])",
        shape_str(images.shape())));
  const int64_t N = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
  if (N == 0 || H == 0 || W == 0)
    throw std::invalid_argument(fmt::format("make_grid: no pixels to draw in {}", shape_str(images.shape())));
  if (options.nrow < 1 || options.padding < 0 || options.upscale < 1)
    throw std::invalid_argument(fmt::format("make_grid: need nrow >= 1, padding >= 0, upscale >= 1; got {}, {}, {}",
                                            options.nrow, options.padding, options.upscale));

  const int64_t u = options.upscale, pad = options.padding;
  const int64_t cols = std::min(options.nrow, N), rows = (N + cols - 1) / cols;
  const int64_t cell_h = H * u + pad, cell_w = W * u + pad;
  const int64_t out_h = rows * cell_h + pad, out_w = cols * cell_w + pad;
  Tensor grid = Tensor::full({C, out_h, out_w}, options.pad_value);

  // normalize: x -> (x - min) / (max - min), over all images or each one (torchvision's norm_ip).
  const int64_t image_numel = C * H * W;
  float lo = 0.f, hi = 1.f;
  if (options.normalize && !options.scale_each) finite_range(images.data(), N * image_numel, lo, hi);

  float* out = grid.data();
  for (int64_t n = 0; n < N; ++n) {
    const float* img = images.data() + n * image_numel;  // [C, H, W]
    if (options.normalize && options.scale_each) finite_range(img, image_numel, lo, hi);
    const float scale = 1.f / std::max(hi - lo, 1e-5f);
    const int64_t y0 = pad + (n / cols) * cell_h, x0 = pad + (n % cols) * cell_w;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < H * u; ++y)
        for (int64_t x = 0; x < W * u; ++x) {
          float v = img[(c * H + y / u) * W + x / u];
          if (options.normalize) v = std::clamp((v - lo) * scale, 0.f, 1.f);  // NaN stays NaN
          out[(c * out_h + y0 + y) * out_w + x0 + x] = v;
        }
  }
  return grid;
}

void save_png(const Tensor& image, const std::string& path, float lo, float hi) {
  const bool grey_2d = image.dim() == 2;
  if (!grey_2d && !(image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3)))
    throw std::invalid_argument(
        fmt::format("save_png: expected an image [C, H, W] with C = 1 or 3, or [H, W], got {} for '{}'",
                    shape_str(image.shape()), path));
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi))
    throw std::invalid_argument(
        fmt::format("save_png: need a finite range lo < hi, got [{}, {}] for '{}'", lo, hi, path));
  const int64_t C = grey_2d ? 1 : image.size(0), H = image.size(-2), W = image.size(-1);
  // stb counts bytes in int: each row is W*C bytes plus a filter byte.
  if (H < 1 || W < 1 || (W * C + 1) * H > INT_MAX / 2)
    throw std::invalid_argument(
        fmt::format("save_png: cannot encode an image of {} pixels as '{}'", shape_str(image.shape()), path));

  // [C, H, W] floats -> [H, W, C] bytes, the interleaved layout PNG stores.
  std::vector<unsigned char> pixels(static_cast<size_t>(H * W * C));
  const float* src = image.data();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < H * W; ++i) pixels[i * C + c] = to_byte(src[c * H * W + i], lo, hi);

  std::vector<unsigned char> png;
  auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<unsigned char>*>(context);
    out->insert(out->end(), static_cast<unsigned char*>(data), static_cast<unsigned char*>(data) + size);
  };
  if (!stbi_write_png_to_func(append, &png, static_cast<int>(W), static_cast<int>(H), static_cast<int>(C),
                              pixels.data(), static_cast<int>(W * C)))
    throw std::runtime_error(fmt::format("save_png: PNG encoding failed for '{}'", path));
  write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()), "save_png");
}

void save_image_grid(const Tensor& images, const std::string& path, const GridOptions& options) {
  Tensor grid = make_grid(images, options);
  if (options.normalize)
    save_png(grid, path, 0.f, 1.f);
  else
    save_png(grid, path, options.lo, options.hi);
}

Tensor load_png(const std::string& path, int64_t max_width, int64_t max_height) {
  check_regular_file(path, "load_png");
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw std::runtime_error(fmt::format("load_png: cannot open '{}': {}", path, std::strerror(errno)));

  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  unsigned char head[8] = {};
  if (std::fread(head, 1, 8, file.get()) != 8 || std::memcmp(head, kSignature, 8) != 0)
    throw std::runtime_error(fmt::format("load_png: '{}' is not a PNG file (no PNG signature)", path));
  struct stat st;
  const std::string problem =
      ::fstat(::fileno(file.get()), &st) == 0 ? png_chunk_problem(file.get(), static_cast<int64_t>(st.st_size)) : "";
  if (!problem.empty()) throw std::runtime_error(fmt::format("load_png: '{}' is a corrupt PNG: {}", path, problem));
  std::rewind(file.get());

  // The header alone gives the size: refuse a huge picture before allocating for it.
  int w = 0, h = 0, channels = 0;
  if (!stbi_info_from_file(file.get(), &w, &h, &channels))
    throw std::runtime_error(
        fmt::format("load_png: '{}' has a corrupt PNG header (stb_image: {})", path, stbi_failure_reason()));
  if (w > max_width || h > max_height)
    throw std::runtime_error(
        fmt::format("load_png: '{}' is {}x{} pixels, more than the limit {}x{}", path, w, h, max_width, max_height));

  const int C = channels <= 2 ? 1 : 3;  // grey(+alpha) -> grey, RGB(A) -> RGB
  std::unique_ptr<unsigned char, void (*)(void*)> pixels(stbi_load_from_file(file.get(), &w, &h, &channels, C),
                                                         &stbi_image_free);
  if (!pixels)
    throw std::runtime_error(
        fmt::format("load_png: cannot decode '{}', corrupt or truncated (stb_image: {})", path, stbi_failure_reason()));

  return planes_of(pixels.get(), C, h, w);
}

Tensor read_image_file(const std::string& path, int64_t max_pixels) {
  const char* op = "read_image_file";
  // O_NONBLOCK: opening a FIFO would otherwise wait for a writer; fstat then refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot open '{}': {}", op, path, std::strerror(errno)));
  std::unique_ptr<FILE, int (*)(FILE*)> file(::fdopen(fd, "rb"), &std::fclose);
  if (!file) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(fmt::format("{}: cannot open '{}': {}", op, path, std::strerror(err)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw std::runtime_error(fmt::format("{}: '{}' is not a regular file (a FIFO, device or folder cannot be read as "
                                         "an image)",
                                         op, path));

  // stb would also try BMP, GIF, PSD, TGA, HDR, ... on anything else: only the two formats hundun writes and
  // people have are let through to it.
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  static const unsigned char kJpeg[3] = {0xFF, 0xD8, 0xFF};
  unsigned char head[8] = {};
  const size_t got = std::fread(head, 1, 8, file.get());
  const bool png = got == 8 && std::memcmp(head, kPng, 8) == 0, jpeg = got >= 3 && std::memcmp(head, kJpeg, 3) == 0;
  if (!png && !jpeg)
    throw std::runtime_error(fmt::format("{}: '{}' is neither a PNG nor a JPEG file (no PNG or JPEG signature)", op,
                                         path));
  std::rewind(file.get());
  const char* format = png ? "PNG" : "JPEG";
  if (png) {
    const std::string problem = png_chunk_problem(file.get(), static_cast<int64_t>(st.st_size));
    if (!problem.empty()) throw std::runtime_error(fmt::format("{}: '{}' is a corrupt PNG: {}", op, path, problem));
    std::rewind(file.get());
  }
  if (jpeg) {
    const std::string problem = jpeg_huffman_table_problem(file.get());
    if (!problem.empty()) throw std::runtime_error(fmt::format("{}: '{}' is a corrupt JPEG: {}", op, path, problem));
    std::rewind(file.get());
  }

  // The header alone gives the size: refuse a huge picture before allocating for it.
  int w = 0, h = 0, channels = 0;
  if (!stbi_info_from_file(file.get(), &w, &h, &channels))
    throw std::runtime_error(
        fmt::format("{}: '{}' has a corrupt {} header (stb_image: {})", op, path, format, stbi_failure_reason()));
  if (w < 1 || h < 1 || static_cast<int64_t>(w) * h > max_pixels)
    throw std::runtime_error(fmt::format("{}: '{}' is {}x{} pixels, more than the limit of {} pixels", op, path, w, h,
                                         max_pixels));

  const int C = channels <= 2 ? 1 : 3;  // grey(+alpha) -> grey, RGB(A) -> RGB
  int decoded_w = 0, decoded_h = 0;
  std::unique_ptr<unsigned char, void (*)(void*)> pixels(
      stbi_load_from_file(file.get(), &decoded_w, &decoded_h, &channels, C), &stbi_image_free);
  if (!pixels)
    throw std::runtime_error(fmt::format("{}: cannot decode '{}', corrupt or truncated {} (stb_image: {})", op, path,
                                         format, stbi_failure_reason()));
  if (decoded_w != w || decoded_h != h)
    throw std::runtime_error(fmt::format("{}: '{}' decoded as {}x{} pixels, its header says {}x{}", op, path,
                                         decoded_w, decoded_h, w, h));
  return planes_of(pixels.get(), C, h, w);
}

}  // namespace hd
