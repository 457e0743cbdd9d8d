// gst_server: receives feature streams from any number of senders on one UDP port (RTP, one
// SSRC per sender; docs/rtp.md), decodes each with ftcdec, writes one .npy per stream and prints
// per-stream statistics. Senders: `gst-launch-1.0 ftcnpysrc location=a.npy rate=30 ! ftcenc
// codec=ans bits=4 ! rtpftcpay ! udpsink host=127.0.0.1 port=5000`.
//
//   gst_server [--port 5000] [--out DIR] [--streams N --samples S] [--duration SECONDS]
//              [--idle SECONDS] [--latency MS]
//
// It stops once N streams have S samples each, after --duration, or --idle seconds after the
// last sample (whichever comes first), then ends every stream (the files are written) and
// prints one line per stream and a total: samples, concealed and lost samples, late packets,
// the jitter buffer's lost and late packets, ftcdec's CPU time, and the process's CPU time.
#include <gst/gst.h>
#include <sys/resource.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gst/ftc_server.h"

namespace {

double CpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

int Usage(const char* why) {
  std::fprintf(stderr,
               "gst_server: %s\nusage: gst_server [--port P] [--address A] [--out DIR] "
               "[--streams N] [--samples S] [--duration SECONDS] [--idle SECONDS] "
               "[--latency MS] [--conceal METHOD]\n",
               why);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
#ifdef FTC_GST_PLUGIN_DIR
  // Run from the build tree: the plugin beside it, unless GST_PLUGIN_PATH found one already.
  if (!gst_registry_check_feature_version(gst_registry_get(), "ftcdec", 1, 0, 0)) {
    gst_registry_scan_path(gst_registry_get(), FTC_GST_PLUGIN_DIR);
  }
#endif
  ftc::gst::ServerOptions o;
  unsigned streams = 0;
  uint64_t samples = 0;
  double duration = 3600, idle = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return Usage(("missing value after " + a).c_str());
    const char* v = argv[++i];
    char* end = nullptr;
    if (a == "--out") {
      o.out_dir = v;
      continue;
    }
    if (a == "--address") {
      o.address = v;
      continue;
    }
    if (a == "--conceal") {
      o.conceal = v;
      continue;
    }
    const double x = std::strtod(v, &end);
    if (end == v || *end != '\0' || x < 0) return Usage(("bad value for " + a).c_str());
    if (a == "--port") {
      o.port = static_cast<int>(x);
    } else if (a == "--streams") {
      streams = static_cast<unsigned>(x);
    } else if (a == "--samples") {
      samples = static_cast<uint64_t>(x);
    } else if (a == "--duration") {
      duration = x;
    } else if (a == "--idle") {
      idle = x;
    } else if (a == "--latency") {
      o.latency_ms = static_cast<int>(x);
    } else {
      return Usage(("unknown option " + a).c_str());
    }
  }
  std::string error;
  std::unique_ptr<ftc::gst::Server> server = ftc::gst::Server::Start(o, &error);
  if (!server) {
    std::fprintf(stderr, "gst_server: %s\n", error.c_str());
    return 1;
  }
  std::fprintf(stderr, "gst_server: listening on %s:%d\n", o.address.c_str(), o.port);
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      start + std::chrono::microseconds(static_cast<int64_t>(duration * 1e6));
  const double cpu0 = CpuSeconds();
  uint64_t last_total = 0;
  Clock::time_point last_change = start;
  const bool ok = server->RunUntil(
      [&] {
        if (streams > 0 && samples > 0 && server->streams() >= streams &&
            server->min_samples() >= samples) {
          return true;
        }
        if (idle > 0) {
          uint64_t total = 0;
          for (const auto& r : server->Reports()) total += r.samples;
          const Clock::time_point now = Clock::now();
          if (total != last_total) {
            last_total = total;
            last_change = now;
          } else if (total > 0 &&
                     now - last_change > std::chrono::microseconds(int64_t(idle * 1e6))) {
            return true;
          }
        }
        return false;
      },
      deadline);
  if (!ok && !server->error().empty()) {
    std::fprintf(stderr, "gst_server: %s\n", server->error().c_str());
    return 1;
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  server->Stop(Clock::now() + std::chrono::seconds(10));
  const double cpu = CpuSeconds() - cpu0;
  uint64_t total = 0, late = 0, lost = 0, partial = 0;
  for (const ftc::gst::StreamReport& r : server->Reports()) {
    std::printf("stream ssrc=%08x stream-id=%08x samples=%" PRIu64 " complete=%" PRIu64
                " partial=%" PRIu64 " lost=%" PRIu64 " packets-missing=%" PRIu64
                " packets-late=%" PRIu64 " jitterbuffer-lost=%" PRIu64 " jitterbuffer-late=%" PRIu64
                " decode-cpu-ms=%.1f%s%s\n",
                r.ssrc, r.stream_id, r.samples, r.samples_complete, r.samples_partial,
                r.samples_lost, r.packets_missing, r.packets_late, r.jitterbuffer_lost,
                r.jitterbuffer_late, 1e-6 * static_cast<double>(r.decode_cpu_ns),
                r.file.empty() ? "" : " file=", r.file.c_str());
    total += r.samples;
    late += r.packets_late + r.jitterbuffer_late;
    lost += r.samples_lost;
    partial += r.samples_partial;
  }
  const size_t n = server->streams();
  std::printf("total streams=%zu samples=%" PRIu64 " partial=%" PRIu64 " lost=%" PRIu64
              " late-packets=%" PRIu64 " wall-s=%.2f cpu-s=%.3f cpu-per-stream-percent=%.2f\n",
              n, total, partial, lost, late, wall, cpu,
              n > 0 ? 100.0 * cpu / wall / static_cast<double>(n) : 0.0);
  return server->error().empty() ? 0 : 1;
}
