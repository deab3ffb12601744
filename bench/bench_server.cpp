// imgvec serve under load, and what the write-ahead log costs. A tool of subcommands that
// bench/server_load.py runs in order (the server itself is the real `imgvec serve`):
//
//   imgvec_bench_server make-db DIR N [BUNDLE]     a database of N generated images (built-in
//                                                  encoder, or a CLIP bundle)
//   imgvec_bench_server queries DIR OUT N          N query vectors: stored vectors plus noise
//   imgvec_bench_server inprocess DIR QUERIES THREADS SECONDS
//                                                  search_by_vector in this process: the baseline
//   imgvec_bench_server load URL MODE CLIENTS REQUESTS [--queries F] [--image F] [--uploader]
//                       [--key KEY]   (the server's API key or start token, for the uploader)
//                                                  HTTP clients with keep-alive; MODE is vector,
//                                                  id, image or text
//   imgvec_bench_server wal DIR N THREADS          adds with and without Durability::on_write
//
// Each prints one JSON object. Latencies are per request, from send to the whole answer read.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "imgvec/imgvec.hpp"
#ifdef IMGVEC_HAS_CLIP_ENCODER
#include "imgvec/encoder/clip_encoder.hpp"
#endif

namespace fs = std::filesystem;
using nlohmann::json;
using namespace imgvec;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A 32x32 PPM: a few blocks of seeded colours over a seeded gradient, so that the built-in
// encoder's vectors spread out the way photos' do (not all alike, not pure noise).
std::string generated_image(std::uint64_t seed) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + 1);
  std::string ppm = "P6\n32 32\n255\n";
  const int base[3] = {int(rng() % 256), int(rng() % 256), int(rng() % 256)};
  const int dx = int(rng() % 9) - 4, dy = int(rng() % 9) - 4;
  struct Block {
    int x, y, w, h, c[3];
  };
  std::vector<Block> blocks(1 + rng() % 4);
  for (auto& b : blocks)
    b = {int(rng() % 28),
         int(rng() % 28),
         4 + int(rng() % 12),
         4 + int(rng() % 12),
         {int(rng() % 256), int(rng() % 256), int(rng() % 256)}};
  for (int y = 0; y < 32; ++y) {
    for (int x = 0; x < 32; ++x) {
      int px[3];
      for (int c = 0; c < 3; ++c)
        px[c] = std::clamp(base[c] + dx * x + dy * y + int(rng() % 16), 0, 255);
      for (const auto& b : blocks) {
        if (x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h) std::copy(b.c, b.c + 3, px);
      }
      for (int c = 0; c < 3; ++c) ppm.push_back(static_cast<char>(px[c]));
    }
  }
  return ppm;
}

std::shared_ptr<Encoder> encoder_for(const std::string& bundle) {
#ifdef IMGVEC_HAS_CLIP_ENCODER
  if (!bundle.empty()) return std::make_shared<ClipEncoder>(bundle);
#endif
  if (!bundle.empty()) throw std::runtime_error("this build has no CLIP encoder");
  return std::make_shared<DescriptorEncoder>();
}

int make_db(const std::string& dir, std::size_t n, const std::string& bundle) {
  const auto start = Clock::now();
  auto db = VectorDatabase::create(dir, encoder_for(bundle));
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 2; ++t) {
    workers.emplace_back([&] {
      for (std::size_t i; (i = next++) < n;) {
        const std::string img = generated_image(i);
        db->add_image_bytes(img.data(), img.size(), "gen-" + std::to_string(i) + ".ppm",
                            {{"group", std::int64_t(i % 10)}});
      }
    });
  }
  for (auto& w : workers) w.join();
  db->save();
  std::printf("%s\n",
              json{{"images", db->size()}, {"seconds", seconds_since(start)}}.dump().c_str());
  return 0;
}

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

