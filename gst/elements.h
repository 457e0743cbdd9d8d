// The elements of ftcodec's GStreamer plugin (docs/rtp.md, "Elements"). Each element's state
// is a C++ object owned through a pointer in its GObject instance.
#ifndef FTCODEC_GST_ELEMENTS_H_
#define FTCODEC_GST_ELEMENTS_H_

#include <gst/gst.h>

#ifdef __cplusplus
#include <string>

namespace ftc::gst {

// A string property's value, or `fallback` when it was set to NULL.
inline std::string StringProperty(const GValue* v, const char* fallback) {
  const char* s = g_value_get_string(v);
  return s ? s : fallback;
}

// The flags of the elements' properties: readable, writable, set before the element runs.
constexpr GParamFlags kPropertyFlags =
    static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

}  // namespace ftc::gst
#endif

G_BEGIN_DECLS

GType ftc_npy_src_get_type(void);
GType ftc_enc_get_type(void);
GType ftc_dec_get_type(void);
GType ftc_npy_sink_get_type(void);
GType ftc_rtp_pay_get_type(void);
GType ftc_rtp_depay_get_type(void);

G_END_DECLS

#endif  // FTCODEC_GST_ELEMENTS_H_
