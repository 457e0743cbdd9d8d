// The files of a learned unit folder (docs/learned.md) and its content hash.
#ifndef FTCODEC_CODEC_TORCH_LEARNED_FILES_H_
#define FTCODEC_CODEC_TORCH_LEARNED_FILES_H_

#include <cstdint>
#include <vector>

#include "codec/learned/learned_unit.h"

namespace ftc {

inline constexpr char kReduceFile[] = "reduce.pt";
inline constexpr char kRestoreFile[] = "restore.pt";
inline constexpr char kTailFile[] = "tail.pt";
// The early exit (docs/learned.md, "Early exits"): not part of the unit's hash.
inline constexpr char kExitFile[] = "exit.pt";
// The `ftcodec_exit` attribute of exit.pt.
inline constexpr int kExitVersion = 1;
inline constexpr char kUnitJsonFile[] = "unit.json";
// The `ftcodec_unit` attribute of reduce.pt.
inline constexpr int kUnitVersion = 1;

// XXH3-128 of "ftcodec-unit\0", then for reduce.pt and restore.pt in turn: the file size as
// 8 bytes little-endian, then the file's bytes. Canonical (big-endian) digest bytes.
UnitHash HashUnitFiles(const std::vector<uint8_t>& reduce, const std::vector<uint8_t>& restore);

// Installs the libtorch unit loader in the codec table (learned_register.cc calls it).
bool RegisterTorchLearnedUnits();

}  // namespace ftc

#endif  // FTCODEC_CODEC_TORCH_LEARNED_FILES_H_
