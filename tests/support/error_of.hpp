#pragma once
// The imgvec::Error a call throws: its code, and its message into `message` if given. A call that
// throws nothing fails the test.

#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "imgvec/error.hpp"

namespace imgvec::testing {

inline ErrorCode error_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  FAIL("no imgvec::Error thrown");
  return ErrorCode::invalid_argument;
}

}  // namespace imgvec::testing
