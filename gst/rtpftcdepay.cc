// rtpftcdepay: the ftcodec packet of each RTP packet (docs/rtp.md). Payloads that are not an
// ftcodec packet of format version 4 (ftc::rtp::CheckFtcPayload), and packets of another
// payload type than the caps' (or outside the dynamic range 96..127 without one), are dropped
// and counted (`dropped`). The RTP marker bit becomes GST_BUFFER_FLAG_MARKER. Lost packets the
// jitter buffer reports become GAP events (GstRTPBaseDepayload's packet-lost handling).
#include <gst/gst.h>
#include <gst/rtp/rtp.h>

#include <atomic>

#include "gst/elements.h"
#include "gst/rtp_ftc.h"
#include "gst/tensor_caps.h"

GST_DEBUG_CATEGORY_STATIC(ftc_rtp_depay_debug);
#define GST_CAT_DEFAULT ftc_rtp_depay_debug

namespace {

enum { PROP_0, PROP_DROPPED };

struct State {
  int payload_type = -1;  // from the caps; -1: any dynamic one
  std::atomic<guint64> dropped{0};
};

}  // namespace

struct FtcRtpDepay {
  GstRTPBaseDepayload parent;
  State* st;
};
struct FtcRtpDepayClass {
  GstRTPBaseDepayloadClass parent_class;
};

G_DEFINE_TYPE(FtcRtpDepay, ftc_rtp_depay, GST_TYPE_RTP_BASE_DEPAYLOAD)

namespace {

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("application/x-rtp, media=(string)application, "
                                            "encoding-name=(string)X-FTC, clock-rate=(int)90000"));
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS,
                                                            GST_STATIC_CAPS(FTC_PACKETS_CAPS_NAME));

State* St(gpointer p) { return reinterpret_cast<FtcRtpDepay*>(p)->st; }

gboolean SetCaps(GstRTPBaseDepayload* depay, GstCaps* caps) {
  State* s = St(depay);
  const GstStructure* st = gst_caps_get_structure(caps, 0);
  int pt = -1;
  s->payload_type = gst_structure_get_int(st, "payload", &pt) ? pt : -1;
  depay->clock_rate = ftc::rtp::kClockRate;
  GstCaps* out = gst_caps_new_empty_simple(FTC_PACKETS_CAPS_NAME);
  const gboolean ok = gst_pad_set_caps(GST_RTP_BASE_DEPAYLOAD_SRCPAD(depay), out);
  gst_caps_unref(out);
  return ok;
}

GstBuffer* Drop(GstRTPBaseDepayload* depay, const char* why, guint size) {
  State* s = St(depay);
  const guint64 n = ++s->dropped;
  GST_DEBUG_OBJECT(depay, "dropped an RTP packet of %u bytes (%" G_GUINT64_FORMAT " so far): %s",
                   size, n, why);
  return nullptr;
}

GstBuffer* ProcessRtpPacket(GstRTPBaseDepayload* depay, GstRTPBuffer* rtp) {
  State* s = St(depay);
  const guint size = gst_rtp_buffer_get_payload_len(rtp);
  const int pt = gst_rtp_buffer_get_payload_type(rtp);
  if (s->payload_type >= 0 ? pt != s->payload_type : (pt < 96 || pt > 127)) {
    return Drop(depay, "another payload type", size);
  }
  const auto* payload = static_cast<const uint8_t*>(gst_rtp_buffer_get_payload(rtp));
  if (ftc::Status st = ftc::rtp::CheckFtcPayload(payload, size); !st.ok()) {
    return Drop(depay, st.message().c_str(), size);
  }
  GstBuffer* out = gst_rtp_buffer_get_payload_buffer(rtp);
  if (gst_rtp_buffer_get_marker(rtp)) GST_BUFFER_FLAG_SET(out, GST_BUFFER_FLAG_MARKER);
  return out;
}

void GetProperty(GObject* obj, guint id, GValue* v, GParamSpec* pspec) {
  if (id == PROP_DROPPED) {
    g_value_set_uint64(v, St(obj)->dropped.load());
  } else {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
  }
}

void Finalize(GObject* obj) {
  delete St(obj);
  G_OBJECT_CLASS(ftc_rtp_depay_parent_class)->finalize(obj);
}

// Packets that are not RTP (ftc::rtp::ParseRtpPacket) are dropped and counted before the base
// class sees them.
GstPadProbeReturn CheckRtp(GstPad*, GstPadProbeInfo* info, gpointer self) {
  GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
  GstMapInfo map;
  if (!gst_buffer_map(b, &map, GST_MAP_READ)) return GST_PAD_PROBE_DROP;
  ftc::Result<ftc::rtp::RtpPacket> p = ftc::rtp::ParseRtpPacket(map.data, map.size);
  gst_buffer_unmap(b, &map);
  if (p.ok()) return GST_PAD_PROBE_OK;
  Drop(GST_RTP_BASE_DEPAYLOAD(self), p.status().message().c_str(),
       static_cast<guint>(gst_buffer_get_size(b)));
  return GST_PAD_PROBE_DROP;
}

}  // namespace

static void ftc_rtp_depay_class_init(FtcRtpDepayClass* klass) {
  GObjectClass* oc = G_OBJECT_CLASS(klass);
  GstElementClass* ec = GST_ELEMENT_CLASS(klass);
  GstRTPBaseDepayloadClass* dc = GST_RTP_BASE_DEPAYLOAD_CLASS(klass);
  oc->get_property = GetProperty;
  oc->finalize = Finalize;
  g_object_class_install_property(
      oc, PROP_DROPPED,
      g_param_spec_uint64("dropped", "Dropped",
                          "RTP packets dropped: another payload type, or a payload that is not an "
                          "ftcodec packet of format version 4",
                          0, G_MAXUINT64, 0,
                          static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_set_static_metadata(
      ec, "RTP ftcodec depayloader", "Codec/Depayloader/Network/RTP",
      "Extracts ftcodec packets from RTP packets (docs/rtp.md)", "ftcodec");
  gst_element_class_add_static_pad_template(ec, &sink_template);
  gst_element_class_add_static_pad_template(ec, &src_template);
  dc->set_caps = SetCaps;
  dc->process_rtp_packet = ProcessRtpPacket;
  GST_DEBUG_CATEGORY_INIT(ftc_rtp_depay_debug, "rtpftcdepay", 0, "RTP ftcodec depayloader");
}

static void ftc_rtp_depay_init(FtcRtpDepay* self) {
  self->st = new State();
  gst_pad_add_probe(GST_RTP_BASE_DEPAYLOAD_SINKPAD(self), GST_PAD_PROBE_TYPE_BUFFER, CheckRtp, self,
                    nullptr);
}
