// rtpftcpay: one ftcodec packet per RTP packet (docs/rtp.md). The marker bit is set on a
// sample's last packet (GST_BUFFER_FLAG_MARKER from ftcenc); the RTP timestamp is the sample's
// PTS at 90 kHz. The latest parameter set of each stream is remembered and sent again before a
// data packet of its stream once `config-interval` seconds passed since it was last sent.
#include <gst/gst.h>
#include <gst/rtp/rtp.h>

#include <cstring>
#include <map>
#include <vector>

#include "ftcodec/packet.h"
#include "gst/elements.h"
#include "gst/rtp_ftc.h"
#include "gst/tensor_caps.h"

GST_DEBUG_CATEGORY_STATIC(ftc_rtp_pay_debug);
#define GST_CAT_DEFAULT ftc_rtp_pay_debug

namespace {

enum { PROP_0, PROP_CONFIG_INTERVAL };

constexpr size_t kMaxStreams = 64;  // parameter sets remembered

struct StreamConfig {
  std::vector<uint8_t> parameter_set;
  GstClockTime last_sent = GST_CLOCK_TIME_NONE;
};

struct State {
  guint config_interval = 1;  // seconds; 0: only when the encoder sends them
  std::map<uint32_t, StreamConfig> streams;
  bool warned_mtu = false;
};

}  // namespace

struct FtcRtpPay {
  GstRTPBasePayload parent;
  State* st;
};
struct FtcRtpPayClass {
  GstRTPBasePayloadClass parent_class;
};

G_DEFINE_TYPE(FtcRtpPay, ftc_rtp_pay, GST_TYPE_RTP_BASE_PAYLOAD)

namespace {

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(FTC_PACKETS_CAPS_NAME));
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("application/x-rtp, media=(string)application, payload=(int)[96, 127], "
                    "encoding-name=(string)X-FTC, clock-rate=(int)90000"));

State* St(gpointer p) { return reinterpret_cast<FtcRtpPay*>(p)->st; }

uint32_t StreamIdOf(const uint8_t* p, size_t n) {
  if (n < 8) return 0;
  return uint32_t{p[4]} | (uint32_t{p[5]} << 8) | (uint32_t{p[6]} << 16) | (uint32_t{p[7]} << 24);
}

gboolean SetCaps(GstRTPBasePayload* pay, GstCaps*) {
  gst_rtp_base_payload_set_options(pay, "application", TRUE, "X-FTC", ftc::rtp::kClockRate);
  return gst_rtp_base_payload_set_outcaps(pay, nullptr);
}

GstFlowReturn PushPacket(GstRTPBasePayload* pay, const uint8_t* data, size_t size, bool marker,
                         GstBuffer* timing) {
  State* s = St(pay);
  if (!s->warned_mtu && size + 12 > GST_RTP_BASE_PAYLOAD_MTU(pay)) {
    s->warned_mtu = true;
    GST_WARNING_OBJECT(pay,
                       "a packet of %zu bytes exceeds the MTU (%u) with the RTP header: IP will "
                       "fragment it (lower ftcenc's packet-size)",
                       size, GST_RTP_BASE_PAYLOAD_MTU(pay));
  }
  GstBuffer* out = gst_rtp_base_payload_allocate_output_buffer(pay, static_cast<guint>(size), 0, 0);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  if (!gst_rtp_buffer_map(out, GST_MAP_WRITE, &rtp)) {
    gst_buffer_unref(out);
    return GST_FLOW_ERROR;
  }
  std::memcpy(gst_rtp_buffer_get_payload(&rtp), data, size);
  gst_rtp_buffer_set_marker(&rtp, marker);
  gst_rtp_buffer_unmap(&rtp);
  gst_buffer_copy_into(out, timing, GST_BUFFER_COPY_TIMESTAMPS, 0, static_cast<gsize>(-1));
  return gst_rtp_base_payload_push(pay, out);
}

