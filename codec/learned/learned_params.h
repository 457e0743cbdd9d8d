// Codec `learned`: its Codec_Params (docs/format.md, "Codec `learned`") and section kinds.
// Torch-free: the parser checks every length before it reads and is fuzzed on its own
// (tests/fuzz/learned_params_fuzz.cc).
#ifndef FTCODEC_CODEC_LEARNED_LEARNED_PARAMS_H_
#define FTCODEC_CODEC_LEARNED_LEARNED_PARAMS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bitstream/frame.h"
#include "bitstream/packet.h"
#include "codec/learned/learned_unit.h"
#include "ftcodec/status.h"

namespace ftc::learned {

inline constexpr uint8_t kCodecId = 4;
inline constexpr uint8_t kInnerAns = 1;
inline constexpr uint8_t kInnerJpeg = 2;
// Unit_Hash (16) + Inner_Codec_Id (1) + Code_C/H/W (12) + Inner_Params_Size (2).
inline constexpr size_t kFixedParamsSize = 31;
inline constexpr size_t kMaxInnerParamsSize = kMaxParamsSize - kFixedParamsSize;
// Section_Kind = kSectionKindStride * Inner_Codec_Id + the inner codec's kind (1..15).
inline constexpr uint8_t kSectionKindStride = 16;
// The Section_Kind of the inner codec's section kind `kind` (1..15).
constexpr uint8_t InnerSectionKind(uint8_t inner_id, uint8_t kind) {
  return static_cast<uint8_t>(kSectionKindStride * inner_id + kind);
}

struct LearnedParams {
  UnitHash unit_hash{};
  uint8_t inner_id = 0;  // kInnerAns or kInnerJpeg
  SampleShape code;      // C', H', W'
  std::vector<uint8_t> inner_params;
};

// "ans" / "jpeg" for a valid Inner_Codec_Id, nullptr otherwise.
const char* InnerCodecName(uint8_t inner_id);

// Parses and checks Codec_Params; kCorruptData naming the field otherwise.
Result<LearnedParams> ParseLearnedParams(const uint8_t* data, size_t size);
// Appends Codec_Params; kInternal if `p` is not valid (ParseLearnedParams would reject it).
Status WriteLearnedParams(const LearnedParams& p, std::vector<uint8_t>* out);

// Codec::packet_sample of `learned`: a packet's bands cut the code C'×H'×W' of its Codec_Params,
// whose inner codec must be ans (docs/format.md, "Learned packets").
Result<SampleShape> LearnedPacketSample(const PacketHeader& header, const SampleShape& sample,
                                        int64_t max_sample_elements);

// Name of a learned section kind ("ans.ranges", "jpeg.picture"), nullptr for kinds no inner
// codec defines.
const char* LearnedSectionName(uint8_t kind);

}  // namespace ftc::learned

#endif  // FTCODEC_CODEC_LEARNED_LEARNED_PARAMS_H_
