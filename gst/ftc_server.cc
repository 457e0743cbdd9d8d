#include "gst/ftc_server.h"

#include <cinttypes>
#include <cstdio>

namespace ftc::gst {
namespace {

uint64_t Field(const GstStructure* s, const char* name) {
  guint64 v = 0;
  return s != nullptr && gst_structure_get_uint64(s, name, &v) ? v : 0;
}

}  // namespace

Server::~Server() {
  if (pipeline_ != nullptr) {
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    gst_object_unref(pipeline_);
  }
}

std::unique_ptr<Server> Server::Start(const ServerOptions& options, std::string* error) {
  std::unique_ptr<Server> s(new Server());
  s->options_ = options;
  s->pipeline_ = gst_pipeline_new("ftc-server");
  GstElement* src = gst_element_factory_make("udpsrc", "src");
  GstElement* demux = gst_element_factory_make("rtpssrcdemux", "demux");
  if (src == nullptr || demux == nullptr) {
    *error = "udpsrc or rtpssrcdemux missing (GStreamer's good plugins)";
    if (src) gst_object_unref(src);
    if (demux) gst_object_unref(demux);
    return nullptr;
  }
  GstCaps* caps = gst_caps_from_string(
      "application/x-rtp, media=(string)application, encoding-name=(string)X-FTC, "
      "clock-rate=(int)90000");
  g_object_set(src, "address", options.address.c_str(), "port", options.port, "caps", caps,
               "buffer-size", options.receive_buffer, nullptr);
  gst_caps_unref(caps);
  gst_bin_add_many(GST_BIN(s->pipeline_), src, demux, nullptr);
  if (!gst_element_link(src, demux)) {
    *error = "cannot link udpsrc to rtpssrcdemux";
    return nullptr;
  }
  g_signal_connect(demux, "pad-added", G_CALLBACK(&Server::OnPadAdded), s.get());
  if (gst_element_set_state(s->pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    *error =
        "the receiver pipeline does not start (is port " + std::to_string(options.port) + " free?)";
    GstBus* bus = gst_element_get_bus(s->pipeline_);
    while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
      GError* e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      *error += std::string(": ") + e->message;
      g_error_free(e);
      gst_message_unref(m);
    }
    gst_object_unref(bus);
    return nullptr;
  }
  return s;
}

void Server::OnPadAdded(GstElement*, GstPad* pad, gpointer self_ptr) {
  Server* self = static_cast<Server*>(self_ptr);
  gchar* name = gst_pad_get_name(pad);
  unsigned ssrc = 0;
  const bool rtp = std::sscanf(name, "src_%u", &ssrc) == 1;
  g_free(name);
  if (!rtp) return;  // rtcp_src_%u
  auto b = std::make_unique<Branch>();
  b->ssrc = ssrc;
  GstElement* jb = gst_element_factory_make("rtpjitterbuffer", nullptr);
  GstElement* depay = gst_element_factory_make("rtpftcdepay", nullptr);
  GstElement* dec = gst_element_factory_make("ftcdec", nullptr);
  GstElement* sink;
  if (!self->options_.out_dir.empty()) {
    char file[32];
    std::snprintf(file, sizeof file, "stream-%08x.npy", ssrc);
    b->file = self->options_.out_dir + "/" + file;
    sink = gst_element_factory_make("ftcnpysink", nullptr);
    if (sink) g_object_set(sink, "location", b->file.c_str(), nullptr);
  } else {
    sink = gst_element_factory_make("fakesink", nullptr);
    if (sink) g_object_set(sink, "sync", FALSE, nullptr);
  }
  if (!jb || !depay || !dec || !sink) {
    GST_ELEMENT_ERROR(self->pipeline_, CORE, MISSING_PLUGIN,
                      ("rtpjitterbuffer, rtpftcdepay, ftcdec or ftcnpysink missing"), (nullptr));
    for (GstElement* e : {jb, depay, dec, sink}) {
      if (e) gst_object_unref(e);
    }
    return;
  }
  // Added to a playing pipeline: a sink that waited for preroll would take the pipeline back to
  // PAUSED, where the jitter buffer never pushes.
  g_object_set(sink, "async", FALSE, nullptr);
  g_object_set(jb, "latency", static_cast<guint>(self->options_.latency_ms), "do-lost", TRUE,
               nullptr);
  g_object_set(dec, "conceal", self->options_.conceal.c_str(), "stats-interval",
               self->options_.stats_interval, nullptr);
  b->jitterbuffer = jb;
  b->dec = dec;
  GstPad* dec_src = gst_element_get_static_pad(dec, "src");
  gst_pad_add_probe(dec_src, GST_PAD_PROBE_TYPE_BUFFER, &Server::CountSample, b.get(), nullptr);
  gst_object_unref(dec_src);
  gst_bin_add_many(GST_BIN(self->pipeline_), jb, depay, dec, sink, nullptr);
  gst_element_link_many(jb, depay, dec, sink, nullptr);
  for (GstElement* e : {sink, dec, depay, jb}) gst_element_sync_state_with_parent(e);
  GstPad* jb_sink = gst_element_get_static_pad(jb, "sink");
  gst_pad_link(pad, jb_sink);
  gst_object_unref(jb_sink);
  std::lock_guard<std::mutex> l(self->lock_);
  self->branches_[ssrc] = std::move(b);
}

GstPadProbeReturn Server::CountSample(GstPad*, GstPadProbeInfo*, gpointer branch) {
  ++static_cast<Branch*>(branch)->samples;
  return GST_PAD_PROBE_OK;
}

bool Server::HandleMessage(GstMessage* m, bool* eos) {
  switch (GST_MESSAGE_TYPE(m)) {
    case GST_MESSAGE_ERROR: {
      GError* e = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(m, &e, &debug);
      error_ = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(m))) + ": " + e->message;
      g_error_free(e);
      g_free(debug);
      return false;
    }
    case GST_MESSAGE_EOS:
      *eos = true;
      return true;
    default:
      return true;
  }
}

