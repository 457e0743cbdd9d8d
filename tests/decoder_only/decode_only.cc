// A program that only decodes: it calls ftc::decode and nothing else of ftcodec, and is linked
// against the decoder-only library (ftcodec_decoder). Usage: decode_only STREAM.ftc EXPECTED.npy
// decodes the stream and checks that its bytes are the tail of the .npy file (the array's data).
// check_symbols.cmake then proves, with nm, that no encoder code went into it.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "ftcodec/ftcodec.h"

namespace {

std::vector<uint8_t> ReadFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: decode_only STREAM.ftc EXPECTED.npy\n");
    return 2;
  }
  const std::vector<uint8_t> stream = ReadFile(argv[1]);
  const std::vector<uint8_t> npy = ReadFile(argv[2]);
  ftc::Result<ftc::Tensor> t = ftc::decode(stream.data(), stream.size(), ftc::DecoderOptions());
  if (!t.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[1], t.status().message().c_str());
    return 1;
  }
  const size_t n = t->size_bytes();
  if (n == 0 || n > npy.size() || std::memcmp(t->data(), npy.data() + npy.size() - n, n) != 0) {
    std::fprintf(stderr, "%s: decoded %zu bytes that differ from %s\n", argv[1], n, argv[2]);
    return 1;
  }
  std::printf("%s: %zu bytes as expected\n", argv[1], n);
  return 0;
}
