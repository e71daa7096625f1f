// fixtures.h — where the tests find their committed reference files.
#pragma once

#include <string>

#ifndef HUNDUN_SOURCE_DIR
#define HUNDUN_SOURCE_DIR "."
#endif

namespace hd::test {

inline std::string fixture_path(const std::string& name) { return std::string(HUNDUN_SOURCE_DIR) + "/tests/fixtures/" + name; }

}  // namespace hd::test
