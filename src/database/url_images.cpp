// Images from URLs: downloaded (fetch_url, with its limits) and then treated as bytes from memory,
// so an imported image keeps its file even when the URL later changes or vanishes.
#include "database/database_impl.hpp"
#include "imgvec/database.hpp"
#include "imgvec/image/url_fetch.hpp"

namespace imgvec {

AddResult VectorDatabase::add_image_url(const std::string& url, const Metadata& metadata,
                                        const std::vector<std::string>& tags, const UrlFetchOptions& fetch) {
  const std::vector<std::uint8_t> bytes = fetch_url(url, fetch);
  // A password in the URL was for the download only: the record keeps the URL without it.
  const std::string kept = redact_url(url);
  Metadata m = metadata;
  m.emplace("url", kept);
  return import_image_bytes(bytes.data(), bytes.size(), kept, m, tags);
}

std::vector<SearchResult> VectorDatabase::search_by_image_url(const std::string& url, const SearchOptions& options,
                                                              const UrlFetchOptions& fetch) const {
  const std::vector<std::uint8_t> bytes = fetch_url(url, fetch);
  return search_by_image(decode_image(bytes.data(), bytes.size(), redact_url(url), impl_->encoder.get().decode_options()),
                         options);
}

}  // namespace imgvec
