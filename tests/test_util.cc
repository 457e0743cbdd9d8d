#include "tests/test_util.h"

#include <stdlib.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace ftc::test {

std::string SourcePath(const std::string& relative) {
  return std::string(FTC_SOURCE_DIR) + "/" + relative;
}

std::vector<uint8_t> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

void WriteFileBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<uint8_t> IntegerNpy(const std::string& descr, const std::vector<int64_t>& values) {
  const size_t item = static_cast<size_t>(descr.back() - '0');
  const bool big = descr[0] == '>';
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" +
                       std::to_string(values.size()) + ",), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string preamble = "\x93NUMPY";
  preamble += '\x01';
  preamble += '\x00';
  preamble += static_cast<char>(header.size() & 0xFF);
  preamble += static_cast<char>(header.size() >> 8);
  const std::string text = preamble + header;
  std::vector<uint8_t> out(text.begin(), text.end());
  for (int64_t v : values) {
    const uint64_t u = static_cast<uint64_t>(v);
    for (size_t b = 0; b < item; ++b) {
      const size_t byte = big ? item - 1 - b : b;
      out.push_back(static_cast<uint8_t>(u >> (8 * byte)));
    }
  }
  return out;
}

std::string MakeTempDir() {
  std::string tmpl = "/tmp/ftcodec_test_XXXXXX";
  if (!mkdtemp(&tmpl[0])) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

}  // namespace ftc::test
