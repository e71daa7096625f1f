// fuzz_input.h — what the harnesses share (see fuzz/README.md): the fuzz input as a file, because hundun's
// readers take paths, and the rule every reader keeps: an error is an exception that names the file.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>

namespace hd::fuzz {

// A file in a folder of its own under /tmp ("/tmp/hundun-fuzz-XXXXXX/input.gz"), unique to this process, rewritten
// with each input and removed when the process ends normally.
class InputFile {
 public:
  explicit InputFile(const std::string& name) {
    char folder[] = "/tmp/hundun-fuzz-XXXXXX";
    if (!::mkdtemp(folder)) {
      std::perror("fuzz: mkdtemp");
      std::abort();
    }
    folder_ = folder;
    path_ = folder_ + "/" + name;
  }
  ~InputFile() {
    std::error_code ec;
    std::filesystem::remove_all(folder_, ec);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Overwritten in place, then cut to the input's size: never truncated to zero first, which ext4 answers with a
  // flush to disk on close (its replace-via-truncate heuristic), 4 ms an input.
  const std::string& write(const uint8_t* data, size_t size) {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    bool ok = fd >= 0;
    for (size_t done = 0; ok && done < size;) {
      const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
      ok = n > 0;
      done += ok ? static_cast<size_t>(n) : 0;
    }
    ok = ok && ::ftruncate(fd, static_cast<off_t>(size)) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok) {
      std::fprintf(stderr, "fuzz: cannot write %s\n", path_.c_str());
      std::abort();
    }
    return path_;
  }
  const std::string& path() const { return path_; }

 private:
  std::string folder_, path_;
};

// A finding that is no crash: print why and abort, so libFuzzer saves the input.
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "\nFINDING: %s\n", what.c_str());
  std::abort();
}

// A reader's error must say which file is wrong: a message without `name` (a bare "bad_alloc", an
// "unknown architecture" from deep inside) is a finding.
inline void expect_names(const std::exception& e, const std::string& name) {
  const std::string message = e.what();
  if (message.find(name) == std::string::npos)
    finding("an error that does not name the file '" + name + "': " + message);
}

}  // namespace hd::fuzz
