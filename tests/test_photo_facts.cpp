#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>

#include "exif_builder.hpp"
#include "imgvec/error.hpp"
#include "imgvec/image/image.hpp"
#include "imgvec/image/photo_facts.hpp"
#include "imgvec/metadata/where.hpp"

// EXIF facts from real camera files (their values as PIL reads them) and from EXIF blocks built
// here with every field, in both byte orders.
using namespace imgvec;
using imgvec::testing::ExifBuilder;

namespace {

const std::string kImages = std::string(IMGVEC_TEST_DATA_DIR) + "/images/";

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

PhotoFacts facts_of(const std::string& file) {
  const auto bytes = read_bytes(kImages + file);
  REQUIRE(!bytes.empty());
  return read_photo_facts(bytes.data(), bytes.size());
}

bool has_exif_support() {
  // Every build reads dates only through libexif; without it the facts stay empty.
  const auto bytes = read_bytes(kImages + "ukbench01380.jpg");
  return !read_photo_facts(bytes.data(), bytes.size()).camera_make.empty();
}

// A full camera EXIF block: taken 2023-06-01 14:03:22.12 at +02:00 in Lisbon... and a lens.
std::vector<std::uint8_t> full_exif(bool little_endian) {
  ExifBuilder b(little_endian);
  b.ascii(ExifBuilder::ifd0, 0x010F, "Apple ")  // trailing space, as some cameras pad
      .ascii(ExifBuilder::ifd0, 0x0110, "iPhone 13")
      .short_value(ExifBuilder::ifd0, 0x0112, 1)
      .ascii(ExifBuilder::exif, 0x9003, "2023:06:01 14:03:22")
      .ascii(ExifBuilder::exif, 0x9011, "+02:00")
      .ascii(ExifBuilder::exif, 0x9291, "12")
      .ascii(ExifBuilder::exif, 0xA434, "iPhone 13 back dual wide camera 5.1mm f/1.6")
      .ascii(ExifBuilder::gps, 0x0001, "N")
      .rationals(ExifBuilder::gps, 0x0002, {{38, 1}, {42, 1}, {3600, 100}})  // 38 deg 42' 36"
      .ascii(ExifBuilder::gps, 0x0003, "W")
      .rationals(ExifBuilder::gps, 0x0004, {{9, 1}, {8, 1}, {24, 1}});       // 9 deg 8' 24"
  return b.build();
}

}  // namespace

TEST_CASE("dates parse into the periods they name", "[photo]") {
  const auto day = parse_date_period("2023-06-01");
  REQUIRE(day);
  CHECK(day->first == 1685577600000);  // 2023-06-01T00:00:00Z, as `date -u -d 2023-06-01 +%s` says
  CHECK(day->second - day->first == 86400000);
  CHECK(parse_date_period("2023")->second - parse_date_period("2023")->first == 365LL * 86400000);
  CHECK(parse_date_period("2024")->second - parse_date_period("2024")->first == 366LL * 86400000);
  CHECK(parse_date_period("2024-02")->second - parse_date_period("2024-02")->first == 29LL * 86400000);
  CHECK(parse_date_period("2023-06-01T14:03")->first == 1685577600000 + (14 * 3600 + 3 * 60) * 1000LL);
  CHECK(parse_date_period("2023-06-01 14:03:22")->second - parse_date_period("2023-06-01 14:03:22")->first == 1000);
  CHECK(parse_date_period("2023:06:01 14:03:22") == parse_date_period("2023-06-01T14:03:22"));  // EXIF's form
  CHECK(parse_date_period("1969-12-31T23:59:59")->first == -1000);
  for (const char* bad : {"", "2023-", "2023-13", "2023-02-29", "2023-06-31", "0000:00:00 00:00:00", "2023-06-01T25:00",
                          "2023-06-01x", "june", "20230601", "2023-06-01T14", "    :  :     :  :  "}) {
    INFO(bad);
    CHECK_FALSE(parse_date_period(bad));
  }
}