bool Server::RunUntil(const std::function<bool()>& done,
                      std::chrono::steady_clock::time_point deadline) {
  GstBus* bus = gst_element_get_bus(pipeline_);
  bool ok = true, eos = false;
  while (ok && !done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      ok = false;
      break;
    }
    const auto wait = std::min<std::chrono::steady_clock::duration>(deadline - now,
                                                                    std::chrono::milliseconds(20));
    GstMessage* m = gst_bus_timed_pop(
        bus, static_cast<GstClockTime>(
                 std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count()));
    if (m != nullptr) {
      ok = HandleMessage(m, &eos);
      gst_message_unref(m);
    }
  }
  gst_object_unref(bus);
  return ok && done();
}

bool Server::Poll() {
  GstBus* bus = gst_element_get_bus(pipeline_);
  bool ok = error_.empty(), eos = false;
  while (ok) {
    GstMessage* m = gst_bus_pop(bus);
    if (m == nullptr) break;
    ok = HandleMessage(m, &eos);
    gst_message_unref(m);
  }
  gst_object_unref(bus);
  return ok;
}

bool Server::Stop(std::chrono::steady_clock::time_point deadline) {
  if (stopped_) return error_.empty();
  stopped_ = true;
  bool have_streams;
  {
    std::lock_guard<std::mutex> l(lock_);
    have_streams = !branches_.empty();
  }
  bool eos = false, ok = true;
  if (have_streams) {
    gst_element_send_event(pipeline_, gst_event_new_eos());
    GstBus* bus = gst_element_get_bus(pipeline_);
    while (ok && !eos) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        ok = false;
        error_ = "no end of stream before the deadline";
        break;
      }
      GstMessage* m = gst_bus_timed_pop(
          bus, static_cast<GstClockTime>(
                   std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count()));
      if (m != nullptr) {
        ok = HandleMessage(m, &eos);
        gst_message_unref(m);
      }
    }
    gst_object_unref(bus);
  }
  gst_element_set_state(pipeline_, GST_STATE_NULL);
  return ok;
}

size_t Server::streams() const {
  std::lock_guard<std::mutex> l(lock_);
  return branches_.size();
}

uint64_t Server::samples(uint32_t ssrc) const {
  std::lock_guard<std::mutex> l(lock_);
  auto it = branches_.find(ssrc);
  return it == branches_.end() ? 0 : it->second->samples.load();
}

uint64_t Server::min_samples() const {
  std::lock_guard<std::mutex> l(lock_);
  uint64_t m = UINT64_MAX;
  for (const auto& [ssrc, b] : branches_) m = std::min<uint64_t>(m, b->samples.load());
  return branches_.empty() ? 0 : m;
}

std::vector<StreamReport> Server::Reports() const {
  std::lock_guard<std::mutex> l(lock_);
  std::vector<StreamReport> out;
  for (const auto& [ssrc, b] : branches_) {
    StreamReport r;
    r.ssrc = ssrc;
    r.file = b->file;
    GstStructure* st = nullptr;
    g_object_get(b->dec, "stats", &st, nullptr);
    guint id = 0;
    if (st != nullptr) gst_structure_get_uint(st, "stream-id", &id);
    r.stream_id = id;
    r.samples = b->samples.load();
    r.samples_complete = Field(st, "samples-complete");
    r.samples_partial = Field(st, "samples-partial");
    r.samples_lost = Field(st, "samples-lost");
    r.packets_expected = Field(st, "packets-expected");
    r.packets_missing = Field(st, "packets-missing");
    r.packets_late = Field(st, "packets-late");
    r.packets_corrupt = Field(st, "packets-corrupt");
    r.packets_foreign = Field(st, "packets-foreign");
    r.decode_cpu_ns = Field(st, "cpu-time");
    if (st != nullptr) gst_structure_free(st);
    GstStructure* js = nullptr;
    g_object_get(b->jitterbuffer, "stats", &js, nullptr);
    r.jitterbuffer_lost = Field(js, "num-lost");
    r.jitterbuffer_late = Field(js, "num-late");
    if (js != nullptr) gst_structure_free(js);
    out.push_back(r);
  }
  return out;
}

}  // namespace ftc::gst
