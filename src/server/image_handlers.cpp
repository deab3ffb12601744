// POST /v1/images (upload), GET /v1/images/{id}[/file|/thumbnail], PATCH and DELETE
// /v1/images/{id}.

#include "imgvec/imgvec.hpp"
#include "server/request_fields.hpp"
#include "server/server_impl.hpp"

namespace imgvec::server {
namespace {

std::string id_text(Id id) {
  return std::to_string(id);
}

Id id_in_path(const httplib::Request& req) {
  return parse_id(req.matches[1]);
}

ImageRecord record_or_404(const VectorDatabase& db, Id id) {
  auto rec = db.get(id);
  if (!rec) fail(404, "not_found", "no image with id " + id_text(id));
  return std::move(*rec);
}

json parse_json_field(const std::string& text, const char* field) {
  return parse_json_text(text, std::string("form field \"") + field + "\"");
}

// Tags in a form field: a JSON array, or words separated by commas.
std::vector<std::string> tags_from_form(const std::string& text) {
  if (!text.empty() && text.front() == '[') return tags_from_json(parse_json_field(text, "tags"));
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    std::string tag = text.substr(start, comma - start);
    tag.erase(0, tag.find_first_not_of(' '));
    tag.erase(tag.find_last_not_of(' ') + 1);
    if (!tag.empty()) out.push_back(tag);
    start = comma + 1;
  }
  return out;
}

}  // namespace

void Server::Impl::upload(const httplib::Request& req, httplib::Response& res) {
  VectorDatabase& db = database();
  std::string bytes, name;
  Metadata metadata;
  std::vector<std::string> tags;
  if (req.is_multipart_form_data()) {
    check_known_form_fields(req, {"file", "name", "metadata", "tags"}, "an upload");
    if (!req.has_file("file"))
      fail(400, "invalid_argument", "no form field \"file\" holding an image");
    const auto file = req.get_file_value("file");
    bytes = file.content;
    name = file.filename;
    if (req.has_file("name")) name = req.get_file_value("name").content;
    if (req.has_file("metadata"))
      metadata =
          metadata_from_json(parse_json_field(req.get_file_value("metadata").content, "metadata"));
    if (req.has_file("tags")) tags = tags_from_form(req.get_file_value("tags").content);
  } else {
    const json body = parse_json_object(req);
    check_known_fields(body, {"image", "name", "metadata", "tags"}, "an upload");
    const auto image = body.find("image");
    if (image == body.end() || !image->is_string()) {
      fail(400, "invalid_argument",
           "give the image as multipart/form-data field \"file\", or as JSON {\"image\": BASE64}");
    }
    const auto raw = decode_base64(image->get<std::string>());
    bytes.assign(raw.begin(), raw.end());
    if (const auto n = body.find("name"); n != body.end() && !n->is_null()) {
      if (!n->is_string()) fail(400, "invalid_argument", "\"name\" must be a string");
      name = n->get<std::string>();
    }
    if (const auto m = body.find("metadata"); m != body.end() && !m->is_null())
      metadata = metadata_from_json(*m);
    if (const auto t = body.find("tags"); t != body.end() && !t->is_null())
      tags = tags_from_json(*t);
  }
  if (bytes.empty()) fail(400, "invalid_argument", "the uploaded file is empty");
  if (name.size() > 1024) fail(400, "invalid_argument", "\"name\" is longer than 1024 bytes");
  // Decoded once, by the import, under the server's pixel and byte limits.
  const AddResult r = db.import_image_bytes(bytes.data(), bytes.size(), name, metadata, tags, decode_options());
  if (saver) saver->changed();
  send_json(res, r.status == AddStatus::added ? 201 : 200,
            {{"id", r.id},
             {"status", to_string(r.status)},
             {"record", record_json(record_or_404(db, r.id))}});
}

void Server::Impl::get_record(const httplib::Request& req, httplib::Response& res) {
  send_json(res, 200, record_json(record_or_404(database(), id_in_path(req))));
}

// Files are served by id only, from the database's own records (no path ever comes from a URL),
// and only while they hold the bytes that were added (size and content hash, checked by the
// library), so a file replaced or grown since is not handed out as that image.
void Server::Impl::get_file(const httplib::Request& req, httplib::Response& res) {
  const Id id = id_in_path(req);
  const ImageRecord rec = record_or_404(database(), id);
  std::vector<std::uint8_t> bytes = database().image_file_bytes(id, options.max_file_bytes);
  res.set_header("Cache-Control", "private, max-age=60");
  res.set_content(std::string(bytes.begin(), bytes.end()), content_type(rec.format));
}

void Server::Impl::get_thumbnail(const httplib::Request& req, httplib::Response& res) {
  const ImageRecord rec = record_or_404(database(), id_in_path(req));
  const auto size = static_cast<std::uint32_t>(size_param(req, "size", 256, 16, 1024, " (pixels)"));
  std::string jpeg = thumbnails.get(rec, size);
  res.set_header("Cache-Control", "private, max-age=300");
  res.set_content(std::move(jpeg), "image/jpeg");
}

// A JSON merge patch (RFC 7396) of the metadata, where a null removes a key; tags, when given,
// replace the old ones.
void Server::Impl::patch(const httplib::Request& req, httplib::Response& res) {
  VectorDatabase& db = database();
  const Id id = id_in_path(req);
  const json body = parse_json_object(req);
  check_known_fields(body, {"metadata", "tags"}, "a change of an image");
  const auto m = body.find("metadata");
  const auto t = body.find("tags");
  if (m == body.end() && t == body.end())
    fail(400, "invalid_argument", "give \"metadata\" (an object), \"tags\" (an array), or both");
  Metadata set;
  std::vector<std::string> unset;
  if (m != body.end()) {
    if (!m->is_object())
      fail(400, "invalid_argument",
           "\"metadata\" must be a JSON object of key: value (null removes a key)");
    json values = json::object();
    for (const auto& [key, value] : m->items()) {
      if (value.is_null())
        unset.push_back(key);
      else
        values[key] = value;
    }
    set = metadata_from_json(values);
  }
  std::vector<std::string> tags;
  if (t != body.end()) tags = tags_from_json(*t);
  // One step in the library, so two PATCHes of one image at once both keep their keys.
  const ImageRecord rec = db.patch_metadata(id, set, unset, t != body.end() ? &tags : nullptr);
  if (saver) saver->changed();
  send_json(res, 200, record_json(rec));
}

void Server::Impl::remove(const httplib::Request& req, httplib::Response& res) {
  VectorDatabase& db = database();
  const Id id = id_in_path(req);
  if (!db.remove(id)) fail(404, "not_found", "no image with id " + id_text(id));
  if (saver) saver->changed();
  send_json(res, 200, {{"id", id}, {"deleted", true}});
}

}  // namespace imgvec::server
