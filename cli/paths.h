// paths.h — a command never writes over what it reads. `hundun sample --ckpt X --out X` must not turn the
// checkpoint into a PNG: every output is compared with every input (and with the other outputs) as files,
// so "X", "./X", "dir/../X" and a symbolic link to X are all the same file.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hd::cli {

// A flag and the path it was given: {"--out", "samples.png"}. Empty paths (a flag not given) are skipped.
using PathFlag = std::pair<std::string, std::string>;

// UsageError "--out samples.png is the same file as --ckpt weights/vae.safetensors; write it somewhere else"
// when an output is one of the inputs or two outputs are one file.
void refuse_overwriting_inputs(const std::vector<PathFlag>& outputs, const std::vector<PathFlag>& inputs);

// A training run's output folder. The constructor creates `dir` if needed and checks a file can be written
// there, before a long run spends time on work it could not save: UsageError "--out DIR: cannot write there
// (Permission denied)". A folder it created and that is still empty when the run ends (the run failed before
// writing anything) is removed again, so a failed run leaves nothing behind.
class OutputFolder {
 public:
  OutputFolder(const std::string& flag, const std::string& dir);
  ~OutputFolder();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

 private:
  std::string dir_;
  bool created_ = false;
};

}  // namespace hd::cli
