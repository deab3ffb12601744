// imgvec serve: the HTTP service (src/server/) until SIGINT or SIGTERM.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "server/server.hpp"

namespace imgvec::cli {

int run_serve(const ServeOptions& o) {
  // SIGINT and SIGTERM are taken by one thread with sigwait, which stops the server; every other
  // thread (the server's pool included) inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  server::ServerOptions options;
  options.host = o.host;
  options.port = o.port;
  options.threads = o.threads;
  options.max_body_bytes = o.max_upload_mb << 20;
  options.max_pixels = static_cast<std::uint64_t>(o.max_megapixels) * 1000000;
  options.api_key = o.api_key;
  if (options.api_key.empty()) {
    if (const char* env = std::getenv("IMGVEC_API_KEY")) options.api_key = env;
  }
  options.read_only = o.read_only;
  options.cors_origins = o.cors;
  options.allowed_hosts = o.allowed_hosts;
  options.open_reads = o.open_reads;
  options.text_cache_entries = o.text_cache;
  options.save_every_changes = o.save_every;
  options.save_every_seconds = o.save_interval;
  server::check_exposure(options);  // before the database is opened: a refusal costs nothing

  // The port is bound first, so a client (or a test) learns it at once; the API answers 503
  // "loading" until the database is open.
  server::Server server(options);
  server.bind();
  const char* writes =
      o.read_only ? "read-only"
                  : (server.write_token().empty() ? "writes need the key" : "writes need the token");
  const bool v6 = o.host.find(':') != std::string::npos;
  std::printf("imgvec serve: listening on http://%s%s%s:%d/ (%s; Ctrl-C stops)\n", v6 ? "[" : "",
              o.host.c_str(), v6 ? "]" : "", server.port(), writes);
  if (!server.write_token().empty()) {
    // As Jupyter does: the page gets the token from the server; scripts get it from here.
    std::printf("imgvec serve: token for scripts' writes (X-API-Key header; new at each start): %s\n",
                server.write_token().c_str());
  }
  std::fflush(stdout);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    server.stop();
  });
  std::thread serving([&] { server.serve(); });
  std::shared_ptr<VectorDatabase> db;
  try {
    OpenOptions open;
    open.durability = o.read_only ? Durability::on_save : Durability::on_write;
    db = open_database(o, open);
    // So that `imgvec index` (refused while this runs) can say where the server is.
    db->describe_holder("imgvec serve at http://" + std::string(v6 ? "[" : "") + o.host + (v6 ? "]" : "") + ":" +
                        std::to_string(server.port()) + "/");
    // Loaded now, not at the first text or image search: a server's first answer should not wait
    // a second for libtorch, and a missing model is said at start.
    db->encoder();
  } catch (...) {
    server.stop();
    serving.join();
    ::kill(::getpid(), SIGTERM);  // wakes the waiter; blocked, so harmless
    waiter.join();
    throw;
  }
  const DatabaseStats stats = db->get_stats();
  server.attach(db);
  std::printf("imgvec serve: ready: %zu images", stats.count);
  if (stats.replayed_changes)
    std::printf(" (%zu changes replayed from the log)", stats.replayed_changes);
  if (stats.dropped_log_bytes)
    std::printf(" (%zu bytes of an unfinished last write dropped from the log: never acknowledged)",
                stats.dropped_log_bytes);
  std::printf("\n");
  std::fflush(stdout);
  serving.join();
  ::kill(::getpid(), SIGTERM);  // wakes the waiter if serving ended on its own
  waiter.join();
  server.finish();
  std::printf("imgvec serve: stopped; saved\n");
  return kOk;
}

}  // namespace imgvec::cli
