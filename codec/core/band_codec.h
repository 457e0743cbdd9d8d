// The band interface of a codec (docs/format.md, "Packets"; docs/layout.md, "One pipeline").
//
// A sample is cut into bands of rows (bitstream/packet.h, BandLayout). A codec that packetizes
// offers two halves over those bands:
//   - the encoder half prepares a sample once (quantizes it, stores its bytes, reduces it to a
//     learned code) and then codes any set of its bands as the sections of one packet;
//   - the decoder half opens a stream's codec parameters once and decodes the sections of any
//     packet into the values of its bands; a codec whose bands carry a code (learned) also
//     restores each concealed code into the stream's sample.
// A frame is all bands; a packet is some bands. Packetization (codec/packet) calls only these
// halves and never asks which codec it drives.
#ifndef FTCODEC_CODEC_CORE_BAND_CODEC_H_
#define FTCODEC_CODEC_CORE_BAND_CODEC_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bitstream/frame.h"
#include "bitstream/packet.h"
#include "bitstream/symbol_coder.h"
#include "ftcodec/ftcodec.h"

namespace ftc {

// Encoder half, one prepared sample.
class BandSample {
 public:
  virtual ~BandSample() = default;
  // Codec_Params of a packet whose bands have `band_rows` rows (0: whole channels).
  virtual Status WriteParams(uint32_t band_rows, std::vector<uint8_t>* out) const = 0;
  // The symbols a stream's shared model codes (docs/format.md, "Packets": Symbol_Model), every
  // band of `layout` in band order, appended with their shapes; false if the codec's packets
  // have none (raw, lossless ans).
  virtual bool SharedModelSymbols(const BandLayout& layout, std::vector<uint16_t>* symbols,
                                  std::vector<BandShape>* shapes, int* alphabet_bits) const {
    (void)layout;
    (void)symbols;
    (void)shapes;
    (void)alphabet_bits;
    return false;
  }
  // The sections coding `bands` (increasing) of `layout`, in the order the codec's spec gives;
  // with the stream's shared model if `shared` is not null (headless symbol segments).
  virtual Status CodeBands(const BandLayout& layout, const std::vector<uint32_t>& bands,
                           const SymbolModel* shared, std::vector<Section>* out) const = 0;
};

// Encoder half, one tensor: the options checked and what every sample shares (a learned unit)
// loaded once.
class BandEncoder {
 public:
  virtual ~BandEncoder() = default;
  // The sample the bands cut, for samples of shape `sample` (learned: the unit's code).
  virtual SampleShape Coded(const SampleShape& sample) const = 0;
  // Prepares one rank-3 (C,H,W) sample. Safe to call from several threads at once.
  virtual Result<std::unique_ptr<BandSample>> Prepare(const TensorView& sample) const = 0;
  // What else makes a band smaller than fewer rows, for the error of a band that fits in no
  // packet: " (or fewer --bits)", or "".
  virtual const char* SmallerBandHint() const { return ""; }
};

// What the sections of a packet decoded to.
struct DecodedBands {
  std::vector<float> values;  // the elements of the packet's bands, band after band
  // Values every packet of a frame that carries them must agree on (ans: a quantizer range by
  // channel): a key and the value's bits.
  std::vector<std::pair<uint32_t, uint64_t>> shared;
};

// What the decoder half knows of a stream: its first packet's stream-wide fields.
struct BandStream {
  DType dtype = DType::kF32;          // the values' original dtype
  std::vector<uint8_t> params;        // Codec_Params
  uint32_t band_rows = 0;             // the packet header's
  std::vector<uint8_t> shared_model;  // the parameter set's Symbol_Model (empty: none)
  SampleShape coded;                  // the sample the bands cut
  SampleShape sample;                 // the stream's sample (differs from `coded` for a code)
};

// Decoder half, one stream.
class BandDecoder {
 public:
  virtual ~BandDecoder() = default;
  // Decodes the sections of a packet carrying `bands` (increasing) of `layout`; kCorruptData
  // naming what is wrong otherwise. Messages read as "packet: <message>".
  virtual Status DecodeBands(const BandLayout& layout, const std::vector<uint32_t>& bands,
                             const std::vector<SectionRef>& sections, DecodedBands* out) const = 0;
  // "quantizer range of channel 3": what a key of DecodedBands::shared is, for the error when
  // two packets of a frame disagree on it.
  virtual std::string SharedName(uint32_t key) const { return "value " + std::to_string(key); }
  // Whether the bands carry a code that Restore turns into the stream's sample.
  virtual bool Restores() const { return false; }
  // Before the first Restore: loads what restoring needs (learned: the unit in `unit_dir`).
  virtual Status OpenRestore(const std::string& unit_dir) {
    (void)unit_dir;
    return Status::Ok();
  }
  // One rank-3 f32 code (concealed where lost) into the stream's f32 sample.
  virtual Status Restore(const TensorView& code, Tensor* sample) const {
    (void)code;
    (void)sample;
    return Status(StatusCode::kInternal, "this codec's bands carry no code to restore");
  }
};

}  // namespace ftc

#endif  // FTCODEC_CODEC_CORE_BAND_CODEC_H_
