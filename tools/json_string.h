// JSON string quoting shared by the CLI (`ftcodec info --json`) and the bench reports.
#ifndef FTCODEC_TOOLS_JSON_STRING_H_
#define FTCODEC_TOOLS_JSON_STRING_H_

#include <cstdio>
#include <string>

namespace ftc::cli {

// `s` as a JSON string literal: quotes, backslashes and control characters escaped.
inline std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace ftc::cli

#endif  // FTCODEC_TOOLS_JSON_STRING_H_
