// ftcodec — version macros of the library these headers belong to. ftc::VersionString() gives
// the version of the library actually linked. CMake checks at configure time that these numbers
// equal project(ftcodec VERSION ...): bump both together.
#ifndef FTCODEC_VERSION_H_
#define FTCODEC_VERSION_H_

#define FTCODEC_VERSION_MAJOR 0
#define FTCODEC_VERSION_MINOR 1
#define FTCODEC_VERSION_PATCH 0
#define FTCODEC_VERSION_STRING "0.1.0"
// One comparable number: MAJOR * 10000 + MINOR * 100 + PATCH.
#define FTCODEC_VERSION_NUMBER \
  (FTCODEC_VERSION_MAJOR * 10000 + FTCODEC_VERSION_MINOR * 100 + FTCODEC_VERSION_PATCH)

#endif  // FTCODEC_VERSION_H_
