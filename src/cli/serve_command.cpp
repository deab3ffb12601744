// imgvec serve: the HTTP service (src/server/) until SIGINT or SIGTERM.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
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
  std::shared_ptr<VectorDatabase> db = open_database(o);
  server::Server server(db, options);
  server.bind();
  std::printf("imgvec serve: %zu images, listening on http://%s:%d/ (read-only; Ctrl-C stops)\n",
              db->size(), o.host.c_str(), server.port());
  std::fflush(stdout);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    server.stop();
  });
  server.serve();
  ::kill(::getpid(),
         SIGTERM);  // wakes the waiter if serve() ended on its own; blocked, so harmless
  waiter.join();
  std::printf("imgvec serve: stopped\n");
  return kOk;
}

}  // namespace imgvec::cli
