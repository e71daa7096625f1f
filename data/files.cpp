#include "data/files.h"

#include "tensor/safetensors.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace hd {

void write_file_atomically(const std::string& path, std::string_view bytes, const char* op) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec)
      throw std::runtime_error(
          fmt::format("{}: cannot create folder '{}' for '{}': {}", op, parent.string(), path, ec.message()));
  }
  remove_stale_temporary_files(path);  // tensor/safetensors.h: what a killed earlier write left
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot write '{}': {}", op, path, std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  int saved_errno = errno;
  // mkostemp creates the file 0600; an output file should be readable like any other.
  bool ok = done == bytes.size() && ::fchmod(fd, 0644) == 0;
  ok = (::close(fd) == 0) && ok;
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    saved_errno = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: cannot write '{}': {}", op, path, std::strerror(saved_errno)));
  }
}

void check_regular_file(const std::string& path, const char* op) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return;
  if (!S_ISREG(st.st_mode))
    throw std::runtime_error(fmt::format("{}: {}: is not a regular file (a FIFO, device or folder cannot be read as "
                                         "one)",
                                         op, path));
}

}  // namespace hd
