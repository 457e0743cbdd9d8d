// ftcnpysink: collects the samples it receives and writes them as one N × sample .npy, once
// `num-samples` arrived (then it returns GST_FLOW_EOS: upstream sends EOS down and a pipeline
// whose live source never ends, such as udpsrc, stops) or at the end of the stream. The file is
// written to LOCATION.tmp and renamed: never half written.
#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "ftcodec/npy.h"
#include "gst/elements.h"
#include "gst/tensor_caps.h"

GST_DEBUG_CATEGORY_STATIC(ftc_npy_sink_debug);
#define GST_CAT_DEFAULT ftc_npy_sink_debug

namespace {

enum { PROP_0, PROP_LOCATION, PROP_NUM_SAMPLES, PROP_SAMPLES };

struct State {
  GMutex lock;
  std::string location;
  guint num_samples = 0;
  std::optional<ftc::gst::SampleFormat> format;
  std::vector<uint8_t> data;
  guint samples = 0;  // received (under lock: the `samples` property)
  bool written = false;
};

}  // namespace

struct FtcNpySink {
  GstBaseSink parent;
  State* st;
};
struct FtcNpySinkClass {
  GstBaseSinkClass parent_class;
};

G_DEFINE_TYPE(FtcNpySink, ftc_npy_sink, GST_TYPE_BASE_SINK)

namespace {

GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(FTC_TENSOR_CAPS_NAME ", type=(string){float32,float16,uint8}"));

State* St(gpointer p) { return reinterpret_cast<FtcNpySink*>(p)->st; }

// Writes the samples so far; false (with an element error) on failure.
bool WriteOut(GstBaseSink* sink) {
  State* s = St(sink);
  s->written = true;
  if (!s->format || s->samples == 0) {
    GST_ELEMENT_WARNING(sink, STREAM, DECODE,
                        ("ftcnpysink: no sample arrived: %s not written", s->location.c_str()),
                        (nullptr));
    return true;
  }
  ftc::Shape shape = s->format->shape;
  shape.insert(shape.begin(), static_cast<int64_t>(s->samples));
  ftc::Result<std::vector<uint8_t>> npy =
      ftc::WriteNpy(ftc::TensorView::Contiguous(s->data.data(), s->format->dtype, shape));
  if (!npy.ok()) {
    GST_ELEMENT_ERROR(sink, LIBRARY, ENCODE, ("ftcnpysink: %s", npy.status().ToString().c_str()),
                      (nullptr));
    return false;
  }
  const std::string tmp = s->location + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  bool ok = f != nullptr && std::fwrite(npy->data(), 1, npy->size(), f) == npy->size();
  if (f != nullptr) ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), s->location.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    GST_ELEMENT_ERROR(
        sink, RESOURCE, WRITE,
        ("ftcnpysink: cannot write '%s': %s", s->location.c_str(), std::strerror(err)), (nullptr));
    return false;
  }
  GST_INFO_OBJECT(sink, "wrote %u samples to %s", s->samples, s->location.c_str());
  return true;
}

gboolean SetCaps(GstBaseSink* sink, GstCaps* caps) {
  State* s = St(sink);
  ftc::Result<ftc::gst::SampleFormat> f = ftc::gst::ParseSampleCaps(caps);
  if (!f.ok()) {
    GST_ELEMENT_ERROR(sink, STREAM, FORMAT, ("ftcnpysink: %s", f.status().message().c_str()),
                      (nullptr));
    return FALSE;
  }
  if (s->format && !(*s->format == *f) && s->samples > 0) {
    GST_ELEMENT_ERROR(
        sink, STREAM, FORMAT,
        ("ftcnpysink: the sample format changed from %s %s to %s %s: one .npy "
         "holds one shape",
         ftc::gst::TypeName(s->format->dtype), ftc::gst::DimsString(s->format->shape).c_str(),
         ftc::gst::TypeName(f->dtype), ftc::gst::DimsString(f->shape).c_str()),
        (nullptr));
    return FALSE;
  }
  s->format = *f;
  return TRUE;
}

