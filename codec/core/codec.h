// The internal codec interface. A codec is one entry in the table of codec/core/codec_registry.cc:
// adding a codec means adding a file that defines a `Codec` and one line in that table.
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

struct Codec {
  uint8_t id;        // Codec_Id (docs/format.md)
  const char* name;  // the --codec name
  // Codec-specific option checks (general ones are in EncoderOptions::Validate), given the input
  // dtype. Returns kInvalidArgument naming the problem.
  Status (*check_options)(const EncoderOptions& options, DType input_dtype);
  // Encodes one sample: `sample` is a rank-3 (C,H,W) view, any dtype, any strides.
  Status (*encode)(const TensorView& sample, const EncoderOptions& options, CodecEncodeOutput* out);
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
  // in a packet. nullptr: the codec does not packetize (and the three below are nullptr too).
  Result<SampleShape> (*packet_sample)(const PacketHeader& header, const SampleShape& sample,
                                       int64_t max_sample_elements);
  // Packet mode, encoder half (codec/core/band_codec.h): checks `options` for packets of samples
  // of dtype `input` and opens the encoder; kInvalidArgument naming the problem otherwise.
  Result<std::unique_ptr<BandEncoder>> (*band_encoder)(const EncoderOptions& options, DType input);
  // Packet mode, decoder half: opens a stream from its first packet's fields; kCorruptData for
  // parameters the codec rejects (messages read as "packet: <message>").
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

// The codecs built into this library (learned only once a unit loader is registered:
// codec/learned/learned_unit.h).
const std::vector<const Codec*>& BuiltinCodecs();
const Codec* FindCodecById(uint8_t id);
// As FindCodecById, but also a codec this build defines whose table entry waits for a
// registration (learned without a unit loader): enough to parse and describe its packets.
const Codec* FindCodecFormatById(uint8_t id);
// Returns the codec or a status: kInvalidArgument (unknown name) or kNotBuiltIn.
Result<const Codec*> FindCodecByName(const std::string& name);
// Every codec name the format defines, built in or not.
const std::vector<std::string>& KnownCodecNames();
// Codec_Id -> name for ids the format defines, nullptr otherwise.
const char* KnownCodecNameForId(uint8_t id);

}  // namespace ftc

#endif  // FTCODEC_CODEC_CORE_CODEC_H_
