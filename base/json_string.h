// JSON string quoting (ground floor): the CLI (`ftcodec info --json`), the bench reports and
// unit.json use it.
#ifndef FTCODEC_BASE_JSON_STRING_H_
#define FTCODEC_BASE_JSON_STRING_H_

#include <cstdio>
#include <string>

namespace ftc {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong forms, surrogates or
// code points above U+10FFFF), or 0 if the bytes there are not one.
inline size_t Utf8SequenceLength(const std::string& s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

// `s` as a JSON string literal: quotes, backslashes and control characters escaped, and every
// byte that is not part of well-formed UTF-8 (a file name may hold any bytes) replaced by
// \ufffd, so the output is always valid JSON.
inline std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
      ++i;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
      out += buf;
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out + "\"";
}

}  // namespace ftc

#endif  // FTCODEC_BASE_JSON_STRING_H_
