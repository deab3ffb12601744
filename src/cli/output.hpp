#pragma once
// What the CLI's commands share: exit codes, JSON for records and results, output files.

#include <memory>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "imgvec/imgvec.hpp"

namespace imgvec::cli {

/// Exit codes (documented in `imgvec --help` and README.md).
enum Exit : int {
  kOk = 0,
  kFailure = 1,       ///< the command failed; the message names the input and why
  kUsage = 2,         ///< bad arguments
  kSomeFailed = 3,    ///< index: some files could not be indexed; the rest were, and are saved
  kInterrupted = 130  ///< index: stopped by Ctrl-C after saving what was done (128 + SIGINT)
};

/// Bad arguments found after parsing (exit kUsage).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A readable name for an image: its path (escaped if not UTF-8), else its "name" metadata.
std::string display_name(const ImageRecord& record);

/// An output destination: "-" is standard output; any other path is written by the library
/// (`atomic` is then true and stream() must not be used unless another output of the same
/// command is "-"), which writes a regular file atomically and a FIFO or a device in place.
struct Output {
  explicit Output(const std::string& path);
  bool atomic = false;
  std::string path;
  std::ostream& stream();

 private:
  std::unique_ptr<std::ostream> owned_;
};

}  // namespace imgvec::cli
