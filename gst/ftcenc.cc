// ftcenc: codes each sample (one buffer) into the packets of a live stream
// (ftc::LivePacketEncoder) and pushes them as one buffer list: one buffer per packet, each with
// the sample's timestamps; the sample's last packet carries GST_BUFFER_FLAG_MARKER and parameter
// sets GST_BUFFER_FLAG_HEADER.
#include <gst/gst.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "ftcodec/profile.h"
#include "gst/elements.h"
#include "gst/tensor_caps.h"

GST_DEBUG_CATEGORY_STATIC(ftc_enc_debug);
#define GST_CAT_DEFAULT ftc_enc_debug

namespace {

enum {
  PROP_0,
  PROP_CODEC,
  PROP_BITS,
  PROP_CLIP,
  PROP_PACKET_SIZE,
  PROP_PROFILE,
  PROP_STREAM_ID,
  PROP_PARAMETER_SET_INTERVAL,
  PROP_BAND_ROWS,
  PROP_COUNT
};

struct State {
  // Properties, and which of them were set (they override a profile's settings).
  std::string codec = "ans";
  int bits = 4;
  std::string clip = "none";
  int packet_size = 1200;
  std::string profile;
  guint stream_id = 0;
  int parameter_set_interval = 64;
  int band_rows = -1;
  bool set[PROP_COUNT] = {};

  GMutex lock;  // the properties against the streaming thread
  // Streaming state.
  ftc::EncoderOptions options;
  ftc::PacketOptions packet_options;
  std::optional<ftc::LivePacketEncoder> encoder;
  std::optional<ftc::gst::SampleFormat> format;
  bool src_caps_sent = false;
  std::atomic<guint> current_id{0};  // the stream's id once known
};

}  // namespace

struct FtcEnc {
  GstElement parent;
  GstPad* sinkpad;
  GstPad* srcpad;
  State* st;
};
struct FtcEncClass {
  GstElementClass parent_class;
};

G_DEFINE_TYPE(FtcEnc, ftc_enc, GST_TYPE_ELEMENT)

namespace {

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(FTC_TENSOR_CAPS_NAME
                    ", type=(string){float32,float16,uint8}; "
                    "other/tensors, format=(string)static, num_tensors=(int)1, "
                    "types=(string)float32"));
GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS,
                                                            GST_STATIC_CAPS(FTC_PACKETS_CAPS_NAME));

FtcEnc* Self(gpointer p) { return reinterpret_cast<FtcEnc*>(p); }

// The options from the properties: a profile's settings first, then the properties set.
ftc::Status MakeOptions(const State& s, ftc::EncoderOptions* o, ftc::PacketOptions* po) {
  *o = ftc::EncoderOptions();
  o->codec = s.codec;
  o->bits = s.bits;
  ftc::Result<ftc::ClipSpec> clip = ftc::ClipSpec::Parse(s.clip);
  if (!clip.ok()) return clip.status().WithContext("clip");
  o->clip = *clip;
  if (!s.profile.empty()) {
    ftc::Result<ftc::Profile> p = ftc::LoadProfile(s.profile);
    if (!p.ok()) return p.status().WithContext(s.profile);
    ftc::ApplyProfile(*p, o);
    if (s.set[PROP_CODEC]) o->codec = s.codec;
    if (s.set[PROP_BITS]) o->bits = s.bits;
    if (s.set[PROP_CLIP]) o->clip = *clip;
    if (s.set[PROP_BAND_ROWS] && s.band_rows >= 0) o->band_rows = s.band_rows;
    // A quantizer setting given explicitly replaces the profile's per-channel plan (as
    // `ftcodec enc` does).
    if (s.set[PROP_CODEC] || s.set[PROP_BITS] || s.set[PROP_CLIP]) o->plan.reset();
  }
  *po = ftc::PacketOptions();
  po->packet_size = s.packet_size;
  po->parameter_set_interval = s.parameter_set_interval;
  if (s.stream_id != 0) po->stream_id = s.stream_id;
  if (s.band_rows >= 0) {
    po->auto_band_rows = false;
    o->band_rows = s.band_rows;
  }
  if (ftc::Status st = o->Validate(); !st.ok()) return st;
  return po->Validate();
}

void SetProperty(GObject* obj, guint id, const GValue* v, GParamSpec* pspec) {
  State* s = Self(obj)->st;
  g_mutex_lock(&s->lock);
  switch (id) {
    case PROP_CODEC:
      s->codec = ftc::gst::StringProperty(v, "");
      break;
    case PROP_BITS:
      s->bits = g_value_get_int(v);
      break;
    case PROP_CLIP:
      s->clip = ftc::gst::StringProperty(v, "none");
      break;
    case PROP_PACKET_SIZE:
      s->packet_size = g_value_get_int(v);
      break;
    case PROP_PROFILE:
      s->profile = ftc::gst::StringProperty(v, "");
      break;
    case PROP_STREAM_ID:
      s->stream_id = g_value_get_uint(v);
      break;
    case PROP_PARAMETER_SET_INTERVAL:
      s->parameter_set_interval = g_value_get_int(v);
      break;
    case PROP_BAND_ROWS:
      s->band_rows = g_value_get_int(v);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
      g_mutex_unlock(&s->lock);
      return;
  }
  s->set[id] = true;
  g_mutex_unlock(&s->lock);
}

