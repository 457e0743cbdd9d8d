// The codec names the format defines (docs/format.md, "Codec_Id"), built in or not; shared by
// the encoder and decoder tables.
#include <string>
#include <vector>

#include "base/status_macros.h"
#include "codec/core/codec.h"

namespace ftc {

namespace {

// Every codec the format defines, by Codec_Id, and which codec-specific options it takes.
struct CodecFormat {
  const char* name;
  uint32_t takes;  // CodecOption bits
};
constexpr CodecFormat kFormats[] = {
    {"raw", 0},
    {"ans", kCodecTakesPlan | kCodecTakesTargetBytes | kCodecIsInner | kCodecInProfiles},
    {"jpeg", kCodecTakesTargetBytes | kCodecIsInner | kCodecTakesQuality | kCodecInProfiles},
    {"hevc", kCodecTakesFramesLayout | kCodecTakesSequence | kCodecTakesQuality | kCodecInProfiles},
    {"learned", kCodecTakesUnit},
};

}  // namespace

const std::vector<std::string>& KnownCodecNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const CodecFormat& f : kFormats) v.push_back(f.name);
    return v;
  }();
  return names;
}

bool CodecTakes(const std::string& name, CodecOption option) {
  for (const CodecFormat& f : kFormats) {
    if (name == f.name) return (f.takes & option) != 0;
  }
  return false;
}

std::string CodecNamesWith(CodecOption option, const char* conjunction) {
  std::vector<const char*> names;
  for (const CodecFormat& f : kFormats) {
    if (f.takes & option) names.push_back(f.name);
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? std::string(" ") + conjunction + " " : ", ";
    out += names[i];
  }
  return out;
}

std::string CodecsTaking(CodecOption option) {
  const std::string names = CodecNamesWith(option, "and");
  const bool several = names.find(' ') != std::string::npos;
  return (several ? "codecs " : "codec ") + names;
}

const char* KnownCodecNameForId(uint8_t id) {
  const auto& names = KnownCodecNames();
  return id < names.size() ? names[id].c_str() : nullptr;
}

bool IsKnownCodec(const std::string& name) {
  for (const std::string& known : KnownCodecNames()) {
    if (known == name) return true;
  }
  return false;
}

Status CodecNotFound(const std::string& name, const std::vector<std::string>& available) {
  if (IsKnownCodec(name)) {
    return Status(StatusCode::kNotBuiltIn, "codec '" + name + "' is not built into this ftcodec");
  }
  std::string list;
  for (const std::string& c : available) list += std::string(list.empty() ? "" : ", ") + c;
  return FTC_INVALID("unknown codec '%s' (available: %s)", name.c_str(), list.c_str());
}

}  // namespace ftc
