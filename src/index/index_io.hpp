#pragma once
// Loading is split by kind; each loader reads its payload from a reader positioned after a
// validated header and returns a fully built index.

#include <memory>
#include <string>

#include "imgvec/index/index.hpp"
#include "index/index_file.hpp"
#include "io/mapped_file.hpp"

namespace imgvec::detail {

std::unique_ptr<Index> load_flat_payload(CheckedFileReader& reader, const IndexFileHeader& header);
/// With `mapping` (the file `reader` reads, in memory), a format-2 graph is searched where it lies
/// and checked lazily (HnswIndex::Impl::own); without, it is read and checked whole.
std::unique_ptr<Index> load_hnsw_payload(CheckedFileReader& reader, const IndexFileHeader& header,
                                         std::shared_ptr<const MappedFile> mapping);

/// Opens `path`, validates its header and, if `expected_kind` is set, that it holds that kind.
std::unique_ptr<Index> load_index_file(const std::string& path, std::size_t expected_dimension,
                                       const IndexKind* expected_kind);
/// The same, mapped where the file allows it (Index::open_mapped).
std::unique_ptr<Index> map_index_file(const std::string& path, std::size_t expected_dimension,
                                      const IndexKind* expected_kind);

}  // namespace imgvec::detail
