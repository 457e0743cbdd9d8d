// The `ftcodec` command-line tool. Uses only the public API (include/ftcodec).
//
// Exit codes: 0 ok; 1 usage error, invalid option combination, codec not built in;
// 2 bad or corrupt input data; 3 I/O error.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>

#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "tools/cli_io.h"

namespace ftc::cli {
namespace {

int Fail(const Status& s, const char* verb) {
  std::fprintf(stderr, "ftcodec %s: error: %s\n", verb, s.message().c_str());
  return ExitCodeFor(s);
}

int Usage(const std::string& message, const char* verb) {
  std::fprintf(stderr, "ftcodec %s: error: %s\n", verb, message.c_str());
  return 1;
}

std::string Thousands(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string JsonString(const std::string& s) {
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

struct EncArgs {
  std::string input, output, codec = "raw", dtype = "keep", clip = "none";
  int threads = 1, bits = 4, band_rows = 0;
  double deadzone = 0;
  bool per_channel = false, lossless = false;
};

int RunEnc(const EncArgs& a, const CLI::App& cmd) {
  const char* verb = "enc";
  EncoderOptions o;
  o.codec = a.codec;
  o.threads = a.threads;
  if (Status s = o.Validate(); !s.ok() && a.codec != "raw") {
    // Report an unknown or missing codec before anything codec-specific.
    if (s.code() == StatusCode::kNotBuiltIn || s.message().find("unknown codec") == 0) {
      return Fail(s, verb);
    }
  }
  const bool quantizing = a.codec == "ans";
  for (const char* flag : {"--bits", "--clip", "--per-channel", "--deadzone", "--band-rows",
                           "--lossless"}) {
    if (cmd.count(flag) && !quantizing) {
      return Usage(std::string(flag) + " applies to --codec ans only", verb);
    }
  }
  if (a.lossless && (cmd.count("--bits") || cmd.count("--clip") || cmd.count("--per-channel") ||
                     cmd.count("--deadzone"))) {
    return Usage("--lossless cannot be combined with --bits, --clip, --per-channel or --deadzone",
                 verb);
  }
  if (a.dtype != "keep") {
    Result<DType> t = ParseDType(a.dtype);
    if (!t.ok() || *t == DType::kU8) {
      return Usage("--dtype must be keep, f32, f16 or bf16 (got '" + a.dtype + "')", verb);
    }
    o.store_dtype = *t;
  }
  Result<ClipSpec> clip = ClipSpec::Parse(a.clip);
  if (!clip.ok()) return Fail(clip.status(), verb);
  o.clip = *clip;
  o.bits = a.bits;
  o.per_channel = a.per_channel;
  o.lossless = a.lossless;
  o.deadzone = a.deadzone;
  o.band_rows = a.band_rows;
  if (Status s = o.Validate(); !s.ok()) return Fail(s, verb);

  Result<std::vector<uint8_t>> in = ReadInput(a.input);
  if (!in.ok()) return Fail(in.status(), verb);
  Result<NpyArray> arr = ReadNpy(in->data(), in->size());
  if (!arr.ok()) return Fail(arr.status().WithContext(a.input == "-" ? "<stdin>" : a.input), verb);
  if (arr->converted_from_f64) {
    std::fprintf(stderr, "ftcodec enc: note: %s holds float64; converted to float32\n",
                 a.input.c_str());
  }
  const TensorView view = arr->tensor.view();
  Result<Bytes> code = encode(view, o);
  if (!code.ok()) return Fail(code.status(), verb);
  if (Status s = WriteOutput(a.output, *code); !s.ok()) return Fail(s, verb);
  const int64_t elements = view.num_elements();
  const int64_t samples = view.rank == 4 ? view.shape[0] : 1;
  const double bpe = 8.0 * static_cast<double>(code->size()) / static_cast<double>(elements);
  std::fprintf(stderr,
               "ftcodec enc: %s bytes (%s per sample), %.4g bits/element, %.2fx smaller than f32 "
               "[%s %s, codec %s]\n",
               Thousands(code->size()).c_str(),
               Thousands(code->size() / static_cast<uint64_t>(samples)).c_str(), bpe, 32.0 / bpe,
               DTypeName(view.dtype), ShapeToString(view.shape_vector()).c_str(), o.codec.c_str());
  return 0;
}

struct DecArgs {
  std::string input, output, dtype = "keep";
  int threads = 1;
};

int RunDec(const DecArgs& a) {
  const char* verb = "dec";
  DecoderOptions o;
  o.threads = a.threads;
  if (a.dtype != "keep") {
    Result<DType> t = ParseDType(a.dtype);
    if (!t.ok() || *t == DType::kU8) {
      return Usage("--dtype must be keep, f32, f16 or bf16 (got '" + a.dtype + "')", verb);
    }
    o.dtype = *t;
  }
  if (a.threads < 1 || a.threads > 256) return Usage("--threads must be 1..256", verb);
  Result<std::vector<uint8_t>> in = ReadInput(a.input);
  if (!in.ok()) return Fail(in.status(), verb);
  Result<Tensor> t = decode(in->data(), in->size(), o);
  if (!t.ok()) return Fail(t.status(), verb);
  if (t->dtype() == DType::kBF16) {
    std::fprintf(stderr, "ftcodec dec: note: NumPy has no bfloat16; writing float32 (exact)\n");
  }
  Result<std::vector<uint8_t>> npy = WriteNpy(t->view());
  if (!npy.ok()) return Fail(npy.status(), verb);
  if (Status s = WriteOutput(a.output, *npy); !s.ok()) return Fail(s, verb);
  return 0;
}

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

int Main(int argc, char** argv) {
  CLI::App app{"ftcodec: compress neural-network feature tensors (.npy <-> .ftc)"};
  app.require_subcommand(1);
  std::string codecs;
  for (const std::string& c : AvailableCodecs()) codecs += (codecs.empty() ? "" : ", ") + c;
  app.set_version_flag("--version", std::string("ftcodec ") + VersionString() + " (format " +
                                        std::to_string(FormatVersion()) + "; codecs: " + codecs +
                                        ")");

  EncArgs enc;
  CLI::App* enc_cmd = app.add_subcommand("enc", "Encode a .npy tensor into a .ftc stream");
  enc_cmd->add_option("INPUT", enc.input, "input .npy ('-' for stdin)")->required();
  enc_cmd->add_option("OUTPUT", enc.output, "output .ftc ('-' for stdout)")->required();
  enc_cmd->add_option("--codec", enc.codec, "codec: " + codecs)->capture_default_str();
  enc_cmd->add_option("--dtype", enc.dtype, "raw: stored dtype keep|f32|f16|bf16")
      ->capture_default_str();
  enc_cmd->add_option("--threads", enc.threads, "frames coded in parallel (1..256)")
      ->capture_default_str();
  enc_cmd->add_option("--bits", enc.bits, "ans: quantizer bit depth 1..16")->capture_default_str();
  enc_cmd->add_option("--clip", enc.clip, "ans: none | A:B | Ksigma (3sigma) | pP (p99.9)")
      ->capture_default_str();
  enc_cmd->add_flag("--per-channel", enc.per_channel, "ans: one quantizer range per channel");
  enc_cmd->add_option("--deadzone", enc.deadzone, "ans: dead zone 0..0.5 (rounding offset 0.5-D)")
      ->capture_default_str();
  enc_cmd->add_option("--band-rows", enc.band_rows,
                      "ans: rows per independently decodable band (0 = whole channel)")
      ->capture_default_str();
  enc_cmd->add_flag("--lossless", enc.lossless, "ans: lossless coding of f32/f16/bf16");

  DecArgs dec;
  CLI::App* dec_cmd = app.add_subcommand("dec", "Decode a .ftc stream into a .npy tensor");
  dec_cmd->add_option("INPUT", dec.input, "input .ftc ('-' for stdin)")->required();
  dec_cmd->add_option("OUTPUT", dec.output, "output .npy ('-' for stdout)")->required();
  dec_cmd->add_option("--dtype", dec.dtype, "output dtype keep|f32|f16|bf16")->capture_default_str();
  dec_cmd->add_option("--threads", dec.threads, "frames decoded in parallel (1..256)")
      ->capture_default_str();

  std::string info_path;
  bool info_json = false;
  CLI::App* info_cmd = app.add_subcommand("info", "Show the frames and parameters of a .ftc stream");
  info_cmd->add_option("FILE", info_path, "input .ftc ('-' for stdin)")->required();
  info_cmd->add_flag("--json", info_json, "machine-readable output");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help/version or the parse error
    return code == 0 ? 0 : 1;
  }
  if (enc_cmd->parsed()) return RunEnc(enc, *enc_cmd);
  if (dec_cmd->parsed()) return RunDec(dec);
  if (info_cmd->parsed()) return RunInfo(info_path, info_json);
  return 1;
}

}  // namespace
}  // namespace ftc::cli

int main(int argc, char** argv) { return ftc::cli::Main(argc, argv); }
