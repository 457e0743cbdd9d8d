// Shared helpers for the tests.
#ifndef FTCODEC_TESTS_TEST_UTIL_H_
#define FTCODEC_TESTS_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ftc::test {

// Path of a file in the source tree, e.g. SourcePath("data/golden/x.ftc").
std::string SourcePath(const std::string& relative);
std::vector<uint8_t> ReadFileBytes(const std::string& path);
void WriteFileBytes(const std::string& path, const std::vector<uint8_t>& bytes);
// A rank-1 .npy of integers as NumPy writes it: `descr` is "<i8", "<i4", ">i4", "|u1", "<u2" ...
// (little- or big-endian by its first character; "|" for one byte).
std::vector<uint8_t> IntegerNpy(const std::string& descr, const std::vector<int64_t>& values);
// A fresh empty directory under the system temp dir.
std::string MakeTempDir();

}  // namespace ftc::test

#endif  // FTCODEC_TESTS_TEST_UTIL_H_
