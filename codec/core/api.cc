// What the encoder and the decoder of the container share: versions and the host check.
#include "bitstream/frame.h"
#include "ftcodec/ftcodec.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ftcodec assumes a little-endian host"
#endif

namespace ftc {

const char* VersionString() { return FTC_VERSION_STRING; }
int FormatVersion() { return kFormatVersion; }

}  // namespace ftc
