#include "cli/paths.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "cli/args.h"

namespace hd::cli {

namespace fs = std::filesystem;

// Two paths name one file: the same existing file (equivalent: same device and inode, through any link), or
// the same path once made absolute and normal, following the links of the parts that exist.
static bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec)) return true;
  const fs::path ca = fs::weakly_canonical(fs::absolute(a), ec), cb = fs::weakly_canonical(fs::absolute(b), ec);
  return !ec && ca == cb;
}

void refuse_overwriting_inputs(const std::vector<PathFlag>& outputs, const std::vector<PathFlag>& inputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const auto& [out_flag, out] = outputs[i];
    if (out.empty()) continue;
    for (const auto& [in_flag, in] : inputs)
      if (!in.empty() && same_file(out, in))
        throw UsageError(fmt::format("{} {} is the same file as {} {}; write it somewhere else", out_flag, out, in_flag,
                                     in));
    for (size_t j = i + 1; j < outputs.size(); ++j)
      if (!outputs[j].second.empty() && same_file(out, outputs[j].second))
        throw UsageError(fmt::format("{} and {} are the same file ({}); give them different names", out_flag,
                                     outputs[j].first, out));
  }
}

OutputFolder::OutputFolder(const std::string& flag, const std::string& dir) : dir_(dir) {
  std::error_code ec;
  const bool existed = fs::exists(dir, ec);
  if (existed && !fs::is_directory(dir, ec))
    throw UsageError(fmt::format("{} {}: not a folder", flag, dir));
  if (!existed && (!fs::create_directories(dir, ec) || ec))
    throw UsageError(fmt::format("{} {}: cannot create the folder ({})", flag, dir, ec.message()));
  created_ = !existed;
  const std::string probe = (fs::path(dir) / fmt::format(".hundun-write-test-{}", ::getpid())).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  const int err = errno;
  if (fd >= 0) {
    ::close(fd);
    ::unlink(probe.c_str());
    return;
  }
  if (created_) fs::remove(dir, ec);  // leave nothing behind
  throw UsageError(fmt::format("{} {}: cannot write there ({})", flag, dir, std::strerror(err)));
}

OutputFolder::~OutputFolder() {
  std::error_code ec;
  if (created_ && fs::is_empty(dir_, ec) && !ec) fs::remove(dir_, ec);
}

}  // namespace hd::cli