TEST_CASE("dates print as ISO 8601 with the offset when known", "[photo]") {
  PhotoFacts f;
  CHECK(f.taken_text().empty());
  f.taken_ms = parse_date_period("2023-06-01T14:03:22")->first + 120;
  CHECK(f.taken_text() == "2023-06-01T14:03:22.120");
  f.taken_offset_min = -330;
  CHECK(f.taken_text() == "2023-06-01T14:03:22.120-05:30");
  f.taken_ms = parse_date_period("1900-03-01")->first;  // before the epoch, and not a leap year
  f.taken_offset_min.reset();
  CHECK(f.taken_text() == "1900-03-01T00:00:00");
  for (const char* text : {"2000-02-29T23:59:59", "1970-01-01T00:00:00", "2038-01-19T03:14:08", "9999-12-31T23:59:59"}) {
    f.taken_ms = parse_date_period(text)->first;
    CHECK(f.taken_text() == text);
  }
}

TEST_CASE("real camera files give their date, make and model in every container", "[photo]") {
  if (!has_exif_support()) {
    WARN("built without libexif: photo facts are not read");
    return;
  }
  const PhotoFacts canon = facts_of("ukbench01380.jpg");
  CHECK(canon.camera_make == "Canon");
  CHECK(canon.camera_model == "Canon PowerShot S230");
  CHECK(canon.camera() == "Canon PowerShot S230");
  CHECK(canon.taken_source == TakenSource::exif);
  CHECK(canon.taken_text() == "2005-08-14T01:08:49");
  CHECK_FALSE(canon.taken_offset_min);
  CHECK_FALSE(canon.latitude);
  // The same photo's EXIF in a JPEG and in a WebP EXIF chunk; a PNG eXIf chunk from the same camera.
  const PhotoFacts jpeg = facts_of("ukbench09380.jpeg");
  CHECK(jpeg.camera() == "Canon IXY DIGITAL 320");
  CHECK(jpeg.taken_text() == "2006-01-21T14:33:52");
  const auto formats = supported_image_formats();
  if (std::count(formats.begin(), formats.end(), "webp")) CHECK(facts_of("ukbench09380.webp") == jpeg);
  CHECK(facts_of("alpha_channel_image.png").taken_text() == "2005-07-29T14:34:56");
  // A Nikon whose clock was never set writes zeros: no date (the database then uses the file's).
  const PhotoFacts nikon = facts_of("ukbench09060.jpg");
  CHECK(nikon.camera() == "NIKON E5700");
  CHECK_FALSE(nikon.taken_ms);
  CHECK(nikon.taken_source == TakenSource::none);
  CHECK(facts_of("giphy.gif") == PhotoFacts{});
}

TEST_CASE("every EXIF field is read in either byte order", "[photo]") {
  if (!has_exif_support()) return;
  const auto plain = read_bytes(kImages + "ukbench00120_gray.jpg");  // no EXIF of its own
  REQUIRE(read_photo_facts(plain.data(), plain.size()) == PhotoFacts{});
  for (const bool little : {true, false}) {
    INFO((little ? "II" : "MM"));
    const auto jpeg = imgvec::testing::jpeg_with_exif(plain, full_exif(little));
    const PhotoFacts f = read_photo_facts(jpeg.data(), jpeg.size());
    CHECK(f.camera_make == "Apple");
    CHECK(f.camera_model == "iPhone 13");
    CHECK(f.camera() == "Apple iPhone 13");
    CHECK(f.lens == "iPhone 13 back dual wide camera 5.1mm f/1.6");
    CHECK(f.taken_text() == "2023-06-01T14:03:22.120+02:00");
    CHECK(f.taken_source == TakenSource::exif);
    REQUIRE(f.latitude);
    REQUIRE(f.longitude);
    CHECK(*f.latitude == Approx(38.71).epsilon(1e-9));
    CHECK(*f.longitude == Approx(-9.14).epsilon(1e-9));
    CHECK(decode_image(jpeg.data(), jpeg.size()).width == 640);  // still decodes
  }
  SECTION("damaged or partial EXIF gives what it can, never a crash") {
    auto jpeg = imgvec::testing::jpeg_with_exif(plain, full_exif(true));
    for (std::size_t cut = 12; cut < 200; cut += 7) {
      std::vector<std::uint8_t> damaged = jpeg;
      damaged[cut] ^= 0x5A;
      (void)read_photo_facts(damaged.data(), damaged.size());
    }
    ExifBuilder b;
    b.ascii(ExifBuilder::gps, 0x0001, "N").rationals(ExifBuilder::gps, 0x0002, {{95, 1}, {0, 1}, {0, 1}});
    b.ascii(ExifBuilder::gps, 0x0003, "E").rationals(ExifBuilder::gps, 0x0004, {{9, 1}, {0, 0}, {0, 1}});
    b.ascii(ExifBuilder::exif, 0x9003, "2023:06:01");  // no time: not EXIF's form
    const auto odd = imgvec::testing::jpeg_with_exif(plain, b.build());
    const PhotoFacts f = read_photo_facts(odd.data(), odd.size());
    CHECK_FALSE(f.latitude);  // 95 degrees north, and a zero denominator
    CHECK_FALSE(f.taken_ms);
    CHECK(read_photo_facts(nullptr, 0) == PhotoFacts{});
    CHECK(read_photo_facts("\xFF\xD8\xFF", 3) == PhotoFacts{});
  }
}

