// The image database example in README.md, kept here so that it is compiled and run by the tests.
//   readme_database IMAGE_FOLDER DATABASE_FOLDER
#include <imgvec/imgvec.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  // The built-in encoder needs no model; an imgvec::ClipEncoder("bundle.pt") adds text search.
  auto encoder = std::make_shared<imgvec::DescriptorEncoder>();
  auto db = imgvec::VectorDatabase::create(argv[2], encoder);

  auto report = db->index_directory(argv[1]);             // skips what is already there
  std::printf("%zu added, %zu failed\n", report.added, report.failed);
  for (const auto& f : report.failures) std::printf("  %s\n", f.error.c_str());

  imgvec::SearchOptions options(3);
  options.where = imgvec::Where::parse("width>=300");     // or Where::eq(...) && Where::tag(...)
  for (const auto& hit : db->search_by_image(std::string(argv[1]) + "/giphy.gif", options))
    std::printf("%.3f  %s\n", hit.score, hit.record.source.c_str());

  for (const auto& group : db->find_duplicates())         // near-duplicates, with a keeper each
    std::printf("%zu duplicates, keep id %llu\n", group.ids.size(), (unsigned long long)group.keeper);
  db->save();                                             // crash-safe: the old state or the new
  return 0;
}
