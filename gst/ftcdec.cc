// ftcdec: decodes the packets of a live stream (ftc::LiveDecoder) into its samples, one buffer
// per sample (float32, lost parts concealed), in Frame_Index order. A sample's PTS is that of
// its packets; a wholly lost sample gets the previous sample's PTS plus the sample duration
// (estimated from the samples received). GAP events (a loss the transport reported, e.g.
// rtpjitterbuffer do-lost=true through the depayloader) make the samples before the newest one
// that has packets ready, and that one too when the gap lies after it. Posts `ftcdec-stats`
// element messages every `stats-interval` samples and at EOS.
#include <gst/gst.h>
#include <time.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "ftcodec/packet.h"
#include "gst/elements.h"
#include "gst/tensor_caps.h"

GST_DEBUG_CATEGORY_STATIC(ftc_dec_debug);
#define GST_CAT_DEFAULT ftc_dec_debug

namespace {

enum {
  PROP_0,
  PROP_CONCEAL,
  PROP_REORDER,
  PROP_UNIT,
  PROP_STATS_INTERVAL,
  PROP_STATS,
  PROP_STREAM_ID
};

constexpr size_t kMaxRememberedFrames = 4096;  // PTS of frames not yet given out

struct State {
  GMutex lock;  // properties and the statistics against the streaming thread
  std::string conceal = "linear";
  int reorder = 1;
  std::string unit;
  guint stats_interval = 100;
  guint stream_id = 0;  // 0: the stream most packets belong to

  std::optional<ftc::LiveDecoder> decoder;
  std::optional<ftc::gst::SampleFormat> format;  // of the caps sent downstream
  GstEvent* pending_segment = nullptr;           // held until the caps are sent
  std::map<uint32_t, GstClockTime> pts;          // Frame_Index -> the PTS of its packets
  std::optional<uint32_t> newest;                // the newest frame index with accepted packets
  GstClockTime last_pts = GST_CLOCK_TIME_NONE;   // of the last sample pushed
  std::optional<uint32_t> last_index;
  GstClockTime duration = GST_CLOCK_TIME_NONE;  // estimated sample duration
  uint64_t samples_since_stats = 0;
  guint64 cpu_ns = 0;             // thread CPU time spent decoding
  GstStructure* stats = nullptr;  // the latest statistics (under lock)
};

}  // namespace

struct FtcDec {
  GstElement parent;
  GstPad* sinkpad;
  GstPad* srcpad;
  State* st;
};
struct FtcDecClass {
  GstElementClass parent_class;
};

G_DEFINE_TYPE(FtcDec, ftc_dec, GST_TYPE_ELEMENT)

namespace {

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(FTC_PACKETS_CAPS_NAME));
GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS(FTC_TENSOR_CAPS_NAME ", type=(string)float32"));

FtcDec* Self(gpointer p) { return reinterpret_cast<FtcDec*>(p); }

guint64 ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<guint64>(ts.tv_sec) * 1000000000u + static_cast<guint64>(ts.tv_nsec);
}

GstStructure* MakeStats(const State& s) {
  ftc::LiveStats z;
  const ftc::LiveStats& l = s.decoder ? s.decoder->stats() : z;
  return gst_structure_new(
      "ftcdec-stats", "samples", G_TYPE_UINT64, static_cast<guint64>(l.samples), "samples-complete",
      G_TYPE_UINT64, static_cast<guint64>(l.samples_complete), "samples-partial", G_TYPE_UINT64,
      static_cast<guint64>(l.samples_partial), "samples-lost", G_TYPE_UINT64,
      static_cast<guint64>(l.samples_lost), "packets-expected", G_TYPE_UINT64,
      static_cast<guint64>(l.packets_expected), "packets-missing", G_TYPE_UINT64,
      static_cast<guint64>(l.packets_missing), "packets-late", G_TYPE_UINT64,
      static_cast<guint64>(l.late), "packets-corrupt", G_TYPE_UINT64,
      static_cast<guint64>(l.packets.corrupt), "packets-foreign", G_TYPE_UINT64,
      static_cast<guint64>(l.packets.foreign), "stream-id", G_TYPE_UINT, l.packets.stream_id,
      "packets-pushed", G_TYPE_UINT64, static_cast<guint64>(l.packets.pushed),
      "packets-inconsistent", G_TYPE_UINT64, static_cast<guint64>(l.packets.inconsistent),
      "samples-skipped", G_TYPE_UINT64, static_cast<guint64>(l.samples_skipped), "cpu-time",
      G_TYPE_UINT64, s.cpu_ns, nullptr);
}

