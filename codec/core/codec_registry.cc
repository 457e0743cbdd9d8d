#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>

#include "base/status_macros.h"
#include "codec/core/codec.h"
#include "codec/learned/learned_unit.h"

namespace ftc {

extern const Codec kRawCodec;
extern const Codec kAnsCodec;
#ifdef FTC_HAVE_JPEG
extern const Codec kJpegCodec;
#endif
#ifdef FTC_HAVE_HEVC
extern const Codec kHevcCodec;
#endif
// Torch-free; in the table only once a learned unit loader is registered.
extern const Codec kLearnedCodec;

namespace {

// Function-local statics: RegisterLearnedUnitLoader may run during the static initialisation of
// another translation unit, before or after the first BuiltinCodecs() call. Registration happens
// before main (or at its start), before any encode/decode reads the table; the mutex orders
// concurrent registrations, the atomic makes GetLearnedUnitLoader safe to call at any time.
std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}

std::atomic<LearnedUnitLoader>& LoaderSlot() {
  static std::atomic<LearnedUnitLoader> loader{nullptr};
  return loader;
}

std::vector<const Codec*>& CodecTable() {
  static std::vector<const Codec*> codecs = {
      &kRawCodec,
      &kAnsCodec,
#ifdef FTC_HAVE_JPEG
      &kJpegCodec,
#endif
#ifdef FTC_HAVE_HEVC
      &kHevcCodec,
#endif
  };
  return codecs;
}

}  // namespace

void RegisterLearnedUnitLoader(LearnedUnitLoader loader) {
  if (!loader) return;
  std::lock_guard<std::mutex> lock(RegistryMutex());
  LoaderSlot().store(loader);
  std::vector<const Codec*>& table = CodecTable();
  if (std::find(table.begin(), table.end(), &kLearnedCodec) == table.end()) {
    table.push_back(&kLearnedCodec);  // the largest id: the table stays in id order
  }
}

LearnedUnitLoader GetLearnedUnitLoader() { return LoaderSlot().load(); }

const std::vector<const Codec*>& BuiltinCodecs() { return CodecTable(); }

const std::vector<std::string>& KnownCodecNames() {
  static const std::vector<std::string> names = {"raw", "ans", "jpeg", "hevc", "learned"};
  return names;
}

const char* KnownCodecNameForId(uint8_t id) {
  const auto& names = KnownCodecNames();
  return id < names.size() ? names[id].c_str() : nullptr;
}

const Codec* FindCodecById(uint8_t id) {
  for (const Codec* c : BuiltinCodecs()) {
    if (c->id == id) return c;
  }
  return nullptr;
}

const Codec* FindCodecFormatById(uint8_t id) {
  if (const Codec* c = FindCodecById(id)) return c;
  return id == kLearnedCodec.id ? &kLearnedCodec : nullptr;
}

Result<SampleShape> PacketSampleIsTheSample(const PacketHeader&, const SampleShape& sample,
                                            int64_t) {
  return sample;
}

Result<const Codec*> FindCodecByName(const std::string& name) {
  for (const Codec* c : BuiltinCodecs()) {
    if (name == c->name) return c;
  }
  for (const std::string& known : KnownCodecNames()) {
    if (known == name) {
      return Status(StatusCode::kNotBuiltIn, "codec '" + name + "' is not built into this ftcodec");
    }
  }
  std::string list;
  for (const Codec* c : BuiltinCodecs()) list += std::string(list.empty() ? "" : ", ") + c->name;
  return FTC_INVALID("unknown codec '%s' (available: %s)", name.c_str(), list.c_str());
}

std::vector<std::string> AvailableCodecs() {
  std::vector<std::string> out;
  for (const Codec* c : BuiltinCodecs()) out.push_back(c->name);
  return out;
}

bool IsKnownCodec(const std::string& name) {
  for (const std::string& known : KnownCodecNames()) {
    if (known == name) return true;
  }
  return false;
}

}  // namespace ftc