int make_queries(const std::string& dir, const std::string& out, std::size_t n) {
  auto db = VectorDatabase::open(dir, std::make_shared<DescriptorEncoder>());
  const auto ids = db->ids();
  std::mt19937 rng(5);
  std::normal_distribution<float> noise(0.0f, 0.02f);
  std::ofstream file(out, std::ios::binary);
  for (std::size_t q = 0; q < n; ++q) {
    auto v = db->get_vector(ids[rng() % ids.size()]);
    for (float& x : v) x += noise(rng);
    file.write(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  }
  std::printf("%s\n", json{{"queries", n}, {"dimension", db->dimension()}}.dump().c_str());
  return 0;
}

json latency_summary(std::vector<double> ms, double seconds, std::size_t errors) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double p) {
    return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, std::size_t(p * ms.size()))];
  };
  return {{"requests", ms.size()}, {"errors", errors},
          {"seconds", seconds},    {"per_second", ms.size() / seconds},
          {"p50_ms", at(0.50)},    {"p99_ms", at(0.99)}};
}

int inprocess(const std::string& dir, const std::string& queries_path, int threads,
              double seconds) {
  auto db = VectorDatabase::open(dir, std::make_shared<DescriptorEncoder>());
  const auto queries = read_floats(queries_path);
  const std::size_t dim = db->dimension(), nq = queries.size() / dim;
  std::vector<std::vector<double>> lat(threads);
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (std::size_t i = t; !stop; i += threads) {
        const auto t0 = Clock::now();
        const auto hits = db->search_by_vector(VectorView(&queries[(i % nq) * dim], dim), 10);
        if (hits.empty()) std::abort();
        lat[t].push_back(seconds_since(t0) * 1000);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  const double elapsed = seconds_since(start);
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::printf("%s\n", latency_summary(all, elapsed, 0).dump().c_str());
  return 0;
}

std::string base64(const std::string& bytes) { return encode_base64(bytes.data(), bytes.size()); }

const char* kTexts[] = {
    "a dog on a beach", "a red car", "a bowl of soup",   "mountains at sunset", "a cat asleep",
    "a city at night",  "a bicycle", "children playing", "a forest path",       "a birthday cake"};

int load(int argc, char** argv) {
  const std::string url = argv[2], mode = argv[3];
  const int clients = std::stoi(argv[4]);
  const std::size_t requests = std::stoul(argv[5]);
  std::vector<float> queries;
  std::string image_b64;
  bool uploader = false;
  std::string key;
  for (int i = 6; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--queries"))
      queries = read_floats(argv[++i]);
    else if (!std::strcmp(argv[i], "--image")) {
      std::ifstream in(argv[++i], std::ios::binary);
      image_b64 = base64({std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()});
    } else if (!std::strcmp(argv[i], "--uploader"))
      uploader = true;
    else if (!std::strcmp(argv[i], "--key") && i + 1 < argc)
      key = argv[++i];
  }
  // The dimension and the id range, from the server itself.
  httplib::Client probe(url);
  const auto stats_res = probe.Get("/v1/stats");
  if (!stats_res || stats_res->status != 200)
    throw std::runtime_error("cannot read " + url + "/v1/stats");
  const json stats = json::parse(stats_res->body);
  const std::size_t dim = stats["dimension"], count = stats["count"];
  const std::size_t nq = queries.empty() ? 0 : queries.size() / dim;

  auto body_for = [&](std::size_t i) {
    json b = {{"limit", 10}};
    if (mode == "vector") {
      b["vector"] = std::vector<float>(queries.begin() + (i % nq) * dim,
                                       queries.begin() + (i % nq + 1) * dim);
    } else if (mode == "id") {
      b["id"] = 1 + (i * 7919) % count;
    } else if (mode == "image") {
      b["image"] = image_b64;
    } else {
      b["text"] = kTexts[i % (sizeof kTexts / sizeof *kTexts)];
    }
    return b.dump();
  };
  // Bodies are made before the clock starts: the load is the server's, not JSON encoding here.
  std::vector<std::string> bodies;
  for (std::size_t i = 0; i < std::min<std::size_t>(requests, 512); ++i)
    bodies.push_back(body_for(i));

  std::atomic<std::size_t> next{0}, errors{0};
  std::atomic<bool> done{false};
  std::vector<std::vector<double>> lat(clients);
  std::string first_error;
  std::mutex error_mutex;
  std::vector<std::thread> workers;
  const auto start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    workers.emplace_back([&, c] {
      httplib::Client client(url);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      for (std::size_t i; (i = next++) < requests;) {
        const auto t0 = Clock::now();
        const auto res = client.Post("/v1/search", bodies[i % bodies.size()], "application/json");
        lat[c].push_back(seconds_since(t0) * 1000);
        if (!res || res->status != 200) {
          ++errors;
          std::lock_guard<std::mutex> g(error_mutex);
          if (first_error.empty()) first_error = res ? res->body : httplib::to_string(res.error());
        }
      }
    });
  }
  std::size_t uploads = 0, upload_errors = 0;
  std::vector<double> upload_ms;
  std::thread up;
  if (uploader) {
    up = std::thread([&] {
      httplib::Client client(url);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      if (!key.empty()) client.set_default_headers({{"X-API-Key", key}});
      for (std::uint64_t i = 0; !done; ++i) {
        const std::string img = generated_image(
            0xABCDEF000ull + static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()) +
            i);
        httplib::MultipartFormDataItems items = {
            {"file", img, "load-" + std::to_string(i) + ".ppm", "image/x-portable-pixmap"}};
        const auto t0 = Clock::now();
        const auto res = client.Post("/v1/images", items);
        upload_ms.push_back(seconds_since(t0) * 1000);
        ++uploads;
        if (!res || (res->status != 201 && res->status != 200)) ++upload_errors;
      }
    });
  }
  for (auto& w : workers) w.join();
  const double elapsed = seconds_since(start);
  done = true;
  if (up.joinable()) up.join();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  json out = latency_summary(all, elapsed, errors);
  out["mode"] = mode;
  out["clients"] = clients;
  if (!first_error.empty()) out["first_error"] = first_error.substr(0, 300);
  if (uploader) out["uploads"] = latency_summary(upload_ms, elapsed, upload_errors);
  std::printf("%s\n", out.dump().c_str());
  return errors ? 1 : 0;
}