TEST_CASE("a camera's file name dates a photo without EXIF; a file time never does", "[photo]") {
  struct Case {
    const char* name;
    const char* taken;  // "" when the name holds no date
  };
  for (const Case c : {Case{"IMG_20230601_142233.jpg", "2023-06-01T14:22:33"},
                       Case{"/photos/2023/PXL_20230601_142233123.jpg", "2023-06-01T14:22:33.123"},
                       Case{"Screenshot_20230601-142233.png", "2023-06-01T14:22:33"},
                       Case{"VID_20230601_142233~2.jpg", "2023-06-01T14:22:33"},
                       Case{"signal-2023-06-01-142233.jpeg", "2023-06-01T14:22:33"},
                       Case{"2023-06-01 14.22.33.jpg", "2023-06-01T14:22:33"},
                       Case{"C:\\Users\\me\\2023-06-01 14-22-33.heic", "2023-06-01T14:22:33"},
                       Case{"IMG-20230601-WA0001.jpg", ""},          // WhatsApp: a day, no time of day
                       Case{"ukbench00906.jpg", ""},                 // a number, not a date
                       Case{"IMG_20230231_142233.jpg", ""},          // February 31st
                       Case{"IMG_20230601_252233.jpg", ""},          // 25 o'clock
                       Case{"IMG_19000601_142233.jpg", ""},          // before digital cameras
                       Case{"120230601_142233.jpg", ""},             // nine digits: not a date
                       Case{"IMG_20230601_1422334567.jpg", ""},      // ten digits after it
                       Case{"2023-06-01 14.22-33.jpg", ""},          // mixed separators
                       Case{"20230601_142233/photo.jpg", ""}}) {     // a folder's name is not the file's
    INFO(c.name);
    PhotoFacts f;
    const bool dated = set_taken_from_file_name(f, c.name);
    CHECK(dated == (c.taken[0] != 0));
    CHECK(f.taken_text() == c.taken);
    CHECK(f.taken_source == (dated ? TakenSource::file_name : TakenSource::none));
    CHECK_FALSE(f.taken_offset_min);  // a name does not say the zone
  }
  // EXIF wins over the name; a name's date follows a rename; a file-time date (databases before
  // 0.2) is dropped.
  PhotoFacts exif;
  exif.taken_ms = parse_date_period("2005-08-14T01:08:49")->first;
  exif.taken_source = TakenSource::exif;
  complete_taken(exif, "IMG_20230601_142233.jpg");
  CHECK(exif.taken_text() == "2005-08-14T01:08:49");
  PhotoFacts named;
  complete_taken(named, "IMG_20230601_142233.jpg");
  CHECK(named.taken_source == TakenSource::file_name);
  complete_taken(named, "holiday.jpg");
  CHECK_FALSE(named.taken_ms);
  CHECK(named.taken_source == TakenSource::none);
  PhotoFacts file_time;
  file_time.taken_ms = 1;
  file_time.taken_source = TakenSource::file_time;
  complete_taken(file_time, "copy.jpg");
  CHECK_FALSE(file_time.taken_ms);
}

