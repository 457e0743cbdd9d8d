// `ftcodec info`.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "ftcodec/packet.h"
#include "ftcodec/sample_stream.h"
#include "tools/cli_io.h"
#include "tools/commands.h"

namespace ftc::cli {
namespace {

// A .ftcp packet stream: one line (or JSON object) per packet.
int RunPacketInfo(const std::string& path, const std::vector<uint8_t>& bytes, bool json,
                  const DecoderLimits& limits) {
  const PacketStreamContents contents = ReadPacketStream(bytes.data(), bytes.size());
  const std::vector<PacketInfo> packets = ProbePackets(contents.packets, limits);
  size_t valid = 0, largest = 0;
  for (const PacketInfo& p : packets) {
    valid += p.valid;
    largest = std::max(largest, p.size);
  }
  if (json) {
    std::string s =
        "{\"file\": " + JsonString(path) + ", \"size\": " + std::to_string(bytes.size()) +
        ", \"kind\": \"packets\", \"damaged_bytes\": " + std::to_string(contents.damaged_bytes) +
        ", \"packets\": [";
    for (size_t i = 0; i < packets.size(); ++i) {
      const PacketInfo& p = packets[i];
      s += std::string(i ? ", " : "") + "{\"size\": " + std::to_string(p.size) +
           ", \"valid\": " + (p.valid ? "true" : "false");
      if (p.valid) {
        s += std::string(", \"packet_kind\": ") +
             (p.parameter_set ? "\"parameter set\"" : "\"data\"") +
             ", \"set_id\": " + std::to_string(p.set_id) +
             ", \"stream_id\": " + std::to_string(p.stream_id) +
             ", \"codec\": " + JsonString(p.codec) +
             ", \"frame\": " + std::to_string(p.frame_index) +
             ", \"frames\": " + std::to_string(p.frame_count) +
             ", \"packet\": " + std::to_string(p.packet_index) +
             ", \"packets\": " + std::to_string(p.packet_count) +
             ", \"band_rows\": " + std::to_string(p.band_rows) +
             ", \"bands\": " + std::to_string(p.bands) +
             ", \"interleaved\": " + (p.interleaved ? "true" : "false");
        if (!p.unit.empty()) {
          s += ", \"unit\": " + JsonString(p.unit) + ", \"inner\": " + JsonString(p.inner) +
               ", \"code_shape\": [";
          for (size_t k = 0; k < p.code_shape.size(); ++k) {
            s += (k ? ", " : "") + std::to_string(p.code_shape[k]);
          }
          s += "]";
        }
      } else {
        s += ", \"error\": " + JsonString(p.error);
      }
      s += "}";
    }
    std::fputs((s + "]}\n").c_str(), stdout);
  } else {
    std::printf("%s: %s bytes, packet stream, %zu packets (%zu valid), largest %zu bytes\n",
                path.c_str(), Thousands(bytes.size()).c_str(), packets.size(), valid, largest);
    if (valid > 0) {
      for (const PacketInfo& p : packets) {
        if (!p.valid) continue;
        const std::string frames =
            p.frame_count == 0
                ? "live stream of samples"
                : std::to_string(p.frame_count) + (p.frame_count == 1 ? " frame" : " frames");
        std::printf("tensor: %s %s, codec %s, stream %08x, %s%s\n", DTypeName(p.dtype),
                    ShapeToString(p.shape).c_str(), p.codec.c_str(), p.stream_id, frames.c_str(),
                    p.interleaved ? ", interleaved" : "");
        if (!p.unit.empty()) {
          std::printf("learned: unit %s, inner %s, code %s (the bands are the code's)\n",
                      p.unit.c_str(), p.inner.c_str(), ShapeToString(p.code_shape).c_str());
        }
        break;
      }
    }
    for (size_t i = 0; i < packets.size(); ++i) {
      const PacketInfo& p = packets[i];
      if (p.valid && p.parameter_set) {
        std::printf("packet %zu: %zu bytes, parameter set %u (band rows %s)\n", i, p.size, p.set_id,
                    p.band_rows == 0 ? "all" : std::to_string(p.band_rows).c_str());
      } else if (p.valid) {
        std::printf("packet %zu: %zu bytes, frame %u, packet %u of %u, %u band%s of %s rows\n", i,
                    p.size, p.frame_index, p.packet_index + 1, p.packet_count, p.bands,
                    p.bands == 1 ? "" : "s",
                    p.band_rows == 0 ? "all" : std::to_string(p.band_rows).c_str());
      } else {
        std::printf("packet %zu: %zu bytes, INVALID: %s\n", i, p.size, p.error.c_str());
      }
    }
  }
  if (contents.damaged_bytes > 0) {
    std::fprintf(stderr, "ftcodec info: warning: %zu damaged bytes at the end of the stream\n",
                 contents.damaged_bytes);
  }
  if (packets.empty())
    return Fail(Status(StatusCode::kCorruptData, "no packet in the stream"), "info");
  size_t valid_data = 0;
  const PacketInfo* first_bad = nullptr;
  for (const PacketInfo& p : packets) {
    valid_data += p.valid && !p.parameter_set;
    if (!p.valid && !first_bad) first_bad = &p;
  }
  if (valid_data == 0) {
    // Nothing a decoder could use (the first invalid packet's problem says why).
    const size_t k = first_bad ? static_cast<size_t>(first_bad - packets.data()) : 0;
    return Fail(
        Status(StatusCode::kCorruptData,
               "no valid data packet in the stream (" + std::to_string(packets.size() - valid) +
                   " of " + std::to_string(packets.size()) + " invalid" +
                   (first_bad ? "; packet " + std::to_string(k) + ": " + first_bad->error
                              : std::string()) +
                   ")"),
        "info");
  }
  // What a decoder would refuse before allocating (a valid packet may still describe more than
  // its stream's bytes can hold).
  if (Status st = CheckPacketStreamLimits(packets, limits); !st.ok()) return Fail(st, "info");
  return 0;
}

// A .ftcs sample stream: the header, record 0's parameters and sections, and every record's
// size.
int RunSampleStreamInfo(const std::string& path, const std::vector<uint8_t>& in, bool json,
                        const DecoderLimits& limits) {
  Result<SampleStreamInfo> info = probe_sample_stream(in.data(), in.size(), limits);
  if (!info.ok()) return Fail(info.status(), "info");
  const FrameInfo& f = info->first;
  const int64_t per_sample = f.sample_shape[0] * f.sample_shape[1] * f.sample_shape[2];
  const size_t n = info->record_sizes.size();
  if (json) {
    std::string s =
        "{\"file\": " + JsonString(path) + ", \"size\": " + std::to_string(info->total_size) +
        ", \"kind\": \"sample stream\", \"header_size\": " + std::to_string(info->header_size) +
        ", \"dtype\": " + JsonString(DTypeName(info->dtype)) +
        ", \"sample_shape\": " + JsonString(ShapeToString(info->sample_shape)) +
        ", \"codec\": " + JsonString(f.codec) + ", \"records\": [";
    for (size_t k = 0; k < n; ++k) {
      s += (k ? ", " : "") + std::to_string(info->record_sizes[k]);
    }
    std::fputs((s + "]}\n").c_str(), stdout);
    return 0;
  }
  std::printf("%s: %s bytes, sample stream, %zu record%s, header %s bytes\n", path.c_str(),
              Thousands(info->total_size).c_str(), n, n == 1 ? "" : "s",
              Thousands(info->header_size).c_str());
  std::printf("samples: %s %s, codec %s, %.4g bits/element overall\n", DTypeName(info->dtype),
              ShapeToString(info->sample_shape).c_str(), f.codec.c_str(),
              8.0 * static_cast<double>(info->total_size) /
                  static_cast<double>(per_sample * static_cast<int64_t>(n)));
  std::printf("record 0 as a frame:");
  for (const auto& p : f.params) std::printf(" %s=%s", p.first.c_str(), p.second.c_str());
  std::printf("; sections:");
  for (const auto& sec : f.sections)
    std::printf(" %s %s", sec.kind.c_str(), Thousands(sec.size).c_str());
  std::printf("\n");
  for (size_t k = 0; k < n; ++k) {
    std::printf("record %zu: %s bytes\n", k, Thousands(info->record_sizes[k]).c_str());
  }
  return 0;
}

int RunInfo(const std::string& path, bool json, int64_t max_elements) {
  const char* verb = "info";
  Result<DecoderLimits> limits = LimitsFromFlags(max_elements, 0);
  if (!limits.ok()) return Fail(limits.status(), verb);
  Result<std::vector<uint8_t>> in = ReadInput(path);
  if (!in.ok()) return Fail(in.status(), verb);
  if (IsPacketStream(in->data(), in->size())) return RunPacketInfo(path, *in, json, *limits);
  if (IsSampleStream(in->data(), in->size())) return RunSampleStreamInfo(path, *in, json, *limits);
  Result<StreamInfo> info = probe(in->data(), in->size(), *limits);
  if (!info.ok()) return Fail(info.status(), verb);
  const FrameInfo& f0 = info->frames[0];
  // Elements a frame codes (several samples for a multi-sample frame).
  auto sample_elems = [](const FrameInfo& f) {
    return f.sample_shape[0] * f.sample_shape[1] * f.sample_shape[2] *
           static_cast<int64_t>(f.sample_count);
  };
  const double total_bpe = 8.0 * static_cast<double>(info->total_size) /
                           static_cast<double>(f0.sample_shape[0] * f0.sample_shape[1] *
                                               f0.sample_shape[2] * f0.batch_count);
  if (json) {
    std::string s = "{\"file\": " + JsonString(path) +
                    ", \"size\": " + std::to_string(info->total_size) +
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
        s +=
            (i ? ", " : "") + JsonString(f.params[i].first) + ": " + JsonString(f.params[i].second);
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
  CLI::App* cmd = app.add_subcommand(
      "info",
      "Show the frames and parameters of a .ftc stream, the packets of a .ftcp or the "
      "records of a .ftcs");
  // -q: the checks without the report (errors still go to stderr).
  AddVerbosityFlags(cmd, "print nothing: the exit code says whether FILE is valid",
                    "accepted for symmetry: info prints every detail by default", true);
  cmd->add_option("FILE", *path, "input .ftc, .ftcp or .ftcs ('-' for stdin)")->required();
  cmd->add_flag("--json", *json, "machine-readable output");
  auto max_elements = std::make_shared<int64_t>(0);
  AddMaxElementsOption(cmd, max_elements.get());
  return {cmd, [path, json, max_elements]() { return RunInfo(*path, *json, *max_elements); },
          [path]() {
            return JobNeeds{"", "", *path, false};
          }};
}

}  // namespace ftc::cli
