// A receiver of many feature streams on one UDP port: udpsrc ! rtpssrcdemux, and for every
// SSRC that appears a branch rtpjitterbuffer ! rtpftcdepay ! ftcdec ! ftcnpysink (one .npy per
// stream) or fakesink. What examples/gst_server runs, and what the tests and the load benchmark
// use. Needs the ftcodec GStreamer plugin on GStreamer's plugin path.
#ifndef FTCODEC_GST_FTC_SERVER_H_
#define FTCODEC_GST_FTC_SERVER_H_

#include <gst/gst.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ftc::gst {

struct ServerOptions {
  std::string address = "127.0.0.1";
  int port = 5000;
  std::string out_dir;  // one stream-<SSRC, 8 hex digits>.npy per stream; empty: none
  int latency_ms = 50;  // rtpjitterbuffer latency
  std::string conceal = "linear";
  int receive_buffer = 8 << 20;  // udpsrc buffer-size (SO_RCVBUF), bytes
  unsigned stats_interval = 30;  // ftcdec stats-interval
};

// What one stream's branch counted (ftcdec-stats and rtpjitterbuffer's stats).
struct StreamReport {
  uint32_t ssrc = 0;
  uint32_t stream_id = 0;
  uint64_t samples = 0;  // given out by ftcdec
  uint64_t samples_complete = 0, samples_partial = 0, samples_lost = 0;
  uint64_t packets_expected = 0, packets_missing = 0, packets_late = 0, packets_corrupt = 0,
           packets_foreign = 0;
  uint64_t jitterbuffer_lost = 0, jitterbuffer_late = 0;  // rtpjitterbuffer's num-lost, num-late
  uint64_t decode_cpu_ns = 0;                             // ftcdec's thread CPU time
  std::string file;                                       // the .npy written (out_dir set)
};

class Server {
 public:
  ~Server();
  // Builds the pipeline and sets it playing; an error names what failed.
  static std::unique_ptr<Server> Start(const ServerOptions& options, std::string* error);

  // Handles the bus until `done()` returns true or the deadline passes (true if done). Stops
  // early (false) on an error message, kept in error().
  bool RunUntil(const std::function<bool()>& done, std::chrono::steady_clock::time_point deadline);
  // Handles the messages waiting on the bus, without waiting; false after an error message.
  bool Poll();
  // Ends every stream (EOS from the source: ftcdec flushes, the sinks write their files) and
  // waits for the pipeline's EOS until the deadline; then stops the pipeline. Idempotent.
  bool Stop(std::chrono::steady_clock::time_point deadline);

  size_t streams() const;                 // branches made so far
  uint64_t samples(uint32_t ssrc) const;  // samples ftcdec gave out for a stream (live count)
  uint64_t min_samples() const;           // the smallest over the streams (0 without any)
  std::vector<StreamReport> Reports() const;
  const std::string& error() const { return error_; }
  GstElement* pipeline() const { return pipeline_; }

 private:
  struct Branch {
    uint32_t ssrc = 0;
    GstElement* jitterbuffer = nullptr;
    GstElement* dec = nullptr;
    std::string file;
    std::atomic<uint64_t> samples{0};
  };
  Server() = default;
  static void OnPadAdded(GstElement* demux, GstPad* pad, gpointer self);
  static GstPadProbeReturn CountSample(GstPad* pad, GstPadProbeInfo* info, gpointer branch);
  bool HandleMessage(GstMessage* m, bool* eos);

  ServerOptions options_;
  GstElement* pipeline_ = nullptr;
  mutable std::mutex lock_;
  std::map<uint32_t, std::unique_ptr<Branch>> branches_;
  std::string error_;
  bool stopped_ = false;
};

}  // namespace ftc::gst

#endif  // FTCODEC_GST_FTC_SERVER_H_
