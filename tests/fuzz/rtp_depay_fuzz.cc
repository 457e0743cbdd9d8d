// Fuzz target: the receiving end of an RTP feature stream without GStreamer (docs/rtp.md):
// rtpftcdepay's checks (gst/rtp_ftc.h: RFC 3550 parsing, the payload check) and then
// ftc::LiveDecoder, popping after every packet and flushing at the end, as ftcdec does. The
// input is a sequence of RTP packets, each preceded by its length (u16, big-endian). Any input
// must give samples or drops — never a crash, a hang or an allocation beyond the decoder's
// limits — and the decoder's counts must add up.
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "ftcodec/packet.h"
#include "gst/rtp_ftc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ftc::LiveDecoderOptions o;
  o.decoder.dtype = ftc::DType::kF32;
  o.decoder.limits.max_conceal_work = int64_t{1} << 27;
  o.conceal = static_cast<ftc::ConcealMethod>(size % 3);  // zero, mean, linear
  ftc::LiveDecoder d(o);
  uint64_t popped = 0, pushed = 0;
  const auto pop_all = [&] {
    while (std::optional<ftc::LiveSample> s = d.pop()) {
      ++popped;
      int64_t n = 1;
      for (int64_t dim : s->tensor.shape()) n *= dim;
      if (s->tensor.num_elements() != n || s->tensor.dtype() != ftc::DType::kF32) std::abort();
    }
  };
  size_t at = 0;
  while (at + 2 <= size) {
    const size_t len = (size_t{data[at]} << 8) | data[at + 1];
    at += 2;
    if (len > size - at) break;
    const uint8_t* packet = data + at;
    at += len;
    ftc::Result<ftc::rtp::RtpPacket> rtp = ftc::rtp::ParseRtpPacket(packet, len);
    if (!rtp.ok()) continue;
    if (rtp->payload < packet || rtp->payload + rtp->payload_size > packet + len) std::abort();
    if (!ftc::rtp::CheckFtcPayload(rtp->payload, rtp->payload_size).ok()) continue;
    d.push(rtp->payload, rtp->payload_size).IgnoreError();
    ++pushed;
    pop_all();
  }
  d.flush();
  pop_all();
  const ftc::LiveStats& s = d.stats();
  if (s.packets.pushed != pushed || s.samples != popped ||
      s.samples_complete + s.samples_partial + s.samples_lost != s.samples) {
    std::abort();
  }
  return 0;
}
