// The elements of ftcodec's GStreamer plugin (docs/rtp.md, "Elements"). Each element's state
// is a C++ object owned through a pointer in its GObject instance.
#ifndef FTCODEC_GST_ELEMENTS_H_
#define FTCODEC_GST_ELEMENTS_H_

#include <gst/gst.h>

G_BEGIN_DECLS

GType ftc_npy_src_get_type(void);
GType ftc_enc_get_type(void);
GType ftc_dec_get_type(void);
GType ftc_npy_sink_get_type(void);
GType ftc_rtp_pay_get_type(void);
GType ftc_rtp_depay_get_type(void);

G_END_DECLS

#endif  // FTCODEC_GST_ELEMENTS_H_
