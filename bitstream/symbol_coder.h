// The entropy coder of `--codec ans`: a context-modelled, N-lane interleaved rANS coder for 2-D
// planes of quantizer indices. Format: docs/format.md, "Symbol segment". Encoder in
// bitstream/enc_rans.cc, decoder in bitstream/dec_rans.cc (which needs nothing from the encoder),
// shared rules in bitstream/rans_common.h (READ ME FIRST there).
#ifndef FTCODEC_BITSTREAM_SYMBOL_CODER_H_
#define FTCODEC_BITSTREAM_SYMBOL_CODER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ftcodec/status.h"

namespace ftc {

// A segment is coded as one unit: a sequence of bands, each a rows×width raster of symbols.
// The context model never looks across a band boundary (the first row of a band has no row
// above), so bands could later travel in separate packets.
struct BandShape {
  uint32_t rows;
  uint32_t width;
};

// Most symbols one segment may hold (both sides check; kLimitExceeded above it).
inline constexpr uint64_t kMaxSegmentSymbols = uint64_t{1} << 31;

// Codes `bands` (symbols concatenated band after band, raster order within a band; every symbol
// < 2^alphabet_bits, alphabet_bits 1..16) into a self-contained byte string: its own tables,
// rANS data and final states. Appends to *out. Deterministic: same input, same bytes.
Status EncodeSymbolSegment(const uint16_t* symbols, const std::vector<BandShape>& bands,
                           int alphabet_bits, std::vector<uint8_t>* out);

// What the encoder chose and how well it did (for tests and benchmarks).
struct SymbolSegmentStats {
  uint64_t symbols = 0;
  size_t segment_bytes = 0;      // bytes appended to *out
  size_t model_bits = 0;         // model header + tables, before byte padding
  double ideal_data_bits = 0;    // sum of -log2(freq / 2^precision) over the coded tokens, plus
                                 // the raw bits of escaped symbols: the model's ideal code length
  uint64_t escaped_symbols = 0;  // symbols coded through an escape token
  int contexts_used = 0;         // contexts with a table
  int precision = 0;
  int direct_bits = 0;
  int msb_bits = 0;
  int left_classes = 0;
  int top_classes = 0;
  int lanes = 0;  // N, the interleaved lanes (4, 8, 16 or 32)
};
// As above, and fills *stats (which may be null).
Status EncodeSymbolSegment(const uint16_t* symbols, const std::vector<BandShape>& bands,
                           int alphabet_bits, std::vector<uint8_t>* out, SymbolSegmentStats* stats);

// Choices the encoder otherwise makes itself (tests and benchmarks).
struct SymbolSegmentOptions {
  // 0: by the number of symbols (SymbolSegmentLanes); else 4, 8, 16 or 32; or 1: one lane, the
  // segments of data packets (docs/format.md, "Packets"), whose Lanes field 0 then means one
  // lane — only a decoder told so (SymbolSegmentDecodeOptions::single_lane) reads them.
  int lanes = 0;
};
// As above, with options (kInvalidArgument for a lane count other than 0, 1, 4, 8, 16, 32).
Status EncodeSymbolSegment(const uint16_t* symbols, const std::vector<BandShape>& bands,
                           int alphabet_bits, std::vector<uint8_t>* out, SymbolSegmentStats* stats,
                           const SymbolSegmentOptions& options);

// The same bytes by the scalar reference encoder (no SIMD kernel); tests compare the two on every
// SIMD target.
Status EncodeSymbolSegmentReference(const uint16_t* symbols, const std::vector<BandShape>& bands,
                                    int alphabet_bits, std::vector<uint8_t>* out,
                                    const SymbolSegmentOptions& options);

// The lane count the encoder chooses for a segment of `total_symbols` symbols.
int SymbolSegmentLanes(uint64_t total_symbols);

// Inverse. The caller knows bands and alphabet_bits (from the frame header); `size` is exactly the
// segment's length. Rejects any corruption it can detect (bad tables, reading past the end, final
// rANS states not equal to the initial value, leftover bytes) with kCorruptData and a message
// naming the problem; never reads out of bounds; allocates O(symbols + 2^alphabet_bits).
// `symbols` must have room for the total of rows×width over the bands.
Status DecodeSymbolSegment(const uint8_t* data, size_t size, const std::vector<BandShape>& bands,
                           int alphabet_bits, uint16_t* symbols);

// How the enclosing format says to read a segment.
struct SymbolSegmentDecodeOptions {
  // A data packet's segment: one lane; the Lanes field must be 0 (kCorruptData otherwise).
  bool single_lane = false;
};
Status DecodeSymbolSegment(const uint8_t* data, size_t size, const std::vector<BandShape>& bands,
                           int alphabet_bits, uint16_t* symbols,
                           const SymbolSegmentDecodeOptions& options);

// The same, by the scalar reference: the literal algorithm of docs/format.md, one symbol at a time
// (no fast path, no SIMD). Results and errors are those of DecodeSymbolSegment; tests compare
// the two on every SIMD target.
Status DecodeSymbolSegmentReference(const uint8_t* data, size_t size,
                                    const std::vector<BandShape>& bands, int alphabet_bits,
                                    uint16_t* symbols);
Status DecodeSymbolSegmentReference(const uint8_t* data, size_t size,
                                    const std::vector<BandShape>& bands, int alphabet_bits,
                                    uint16_t* symbols, const SymbolSegmentDecodeOptions& options);

// A model shared by many segments (docs/format.md, "Packets"): fitted once on every symbol they
// will code, in the same band shapes, and written once (a packet stream's parameter set carries
// its bytes); "headless" segments coded with it hold only their lane state and rANS words. One
// lane. Immutable, cheap to copy, safe to share between threads.
class SymbolModel {
 public:
  struct Impl;  // bitstream/rans_common.h

  // The model the encoder would choose for one segment of `symbols` over `bands`, with one lane
  // (the `Model` of a segment, Lanes field 0). Errors as EncodeSymbolSegment's.
  static Result<SymbolModel> Fit(const uint16_t* symbols, const std::vector<BandShape>& bands,
                                 int alphabet_bits);
  // The model from its bytes (exactly `size`; kCorruptData naming the problem otherwise).
  static Result<SymbolModel> Parse(const uint8_t* data, size_t size, int alphabet_bits);

  const std::vector<uint8_t>& bytes() const;
  int alphabet_bits() const;
  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

// A headless segment: the lane state and rANS words of `symbols` over `bands` under `model`.
// kInvalidArgument if a symbol's token has no frequency in its context (a model fitted on other
// symbols). Appends to *out.
Status EncodeHeadlessSegment(const uint16_t* symbols, const std::vector<BandShape>& bands,
                             const SymbolModel& model, std::vector<uint8_t>* out);
// Inverse, with the checks of DecodeSymbolSegment; and by the scalar reference.
Status DecodeHeadlessSegment(const uint8_t* data, size_t size, const std::vector<BandShape>& bands,
                             const SymbolModel& model, uint16_t* symbols);
Status DecodeHeadlessSegmentReference(const uint8_t* data, size_t size,
                                      const std::vector<BandShape>& bands, const SymbolModel& model,
                                      uint16_t* symbols);

}  // namespace ftc

#endif  // FTCODEC_BITSTREAM_SYMBOL_CODER_H_
