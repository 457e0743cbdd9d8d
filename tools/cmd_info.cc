// `ftcodec info`.
#include <cstdio>
#include <memory>
#include <string>

#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "tools/cli_io.h"
#include "tools/commands.h"

namespace ftc::cli {
namespace {

int RunInfo(const std::string& path, bool json) {
  const char* verb = "info";
  Result<std::vector<uint8_t>> in = ReadInput(path);
  if (!in.ok()) return Fail(in.status(), verb);
  Result<StreamInfo> info = probe(in->data(), in->size());
  if (!info.ok()) return Fail(info.status(), verb);
  const FrameInfo& f0 = info->frames[0];
  auto sample_elems = [](const FrameInfo& f) {
    return f.sample_shape[0] * f.sample_shape[1] * f.sample_shape[2];
  };
  const double total_bpe = 8.0 * static_cast<double>(info->total_size) /
                           static_cast<double>(sample_elems(f0) * f0.batch_count);
  if (json) {
    std::string s = "{\"file\": " + JsonString(path) + ", \"size\": " +
                    std::to_string(info->total_size) +
                    ", \"format_version\": " + std::to_string(FormatVersion()) +
                    ", \"dtype\": " + JsonString(DTypeName(f0.dtype)) + ", \"shape\": [";
    for (size_t i = 0; i < f0.shape.size(); ++i) {
      s += (i ? ", " : "") + std::to_string(f0.shape[i]);
    }
    s += "], \"codec\": " + JsonString(f0.codec) + ", \"frames\": [";
    for (size_t k = 0; k < info->frames.size(); ++k) {
      const FrameInfo& f = info->frames[k];
      char bpe[32];
      std::snprintf(bpe, sizeof(bpe), "%.6g",
                    8.0 * static_cast<double>(f.size) / static_cast<double>(sample_elems(f)));
      s += std::string(k ? ", " : "") + "{\"index\": " + std::to_string(f.batch_index) +
           ", \"offset\": " + std::to_string(f.offset) + ", \"size\": " + std::to_string(f.size) +
           ", \"bits_per_element\": " + bpe + ", \"params\": {";
      for (size_t i = 0; i < f.params.size(); ++i) {
        s += (i ? ", " : "") + JsonString(f.params[i].first) + ": " + JsonString(f.params[i].second);
      }
      s += "}, \"sections\": [";
      for (size_t i = 0; i < f.sections.size(); ++i) {
        s += std::string(i ? ", " : "") + "{\"kind\": " + JsonString(f.sections[i].kind) +
             ", \"size\": " + std::to_string(f.sections[i].size) + "}";
      }
      s += "]}";
    }
    s += "]}\n";
    std::fputs(s.c_str(), stdout);
    return 0;
  }
  std::printf("%s: %s bytes, format %d, %zu frame%s\n", path.c_str(),
              Thousands(info->total_size).c_str(), FormatVersion(), info->frames.size(),
              info->frames.size() == 1 ? "" : "s");
  std::printf("tensor: %s %s, codec %s, %.4g bits/element overall\n", DTypeName(f0.dtype),
              ShapeToString(f0.shape).c_str(), f0.codec.c_str(), total_bpe);
  for (const FrameInfo& f : info->frames) {
    std::printf("frame %u: offset %llu, %s bytes, %.4g bits/element", f.batch_index,
                static_cast<unsigned long long>(f.offset), Thousands(f.size).c_str(),
                8.0 * static_cast<double>(f.size) / static_cast<double>(sample_elems(f)));
    for (const auto& p : f.params) std::printf(", %s=%s", p.first.c_str(), p.second.c_str());
    std::printf("; sections:");
    for (const auto& sec : f.sections) {
      std::printf(" %s %s", sec.kind.c_str(), Thousands(sec.size).c_str());
    }
    std::printf("\n");
  }
  return 0;
}

}  // namespace

Command AddInfoCommand(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("info", "Show the frames and parameters of a .ftc stream");
  cmd->add_option("FILE", *path, "input .ftc ('-' for stdin)")->required();
  cmd->add_flag("--json", *json, "machine-readable output");
  return {cmd, [path, json]() { return RunInfo(*path, *json); }};
}

}  // namespace ftc::cli
