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
// A fresh empty directory under the system temp dir.
std::string MakeTempDir();

}  // namespace ftc::test

#endif  // FTCODEC_TESTS_TEST_UTIL_H_
