// Writes the seed corpus of every fuzz target, made by the library itself (so seeds follow the
// formats as they change): imgvec_fuzz_seeds OUT_DIR TEST_IMAGES_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "database/text_cache.hpp"
#include "exif_builder.hpp"
#include "imgvec/imgvec.hpp"

namespace fs = std::filesystem;
using namespace imgvec;

namespace {

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string base64(const std::string& bytes) { return encode_base64(bytes.data(), bytes.size()); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s OUT_DIR TEST_IMAGES_DIR\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1], images = argv[2];

  // Images: the test set (small ones), and generated PNM and HDR variants.
  for (const auto& e : fs::directory_iterator(images)) {
    if (fs::file_size(e.path()) <= 64 * 1024)
      write(out / "decode_image", e.path().filename().string(), read(e.path()));
  }
  write(out / "decode_image", "gray16.pgm",
        std::string("P5\n3 2\n65535\n") + std::string(12, '\x40'));
  write(out / "decode_image", "rgb.ppm", std::string("P6 2 2 255\n") + std::string(12, '\x80'));
  std::string hdr = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 8\n";
  for (int row = 0; row < 2; ++row) {
    hdr += std::string("\x02\x02\x00\x08", 4);
    for (int c = 0; c < 4; ++c) hdr += std::string("\x88\x80", 2);  // one run of 8 per channel
  }
  write(out / "decode_image", "rle.hdr", hdr);
  // EXIF blocks: the fuzz target's first byte picks the container (0 JPEG, 1 PNG, 2 WebP, 3 TIFF,
  // 4 HEIF). The test files of each, and an APP1 segment holding orientation 6.
  for (const auto& e : fs::directory_iterator(images)) {
    const std::string ext = e.path().extension().string();
    const char selector = ext == ".jpg" || ext == ".jpeg" ? 0 : ext == ".png" ? 1 : ext == ".webp" ? 2 : ext == ".tiff" ? 3 : -1;
    if (selector >= 0 && fs::file_size(e.path()) <= 64 * 1024) {
      write(out / "exif", e.path().filename().string(), std::string(1, selector) + read(e.path()));
    }
  }
  const std::string tiff =
      std::string("II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0", 26);
  const std::string app1 = "Exif" + std::string(2, '\0') + tiff;
  const std::string segment_length{static_cast<char>((app1.size() + 2) >> 8),
                                   static_cast<char>((app1.size() + 2) & 0xFF)};
  write(out / "exif", "orientation6",
        std::string("\0\xFF\xD8\xFF\xE1", 5) + segment_length + app1 + std::string("\xFF\xD9", 2));
  // Photo facts: the test images with EXIF, and a JPEG carrying every field in each byte order.
  for (const auto& e : fs::directory_iterator(images)) {
    if (fs::file_size(e.path()) <= 64 * 1024) write(out / "photo_facts", e.path().filename().string(), read(e.path()));
  }
  for (const bool little : {true, false}) {
    imgvec::testing::ExifBuilder b(little);
    b.ascii(b.ifd0, 0x010F, "Apple").ascii(b.ifd0, 0x0110, "iPhone 13").short_value(b.ifd0, 0x0112, 6);
    b.ascii(b.exif, 0x9003, "2023:06:01 14:03:22").ascii(b.exif, 0x9011, "+02:00").ascii(b.exif, 0x9291, "12");
    b.ascii(b.exif, 0xA434, "back camera").ascii(b.gps, 0x0001, "N").rationals(b.gps, 0x0002, {{38, 1}, {42, 1}, {36, 1}});
    b.ascii(b.gps, 0x0003, "W").rationals(b.gps, 0x0004, {{9, 1}, {8, 1}, {24, 1}});
    const std::string plain = read(images / "ukbench00120_gray.jpg");
    const auto jpeg = imgvec::testing::jpeg_with_exif({plain.begin(), plain.end()}, b.build());
    write(out / "photo_facts", little ? "full-II.jpg" : "full-MM.jpg", std::string(jpeg.begin(), jpeg.end()));
  }
  const std::string gif = read(images / "giphy.gif");
  write(out / "decode_base64", "plain", base64(gif));
  write(out / "decode_base64", "data_uri", "data:image/gif;base64," + base64(gif));