GstFlowReturn HandleBuffer(GstRTPBasePayload* pay, GstBuffer* buffer) {
  State* s = St(pay);
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    gst_buffer_unref(buffer);
    return GST_FLOW_ERROR;
  }
  const GstClockTime now = GST_BUFFER_PTS(buffer);
  GST_OBJECT_LOCK(pay);
  const guint interval = s->config_interval;
  GST_OBJECT_UNLOCK(pay);
  GstFlowReturn ret = GST_FLOW_OK;
  if (map.size < ftc::rtp::kMinFtcPayload || map.size > ftc::rtp::kMaxFtcPayload) {
    GST_ELEMENT_WARNING(
        pay, STREAM, FORMAT,
        ("rtpftcpay: a buffer of %zu bytes is not an ftcodec packet: dropped", map.size),
        (nullptr));
  } else if (ftc::IsParameterSetPacket(map.data, map.size)) {
    const uint32_t id = StreamIdOf(map.data, map.size);
    if (s->streams.count(id) == 0 && s->streams.size() >= kMaxStreams) s->streams.clear();
    StreamConfig& c = s->streams[id];
    c.parameter_set.assign(map.data, map.data + map.size);
    c.last_sent = now;
    ret = PushPacket(pay, map.data, map.size,
                     GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_MARKER), buffer);
  } else {
    auto it = s->streams.find(StreamIdOf(map.data, map.size));
    if (interval > 0 && it != s->streams.end() && GST_CLOCK_TIME_IS_VALID(now) &&
        GST_CLOCK_TIME_IS_VALID(it->second.last_sent) &&
        now >= it->second.last_sent + interval * GST_SECOND) {
      GST_DEBUG_OBJECT(pay, "parameter set of stream %08x again", it->first);
      it->second.last_sent = now;
      ret = PushPacket(pay, it->second.parameter_set.data(), it->second.parameter_set.size(), false,
                       buffer);
    }
    if (ret == GST_FLOW_OK) {
      ret = PushPacket(pay, map.data, map.size,
                       GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_MARKER), buffer);
    }
  }
  gst_buffer_unmap(buffer, &map);
  gst_buffer_unref(buffer);
  return ret;
}

void SetProperty(GObject* obj, guint id, const GValue* v, GParamSpec* pspec) {
  if (id == PROP_CONFIG_INTERVAL) {
    GST_OBJECT_LOCK(obj);
    St(obj)->config_interval = g_value_get_uint(v);
    GST_OBJECT_UNLOCK(obj);
  } else {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
  }
}

void GetProperty(GObject* obj, guint id, GValue* v, GParamSpec* pspec) {
  if (id == PROP_CONFIG_INTERVAL) {
    GST_OBJECT_LOCK(obj);
    g_value_set_uint(v, St(obj)->config_interval);
    GST_OBJECT_UNLOCK(obj);
  } else {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
  }
}

void Finalize(GObject* obj) {
  delete St(obj);
  G_OBJECT_CLASS(ftc_rtp_pay_parent_class)->finalize(obj);
}

GstStateChangeReturn ChangeState(GstElement* element, GstStateChange transition) {
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(ftc_rtp_pay_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) St(element)->streams.clear();
  return ret;
}

}  // namespace

static void ftc_rtp_pay_class_init(FtcRtpPayClass* klass) {
  GObjectClass* oc = G_OBJECT_CLASS(klass);
  GstElementClass* ec = GST_ELEMENT_CLASS(klass);
  GstRTPBasePayloadClass* pc = GST_RTP_BASE_PAYLOAD_CLASS(klass);
  oc->set_property = SetProperty;
  oc->get_property = GetProperty;
  oc->finalize = Finalize;
  g_object_class_install_property(
      oc, PROP_CONFIG_INTERVAL,
      g_param_spec_uint("config-interval", "Config interval",
                        "Send the stream's parameter set again before a data packet once this "
                        "many seconds passed since it was last sent; 0: only when the encoder "
                        "sends it",
                        0, 3600, 1,
                        static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_set_static_metadata(
      ec, "RTP ftcodec payloader", "Codec/Payloader/Network/RTP",
      "Puts ftcodec packets into RTP packets, one per RTP packet (docs/rtp.md)", "ftcodec");
  gst_element_class_add_static_pad_template(ec, &sink_template);
  gst_element_class_add_static_pad_template(ec, &src_template);
  ec->change_state = ChangeState;
  pc->set_caps = SetCaps;
  pc->handle_buffer = HandleBuffer;
  GST_DEBUG_CATEGORY_INIT(ftc_rtp_pay_debug, "rtpftcpay", 0, "RTP ftcodec payloader");
}

static void ftc_rtp_pay_init(FtcRtpPay* self) {
  self->st = new State();
  g_object_set(self, "pt", ftc::rtp::kDefaultPayloadType, nullptr);
}