TEST_CASE("a file's time is filtered under `modified`, in the machine's zone", "[photo][where]") {
  const char* old = std::getenv("TZ");
  const std::string saved = old ? old : "";
  // A POSIX rule, so no zone database is needed: Central European time with summer time.
  setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
  tzset();
  const std::int64_t summer = parse_date_period("2023-06-01T12:00")->first;  // as UTC
  CHECK(file_time_wall_ms(summer * 1000000) == parse_date_period("2023-06-01T14:00")->first);
  CHECK(file_time_wall_ms(parse_date_period("2023-01-01T12:00")->first * 1000000) ==
        parse_date_period("2023-01-01T13:00")->first);
  ImageRecord r;
  r.mtime_ns = parse_date_period("2023-05-31T23:30")->first * 1000000;  // June 1st, 01:30 in Berlin
  CHECK(Where::parse("modified=2023-06-01").matches(r));
  CHECK(Where::from_json(R"({"must": [{"key": "modified", "range": {"gte": "2023-06"}}]})").matches(r));
  CHECK_FALSE(Where::parse("taken>=1970").matches(r));  // a file time is not a date taken
  CHECK_FALSE(Where::parse("modified>=1970").matches(ImageRecord{}));  // no file: no time
  if (old) setenv("TZ", saved.c_str(), 1);
  else unsetenv("TZ");
  tzset();
}

TEST_CASE("filters on photo facts: dates as periods, camera patterns, GPS boxes", "[photo][where]") {
  ImageRecord r;
  r.photo.taken_ms = parse_date_period("2023-06-01T14:03:22")->first;
  r.photo.taken_source = TakenSource::exif;
  r.photo.camera_make = "Canon";
  r.photo.camera_model = "Canon EOS 5D Mark IV";
  r.photo.latitude = 38.71;
  r.photo.longitude = -9.14;
  struct Case {
    const char* filter;
    bool matches;
  };
  for (const Case c : {Case{"taken>=2023-06-01", true}, Case{"taken>2023-06-01", false}, Case{"taken>2023-05", true},
                       Case{"taken<2023-06-01", false}, Case{"taken<=2023-06-01", true}, Case{"taken=2023-06", true},
                       Case{"taken=2023", true}, Case{"taken=2022", false}, Case{"taken!=2023-06-01", false},
                       Case{"taken=2023-05-20..2023-06-01", true}, Case{"taken=2023-06-02..2023-07", false},
                       Case{"taken>=2023-06-01T14:03:22", true}, Case{"taken>2023-06-01T14:03:22", false},
                       Case{"taken_source=exif", true}, Case{"camera=canon*", true}, Case{"camera=Canon EOS 5D*", true},
                       Case{"camera=*5D*", true}, Case{"camera=nikon*", false}, Case{"camera=nikon*|*mark iv", true},
                       Case{"camera=Canon EOS 5D Mark IV|Sony", true}, Case{"camera_make=Canon", true},
                       Case{"camera!=canon*", false}, Case{"lens=*", false}, Case{"lens!=*", true},
                       Case{"latitude=38..39", true}, Case{"longitude=-10..-9", true}, Case{"longitude=-9..-8", false},
                       Case{"latitude>=38.7", true}}) {
    INFO(c.filter);
    CHECK(Where::parse(c.filter).matches(r) == c.matches);
  }
  // No facts: date and camera filters match nothing, their negations everything.
  const ImageRecord blank;
  CHECK_FALSE(Where::parse("taken>=1970").matches(blank));
  CHECK(Where::parse("camera!=canon*").matches(blank));
  CHECK_FALSE(Where::parse("latitude=-90..90").matches(blank));
  // The user's own metadata key of the same name stays reachable.
  ImageRecord user;
  user.metadata["camera"] = std::string("film");
  CHECK(Where::parse("meta.camera=film").matches(user));
  CHECK_FALSE(Where::parse("camera=film").matches(user));
  for (const char* bad : {"taken>=june", "taken=2023-13", "taken<=2023-06-01..2023-06-02", "taken=..2023"}) {
    INFO(bad);
    CHECK_THROWS_AS(Where::parse(bad), Error);
  }
}
