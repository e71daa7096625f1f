// error_of.h — the message of the exception a call throws, for the tests of error messages:
//
//   EXPECT_NE(error_of([&] { model.forward(x); }).find("expected images"), std::string::npos);
#pragma once

#include <exception>
#include <functional>
#include <string>

namespace hd::test {

// What f throws (any std::exception), or "(no exception)" when it returns.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

}  // namespace hd::test