  // Index files: flat, HNSW, HNSW float16, sq8 and sq4, and empty ones.
  const fs::path scratch = out / "scratch";
  fs::create_directories(scratch);
  const std::size_t d = 4;
  std::vector<float> rows;
  std::vector<Id> ids;
  for (Id id = 1; id <= 24; ++id) {
    ids.push_back(id * 3);
    for (std::size_t j = 0; j < d; ++j)
      rows.push_back(static_cast<float>((id * 7 + j * 3) % 11) - 5.0f);
  }
  auto save_index = [&](Index& index, const std::string& name, bool fill) {
    if (fill) index.add_batch(ids, MatrixView(rows.data(), ids.size(), d));
    index.save((scratch / name).string());
    write(out / "index_load", name, read(scratch / name));
  };
  FlatIndex flat(d, Metric::cosine), flat_empty(d, Metric::l2);
  save_index(flat, "flat", true);
  save_index(flat_empty, "flat_empty", false);
  HnswParams p;
  p.M = 4;
  HnswIndex hnsw(d, Metric::inner_product, p), hnsw_empty(d, Metric::cosine, p);
  save_index(hnsw, "hnsw", true);
  save_index(hnsw_empty, "hnsw_empty", false);
  p.storage = VectorStorage::float16;
  HnswIndex half(d, Metric::cosine, p);
  save_index(half, "hnsw_f16", true);
  p.storage = VectorStorage::sq8;
  HnswIndex coded(d, Metric::l2, p);
  save_index(coded, "hnsw_sq8", true);
  p.storage = VectorStorage::sq4;
  HnswIndex nibbles(d, Metric::cosine, p);
  save_index(nibbles, "hnsw_sq4", true);
  hnsw.remove(ids[3]);
  save_index(hnsw, "hnsw_tombstone", false);

