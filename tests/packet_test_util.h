// Test helpers for packet streams: which packets are parameter sets and which carry data.
#ifndef FTCODEC_TESTS_PACKET_TEST_UTIL_H_
#define FTCODEC_TESTS_PACKET_TEST_UTIL_H_

#include <vector>

#include "bitstream/packet.h"
#include "ftcodec/ftcodec.h"

namespace ftc {

inline bool IsParameterSet(const Bytes& p) {
  return p.size() > kPacketKindOffset && HasPacketMagic(p.data(), p.size()) &&
         p[kPacketKindOffset] == kParameterSetKind;
}

// The data packets of a stream, in order.
inline std::vector<Bytes> DataPackets(const std::vector<Bytes>& packets) {
  std::vector<Bytes> out;
  for (const Bytes& p : packets) {
    if (!IsParameterSet(p)) out.push_back(p);
  }
  return out;
}

// The first parameter set of a stream (empty if none).
inline Bytes FirstParameterSet(const std::vector<Bytes>& packets) {
  for (const Bytes& p : packets) {
    if (IsParameterSet(p)) return p;
  }
  return {};
}

}  // namespace ftc

#endif  // FTCODEC_TESTS_PACKET_TEST_UTIL_H_
