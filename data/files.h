// files.h — writing a file so that nothing is lost: to a temporary file beside the target, then
// renamed over it. A crash, a full disk or a kill mid-write leaves the previous file (or none),
// never a truncated one. Pictures, plots and logs all go through here. And the check every reader
// makes first: that it was given a regular file.
#pragma once

#include <string>
#include <string_view>

namespace hd {

// Creates missing parent folders; throws std::runtime_error naming `op` and the file on failure.
void write_file_atomically(const std::string& path, std::string_view bytes, const char* op);

// Throws std::runtime_error "<op>: <path>: is not a regular file (...)" for a FIFO, a device or a folder,
// which would block open() forever or read without end. A missing path passes: the open that follows says so.
void check_regular_file(const std::string& path, const char* op);

}  // namespace hd
