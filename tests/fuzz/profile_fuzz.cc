// Fuzz target: the profile reader (docs/profiles.md). Any input gives a profile or an error —
// never a crash, a hang or a deep recursion. A profile that parses writes back to JSON that
// parses to the same profile (the same text when written again).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ftcodec/profile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  ftc::Result<ftc::Profile> p = ftc::ParseProfile(text);
  if (!p.ok()) return 0;
  const std::string json = ftc::ProfileToJson(*p);
  ftc::Result<ftc::Profile> again = ftc::ParseProfile(json);
  if (!again.ok()) std::abort();  // the writer wrote something the reader refuses
  if (ftc::ProfileToJson(*again) != json) std::abort();  // not a fixed point
  if ((p->plan == nullptr) != (again->plan == nullptr)) std::abort();
  if (p->plan && p->plan->Id() != again->plan->Id()) std::abort();
  return 0;
}
