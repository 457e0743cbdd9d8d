// Decoders under hostile input (issue 17): packet streams that claim more than
// their bytes carry must fail with a specific error before anything large is
// allocated or computed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "tests/hostile_inputs.h"
#include "tests/test_util.h"

namespace ftc {
namespace {

// The committed copies under tests/data/hostile/ are the generator's bytes.
// With FTC_WRITE_HOSTILE=1 the test rewrites them instead.
TEST(HostileInputsTest, CommittedFilesMatchTheGenerator) {
  const bool write = std::getenv("FTC_WRITE_HOSTILE") != nullptr;
  for (const test::HostileInput &h : test::AllHostileInputs()) {
    SCOPED_TRACE(h.name);
    const std::string path = test::SourcePath("tests/data/hostile/" + h.name);
    if (write) test::WriteFileBytes(path, h.bytes);
    EXPECT_EQ(test::ReadFileBytes(path), h.bytes);
    EXPECT_LT(h.bytes.size(), 200u);
  }
}

}  // namespace
}  // namespace ftc
