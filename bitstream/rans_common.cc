#include "bitstream/rans_common.h"

#include "base/status_macros.h"

namespace ftc::rans {

bool CountSymbols(const std::vector<BandShape>& bands, uint64_t* total) {
  uint64_t n = 0;
  for (const BandShape& b : bands) {
    const uint64_t band = uint64_t{b.rows} * b.width;  // < 2^64
    if (band > kMaxSegmentSymbols - n) return false;
    n += band;
  }
  *total = n;
  return true;
}

Status CheckSegmentArgs(const std::vector<BandShape>& bands, int alphabet_bits, uint64_t* total) {
  if (alphabet_bits < 1 || alphabet_bits > 16) {
    return FTC_INVALID("symbol segment: alphabet_bits %d outside 1..16", alphabet_bits);
  }
  if (!CountSymbols(bands, total)) {
    return FTC_LIMIT("symbol segment: more than %llu symbols",
                     static_cast<unsigned long long>(kMaxSegmentSymbols));
  }
  return Status::Ok();
}

void BuildClassTable(const std::vector<uint8_t>& thresholds, int num_tokens, uint8_t* cls) {
  for (int t = 0; t < num_tokens; ++t) {
    int c = 0;
    for (uint8_t th : thresholds) c += (t >= th);
    cls[t] = static_cast<uint8_t>(c);
  }
}

bool NormalizeWeights(const uint8_t* codes, int span, int precision, uint32_t* freq) {
  uint64_t total_weight = 0;
  uint32_t present = 0;
  int heaviest = -1;
  for (int s = 0; s < span; ++s) {
    if (codes[s] == 0) continue;
    ++present;
    total_weight += uint64_t{1} << (kMaxWeightCode - codes[s]);
    if (heaviest < 0 || codes[s] < codes[heaviest]) heaviest = s;
  }
  const uint32_t total = uint32_t{1} << precision;
  if (present == 0 || present > total) return false;
  // floor(2^(16-c) * spare / W) = floor(spare * 2^16 / W) >> c (flooring twice is exact when the
  // second divisor is an integer), so one division serves the whole table. spare < 2^11 and
  // W < 2^24: no overflow.
  const uint64_t spare = total - present;
  const uint64_t base = (spare << kMaxWeightCode) / total_weight;
  uint32_t sum = 0;
  for (int s = 0; s < span; ++s) {
    freq[s] = codes[s] == 0 ? 0 : 1 + static_cast<uint32_t>(base >> codes[s]);
    sum += freq[s];
  }
  freq[heaviest] += total - sum;  // sum <= total by construction (floors)
  return true;
}

}  // namespace ftc::rans

namespace ftc {

const std::vector<uint8_t>& SymbolModel::bytes() const { return impl_->bytes; }
int SymbolModel::alphabet_bits() const { return impl_->alphabet_bits; }

}  // namespace ftc
