// The page's photo library: GET /v1/images (a page of the library in date order), GET
// /v1/facets (what it holds, for the pickers), GET /v1/images/{id}/view (the photo at full size
// in a form every browser shows), POST /v1/duplicates/dismiss (a person says: not duplicates).
#include "imgvec/imgvec.hpp"
#include "server/request_fields.hpp"
#include "server/server_impl.hpp"
#include "wire/wire.hpp"

namespace imgvec::server {
namespace {

// The longest side of a view rendition: a 4K screen's, so a 48 MP HEIC is not sent at full size.
constexpr std::uint32_t kViewSide = 4096;

// Formats every current browser shows as they are; the rest get a JPEG rendition.
bool browser_shows(ImageFormat f) {
  return f == ImageFormat::jpeg || f == ImageFormat::png || f == ImageFormat::gif || f == ImageFormat::webp ||
         f == ImageFormat::bmp;
}

}  // namespace

void Server::Impl::list(const httplib::Request& req, httplib::Response& res) {
  const VectorDatabase& db = database();
  check_known_params(req, {"offset", "limit", "sort", "filter"}, "a library listing");
  ListOptions o;
  o.offset = size_param(req, "offset", 0, 0, 100000000);
  o.limit = size_param(req, "limit", 60, 1, 1000);
  if (req.has_param("sort")) o.sort = parse_sort_order(req.get_param_value("sort"));
  if (req.has_param("filter")) o.where = Where::parse(req.get_param_value("filter"));
  const ImageList list = db.list_images(o);
  json result = json::array();
  for (const ImageRecord& r : list.records) {
    const std::string id = std::to_string(r.id);
    result.push_back({{"id", r.id},
                      {"record", record_json(r)},
                      {"thumbnail", "/v1/images/" + id + "/thumbnail"},
                      {"view", "/v1/images/" + id + "/view"},
                      {"file", "/v1/images/" + id + "/file"}});
  }
  const json warnings = o.where.matches_all() ? json::array() : json(db.filter_warnings(o.where));
  send_json(res, 200,
            {{"result", std::move(result)}, {"total", list.total}, {"offset", o.offset}, {"warnings", warnings}});
}

void Server::Impl::facets(const httplib::Request& req, httplib::Response& res) {
  check_known_params(req, {}, "the facets");
  send_json(res, 200, wire::to_json(database().facets()));
}

void Server::Impl::get_view(const httplib::Request& req, httplib::Response& res) {
  const VectorDatabase& db = database();
  const Id id = parse_id(req.matches[1]);
  const auto rec = db.get(id);
  if (!rec) fail(404, "not_found", "no image with id " + std::to_string(id));
  if (browser_shows(rec->format)) return get_file(req, res);
  // HEIC, AVIF, TIFF, PNM, PSD, TGA, HDR: decoded (upright) and sent as a JPEG.
  std::string jpeg = thumbnails.get(*rec, kViewSide);
  res.set_header("Cache-Control", "private, max-age=300");
  res.set_content(std::move(jpeg), "image/jpeg");
}

void Server::Impl::dismiss_duplicates(const httplib::Request& req, httplib::Response& res) {
  VectorDatabase& db = database();
  const json body = parse_json_object(req);
  check_known_fields(body, {"ids"}, "not duplicates");
  const auto ids = body.find("ids");
  if (ids == body.end() || !ids->is_array() || ids->size() < 2 || ids->size() > 1000)
    fail(400, "invalid_argument", "\"ids\" must be a list of 2 to 1000 image ids that are not duplicates");
  std::vector<Id> list;
  for (const json& id : *ids) list.push_back(id_from_json(id, "ids"));
  db.mark_not_duplicates(list);
  if (saver) saver->changed();
  send_json(res, 200, {{"ids", list}, {"not_duplicates", true}});
}

}  // namespace imgvec::server
