// The decoder table: the decoder half of every codec built into this library. Compiled once per
// library (ftcodec, ftcodec_lean, ftcodec_decoder), whose FTC_HAVE_<NAME> definitions say which
// backends it holds. The learned unit loader is registered here too: decoding a learned stream
// needs it, and the encoder table asks it.
#include <atomic>
#include <string>
#include <vector>

#include "codec/core/codec.h"
#include "codec/learned/learned_unit.h"

namespace ftc {

extern const CodecDecoder kRawDecoder;
extern const CodecDecoder kAnsDecoder;
#ifdef FTC_HAVE_JPEG
extern const CodecDecoder kJpegDecoder;
#endif
#ifdef FTC_HAVE_HEVC
extern const CodecDecoder kHevcDecoder;
#endif
// Torch-free; in the table only once a learned unit loader is registered.
extern const CodecDecoder kLearnedDecoder;

namespace {

// Function-local static: RegisterLearnedUnitLoader may run during the static initialisation of
// another translation unit, before or after the first lookup; the atomic makes that safe.
std::atomic<LearnedUnitLoader>& LoaderSlot() {
  static std::atomic<LearnedUnitLoader> loader{nullptr};
  return loader;
}

}  // namespace

void RegisterLearnedUnitLoader(LearnedUnitLoader loader) {
  if (loader) LoaderSlot().store(loader);
}

LearnedUnitLoader GetLearnedUnitLoader() { return LoaderSlot().load(); }

std::vector<const CodecDecoder*> BuiltinDecoders() {
  std::vector<const CodecDecoder*> codecs = {
      &kRawDecoder,
      &kAnsDecoder,
#ifdef FTC_HAVE_JPEG
      &kJpegDecoder,
#endif
#ifdef FTC_HAVE_HEVC
      &kHevcDecoder,
#endif
  };
  if (GetLearnedUnitLoader()) codecs.push_back(&kLearnedDecoder);  // the largest id
  return codecs;
}

const CodecDecoder* FindDecoderById(uint8_t id) {
  for (const CodecDecoder* c : BuiltinDecoders()) {
    if (c->id == id) return c;
  }
  return nullptr;
}

const CodecDecoder* FindDecoderFormatById(uint8_t id) {
  if (const CodecDecoder* c = FindDecoderById(id)) return c;
  return id == kLearnedDecoder.id ? &kLearnedDecoder : nullptr;
}

Result<SampleShape> PacketSampleIsTheSample(const PacketHeader&, const SampleShape& sample,
                                            int64_t) {
  return sample;
}

std::vector<std::string> AvailableCodecs() {
  std::vector<std::string> out;
  for (const CodecDecoder* c : BuiltinDecoders()) out.push_back(c->name);
  return out;
}

}  // namespace ftc