// Updates the `stats` property and posts an ftcdec-stats message.
void PostStats(FtcDec* self) {
  State* s = self->st;
  GstStructure* st = MakeStats(*s);
  g_mutex_lock(&s->lock);
  if (s->stats) gst_structure_free(s->stats);
  s->stats = gst_structure_copy(st);
  g_mutex_unlock(&s->lock);
  s->samples_since_stats = 0;
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
}

bool EnsureCaps(FtcDec* self, const ftc::LiveSample& sample) {
  State* s = self->st;
  ftc::gst::SampleFormat f;
  f.dtype = ftc::DType::kF32;
  f.shape = sample.tensor.shape();
  if (s->format && *s->format == f) return true;
  GstCaps* caps = ftc::gst::MakeTensorCaps(f, 0, 1);
  GST_INFO_OBJECT(self, "caps %" GST_PTR_FORMAT, caps);
  const bool ok = gst_pad_set_caps(self->srcpad, caps);
  gst_caps_unref(caps);
  if (!ok) return false;
  s->format = f;
  if (s->pending_segment) {
    gst_pad_push_event(self->srcpad, s->pending_segment);
    s->pending_segment = nullptr;
  }
  return true;
}

// Pushes every sample the decoder has ready.
GstFlowReturn PushReady(FtcDec* self) {
  State* s = self->st;
  GstFlowReturn ret = GST_FLOW_OK;
  while (s->decoder) {
    std::optional<ftc::LiveSample> sample = s->decoder->pop();
    if (!sample) break;
    ++s->samples_since_stats;
    if (s->last_index && sample->frame_index <= *s->last_index) {
      // The sender started again (LiveDecoder goes on from its new frame index): forget the
      // old numbering's frames that were never given out.
      s->pts.erase(s->pts.upper_bound(*s->last_index), s->pts.end());
      s->newest.reset();
      if (!s->pts.empty()) s->newest = s->pts.rbegin()->first;
      s->last_index.reset();
    }
    GstClockTime pts = GST_CLOCK_TIME_NONE;
    auto it = s->pts.find(sample->frame_index);
    if (it != s->pts.end()) {
      pts = it->second;
    } else if (GST_CLOCK_TIME_IS_VALID(s->last_pts) && GST_CLOCK_TIME_IS_VALID(s->duration) &&
               s->last_index) {
      pts = s->last_pts + s->duration * (sample->frame_index - *s->last_index);
    }
    // Forget the frames given out (and any before them).
    s->pts.erase(s->pts.begin(), s->pts.upper_bound(sample->frame_index));
    if (GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(s->last_pts) && s->last_index &&
        sample->frame_index > *s->last_index && pts > s->last_pts) {
      s->duration = (pts - s->last_pts) / (sample->frame_index - *s->last_index);
    }
    if (GST_CLOCK_TIME_IS_VALID(pts)) s->last_pts = pts;
    s->last_index = sample->frame_index;
    if (ret != GST_FLOW_OK) continue;  // drain the decoder, push nothing more
    if (!EnsureCaps(self, *sample)) {
      ret = GST_FLOW_NOT_NEGOTIATED;
      continue;
    }
    const ftc::Tensor& t = sample->tensor;
    GstBuffer* b = gst_buffer_new_allocate(nullptr, t.size_bytes(), nullptr);
    gst_buffer_fill(b, 0, t.data(), t.size_bytes());
    GST_BUFFER_PTS(b) = pts;
    GST_BUFFER_DURATION(b) = s->duration;
    GST_BUFFER_OFFSET(b) = sample->frame_index;
    if (sample->lost || sample->packets_received < sample->packets_expected) {
      GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_CORRUPTED);  // partly or wholly concealed
    }
    ret = gst_pad_push(self->srcpad, b);
    if (s->stats_interval > 0 && s->samples_since_stats >= s->stats_interval) PostStats(self);
  }
  return ret;
}

// The Frame_Index of a data packet (header bytes only; the decoder checks everything).
std::optional<uint32_t> DataPacketFrameIndex(const uint8_t* p, size_t n) {
  if (n < 10 || p[3] != 0) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 9, shift = 0; i < n && shift < 35; ++i, shift += 7) {
    v |= static_cast<uint64_t>(p[i] & 0x7f) << shift;
    if ((p[i] & 0x80) == 0) {
      if (v > 0xffffffffu) return std::nullopt;
      return static_cast<uint32_t>(v);
    }
  }
  return std::nullopt;
}

bool MakeDecoder(FtcDec* self) {
  State* s = self->st;
  ftc::LiveDecoderOptions o;
  g_mutex_lock(&s->lock);
  ftc::Result<ftc::ConcealMethod> m = ftc::ParseConcealMethod(s->conceal);
  o.reorder = s->reorder;
  o.decoder.unit = s->unit;
  if (s->stream_id != 0) o.decoder.stream_id = s->stream_id;
  g_mutex_unlock(&s->lock);
  if (!m.ok()) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("ftcdec: %s", m.status().ToString().c_str()),
                      (nullptr));
    return false;
  }
  o.conceal = *m;
  o.decoder.dtype = ftc::DType::kF32;
  s->decoder.emplace(o);
  return true;
}

