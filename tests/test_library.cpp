// The database as a photo library (library.cpp): listing in date order with undated photos last,
// paging and filters; what it holds for pickers; pairs a person said are not duplicates.
#include <catch2/catch.hpp>

#include <filesystem>

#include "imgvec/database.hpp"
#include "imgvec/encoder/descriptor_encoder.hpp"
#include "imgvec/error.hpp"
#include "support/temp_dir.hpp"

using namespace imgvec;
namespace fs = std::filesystem;

namespace {

const fs::path kImages = fs::path(IMGVEC_TEST_DATA_DIR) / "images";

std::vector<std::string> names(const ImageList& list) {
  std::vector<std::string> out;
  for (const ImageRecord& r : list.records) out.push_back(fs::path(r.source).filename().string());
  return out;
}

}  // namespace

TEST_CASE("the library lists newest first by date taken, undated last, a page at a time", "[db][library]") {
  testing::TempDir t;
  auto db = VectorDatabase::create(t.file("db"), std::make_shared<DescriptorEncoder>());
  // EXIF dates: ukbench01380 2005-08-14, alpha_channel_image 2005-07-29, ukbench09380 2006-01-21;
  // a phone's name dates a copy; giphy.gif has none.
  fs::copy_file(kImages / "ukbench00120_gray.jpg", t.path / "IMG_20230601_142233.jpg");
  for (const auto& path : {kImages / "ukbench01380.jpg", kImages / "alpha_channel_image.png", kImages / "giphy.gif",
                           kImages / "ukbench09380.jpeg", t.path / "IMG_20230601_142233.jpg"})
    db->add_image(path.string());
  const ImageList all = db->list_images();
  CHECK(all.total == 5);
  CHECK(names(all) == std::vector<std::string>{"IMG_20230601_142233.jpg", "ukbench09380.jpeg", "ukbench01380.jpg",
                                                "alpha_channel_image.png", "giphy.gif"});
  ListOptions o;
  o.sort = SortOrder::oldest;
  CHECK(names(db->list_images(o)) == std::vector<std::string>{"alpha_channel_image.png", "ukbench01380.jpg",
                                                               "ukbench09380.jpeg", "IMG_20230601_142233.jpg",
                                                               "giphy.gif"});
  o.sort = SortOrder::newest;
  o.offset = 3;
  o.limit = 10;
  const ImageList page = db->list_images(o);
  CHECK(page.total == 5);
  CHECK(names(page) == std::vector<std::string>{"alpha_channel_image.png", "giphy.gif"});
  o.offset = 99;
  CHECK(db->list_images(o).records.empty());
  o = ListOptions();
  o.where = Where::parse("taken=2005");
  const ImageList year = db->list_images(o);
  CHECK(year.total == 2);
  CHECK(names(year) == std::vector<std::string>{"ukbench01380.jpg", "alpha_channel_image.png"});
  o.limit = 0;
  CHECK_THROWS_AS(db->list_images(o), Error);
}

TEST_CASE("facets count cameras, labels, tags, colours and the dates of the library", "[db][library]") {
  testing::TempDir t;
  auto db = VectorDatabase::create(t.file("db"), std::make_shared<DescriptorEncoder>());
  CHECK(db->facets().count == 0);
  CHECK_FALSE(db->facets().first_taken_ms);
  const Id canon = db->add_image((kImages / "ukbench01380.jpg").string());
  db->add_image((kImages / "ukbench09380.jpeg").string());
  db->add_image((kImages / "giphy.gif").string());
  const std::vector<std::string> tags{"best", "trip"};
  db->update_metadata(canon, {}, &tags);
  const LibraryFacets f = db->facets();
  CHECK(f.count == 3);
  CHECK(f.dated == 2);
  CHECK(*f.first_taken_ms == parse_date_period("2005-08-14T01:08:49")->first);
  CHECK(*f.last_taken_ms == parse_date_period("2006-01-21T14:33:52")->first);
  REQUIRE(f.cameras.size() == 2);
  CHECK(f.cameras[0].count == 1);
  CHECK(f.tags.size() == 2);
  CHECK(f.tags[0].name == "best");
  CHECK(f.labels.empty());
  REQUIRE_FALSE(f.colours.empty());
  for (std::size_t i = 1; i < f.colours.size(); ++i) CHECK(f.colours[i - 1].count >= f.colours[i].count);
  CHECK(f.colours[0].count <= 3);  // an image counts once per colour name
}

TEST_CASE("images a person calls not duplicates are not grouped again, and it is kept", "[db][library][duplicates]") {
  testing::TempDir t;
  fs::copy_file(kImages / "baboon.256.pgm", t.path / "a.pgm");
  fs::copy_file(kImages / "baboon.256.pgm", t.path / "b.pgm");
  fs::copy_file(kImages / "giphy.gif", t.path / "c.gif");
  fs::copy_file(kImages / "giphy.gif", t.path / "d.gif");
  Id a = 0, b = 0;
  {
    auto db = VectorDatabase::create(t.file("db"), std::make_shared<DescriptorEncoder>());
    a = db->add_image(t.file("a.pgm"));
    b = db->add_image(t.file("b.pgm"));
    db->add_image(t.file("c.gif"));
    db->add_image(t.file("d.gif"));
    DuplicateOptions o;
    o.verify = false;
    CHECK(db->find_duplicates(o).size() == 2);
    db->mark_not_duplicates({a, b});
    const auto groups = db->find_duplicates(o);
    REQUIRE(groups.size() == 1);
    CHECK(std::find(groups[0].ids.begin(), groups[0].ids.end(), a) == groups[0].ids.end());
    CHECK_THROWS_AS(db->mark_not_duplicates({a}), Error);
    CHECK_THROWS_AS(db->mark_not_duplicates({a, 999}), Error);
    db->mark_not_duplicates({b, a});  // again: nothing new
    CHECK(std::get<std::vector<std::string>>(db->get(a)->metadata.at("not_duplicates")) ==
          std::vector<std::string>{std::to_string(b)});
    db->save();
  }
  auto db = VectorDatabase::open(t.file("db"), std::make_shared<DescriptorEncoder>());
  DuplicateOptions o;
  o.verify = false;
  CHECK(db->find_duplicates(o).size() == 1);  // remembered across a reopen
}
