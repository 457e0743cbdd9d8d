// ftcnpysrc: plays the samples of an .npy file (N × sample) as a live source, one sample per
// buffer at `rate` samples per second (PTS i / rate, duration 1 / rate), then EOS.
#include <gst/base/gstpushsrc.h>
#include <gst/gst.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ftcodec/npy.h"
#include "gst/elements.h"
#include "gst/tensor_caps.h"

GST_DEBUG_CATEGORY_STATIC(ftc_npy_src_debug);
#define GST_CAT_DEFAULT ftc_npy_src_debug

namespace {

struct State {
  std::string location;
  int rate = 30;
  bool loop = false;  // start over after the last sample (num-buffers ends it)
  // Loaded by start().
  ftc::Tensor tensor;
  ftc::gst::SampleFormat format;
  int64_t samples = 0;
  int64_t next = 0;
};

}  // namespace

struct FtcNpySrc {
  GstPushSrc parent;
  State* st;
};
struct FtcNpySrcClass {
  GstPushSrcClass parent_class;
};

G_DEFINE_TYPE(FtcNpySrc, ftc_npy_src, GST_TYPE_PUSH_SRC)

namespace {

enum { PROP_0, PROP_LOCATION, PROP_RATE, PROP_LOOP };

GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(FTC_TENSOR_CAPS_NAME ", type=(string){float32,float16,uint8}, "
                                         "framerate=(fraction)[1/1, 10000/1]"));

State* St(gpointer self) { return reinterpret_cast<FtcNpySrc*>(self)->st; }

GstClockTime Pts(const State* s, int64_t i) {
  return gst_util_uint64_scale(static_cast<guint64>(i), GST_SECOND, static_cast<guint64>(s->rate));
}

void SetProperty(GObject* obj, guint id, const GValue* v, GParamSpec* pspec) {
  State* s = St(obj);
  switch (id) {
    case PROP_LOCATION:
      s->location = ftc::gst::StringProperty(v, "");
      break;
    case PROP_RATE:
      s->rate = g_value_get_int(v);
      break;
    case PROP_LOOP:
      s->loop = g_value_get_boolean(v);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
  }
}

void GetProperty(GObject* obj, guint id, GValue* v, GParamSpec* pspec) {
  State* s = St(obj);
  switch (id) {
    case PROP_LOCATION:
      g_value_set_string(v, s->location.c_str());
      break;
    case PROP_RATE:
      g_value_set_int(v, s->rate);
      break;
    case PROP_LOOP:
      g_value_set_boolean(v, s->loop);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
  }
}

void Finalize(GObject* obj) {
  delete St(obj);
  G_OBJECT_CLASS(ftc_npy_src_parent_class)->finalize(obj);
}

bool ReadFile(const std::string& path, std::vector<uint8_t>* out, std::string* error) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    *error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->insert(out->end(), buf, buf + n);
  const bool bad = std::ferror(f);
  std::fclose(f);
  if (bad) *error = "cannot read '" + path + "'";
  return !bad;
}

gboolean Start(GstBaseSrc* base) {
  State* s = St(base);
  if (s->location.empty()) {
    GST_ELEMENT_ERROR(base, RESOURCE, NOT_FOUND, ("ftcnpysrc: no location given"), (nullptr));
    return FALSE;
  }
  std::vector<uint8_t> bytes;
  std::string error;
  if (!ReadFile(s->location, &bytes, &error)) {
    GST_ELEMENT_ERROR(base, RESOURCE, OPEN_READ, ("ftcnpysrc: %s", error.c_str()), (nullptr));
    return FALSE;
  }
  ftc::Result<ftc::NpyArray> a = ftc::ReadNpy(bytes.data(), bytes.size());
  if (!a.ok()) {
    GST_ELEMENT_ERROR(base, STREAM, DECODE,
                      ("ftcnpysrc: %s: %s", s->location.c_str(), a.status().ToString().c_str()),
                      (nullptr));
    return FALSE;
  }
  ftc::Tensor& t = a->tensor;
  if (t.rank() < 2) {
    GST_ELEMENT_ERROR(base, STREAM, FORMAT,
                      ("ftcnpysrc: %s: shape %s is not N × sample (rank 2 to 4)",
                       s->location.c_str(), ftc::ShapeToString(t.shape()).c_str()),
                      (nullptr));
    return FALSE;
  }
  if (t.dtype() == ftc::DType::kBF16) t = t.ConvertTo(ftc::DType::kF32);
  s->format.dtype = t.dtype();
  s->format.shape.assign(t.shape().begin() + 1, t.shape().end());
  s->samples = t.shape()[0];
  s->tensor = std::move(t);
  s->next = 0;
  GST_INFO_OBJECT(base, "%s: %" G_GINT64_FORMAT " samples of %s %s", s->location.c_str(),
                  s->samples, ftc::gst::TypeName(s->format.dtype),
                  ftc::gst::DimsString(s->format.shape).c_str());
  return TRUE;
}