// Adds n images on `threads` threads, once on_save (what a bulk index does) and once on_write
// (each add logged and synced before it returns), interleaved `rounds` times; medians.
int wal(const std::string& dir, std::size_t n, int threads) {
  std::vector<std::string> images;
  for (std::size_t i = 0; i < n; ++i) images.push_back(generated_image(1000000 + i));
  json out = json::object();
  std::map<std::string, std::vector<double>> runs;
  for (int round = 0; round < 3; ++round) {
    for (const auto durability : {Durability::on_save, Durability::on_write}) {
      const std::string name = durability == Durability::on_write ? "on_write" : "on_save";
      fs::remove_all(dir);
      DatabaseOptions o;
      o.durability = durability;
      auto db = VectorDatabase::create(dir, std::make_shared<DescriptorEncoder>(), o);
      std::atomic<std::size_t> next{0};
      std::vector<std::thread> workers;
      const auto start = Clock::now();
      for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
          for (std::size_t i; (i = next++) < n;)
            db->add_image_bytes(images[i].data(), images[i].size(), "");
        });
      }
      for (auto& w : workers) w.join();
      runs[name].push_back(seconds_since(start) * 1e6 / n);
      if (durability == Durability::on_write)
        runs["adds_per_flush"].push_back(double(n) / db->get_stats().log_syncs);
    }
  }
  for (auto& [name, v] : runs) {
    std::sort(v.begin(), v.end());
    out[name == "adds_per_flush" ? name : name + "_us_per_add"] = v[v.size() / 2];
  }
  out["threads"] = threads;
  out["adds"] = n;
  fs::remove_all(dir);
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "make-db" && argc >= 4)
      return make_db(argv[2], std::stoul(argv[3]), argc > 4 ? argv[4] : "");
    if (cmd == "queries" && argc == 5) return make_queries(argv[2], argv[3], std::stoul(argv[4]));
    if (cmd == "inprocess" && argc == 6)
      return inprocess(argv[2], argv[3], std::stoi(argv[4]), std::stod(argv[5]));
    if (cmd == "load" && argc >= 6) return load(argc, argv);
    if (cmd == "wal" && argc == 5) return wal(argv[2], std::stoul(argv[3]), std::stoi(argv[4]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imgvec_bench_server: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: see the comment at the top of bench/bench_server.cpp\n");
  return 2;
}
