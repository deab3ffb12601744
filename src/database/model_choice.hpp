#pragma once
// Which encoder a database opens with, when the library chooses it (VectorDatabase::open without
// an encoder): the built-in one, or the CLIP bundle the database remembers (MODEL), deferred.

#include <string>

#include "imgvec/database.hpp"

namespace imgvec::detail {

/// Gives `impl` (its manifest read) the encoder its fingerprint names, as `choice` says.
void choose_encoder(VectorDatabase::Impl& impl, const ModelChoice& choice);

/// Writes MODEL in `dir` atomically: `bundle` as an absolute path, or removes it when empty.
void write_model_bundle(const std::string& dir, const std::string& bundle);

}  // namespace imgvec::detail
