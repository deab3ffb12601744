#pragma once

#include <stdexcept>
#include <string>

#include "imgvec/export.hpp"
IMGVEC_API_BEGIN

namespace imgvec {

/// What went wrong, for programs that react to failures. Values are stable.
enum class ErrorCode : int {
  invalid_argument = 1,   ///< a bad parameter: wrong dimension, k == 0, unknown option
  not_found = 2,          ///< an id or a file that does not exist
  io = 3,                 ///< the operating system refused a read or a write
  corrupt_file = 4,       ///< a file is truncated, damaged or not ours
  unsupported = 5,        ///< a file from a newer version, or a feature this build lacks
  incompatible = 6,       ///< a file that does not match what it is loaded into
  too_large = 7,          ///< an input over a limit: an image's pixels or bytes (DecodeOptions)
};

/// The one exception type imgvec throws for user errors. The message names the input (file,
/// argument, id) and what is wrong with it.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}

  /// The category of the failure.
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace imgvec
IMGVEC_API_END
