#pragma once
// What several of the CLI's commands need: the encoder for a new database, the database opened
// as the library chooses its model, JSON out, --labels, and an image named by id or path.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "imgvec/imgvec.hpp"

namespace imgvec::cli {

/// The encoder for a new database: the built-in one, or the CLIP bundle `model` (libtorch loads).
std::shared_ptr<Encoder> make_encoder(const std::string& model, const DbOptions& o);
/// The model a database uses: --model, else the one it remembers, else $IMGVEC_MODEL for new ones.
std::string choose_model(const DbOptions& o, bool creating);
/// Prints `j`, indented, and a newline.
void print_json(const nlohmann::json& j);
/// An id (unsigned 64-bit decimal) or a path of an indexed file; Error(not_found) otherwise.
Id resolve(const VectorDatabase& db, const std::string& target);

}  // namespace imgvec::cli