GstFlowReturn Chain(GstPad*, GstObject* parent, GstBuffer* in) {
  FtcDec* self = Self(parent);
  State* s = self->st;
  if (!s->decoder && !MakeDecoder(self)) {
    gst_buffer_unref(in);
    return GST_FLOW_ERROR;
  }
  const guint64 cpu0 = ThreadCpuNs();
  GstMapInfo map;
  if (gst_buffer_map(in, &map, GST_MAP_READ)) {
    ftc::Status st = s->decoder->push(map.data, map.size);
    if (st.ok()) {
      if (std::optional<uint32_t> f = DataPacketFrameIndex(map.data, map.size)) {
        if (GST_BUFFER_PTS_IS_VALID(in)) {
          if (s->pts.size() >= kMaxRememberedFrames) s->pts.erase(s->pts.begin());
          s->pts.emplace(*f, GST_BUFFER_PTS(in));
        }
        if (!s->newest || *f > *s->newest) s->newest = *f;
      }
    } else {
      GST_LOG_OBJECT(self, "packet of %zu bytes dropped: %s", map.size, st.ToString().c_str());
    }
    gst_buffer_unmap(in, &map);
  }
  gst_buffer_unref(in);
  GstFlowReturn ret = PushReady(self);
  s->cpu_ns += ThreadCpuNs() - cpu0;
  return ret;
}

gboolean SinkEvent(GstPad* pad, GstObject* parent, GstEvent* event) {
  FtcDec* self = Self(parent);
  State* s = self->st;
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_CAPS:
      gst_event_unref(event);  // the output caps come from the stream's parameter set
      return TRUE;
    case GST_EVENT_SEGMENT:
      if (!s->format) {
        if (s->pending_segment) gst_event_unref(s->pending_segment);
        s->pending_segment = event;
        return TRUE;
      }
      break;
    case GST_EVENT_GAP: {
      if (s->decoder && s->newest) {
        GstClockTime ts, dur;
        gst_event_parse_gap(event, &ts, &dur);
        auto it = s->pts.find(*s->newest);
        GST_DEBUG_OBJECT(self, "gap at %" GST_TIME_FORMAT ", newest sample %u", GST_TIME_ARGS(ts),
                         *s->newest);
        if (it != s->pts.end() && GST_CLOCK_TIME_IS_VALID(ts) && ts > it->second) {
          s->decoder->flush();  // the loss lies after the newest sample: it is complete
        } else {
          s->decoder->flush_before(*s->newest);
        }
        const guint64 cpu0 = ThreadCpuNs();
        PushReady(self);
        s->cpu_ns += ThreadCpuNs() - cpu0;
      }
      gst_event_unref(event);  // the samples given out stand for the gap
      return TRUE;
    }
    case GST_EVENT_EOS:
      if (s->decoder) {
        s->decoder->flush();
        PushReady(self);
      }
      PostStats(self);
      break;
    case GST_EVENT_FLUSH_STOP:
      // Nothing held survives a flush: a new decoder for what follows.
      s->decoder.reset();
      s->pts.clear();
      s->newest.reset();
      s->last_index.reset();
      s->last_pts = GST_CLOCK_TIME_NONE;
      break;
    default:
      break;
  }
  return gst_pad_event_default(pad, parent, event);
}

void SetProperty(GObject* obj, guint id, const GValue* v, GParamSpec* pspec) {
  State* s = Self(obj)->st;
  g_mutex_lock(&s->lock);
  switch (id) {
    case PROP_CONCEAL:
      s->conceal = ftc::gst::StringProperty(v, "linear");
      break;
    case PROP_REORDER:
      s->reorder = g_value_get_int(v);
      break;
    case PROP_UNIT:
      s->unit = ftc::gst::StringProperty(v, "");
      break;
    case PROP_STATS_INTERVAL:
      s->stats_interval = g_value_get_uint(v);
      break;
    case PROP_STREAM_ID:
      s->stream_id = g_value_get_uint(v);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
  }
  g_mutex_unlock(&s->lock);
}