void GetProperty(GObject* obj, guint id, GValue* v, GParamSpec* pspec) {
  State* s = Self(obj)->st;
  g_mutex_lock(&s->lock);
  switch (id) {
    case PROP_CODEC:
      g_value_set_string(v, s->codec.c_str());
      break;
    case PROP_BITS:
      g_value_set_int(v, s->bits);
      break;
    case PROP_CLIP:
      g_value_set_string(v, s->clip.c_str());
      break;
    case PROP_PACKET_SIZE:
      g_value_set_int(v, s->packet_size);
      break;
    case PROP_PROFILE:
      g_value_set_string(v, s->profile.empty() ? nullptr : s->profile.c_str());
      break;
    case PROP_STREAM_ID:
      // The stream's id once known (the automatic one too), else the property.
      g_value_set_uint(v, s->current_id != 0 ? s->current_id.load() : s->stream_id);
      break;
    case PROP_PARAMETER_SET_INTERVAL:
      g_value_set_int(v, s->parameter_set_interval);
      break;
    case PROP_BAND_ROWS:
      g_value_set_int(v, s->band_rows);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
  }
  g_mutex_unlock(&s->lock);
}

void Finalize(GObject* obj) {
  State* s = Self(obj)->st;
  g_mutex_clear(&s->lock);
  delete s;
  G_OBJECT_CLASS(ftc_enc_parent_class)->finalize(obj);
}

gboolean SinkEvent(GstPad* pad, GstObject* parent, GstEvent* event) {
  FtcEnc* self = Self(parent);
  State* s = self->st;
  if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
    GstCaps* caps;
    gst_event_parse_caps(event, &caps);
    ftc::Result<ftc::gst::SampleFormat> f = ftc::gst::ParseSampleCaps(caps);
    if (!f.ok()) {
      GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("ftcenc: %s", f.status().message().c_str()),
                        (nullptr));
      gst_event_unref(event);
      return FALSE;
    }
    if (s->format && !(*s->format == *f)) {
      g_mutex_lock(&s->lock);
      const bool fixed_id = s->stream_id != 0;
      g_mutex_unlock(&s->lock);
      if (fixed_id) {
        GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                          ("ftcenc: the sample format changed (%s %s): a live stream has one "
                           "shape, and stream-id is fixed",
                           ftc::gst::TypeName(f->dtype), ftc::gst::DimsString(f->shape).c_str()),
                          (nullptr));
        gst_event_unref(event);
        return FALSE;
      }
      GST_INFO_OBJECT(self, "sample format changed: a new stream");
      s->encoder.reset();
    }
    s->format = *f;
    gst_event_unref(event);
    if (!s->src_caps_sent) {
      s->src_caps_sent = true;
      GstCaps* out = gst_caps_new_empty_simple(FTC_PACKETS_CAPS_NAME);
      const gboolean ok = gst_pad_push_event(self->srcpad, gst_event_new_caps(out));
      gst_caps_unref(out);
      return ok;
    }
    return TRUE;
  }
  return gst_pad_event_default(pad, parent, event);
}

GstFlowReturn Chain(GstPad*, GstObject* parent, GstBuffer* in) {
  FtcEnc* self = Self(parent);
  State* s = self->st;
  if (!s->format) {
    gst_buffer_unref(in);
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("ftcenc: a buffer before caps"), (nullptr));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!s->encoder) {
    g_mutex_lock(&s->lock);
    ftc::Status st = MakeOptions(*s, &s->options, &s->packet_options);
    g_mutex_unlock(&s->lock);
    if (!st.ok()) {
      gst_buffer_unref(in);
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("ftcenc: %s", st.ToString().c_str()), (nullptr));
      return GST_FLOW_ERROR;
    }
    s->encoder.emplace(s->options, s->packet_options);
  }
  GstMapInfo map;
  if (!gst_buffer_map(in, &map, GST_MAP_READ)) {
    gst_buffer_unref(in);
    GST_ELEMENT_ERROR(self, RESOURCE, READ, ("ftcenc: cannot map a buffer"), (nullptr));
    return GST_FLOW_ERROR;
  }
  const size_t want = s->format->bytes();
  if (map.size != want) {
    gst_buffer_unmap(in, &map);
    gst_buffer_unref(in);
    GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                      ("ftcenc: a buffer of %zu bytes; a %s sample of dims %s has %zu", map.size,
                       ftc::gst::TypeName(s->format->dtype),
                       ftc::gst::DimsString(s->format->shape).c_str(), want),
                      (nullptr));
    return GST_FLOW_ERROR;
  }
  const ftc::TensorView view =
      ftc::TensorView::Contiguous(map.data, s->format->dtype, s->format->shape);
  ftc::Result<std::vector<ftc::Bytes>> packets = s->encoder->encode(view);
  gst_buffer_unmap(in, &map);
  s->current_id = s->encoder->stream_id();
  if (!packets.ok()) {
    gst_buffer_unref(in);
    GST_ELEMENT_ERROR(self, STREAM, ENCODE, ("ftcenc: %s", packets.status().ToString().c_str()),
                      (nullptr));
    return GST_FLOW_ERROR;
  }
  GstBufferList* list = gst_buffer_list_new_sized(static_cast<guint>(packets->size()));
  for (size_t i = 0; i < packets->size(); ++i) {
    const ftc::Bytes& p = (*packets)[i];
    GstBuffer* b = gst_buffer_new_allocate(nullptr, p.size(), nullptr);
    gst_buffer_fill(b, 0, p.data(), p.size());
    gst_buffer_copy_into(b, in, GST_BUFFER_COPY_TIMESTAMPS, 0, static_cast<gsize>(-1));
    if (ftc::IsParameterSetPacket(p.data(), p.size())) {
      GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_HEADER);
    }
    if (i + 1 == packets->size()) GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_MARKER);
    gst_buffer_list_add(list, b);
  }
  gst_buffer_unref(in);
  if (gst_buffer_list_length(list) == 0) {
    gst_buffer_list_unref(list);
    return GST_FLOW_OK;
  }
  return gst_pad_push_list(self->srcpad, list);
}