gboolean Stop(GstBaseSrc* base) {
  State* s = St(base);
  s->tensor = ftc::Tensor();
  s->samples = 0;
  return TRUE;
}

GstCaps* GetCaps(GstBaseSrc* base, GstCaps* filter) {
  State* s = St(base);
  GstCaps* caps;
  if (s->samples > 0) {
    caps = ftc::gst::MakeTensorCaps(s->format, s->rate, 1);
  } else {
    caps = gst_pad_get_pad_template_caps(GST_BASE_SRC_PAD(base));
  }
  if (filter != nullptr) {
    GstCaps* i = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    caps = i;
  }
  return caps;
}

void GetTimes(GstBaseSrc*, GstBuffer* buffer, GstClockTime* start, GstClockTime* end) {
  // Live: basesrc waits for the clock to reach each buffer's PTS (its running time).
  *start = GST_BUFFER_PTS(buffer);
  *end = GST_CLOCK_TIME_IS_VALID(*start) && GST_BUFFER_DURATION_IS_VALID(buffer)
             ? *start + GST_BUFFER_DURATION(buffer)
             : GST_CLOCK_TIME_NONE;
}

gboolean Query(GstBaseSrc* base, GstQuery* query) {
  if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    // One sample's duration: a sample is complete at the end of its interval.
    const GstClockTime latency = gst_util_uint64_scale_int(GST_SECOND, 1, St(base)->rate);
    // Samples come from memory: any amount can wait downstream (no maximum).
    gst_query_set_latency(query, TRUE, latency, GST_CLOCK_TIME_NONE);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS(ftc_npy_src_parent_class)->query(base, query);
}

GstFlowReturn Create(GstPushSrc* src, GstBuffer** out) {
  State* s = St(src);
  if (s->next >= s->samples && !s->loop) return GST_FLOW_EOS;
  const size_t bytes = s->format.bytes();
  GstBuffer* b = gst_buffer_new_allocate(nullptr, bytes, nullptr);
  gst_buffer_fill(b, 0, s->tensor.data() + static_cast<size_t>(s->next % s->samples) * bytes,
                  bytes);
  GST_BUFFER_PTS(b) = Pts(s, s->next);
  GST_BUFFER_DTS(b) = GST_BUFFER_PTS(b);
  GST_BUFFER_DURATION(b) = Pts(s, s->next + 1) - Pts(s, s->next);
  GST_BUFFER_OFFSET(b) = static_cast<guint64>(s->next);
  GST_BUFFER_OFFSET_END(b) = static_cast<guint64>(s->next + 1);
  ++s->next;
  *out = b;
  return GST_FLOW_OK;
}

}  // namespace

static void ftc_npy_src_class_init(FtcNpySrcClass* klass) {
  GObjectClass* oc = G_OBJECT_CLASS(klass);
  GstElementClass* ec = GST_ELEMENT_CLASS(klass);
  GstBaseSrcClass* bc = GST_BASE_SRC_CLASS(klass);
  oc->set_property = SetProperty;
  oc->get_property = GetProperty;
  oc->finalize = Finalize;
  const GParamFlags flags = ftc::gst::kPropertyFlags;
  g_object_class_install_property(
      oc, PROP_LOCATION,
      g_param_spec_string(
          "location", "Location",
          ".npy file: N × sample (N×C×H×W, N×H×W or N×D), float32, float16 or uint8", nullptr,
          flags));
  g_object_class_install_property(
      oc, PROP_RATE, g_param_spec_int("rate", "Rate", "Samples per second", 1, 10000, 30, flags));
  g_object_class_install_property(
      oc, PROP_LOOP,
      g_param_spec_boolean("loop", "Loop",
                           "Start over after the last sample (num-buffers ends the stream)", FALSE,
                           flags));
  gst_element_class_set_static_metadata(
      ec, "ftcodec .npy source", "Source/Tensor",
      "Plays the samples of an .npy file live, one sample per buffer at a fixed rate", "ftcodec");
  gst_element_class_add_static_pad_template(ec, &src_template);
  bc->start = Start;
  bc->stop = Stop;
  bc->get_caps = GetCaps;
  bc->get_times = GetTimes;
  bc->query = Query;
  GST_PUSH_SRC_CLASS(klass)->create = Create;
  GST_DEBUG_CATEGORY_INIT(ftc_npy_src_debug, "ftcnpysrc", 0, "ftcodec .npy source");
}

static void ftc_npy_src_init(FtcNpySrc* self) {
  self->st = new State();
  gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}