void GetProperty(GObject* obj, guint id, GValue* v, GParamSpec* pspec) {
  State* s = Self(obj)->st;
  g_mutex_lock(&s->lock);
  switch (id) {
    case PROP_CONCEAL:
      g_value_set_string(v, s->conceal.c_str());
      break;
    case PROP_REORDER:
      g_value_set_int(v, s->reorder);
      break;
    case PROP_UNIT:
      g_value_set_string(v, s->unit.empty() ? nullptr : s->unit.c_str());
      break;
    case PROP_STATS_INTERVAL:
      g_value_set_uint(v, s->stats_interval);
      break;
    case PROP_STREAM_ID:
      g_value_set_uint(v, s->stream_id);
      break;
    case PROP_STATS:
      if (s->stats) {
        g_value_set_boxed(v, s->stats);
      } else {
        GstStructure* empty = MakeStats(State());
        g_value_take_boxed(v, empty);
      }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
  }
  g_mutex_unlock(&s->lock);
}

void Finalize(GObject* obj) {
  State* s = Self(obj)->st;
  if (s->stats) gst_structure_free(s->stats);
  if (s->pending_segment) gst_event_unref(s->pending_segment);
  g_mutex_clear(&s->lock);
  delete s;
  G_OBJECT_CLASS(ftc_dec_parent_class)->finalize(obj);
}

GstStateChangeReturn ChangeState(GstElement* element, GstStateChange transition) {
  FtcDec* self = Self(element);
  State* s = self->st;
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    g_mutex_lock(&s->lock);
    ftc::Result<ftc::ConcealMethod> m = ftc::ParseConcealMethod(s->conceal);
    g_mutex_unlock(&s->lock);
    if (!m.ok()) {
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("ftcdec: %s", m.status().ToString().c_str()),
                        (nullptr));
      return GST_STATE_CHANGE_FAILURE;
    }
  }
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(ftc_dec_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    s->decoder.reset();
    s->format.reset();
    s->pts.clear();
    s->newest.reset();
    s->last_index.reset();
    s->last_pts = GST_CLOCK_TIME_NONE;
    s->duration = GST_CLOCK_TIME_NONE;
    s->samples_since_stats = 0;
    s->cpu_ns = 0;
    if (s->pending_segment) gst_event_unref(s->pending_segment);
    s->pending_segment = nullptr;
  }
  return ret;
}

}  // namespace

static void ftc_dec_class_init(FtcDecClass* klass) {
  GObjectClass* oc = G_OBJECT_CLASS(klass);
  GstElementClass* ec = GST_ELEMENT_CLASS(klass);
  oc->set_property = SetProperty;
  oc->get_property = GetProperty;
  oc->finalize = Finalize;
  const GParamFlags flags = ftc::gst::kPropertyFlags;
  g_object_class_install_property(
      oc, PROP_CONCEAL,
      g_param_spec_string("conceal", "Conceal",
                          "How lost elements are filled: zero, mean, linear, inpaint, caltec, "
                          "lowrank (altec needs a profile's predictor)",
                          "linear", flags));
  g_object_class_install_property(
      oc, PROP_REORDER,
      g_param_spec_int("reorder", "Reorder depth",
                       "A sample is given out once a packet of a sample this many later arrived "
                       "(1 suits a jitter buffer, which delivers in order)",
                       1, 65536, 1, flags));
  g_object_class_install_property(
      oc, PROP_UNIT,
      g_param_spec_string("unit", "Unit", "Codec learned: the learned unit's folder", nullptr,
                          flags));
  g_object_class_install_property(
      oc, PROP_STATS_INTERVAL,
      g_param_spec_uint("stats-interval", "Statistics interval",
                        "Post an ftcdec-stats element message every this many samples (and at "
                        "EOS); 0: only at EOS",
                        0, G_MAXUINT, 100,
                        static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      oc, PROP_STREAM_ID,
      g_param_spec_uint("stream-id", "Stream id",
                        "Decode only this Stream_Id; 0: the stream most packets belong to", 0,
                        G_MAXUINT32, 0, flags));
  g_object_class_install_property(
      oc, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "The latest ftcdec-stats (as posted: every stats-interval samples and at "
                         "EOS)",
                         GST_TYPE_STRUCTURE,
                         static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_set_static_metadata(
      ec, "ftcodec live packet decoder", "Codec/Decoder/Tensor",
      "Decodes the ftcodec packets of a live stream into its samples, concealing what was lost",
      "ftcodec");
  gst_element_class_add_static_pad_template(ec, &sink_template);
  gst_element_class_add_static_pad_template(ec, &src_template);
  ec->change_state = ChangeState;
  GST_DEBUG_CATEGORY_INIT(ftc_dec_debug, "ftcdec", 0, "ftcodec live packet decoder");
}

static void ftc_dec_init(FtcDec* self) {
  self->st = new State();
  g_mutex_init(&self->st->lock);
  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, Chain);
  gst_pad_set_event_function(self->sinkpad, SinkEvent);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  gst_pad_use_fixed_caps(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}
