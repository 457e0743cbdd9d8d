// The plugin "ftcodec": ftcnpysrc, ftcenc, ftcdec, ftcnpysink, rtpftcpay, rtpftcdepay.
#include <gst/gst.h>

#include "ftcodec/version.h"
#include "gst/elements.h"

#define PACKAGE "ftcodec"

namespace {

gboolean PluginInit(GstPlugin* plugin) {
  return gst_element_register(plugin, "ftcnpysrc", GST_RANK_NONE, ftc_npy_src_get_type()) &&
         gst_element_register(plugin, "ftcenc", GST_RANK_NONE, ftc_enc_get_type()) &&
         gst_element_register(plugin, "ftcdec", GST_RANK_NONE, ftc_dec_get_type()) &&
         gst_element_register(plugin, "ftcnpysink", GST_RANK_NONE, ftc_npy_sink_get_type()) &&
         gst_element_register(plugin, "rtpftcpay", GST_RANK_NONE, ftc_rtp_pay_get_type()) &&
         gst_element_register(plugin, "rtpftcdepay", GST_RANK_NONE, ftc_rtp_depay_get_type());
}

}  // namespace

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, ftcodec,
                  "ftcodec: feature tensors as packets and RTP streams", PluginInit,
                  FTCODEC_VERSION_STRING, "MIT/X11", "ftcodec", "ftcodec")
