// The internal codec interface. A codec has two halves, each one entry in a table: its encoder
// (CodecEncoder, listed in codec/core/enc_codec_registry.cc) and its decoder (CodecDecoder,
// codec/core/dec_codec_registry.cc). The halves live in separate files (enc_*.cc, dec_*.cc), so
// that a program that only decodes links no encoder (the ftcodec_decoder library).
#ifndef FTCODEC_CODEC_CORE_CODEC_H_
#define FTCODEC_CODEC_CORE_CODEC_H_

#include <string>
#include <utility>
#include <vector>

#include "bitstream/frame.h"
#include "bitstream/packet.h"
#include "codec/core/band_codec.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"

namespace ftc {

struct CodecEncodeOutput {
  std::vector<uint8_t> params;    // Codec_Params of the frame
  std::vector<Section> sections;  // in the order the codec's spec gives
};

using ParamList = std::vector<std::pair<std::string, std::string>>;

// The settings a rate search walks (codec/core/enc_api.cc): frame sizes shrink along the rungs.
struct RateLadder {
  int (*rungs)(const EncoderOptions& options);
  // `options` at rung r.
  void (*at)(const EncoderOptions& options, int rung, EncoderOptions* out);
  // The coarsest setting, for the error when even it does not fit ("1 bit").
  const char* (*coarsest)(const EncoderOptions& options);
};

// The encoder half.
struct CodecEncoder {
  uint8_t id;        // Codec_Id (docs/format.md)
  const char* name;  // the --codec name
  // Codec-specific option checks (general ones are in EncoderOptions::Validate), given the input
  // dtype. Returns kInvalidArgument naming the problem.
  Status (*check_options)(const EncoderOptions& options, DType input_dtype);
  // Encodes one sample: `sample` is a rank-3 (C,H,W) view, any dtype, any strides.
  Status (*encode)(const TensorView& sample, const EncoderOptions& options, CodecEncodeOutput* out);
  // Packet mode (codec/core/band_codec.h): checks `options` for packets of samples of dtype
  // `input` and opens the encoder half over bands; kInvalidArgument naming the problem otherwise.
  // nullptr: the codec does not packetize.
  Result<std::unique_ptr<BandEncoder>> (*band_encoder)(const EncoderOptions& options, DType input);
  // Rate control (EncoderOptions::target_bytes): the settings from finest (rung 0) to coarsest
  // (rung rungs-1) that a search walks; nullptr: the codec has no rate control.
  const RateLadder* rate_ladder;
};

// The decoder half.
struct CodecDecoder {
  uint8_t id;
  const char* name;
  // Decodes one frame into *out, shape {C,H,W}; the codec picks the dtype (raw: the stored one;
  // lossy codecs: f32). Must validate params and sections against the spec. `options` carries
  // what a codec may need beyond the stream (learned: the unit directory); the caller has
  // validated it and applies `dtype` itself.
  Status (*decode)(const ParsedFrame& frame, const DecoderOptions& options, Tensor* out);
  // Human-readable codec parameters for `ftcodec info`; validates like decode.
  Status (*describe)(const ParsedFrame& frame, ParamList* out);
  // Name of a section kind ("data"), or nullptr if the kind is not valid for this codec.
  const char* (*section_name)(uint8_t kind);
  // Packet mode (docs/format.md, "Packets"): the sample a packet's bands cut, from its header
  // (dtype, Codec_Params) and the tensor's sample; kCorruptData for parameters the codec rejects
  // in a packet. nullptr: the codec does not packetize (and band_decoder is nullptr too).
  Result<SampleShape> (*packet_sample)(const PacketHeader& header, const SampleShape& sample,
                                       int64_t max_sample_elements);
  // Packet mode, decoder half (codec/core/band_codec.h): opens a stream from its first packet's
  // fields; kCorruptData for parameters the codec rejects (messages read as "packet: ...").
  Result<std::unique_ptr<BandDecoder>> (*band_decoder)(const BandStream& stream);
  // `ftcodec info`: fills the codec's own fields of a valid packet's PacketInfo (nullptr: none).
  void (*describe_packet)(const PacketHeader& header, PacketInfo* info);
  // The codec writes multi-sample frames (docs/format.md, "Multi-sample frames"); the decoder
  // refuses the flag on a frame of any other codec.
  bool multi_sample;
};

// packet_sample of codecs whose bands cut the sample itself.
Result<SampleShape> PacketSampleIsTheSample(const PacketHeader& header, const SampleShape& sample,
                                            int64_t max_sample_elements);

// The rank-3 (C,H,W) view of sample n of a tensor (rank 1..4; docs/format.md, "The sample").
TensorView SampleView(const TensorView& tensor, int64_t n);
// The format's limits on a tensor to encode: dimensions, total and per-sample element counts.
Status CheckTensorLimits(const TensorView& tensor);

// The encoders built into this library (learned only once a unit loader is registered:
// codec/learned/learned_unit.h), in id order.
std::vector<const CodecEncoder*> BuiltinEncoders();
// Returns the encoder or a status: kInvalidArgument (unknown name) or kNotBuiltIn.
Result<const CodecEncoder*> FindEncoderByName(const std::string& name);

// The decoders built into this library, in id order (learned as above).
std::vector<const CodecDecoder*> BuiltinDecoders();
const CodecDecoder* FindDecoderById(uint8_t id);
// As FindDecoderById, but also a codec this build defines whose table entry waits for a
// registration (learned without a unit loader): enough to parse and describe its packets.
const CodecDecoder* FindDecoderFormatById(uint8_t id);

// Every codec name the format defines, built in or not.
const std::vector<std::string>& KnownCodecNames();
// Codec_Id -> name for ids the format defines, nullptr otherwise.
const char* KnownCodecNameForId(uint8_t id);
// The codec-specific options of EncoderOptions, and which codecs the format lets take them
// (codec/core/codec_names.cc): EncoderOptions::Validate refuses them for any other codec.
enum CodecOption : uint32_t {
  kCodecTakesPlan = 1u << 0,          // plan, step_shift (a profile's quantization plan)
  kCodecTakesTargetBytes = 1u << 1,   // target_bytes (its CodecEncoder has a rate ladder)
  kCodecTakesFramesLayout = 1u << 2,  // layout "frames"
  kCodecTakesSequence = 1u << 3,      // sequence (a batch as one multi-sample frame)
  kCodecTakesUnit = 1u << 4,          // unit, inner (a learned unit)
  kCodecIsInner = 1u << 5,            // may be a learned unit's inner codec
  kCodecTakesQuality = 1u << 6,       // quality (a picture codec's)
  kCodecInProfiles = 1u << 7,         // a tune profile's settings may name it
};
bool CodecTakes(const std::string& name, CodecOption option);
// "ans and jpeg" (with conjunction "and"): the codecs that take `option`.
std::string CodecNamesWith(CodecOption option, const char* conjunction);
// "codec ans" / "codecs ans and jpeg".
std::string CodecsTaking(CodecOption option);

// The kNotBuiltIn or kInvalidArgument status for a codec name no table of this build lists;
// `available` names those it does.
Status CodecNotFound(const std::string& name, const std::vector<std::string>& available);

}  // namespace ftc

#endif  // FTCODEC_CODEC_CORE_CODEC_H_
