#pragma once
// Loading is split by kind; each loader reads its payload from a reader positioned after a
// validated header and returns a fully built index.

#include <memory>

#include "imgvec/index/index.hpp"
#include "index/index_file.hpp"

namespace imgvec::detail {

std::unique_ptr<Index> load_flat_payload(CheckedFileReader& reader, const IndexFileHeader& header);
std::unique_ptr<Index> load_hnsw_payload(CheckedFileReader& reader, const IndexFileHeader& header);

/// Opens `path`, validates its header and, if `expected_kind` is set, that it holds that kind.
std::unique_ptr<Index> load_index_file(const std::string& path, std::size_t expected_dimension,
                                       const IndexKind* expected_kind);

}  // namespace imgvec::detail