GstStateChangeReturn ChangeState(GstElement* element, GstStateChange transition) {
  FtcEnc* self = Self(element);
  State* s = self->st;
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    // Bad options fail here, before any data, with the library's message.
    ftc::EncoderOptions o;
    ftc::PacketOptions po;
    g_mutex_lock(&s->lock);
    ftc::Status st = MakeOptions(*s, &o, &po);
    g_mutex_unlock(&s->lock);
    if (!st.ok()) {
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("ftcenc: %s", st.ToString().c_str()), (nullptr));
      return GST_STATE_CHANGE_FAILURE;
    }
  }
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(ftc_enc_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    s->encoder.reset();
    s->format.reset();
    s->src_caps_sent = false;
    s->current_id = 0;
  }
  return ret;
}

}  // namespace

static void ftc_enc_class_init(FtcEncClass* klass) {
  GObjectClass* oc = G_OBJECT_CLASS(klass);
  GstElementClass* ec = GST_ELEMENT_CLASS(klass);
  oc->set_property = SetProperty;
  oc->get_property = GetProperty;
  oc->finalize = Finalize;
  const GParamFlags flags = ftc::gst::kPropertyFlags;
  g_object_class_install_property(
      oc, PROP_CODEC,
      g_param_spec_string("codec", "Codec", "Codec of the packets: ans, raw or learned", "ans",
                          flags));
  g_object_class_install_property(
      oc, PROP_BITS, g_param_spec_int("bits", "Bits", "Quantizer bits (ans)", 1, 16, 4, flags));
  g_object_class_install_property(
      oc, PROP_CLIP,
      g_param_spec_string("clip", "Clip",
                          "Clipping range (ans): none | A:B | Ksigma (3sigma) | pP (p99.9)", "none",
                          flags));
  g_object_class_install_property(
      oc, PROP_PACKET_SIZE,
      g_param_spec_int("packet-size", "Packet size",
                       "Largest packet in bytes (1200 fits an Ethernet MTU with IP, UDP and RTP "
                       "headers)",
                       64, 65535, 1200, flags));
  g_object_class_install_property(
      oc, PROP_PROFILE,
      g_param_spec_string("profile", "Profile",
                          "A profile made by `ftcodec tune`: its codec settings (properties set "
                          "explicitly override them)",
                          nullptr, flags));
  g_object_class_install_property(
      oc, PROP_STREAM_ID,
      g_param_spec_uint("stream-id", "Stream id",
                        "Stream_Id of the packets; 0: automatic (a checksum of the stream's first "
                        "packets). Reads back the stream's id once known",
                        0, G_MAXUINT32, 0, flags));
  g_object_class_install_property(
      oc, PROP_PARAMETER_SET_INTERVAL,
      g_param_spec_int("parameter-set-interval", "Parameter set interval",
                       "The parameter set goes before every this-many-th data packet", 1, 65535, 64,
                       flags));
  g_object_class_install_property(
      oc, PROP_BAND_ROWS,
      g_param_spec_int("band-rows", "Band rows",
                       "Rows per band; -1: automatic (one row per band), 0: whole channels", -1,
                       65535, -1, flags));
  gst_element_class_set_static_metadata(
      ec, "ftcodec live packet encoder", "Codec/Encoder/Tensor",
      "Codes feature tensors, one sample per buffer, into ftcodec packets (a live stream)",
      "ftcodec");
  gst_element_class_add_static_pad_template(ec, &sink_template);
  gst_element_class_add_static_pad_template(ec, &src_template);
  ec->change_state = ChangeState;
  GST_DEBUG_CATEGORY_INIT(ftc_enc_debug, "ftcenc", 0, "ftcodec live packet encoder");
}

static void ftc_enc_init(FtcEnc* self) {
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
