// CRC32C (Castagnoli), as used for every checksum in the container (docs/format.md).
#ifndef FTCODEC_BASE_CRC32C_H_
#define FTCODEC_BASE_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace ftc {

// Continues a CRC: Crc32c(data, n) == Crc32cExtend(0, data, n), and
// Crc32cExtend(Crc32c(a), b) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, const uint8_t* data, size_t size);
inline uint32_t Crc32c(const uint8_t* data, size_t size) { return Crc32cExtend(0, data, size); }

}  // namespace ftc

#endif  // FTCODEC_BASE_CRC32C_H_