GstFlowReturn Render(GstBaseSink* sink, GstBuffer* buffer) {
  State* s = St(sink);
  if (s->written) return GST_FLOW_EOS;
  if (!s->format) return GST_FLOW_NOT_NEGOTIATED;
  const size_t want = s->format->bytes();
  if (gst_buffer_get_size(buffer) != want) {
    GST_ELEMENT_ERROR(
        sink, STREAM, FORMAT,
        ("ftcnpysink: a buffer of %zu bytes; a sample has %zu", gst_buffer_get_size(buffer), want),
        (nullptr));
    return GST_FLOW_ERROR;
  }
  const size_t at = s->data.size();
  s->data.resize(at + want);
  gst_buffer_extract(buffer, 0, s->data.data() + at, want);
  g_mutex_lock(&s->lock);
  ++s->samples;
  const bool done = s->num_samples > 0 && s->samples >= s->num_samples;
  g_mutex_unlock(&s->lock);
  if (!done) return GST_FLOW_OK;
  if (!WriteOut(sink)) return GST_FLOW_ERROR;
  // Upstream stops: the element that runs the streaming thread (udpsrc, rtpjitterbuffer) sends
  // EOS down, this sink posts the EOS message and the pipeline ends.
  return GST_FLOW_EOS;
}

gboolean Event(GstBaseSink* sink, GstEvent* event) {
  State* s = St(sink);
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS && !s->written) {
    if (!WriteOut(sink)) {
      gst_event_unref(event);
      return FALSE;
    }
  }
  return GST_BASE_SINK_CLASS(ftc_npy_sink_parent_class)->event(sink, event);
}

gboolean Start(GstBaseSink* sink) {
  State* s = St(sink);
  if (s->location.empty()) {
    GST_ELEMENT_ERROR(sink, RESOURCE, NOT_FOUND, ("ftcnpysink: no location given"), (nullptr));
    return FALSE;
  }
  s->format.reset();
  s->data.clear();
  g_mutex_lock(&s->lock);
  s->samples = 0;
  g_mutex_unlock(&s->lock);
  s->written = false;
  return TRUE;
}

void SetProperty(GObject* obj, guint id, const GValue* v, GParamSpec* pspec) {
  State* s = St(obj);
  g_mutex_lock(&s->lock);
  switch (id) {
    case PROP_LOCATION:
      s->location = ftc::gst::StringProperty(v, "");
      break;
    case PROP_NUM_SAMPLES:
      s->num_samples = g_value_get_uint(v);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
  }
  g_mutex_unlock(&s->lock);
}

void GetProperty(GObject* obj, guint id, GValue* v, GParamSpec* pspec) {
  State* s = St(obj);
  g_mutex_lock(&s->lock);
  switch (id) {
    case PROP_LOCATION:
      g_value_set_string(v, s->location.c_str());
      break;
    case PROP_NUM_SAMPLES:
      g_value_set_uint(v, s->num_samples);
      break;
    case PROP_SAMPLES:
      g_value_set_uint(v, s->samples);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
  }
  g_mutex_unlock(&s->lock);
}

void Finalize(GObject* obj) {
  State* s = St(obj);
  g_mutex_clear(&s->lock);
  delete s;
  G_OBJECT_CLASS(ftc_npy_sink_parent_class)->finalize(obj);
}

}  // namespace

static void ftc_npy_sink_class_init(FtcNpySinkClass* klass) {
  GObjectClass* oc = G_OBJECT_CLASS(klass);
  GstElementClass* ec = GST_ELEMENT_CLASS(klass);
  GstBaseSinkClass* bc = GST_BASE_SINK_CLASS(klass);
  oc->set_property = SetProperty;
  oc->get_property = GetProperty;
  oc->finalize = Finalize;
  const GParamFlags flags = ftc::gst::kPropertyFlags;
  g_object_class_install_property(
      oc, PROP_LOCATION,
      g_param_spec_string("location", "Location",
                          "The .npy to write (N × sample; written to LOCATION.tmp, then renamed)",
                          nullptr, flags));
  g_object_class_install_property(
      oc, PROP_NUM_SAMPLES,
      g_param_spec_uint("num-samples", "Samples",
                        "Write the file and end the stream once this many samples arrived; 0: "
                        "every sample until EOS",
                        0, G_MAXUINT, 0, flags));
  g_object_class_install_property(
      oc, PROP_SAMPLES,
      g_param_spec_uint("samples", "Samples received", "Samples received so far", 0, G_MAXUINT, 0,
                        static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_set_static_metadata(ec, "ftcodec .npy sink", "Sink/Tensor",
                                        "Writes the samples it receives into one .npy file",
                                        "ftcodec");
  gst_element_class_add_static_pad_template(ec, &sink_template);
  bc->set_caps = SetCaps;
  bc->render = Render;
  bc->event = Event;
  bc->start = Start;
  GST_DEBUG_CATEGORY_INIT(ftc_npy_sink_debug, "ftcnpysink", 0, "ftcodec .npy sink");
}

static void ftc_npy_sink_init(FtcNpySink* self) {
  self->st = new State();
  g_mutex_init(&self->st->lock);
  // Samples are written as they come: no waiting for the clock.
  gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE);
}
