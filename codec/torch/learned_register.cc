// Adds codec `learned` to the codec table of every program that links ftcodec_torch.
//
// This file is not part of the ftcodec_torch archive: it is an object library that CMake puts
// on the link line of every target linking ftcodec_torch (codec/torch/CMakeLists.txt). A static
// initialiser in the archive itself would be dropped by the linker whenever nothing else in its
// object file is referenced; this object is always linked, and it pulls learned_unit.o in.
#include "codec/torch/learned_files.h"

namespace {
const bool kLearnedCodecRegistered = ftc::RegisterTorchLearnedUnits();
}  // namespace
