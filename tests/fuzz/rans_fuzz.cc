// Fuzz target for the rANS symbol segment decoder. Input layout (so the fuzzer controls the
// frame-level parameters too):
//   byte 0: alphabet_bits - 1 (low 4 bits)
//   byte 1: number of bands - 1 (low 4 bits, 1..16)
//   then 2 bytes per band: rows, width (each taken mod 17, so 0..16)
//   the rest: the segment.
// Any input must decode or fail with a message, never crash; a decoded result must be in the
// alphabet, and re-encoding it must round-trip (and be deterministic).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bitstream/symbol_coder.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "rans_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int bits = 1 + (data[0] & 15);
  const size_t num_bands = 1 + (data[1] & 15);
  if (size < 2 + 2 * num_bands) return 0;
  std::vector<ftc::BandShape> bands(num_bands);
  size_t total = 0;
  for (size_t i = 0; i < num_bands; ++i) {
    bands[i].rows = data[2 + 2 * i] % 17;
    bands[i].width = data[3 + 2 * i] % 17;
    total += size_t{bands[i].rows} * bands[i].width;
  }
  const uint8_t* seg = data + 2 + 2 * num_bands;
  const size_t seg_size = size - 2 - 2 * num_bands;
  std::vector<uint16_t> symbols(total + 1, 0xA5A5);
  const ftc::Status s = ftc::DecodeSymbolSegment(seg, seg_size, bands, bits, symbols.data());
  Check(symbols[total] == 0xA5A5, "decoder wrote past the end");
  if (!s.ok()) {
    Check(!s.message().empty(), "error without a message");
    Check(s.code() == ftc::StatusCode::kCorruptData, "unexpected error code");
    return 0;
  }
  symbols.pop_back();
  for (uint16_t v : symbols) Check(v < (1u << bits), "decoded symbol outside the alphabet");
  std::vector<uint8_t> again, twice;
  Check(ftc::EncodeSymbolSegment(symbols.data(), bands, bits, &again).ok(), "re-encode failed");
  Check(ftc::EncodeSymbolSegment(symbols.data(), bands, bits, &twice).ok(), "re-encode failed");
  Check(again == twice, "encoder is not deterministic");
  std::vector<uint16_t> back(total);
  Check(ftc::DecodeSymbolSegment(again.data(), again.size(), bands, bits, back.data()).ok(),
        "re-encoded segment does not decode");
  Check(back == symbols, "re-encoded segment decodes differently");
  return 0;
}
