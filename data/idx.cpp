#include "data/idx.h"

#include "data/files.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace hd {

namespace {

// Owns a zlib file handle. gzopen reads plain files transparently, so one code path serves
// both "x-idx3-ubyte" and "x-idx3-ubyte.gz".
class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path), file_((check_regular_file(path, "read_idx"), gzopen(path.c_str(), "rb"))) {
    if (!file_) fail(fmt::format("cannot open: {}", errno ? std::strerror(errno) : "out of memory"));
    gzbuffer(file_, 1 << 18);  // a bigger input buffer: fewer read() calls, ~10% faster inflate
  }
  ~GzFile() {
    if (file_) gzclose(file_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads up to n bytes; returns how many arrived (fewer only at the end of the file).
  size_t read(void* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
      int r = gzread(file_, static_cast<char*>(buf) + got, chunk);
      if (r < 0) fail("read error: " + zlib_error());
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  }

  // zlib's explanation of a failed or short read ("unexpected end of file", "invalid stored
  // block lengths", ...), or "" when the stream simply ended.
  std::string zlib_error() {
    int code = 0;
    const char* msg = gzerror(file_, &code);
    if (code == Z_ERRNO) return std::strerror(errno);
    if (code == Z_OK) return "";
    // zlib writes "PATH: problem"; the path is already in our message.
    std::string text = msg;
    return text.rfind(path_ + ": ", 0) == 0 ? text.substr(path_.size() + 2) : text;
  }

  [[noreturn]] void fail(const std::string& problem) const {
    throw std::runtime_error(fmt::format("read_idx: {}: {}", path_, problem));
  }

 private:
  std::string path_;
  gzFile file_;
};

uint32_t big_endian_u32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

const char* idx_type_name(unsigned char type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

}  // namespace

Tensor read_idx(const std::string& path) {
  errno = 0;
  GzFile file(path);

  // Magic number: 0x00 0x00 <type> <number of dimensions>.
  unsigned char magic[4];
  if (file.read(magic, 4) != 4) file.fail("truncated: shorter than the 4-byte IDX magic number");
  if (magic[0] != 0 || magic[1] != 0)
    file.fail(fmt::format("not an IDX file: magic number starts with 0x{:02x} 0x{:02x}, expected 0x00 0x00",
                          magic[0], magic[1]));
  if (magic[2] != 0x08)
    file.fail(fmt::format("unsupported IDX value type 0x{:02x} ({}): only 0x08 (unsigned byte) is supported",
                          magic[2], idx_type_name(magic[2])));
  int ndim = magic[3];
  if (ndim < 1 || ndim > 4) file.fail(fmt::format("IDX file has {} dimensions, expected 1 to 4", ndim));

  // Sizes, checked one by one so the product can never overflow.
  constexpr int64_t kMaxBytes = int64_t{1} << 31;
  unsigned char raw_sizes[16];
  size_t header = 4 + 4 * static_cast<size_t>(ndim);
  if (file.read(raw_sizes, 4 * ndim) != 4 * static_cast<size_t>(ndim))
    file.fail(fmt::format("truncated: the header of a {}-dimensional IDX file needs {} bytes", ndim, header));
  Shape shape;
  int64_t count = 1;
  for (int d = 0; d < ndim; ++d) {
    int64_t size = big_endian_u32(raw_sizes + 4 * d);
    shape.push_back(size);
    if (size == 0) file.fail(fmt::format("dimension {} of {} has size 0", d, shape_str(shape)));
    count *= size;
    if (count >= kMaxBytes) file.fail(fmt::format("data too large: sizes {}... need 2^31 bytes or more",
                                                   shape_str(shape)));
  }

  // Values: inflated in 1 MiB chunks into a buffer that grows as they arrive; only when all of them are there is
  // the output tensor allocated. The header's sizes alone never decide an allocation: a 50-byte file claiming
  // [60000, 28, 28] (or 2^31 bytes) is refused as truncated after reading what it holds.
  std::vector<unsigned char> values;
  std::vector<unsigned char> chunk(1 << 20);
  while (static_cast<int64_t>(values.size()) < count) {
    const int64_t done = static_cast<int64_t>(values.size());
    size_t want = static_cast<size_t>(std::min<int64_t>(count - done, static_cast<int64_t>(chunk.size())));
    size_t got = file.read(chunk.data(), want);
    values.insert(values.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
    if (got < want) {
      std::string why = file.zlib_error();
      file.fail(fmt::format("truncated: shape {} needs {} bytes after the {}-byte header, the file has {}{}",
                            shape_str(shape), count, header, values.size(), why.empty() ? "" : " (zlib: " + why + ")"));
    }
  }
  Tensor out(shape);
  float* dst = out.data();
  for (int64_t i = 0; i < count; ++i) dst[i] = values[static_cast<size_t>(i)];

  // Anything after the data means the header and the file disagree.
  size_t extra = 0;
  while (size_t got = file.read(chunk.data(), chunk.size())) extra += got;
  if (extra > 0)
    file.fail(fmt::format("{} unexpected bytes after the data (shape {} from the header accounts for {} bytes)",
                          extra, shape_str(shape), count));
  return out;
}

}  // namespace hd
