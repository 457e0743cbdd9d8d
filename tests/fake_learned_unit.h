// A fake learned unit loader for the core tests of codec `learned` (no libtorch). Units:
//   "unitA", "unitB": features 8×8×6 -> code 4×4×3, trained for ans at 5 bits;
//   "unitJ": the same shapes, trained for jpeg at quality 80;
//   "unitL": features 16×24×20 -> code 8×12×10, trained for ans at 6 bits (several packets);
//   "<name>+wide": unit <name>'s hash with features 8×8×10 (code 4×4×5; unitL: 16×24×22);
//   anything else: kIoError (no such unit).
// Reduction: 2×2 average pooling of the first C' = C/2 channels, squashed into [0, 1];
// restoration: the inverse squash and nearest upsampling (channels c >= C' repeat c mod C' at
// half the amplitude). Deterministic and thread-safe.
#ifndef FTCODEC_TESTS_FAKE_LEARNED_UNIT_H_
#define FTCODEC_TESTS_FAKE_LEARNED_UNIT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "codec/learned/learned_unit.h"

namespace ftc::test {

constexpr int64_t kFakeC = 8, kFakeH = 8, kFakeW = 6;
constexpr int64_t kFakeLargeC = 16, kFakeLargeH = 24, kFakeLargeW = 20;

// The loader to register (RegisterLearnedUnitLoader(&FakeLoader)); units are cached by name.
Result<std::shared_ptr<const LearnedUnitHandle>> FakeLoader(const std::string& dir);
// FakeLoader(dir).value().
std::shared_ptr<const LearnedUnitHandle> FakeUnitFor(const std::string& dir);

}  // namespace ftc::test

#endif  // FTCODEC_TESTS_FAKE_LEARNED_UNIT_H_
