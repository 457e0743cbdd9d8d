// Small hostile packet streams (.ftcp) that claim far more than their bytes
// carry: the memory and CPU bombs of issue 17, made by code so that each one is
// easy to read. The same bytes are committed under tests/data/hostile/
// (hostile_test.cc checks that they still match).
//
// Each is valid in format: correct checksums, sizes and fields; an `ans` symbol
// segment coding a constant costs a few bytes whatever the number of elements
// (a single-token table never changes the rANS state), so a 20-byte segment can
// stand for 2^28 zeros.
#ifndef FTCODEC_TESTS_HOSTILE_INPUTS_H_
#define FTCODEC_TESTS_HOSTILE_INPUTS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ftc::test {

struct HostileInput {
  std::string name;            // file name under tests/data/hostile/
  std::string what;            // what it claims
  std::vector<uint8_t> bytes;  // a .ftcp file
};

// One packet claiming a sample of 2^28 elements (1 × 16384 × 16384, one band).
HostileInput HugeSampleStream();
// One packet claiming 2^28 one-element bands (2^28 × 1 × 1, contiguous layout,
// all bands).
HostileInput HugeBandCountStream();
// The same as an interleaved packet (Packet_Count 1: the packet holds all 2^28
// bands).
HostileInput InterleavedHugeBandCountStream();
// One packet of a tensor of 2^28 one-element samples (2^28 × 1 × 1 × 1): the
// receiver would conceal 2^28 − 1 lost frames.
HostileInput HugeFrameCountStream();
// About 100 bytes claiming a tensor of 2^26 elements (2^20 × 4 × 16, one-row
// bands, interleaved over 4 packets, one arrived): `dec --conceal caltec` used
// to run for tens of seconds on it.
HostileInput CaltecBombStream();
// About 100 bytes whose tensor (2^14 × 4 × 16 f32, one-row bands interleaved
// over 4 packets, one arrived) fits the default element limits, but whose
// `caltec` concealment may scan 1,024 candidate channels for each of its 49,152
// lost bands.
HostileInput CaltecWorkStream();
// Every input above.
std::vector<HostileInput> AllHostileInputs();

// A parameter set and one data packet (Stream_Id 0badf00d, frame 0, Packet_Index 0) of 1-bit
// `ans` zeros (range [0, 1]) holding `band_count` bands of an f32 tensor of `shape`, as a .ftcp
// file; contiguous packets start at band 0.
std::vector<uint8_t> AnsZerosStream(const std::vector<int64_t>& shape, uint32_t band_rows,
                                    bool interleaved, uint32_t packet_count, uint32_t band_count);
// A constant-zero one-lane `ans` symbol segment (a data packet's): valid for any bands of 1-bit
// symbols.
std::vector<uint8_t> ConstantSymbolSegment();

}  // namespace ftc::test

#endif  // FTCODEC_TESTS_HOSTILE_INPUTS_H_
