// The encoder table: the encoder half of every codec built into this library (see
// dec_codec_registry.cc; the same FTC_HAVE_<NAME> definitions apply).
#include <string>
#include <vector>

#include "codec/core/codec.h"
#include "codec/learned/learned_unit.h"

namespace ftc {

extern const CodecEncoder kRawEncoder;
extern const CodecEncoder kAnsEncoder;
#ifdef FTC_HAVE_JPEG
extern const CodecEncoder kJpegEncoder;
#endif
#ifdef FTC_HAVE_HEVC
extern const CodecEncoder kHevcEncoder;
#endif
extern const CodecEncoder kLearnedEncoder;

std::vector<const CodecEncoder*> BuiltinEncoders() {
  std::vector<const CodecEncoder*> codecs = {
      &kRawEncoder,
      &kAnsEncoder,
#ifdef FTC_HAVE_JPEG
      &kJpegEncoder,
#endif
#ifdef FTC_HAVE_HEVC
      &kHevcEncoder,
#endif
  };
  if (GetLearnedUnitLoader()) codecs.push_back(&kLearnedEncoder);
  return codecs;
}

Result<const CodecEncoder*> FindEncoderByName(const std::string& name) {
  std::vector<std::string> available;
  for (const CodecEncoder* c : BuiltinEncoders()) {
    if (name == c->name) return c;
    available.push_back(c->name);
  }
  return CodecNotFound(name, available);
}

}  // namespace ftc