  // Records and a manifest, from a real database.
  {
    const fs::path db_dir = scratch / "db";
    auto db = VectorDatabase::create(db_dir.string(), std::make_shared<DescriptorEncoder>());
    db->add_image((images / "giphy.gif").string(),
                  {{"album", std::string("a")},
                   {"n", std::int64_t{3}},
                   {"x", 0.5},
                   {"ok", true},
                   {"people", std::vector<std::string>{"p", "q"}}},
                  {"tag"});
    db->add_image((images / "Iggy.256.ppm").string());
    db->save();
    const auto g = db->get_stats().generation;
    write(out / "manifest_open", "manifest", read(db_dir / "MANIFEST"));
    write(out / "metadata_load", "records",
          read(db_dir / ("metadata-" + std::to_string(g) + ".imgvmeta")));
    db->index_directory(images.string());  // the broken test images make a list of failed files
    db->save();
    const auto g2 = db->get_stats().generation;
    write(out / "metadata_load", "failed",
          read(db_dir / ("failed-" + std::to_string(g2) + ".imgvfail")));
  }
  // A write-ahead log: adds with metadata, a metadata change, a removal.
  {
    const fs::path db_dir = scratch / "logged";
    DatabaseOptions options;
    options.durability = Durability::on_write;
    auto db = VectorDatabase::create(db_dir.string(), std::make_shared<DescriptorEncoder>(), options);
    const Id a = db->add_image((images / "giphy.gif").string(), {{"album", std::string("a")}}, {"tag"});
    const Id b = db->add_image((images / "Iggy.256.ppm").string());
    db->update_metadata(a, {{"n", std::int64_t{3}}});
    db->remove(b);
    write(out / "log_replay", "log", read(db_dir / "log-0.imgvlog"));
  }
  // Imports (fuzz_import.cpp; the first byte picks the form): a record, a pgvector COPY file, a
  // Qdrant point batch and a .npy of vectors, all exported from a small database.
  {
    const fs::path db_dir = scratch / "exported";
    auto db = VectorDatabase::create(db_dir.string(), std::make_shared<DescriptorEncoder>());
    const Id a = db->add_image((images / "ukbench01380.jpg").string(), {{"caption", std::string("a \"b\"\tc\n")}}, {"t"});
    db->add_image((images / "giphy.gif").string());
    write(out / "import", "record", std::string(1, '\0') + record_to_json(*db->get(a)));
    ExternalExportOptions pg;
    pg.format = ExternalFormat::pgvector;
    db->export_external((scratch / "pg").string(), pg);
    write(out / "import", "pgvector", std::string(1, '\1') + read(scratch / "pg" / "images.tsv"));
    db->export_external((scratch / "qd").string());
    write(out / "import", "qdrant", std::string(1, '\2') + read(scratch / "qd" / "points-00000.json"));
    db->export_vectors((scratch / "v.npy").string(), (scratch / "ids.npy").string());
    write(out / "import", "npy", std::string(1, '\3') + read(scratch / "v.npy").substr(0, 128 + 448 * 4));
  }
  // Requests to the server's handlers: the first byte picks one (fuzz_server_request.cpp).
  {
    const std::string gif = read(images / "giphy.gif");
    write(out / "server_request", "search_vector", std::string(1, '\0') + R"({"vector": [)" +
          [] { std::string v; for (int i = 0; i < 448; ++i) v += (i ? ",": "") + std::to_string(i % 7 * 0.1); return v; }() +
          R"(], "limit": 3, "offset": 1, "filter": "format=gif", "score_threshold": -1})");
    write(out / "server_request", "search_id", std::string(1, '\0') + R"({"id": 1, "with_vector": true})");
    write(out / "server_request", "search_image", std::string(1, '\0') + R"({"image": ")" + base64(gif) + "\"}");
    write(out / "server_request", "upload", std::string(1, '\1') + R"({"image": ")" + base64(gif) +
          R"(", "name": "a.gif", "metadata": {"k": 1, "s": "x", "l": ["a"]}, "tags": ["t"]})");
    write(out / "server_request", "patch", std::string(1, '\2') + R"({"metadata": {"k": null, "n": 2.5}, "tags": []})");
    write(out / "server_request", "duplicates", std::string(1, '\3') + R"({"threshold": 0.9, "neighbours": 4})");
    write(out / "server_request", "thumbnail", std::string(1, '\4') + "64");
    write(out / "server_request", "record", std::string(1, '\5') + "1");
    // What issue 19's abusive requests looked like: nesting near the limit, filters full of
    // wildcards, and combined queries with several image examples.
    write(out / "server_request", "nested_colours",
          std::string(1, '\0') + R"({"colours": )" + std::string(70, '[') + std::string(70, ']') + "}");
    write(out / "server_request", "nested_metadata",
          std::string(1, '\2') + R"({"metadata": {"x": )" + [] { std::string v; for (int i = 0; i < 63; ++i) v += R"({"a":)"; return v + "1" + std::string(63, '}'); }() + "}}");
    write(out / "server_request", "wildcard_filter",
          std::string(1, '\0') + R"({"id": 1, "filter": "source=*?*?*?*?*?*?*?*?x or camera=canon*"})");
    write(out / "server_request", "examples",
          std::string(1, '\0') + R"({"positive": [{"image": ")" + base64(gif) + R"("}, {"id": 1}, {"image": ")" +
              base64(gif) + R"(", "weight": 0.5}], "negative": [{"image": ")" + base64(gif) + R"("}]})");
  }
  // Text cache payloads (fuzz_text_cache.cpp reads them with this fingerprint and dimension).
  write(out / "text_cache", "two", detail::encode_text_cache({{"a photo of a cat", {0.5f, 0.5f, 0.5f, 0.5f}},
                                                              {"", {1, 0, 0, 0}}}, "fuzz-encoder", 4));
  write(out / "text_cache", "other_encoder", detail::encode_text_cache({{"x", {1, 0, 0}}}, "another", 3));
  MetadataStore empty;
  empty.save((scratch / "empty_meta").string());
  write(out / "metadata_load", "empty", read(scratch / "empty_meta"));
  fs::remove_all(scratch);

  int n = 0;
  for (const char* w : {"width>=300", "format=jpeg|png", "tag=holiday", "camera!=X100", "iso<800",
                        "source=/p/a.jpg", "f>2.5", "ok=true", "a=b|c|d", "iso>=100",
                        "format=jpeg and (camera=canon* or not iso<100)", "title=\"cats and dogs (2)\" or tag=x",
                        R"({"must": [{"key": "iso", "range": {"gte": 100}}], "should": [{"key": "camera", "match": {"any": ["X100"]}}], "must_not": [{"is_empty": {"key": "f"}}]})",
                        R"({"must": [{"has_id": [7]}, {"key": "camera", "match": {"text": "x1"}}]})"}) {
    write(out / "where_parse", "w" + std::to_string(n++), w);
  }
  n = 0;
  for (const char* t : {"a photo of a dog", "Héllo   WORLD!!  ", "日本語のテキスト", "it's 3:15pm",
                        "&amp; <b>html</b>", "emoji 😀🎉 and café", ""}) {
    write(out / "tokenizer", "t" + std::to_string(n++), t);
  }
  write(out / "bundle_config", "valid",
        R"({"format_version": 1, "name": "ViT-B-32/openai", "embed_dim": 512, "image_size": 224,
 "mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711],
 "context_length": 77, "vocab_size": 49408, "interpolation": "bicubic", "resize_mode": "shortest",
 "tokenizer": "clip_bpe", "text_truncation": true})");
  std::printf("seed corpora written to %s\n", out.c_str());
  return 0;
}
