// Test support: what lowbit::error a call throws.
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "lowbit/error.h"

namespace lowbit {

/// The errc of the lowbit::error that `f()` throws. A test failure when it throws nothing or another
/// exception type, when what() does not name the errc, or when what() lacks `needle`.
template <class F>
errc error_of(F&& f, std::string_view needle = {}) {
  try {
    f();
  } catch (const error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(to_string(e.code())), std::string::npos) << what;
    EXPECT_NE(what.find(needle), std::string::npos) << "message: " << what << "\nmissing: " << needle;
    return e.code();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a lowbit::error: " << e.what();
    return errc::invalid_argument;
  }
  ADD_FAILURE() << "no lowbit::error thrown";
  return errc::invalid_argument;
}

}  // namespace lowbit
