// `ftcodec enc`.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/npy.h"
#include "ftcodec/packet.h"
#include "ftcodec/profile.h"
#include "ftcodec/sample_stream.h"
#include "tools/cli_io.h"
#include "tools/commands.h"

namespace ftc::cli {
namespace {

struct EncArgs {
  std::string input, output, codec = "raw", dtype = "keep", clip = "none";
  int threads = 1, bits = 4, band_rows = 0;
  double deadzone = 0;
  bool per_channel = false, lossless = false;
  // Picture codecs (jpeg, hevc).
  int quality = 90, qp = 22, bit_depth = 0;
  std::string preset = "ultrafast", layout = "mosaic";
  bool sequence = false, reorder = false;
  // Learned bottleneck.
  std::string unit, inner;
  // Packet mode (a .ftcp output or --packet-size).
  int packet_size = 1200;
  int parameter_set_interval = 64, parameter_sets = 3, frame_interleave = 8;
  bool live = false;
  uint32_t stream_id = 0;
  bool interleave = false;  // --interleave: the default layout, said explicitly
  bool contiguous = false;
  // Sample stream (a .ftcs output or --stream).
  bool stream = false;
  // A tune profile (explicit flags override its settings) and rate control.
  std::string profile;
  int64_t target_bytes = 0;
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The codecs each codec-specific flag applies to, for the flags whose setting the other codecs
// would ignore. Those the library refuses for a codec they do not apply to (--unit, --inner,
// --sequence, --target-bytes: EncoderOptions::Validate) are left to it.
struct FlagScope {
  const char* flag;
  std::vector<std::string> codecs;
};
const FlagScope kFlagScopes[] = {
    {"--bits", {"ans"}},
    {"--deadzone", {"ans"}},
    {"--band-rows", {"ans"}},
    {"--lossless", {"ans"}},
    {"--clip", {"ans", "jpeg", "hevc"}},
    {"--per-channel", {"ans", "jpeg", "hevc"}},
    {"--quality", {"jpeg"}},
    {"--reorder", {"jpeg", "hevc"}},
    {"--qp", {"hevc"}},
    {"--preset", {"hevc"}},
    {"--bit-depth", {"hevc"}},
    {"--layout", {"hevc"}},
};

// Fills *o from the profile, then from the flags given explicitly. A plan is kept only while no
// flag redefines the quantizer (--codec, --bits, --clip, --per-channel, --lossless).
int ApplyProfileAndFlags(const EncArgs& a, const CLI::App& cmd, const Profile& p,
                         EncoderOptions* o) {
  ApplyProfile(p, o);
  const char* const kQuantizerFlags[] = {"--bits", "--clip", "--per-channel", "--lossless"};
  std::string overridden = cmd.count("--codec") && a.codec != p.settings.codec ? "--codec" : "";
  for (const char* f : kQuantizerFlags) {
    if (cmd.count(f)) overridden += (overridden.empty() ? "" : ", ") + std::string(f);
  }
  if (o->plan && !overridden.empty()) {
    std::fprintf(stderr,
                 "ftcodec enc: note: %s override the profile: its per-channel plan is "
                 "not used\n",
                 overridden.c_str());
    o->plan.reset();
  }
  if (cmd.count("--codec")) o->codec = a.codec;
  if (cmd.count("--bits")) o->bits = a.bits;
  if (cmd.count("--per-channel")) o->per_channel = a.per_channel;
  if (cmd.count("--deadzone")) o->deadzone = a.deadzone;
  if (cmd.count("--band-rows")) o->band_rows = a.band_rows;
  if (cmd.count("--quality")) o->quality = a.quality;
  if (cmd.count("--clip")) {
    Result<ClipSpec> clip = ClipSpec::Parse(a.clip);
    if (!clip.ok()) return Fail(clip.status(), "enc");
    o->clip = *clip;
  }
  return 0;
}

// A profile is made for one sample shape: the input's samples must have it.
Status CheckProfileShape(const Profile& p, const TensorView& view) {
  Shape have = view.shape_vector();
  if (view.rank == 4) have.erase(have.begin());
  while (have.size() < 3) have.insert(have.begin(), 1);
  Shape want = p.sample_shape;
  while (want.size() < 3) want.insert(want.begin(), 1);
  if (want != have) {
    return Status(StatusCode::kCorruptData,
                  "profile: sample_shape " + ShapeToString(p.sample_shape) +
                      " does not match the input's samples " + ShapeToString(have));
  }
  return Status::Ok();
}

// Usage errors of flags that only the command line can tell: a flag given for a codec it does
// not apply to, and combinations that would be ignored. The options themselves are checked by
// the library (EncoderOptions::Validate, and encode_packets for packet mode).
int CheckFlags(const EncArgs& a, const CLI::App& cmd, bool packet_mode, const char* verb) {
  for (const FlagScope& scope : kFlagScopes) {
    if (!cmd.count(scope.flag)) continue;
    // Packet mode: raw bands too, and learned's are bands of the code.
    if (packet_mode && std::string(scope.flag) == "--band-rows") continue;
    // learned: --bits and --quality set its inner codec (checked below).
    if (a.codec == "learned" &&
        (std::string(scope.flag) == "--bits" || std::string(scope.flag) == "--quality")) {
      continue;
    }
    bool applies = false;
    std::string list;
    for (const std::string& c : scope.codecs) {
      applies = applies || c == a.codec;
      list += (list.empty() ? "--codec " : ", ") + c;
    }
    if (!applies) {
      return Usage(std::string(scope.flag) + " applies to " + list +
                       (scope.codecs.size() == 1 ? " only" : ""),
                   verb);
    }
  }
  if (a.codec == "learned") {
    // Without --inner the unit's trained setting applies: --bits/--quality would be ignored.
    if (cmd.count("--bits") && a.inner != "ans") {
      return Usage("--bits with --codec learned needs --inner ans", verb);
    }
    if (cmd.count("--quality") && a.inner != "jpeg") {
      return Usage("--quality with --codec learned needs --inner jpeg", verb);
    }
  }
  if (a.lossless && (cmd.count("--bits") || cmd.count("--clip") || cmd.count("--per-channel") ||
                     cmd.count("--deadzone"))) {
    return Usage("--lossless cannot be combined with --bits, --clip, --per-channel or --deadzone",
                 verb);
  }
  return 0;
}

// Fills *o (codec and threads already set) from the flags and the profile, whose settings
// explicit flags override, and has the library validate the result.
int MakeEncoderOptions(const EncArgs& a, const CLI::App& cmd, const std::optional<Profile>& profile,
                       EncoderOptions* o, const char* verb) {
  if (a.dtype != "keep") {
    Result<DType> t = ParseDType(a.dtype);
    if (!t.ok() || *t == DType::kU8) {
      return Usage("--dtype must be keep, f32, f16 or bf16 (got '" + a.dtype + "')", verb);
    }
    o->store_dtype = *t;
  }
  Result<ClipSpec> clip = ClipSpec::Parse(a.clip);
  if (!clip.ok()) return Fail(clip.status(), verb);
  o->clip = *clip;
  o->bits = a.bits;
  o->per_channel = a.per_channel;
  o->lossless = a.lossless;
  o->deadzone = a.deadzone;
  o->band_rows = a.band_rows;
  o->quality = a.quality;
  o->qp = a.qp;
  o->preset = a.preset;
  o->bit_depth = a.bit_depth;
  o->layout = a.layout;
  o->sequence = a.sequence;
  o->reorder_channels = a.reorder;
  o->unit = a.unit;
  o->inner = a.inner;
  if (profile) {
    if (int rc = ApplyProfileAndFlags(a, cmd, *profile, o); rc != 0) return rc;
  }
  if (cmd.count("--target-bytes")) o->target_bytes = a.target_bytes;
  if (Status s = o->Validate(); !s.ok()) return Fail(s, verb);
  return 0;
}

// A live stream (docs/format.md, "Live streams"): the samples of an N-first tensor one by one, as
// a device would send them.
Result<std::vector<Bytes>> EncodeLiveStream(const TensorView& view, const EncoderOptions& o,
                                            const PacketOptions& po) {
  LivePacketEncoder live(o, po);
  std::vector<Bytes> all;
  // N-first (rank 2 to 4), as a sample stream: sample i is the view without its first axis.
  const int64_t n = view.rank >= 2 ? view.shape[0] : 1;
  for (int64_t i = 0; i < n; ++i) {
    TensorView sample = view;
    if (view.rank >= 2) {
      sample.rank = view.rank - 1;
      for (int d = 0; d < sample.rank; ++d) {
        sample.shape[d] = view.shape[d + 1];
        sample.strides[d] = view.strides[d + 1];
      }
      sample.data = static_cast<const uint8_t*>(view.data) +
                    i * view.strides[0] * static_cast<int64_t>(DTypeSize(view.dtype));
    }
    Result<std::vector<Bytes>> packets = live.encode(sample);
    if (!packets.ok()) {
      return n > 1 ? packets.status().WithContext("sample " + std::to_string(i)) : packets.status();
    }
    for (Bytes& p : *packets) all.push_back(std::move(p));
  }
  return all;
}

// Packet mode: codes the tensor into a .ftcp packet stream; the library refuses a codec that
// cannot be packetized.
int EncodePacketStream(const EncArgs& a, const CLI::App& cmd, const TensorView& view,
                       const EncoderOptions& o, const char* verb) {
  PacketOptions po;
  po.packet_size = a.packet_size;
  po.interleave = !a.contiguous;
  po.auto_band_rows = cmd.count("--band-rows") == 0;
  po.parameter_set_interval = a.parameter_set_interval;
  po.parameter_sets = a.parameter_sets;
  po.frame_interleave = a.frame_interleave;
  if (cmd.count("--stream-id")) po.stream_id = a.stream_id;
  Result<std::vector<Bytes>> packets =
      a.live ? EncodeLiveStream(view, o, po) : encode_packets(view, o, po);
  if (!packets.ok()) return Fail(packets.status(), verb);
  Result<Bytes> file = WritePacketStream(*packets);
  if (!file.ok()) return Fail(file.status(), verb);
  if (Status s = WriteOutput(a.output, *file); !s.ok()) return Fail(s, verb);
  size_t payload = 0, largest = 0;
  for (const Bytes& p : *packets) {
    payload += p.size();
    largest = std::max(largest, p.size());
  }
  const int64_t samples = view.rank == 4 || (a.live && view.rank >= 2) ? view.shape[0] : 1;
  if (Quiet()) return 0;
  std::fprintf(stderr,
               "ftcodec enc: %s packets (%.3g per sample, largest %s of %d bytes), %s bytes of "
               "packets, %.4g bits/element [%s %s, codec %s%s]\n",
               Thousands(packets->size()).c_str(),
               static_cast<double>(packets->size()) / static_cast<double>(samples),
               Thousands(largest).c_str(), a.packet_size, Thousands(payload).c_str(),
               8.0 * static_cast<double>(payload) / static_cast<double>(view.num_elements()),
               DTypeName(view.dtype), ShapeToString(view.shape_vector()).c_str(), o.codec.c_str(),
               po.interleave ? ", interleaved" : "");
  return 0;
}

// Codes the tensor into a .ftc stream of frames.
int EncodeFrameStream(const EncArgs& a, const TensorView& view, const EncoderOptions& o,
                      const char* verb) {
  Result<Bytes> code = encode(view, o);
  if (!code.ok()) return Fail(code.status(), verb);
  if (Status s = WriteOutput(a.output, *code); !s.ok()) return Fail(s, verb);
  const int64_t elements = view.num_elements();
  const int64_t samples = view.rank == 4 ? view.shape[0] : 1;
  const double bpe = 8.0 * static_cast<double>(code->size()) / static_cast<double>(elements);
  if (Quiet()) return 0;
  if (Verbose()) {
    Result<StreamInfo> info = probe(*code);
    for (size_t i = 0; info.ok() && i < info->frames.size(); ++i) {
      std::fprintf(stderr, "ftcodec enc: frame %zu: %s bytes\n", i,
                   Thousands(info->frames[i].size).c_str());
    }
  }
  std::fprintf(stderr,
               "ftcodec enc: %s bytes (%s per sample), %.4g bits/element, %.2fx smaller than f32 "
               "[%s %s, codec %s]\n",
               Thousands(code->size()).c_str(),
               Thousands(code->size() / static_cast<uint64_t>(samples)).c_str(), bpe, 32.0 / bpe,
               DTypeName(view.dtype), ShapeToString(view.shape_vector()).c_str(), o.codec.c_str());
  return 0;
}

// Codes the tensor's samples into a .ftcs sample stream.
int EncodeSampleStream(const EncArgs& a, const TensorView& view, const EncoderOptions& o,
                       const char* verb) {
  Result<Bytes> code = encode_sample_stream(view, o);
  if (!code.ok()) return Fail(code.status(), verb);
  if (Status s = WriteOutput(a.output, *code); !s.ok()) return Fail(s, verb);
  const int64_t samples = view.rank == 4 ? view.shape[0] : 1;
  if (Quiet()) return 0;
  std::fprintf(stderr,
               "ftcodec enc: %s bytes (%.1f per sample), %.4g bits/element, sample stream of %s "
               "samples [%s %s, codec %s]\n",
               Thousands(code->size()).c_str(),
               static_cast<double>(code->size()) / static_cast<double>(samples),
               8.0 * static_cast<double>(code->size()) / static_cast<double>(view.num_elements()),
               Thousands(static_cast<uint64_t>(samples)).c_str(), DTypeName(view.dtype),
               ShapeToString(view.shape_vector()).c_str(), o.codec.c_str());
  return 0;
}

int RunEnc(const EncArgs& args, const CLI::App& cmd) {
  const char* verb = "enc";
  if (int rc = CheckOutput(args.output, {args.input, args.profile}, verb); rc != 0) return rc;
  // A profile is read first: without --codec, its codec is the one the other flags apply to.
  std::optional<Profile> profile;
  EncArgs a = args;
  if (!a.profile.empty()) {
    Result<Profile> p = LoadProfile(a.profile);
    if (!p.ok()) return Fail(p.status(), verb);
    profile = std::move(p).value();
    if (!cmd.count("--codec")) a.codec = profile->settings.codec;
  }
  EncoderOptions o;
  o.codec = a.codec;
  o.threads = ResolveThreads(a.threads);
  if (Status s = o.Validate(); !s.ok() && a.codec != "raw") {
    // Report an unknown or missing codec before anything codec-specific.
    if (s.code() == StatusCode::kNotBuiltIn || s.message().find("unknown codec") == 0) {
      return Fail(s, verb);
    }
  }
  const bool packet_mode = cmd.count("--packet-size") > 0 || EndsWith(a.output, ".ftcp");
  if (a.interleave && a.contiguous) {
    return Usage("--interleave and --contiguous are two layouts: give one", verb);
  }
  if ((a.interleave || a.contiguous) && !packet_mode) {
    return Usage(std::string(a.interleave ? "--interleave" : "--contiguous") +
                     " applies to packet mode only (a .ftcp output or --packet-size)",
                 verb);
  }
  for (const char* flag : {"--parameter-set-interval", "--parameter-sets", "--frame-interleave",
                           "--live", "--stream-id"}) {
    if (cmd.count(flag) && !packet_mode) {
      return Usage(std::string(flag) +
                       " applies to packet mode only (a .ftcp output or "
                       "--packet-size)",
                   verb);
    }
  }
  const bool stream_mode = a.stream || EndsWith(a.output, ".ftcs");
  if (stream_mode && packet_mode) {
    return Usage(
        "--stream (a .ftcs sample stream) and packet mode (a .ftcp output or "
        "--packet-size) exclude each other",
        verb);
  }
  if (int rc = CheckFlags(a, cmd, packet_mode, verb); rc != 0) return rc;
  if (int rc = MakeEncoderOptions(a, cmd, profile, &o, verb); rc != 0) return rc;

  Result<std::vector<uint8_t>> in = ReadInput(a.input);
  if (!in.ok()) return Fail(in.status(), verb);
  Result<NpyArray> arr = ReadNpy(in->data(), in->size());
  if (!arr.ok()) return Fail(arr.status().WithContext(a.input == "-" ? "<stdin>" : a.input), verb);
  if (arr->converted_from_f64 && !Quiet()) {
    std::fprintf(stderr, "ftcodec enc: note: %s holds float64; converted to float32\n",
                 a.input.c_str());
  }
  const TensorView view = arr->tensor.view();
  if (profile) {
    if (Status s = CheckProfileShape(*profile, view); !s.ok()) return Fail(s, verb);
  }
  if (packet_mode) return EncodePacketStream(a, cmd, view, o, verb);
  if (stream_mode) return EncodeSampleStream(a, view, o, verb);
  return EncodeFrameStream(a, view, o, verb);
}

}  // namespace

Command AddEncCommand(CLI::App& app) {
  auto a = std::make_shared<EncArgs>();
  std::string codecs;
  for (const std::string& c : CliCodecs()) codecs += (codecs.empty() ? "" : ", ") + c;
  CLI::App* cmd = app.add_subcommand("enc", "Encode a .npy tensor into a .ftc stream");
  cmd->add_option("INPUT", a->input, "input .npy ('-' for stdin)")->required();
  cmd->add_option("OUTPUT", a->output,
                  "output .ftc, .ftcp for packets or .ftcs for a sample stream ('-' for stdout)")
      ->required();
  cmd->add_option("--codec", a->codec, "codec: " + codecs)->capture_default_str();
  cmd->add_option("--dtype", a->dtype, "raw (and ans --lossless): stored dtype keep|f32|f16|bf16")
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "frames coded in parallel (0 = all cores, 1..256)")
      ->capture_default_str();
  cmd->add_option("--bits", a->bits, "ans (and learned --inner ans): quantizer bit depth 1..16")
      ->capture_default_str();
  cmd->add_option("--clip", a->clip, "ans/jpeg/hevc: none | A:B | Ksigma (3sigma) | pP (p99.9)")
      ->capture_default_str();
  cmd->add_flag("--per-channel", a->per_channel, "ans/jpeg/hevc: one quantizer range per channel");
  cmd->add_option("--deadzone", a->deadzone, "ans: dead zone 0..0.5 (rounding offset 0.5-D)")
      ->capture_default_str();
  cmd->add_option("--band-rows", a->band_rows,
                  "ans (and packet mode): rows per independently decodable band (0 = whole "
                  "channel; learned packets: rows of the code)")
      ->capture_default_str();
  cmd->add_flag("--lossless", a->lossless, "ans: lossless coding of f32/f16/bf16");
  cmd->add_flag("--stream", a->stream,
                "write a sample stream (.ftcs): one header with what the samples share, then a "
                "record of a few bytes' framing per sample (also chosen by a .ftcs output)");
  cmd->add_option("--packet-size", a->packet_size,
                  "packet mode (codecs raw, ans, learned with inner ans): largest packet in "
                  "bytes, 64..65535 (a .ftcp output implies packet mode with 1200)")
      ->capture_default_str();
  cmd->add_flag("--interleave", a->interleave,
                "packet mode: the interleaved layout, the default: rows of many channels in "
                "every packet, so a lost packet's elements keep received neighbours");
  cmd->add_option("--parameter-set-interval", a->parameter_set_interval,
                  "packet mode: send the stream's parameter set (shape, codec, parameters) again "
                  "before every Nth data packet, 1..65535")
      ->capture_default_str();
  cmd->add_option("--parameter-sets", a->parameter_sets,
                  "packet mode: send at least this many copies of the parameter set, spread "
                  "over the stream, 1..65535 (a receiver needs one)")
      ->capture_default_str();
  cmd->add_option("--frame-interleave", a->frame_interleave,
                  "packet mode: send the packets of K samples round robin, so a burst of losses "
                  "spreads over K samples (the sender holds K samples), 1..256")
      ->capture_default_str();
  cmd->add_flag("--live", a->live,
                "packet mode: a live stream (docs/format.md): the samples of the N-first tensor "
                "(rank 2 to 4) coded one by one as a device sends them, with no sample count "
                "(--parameter-sets and --frame-interleave do not apply)");
  cmd->add_option("--stream-id", a->stream_id,
                  "packet mode: the packets' Stream_Id (default: a checksum of the stream)");
  cmd->add_flag("--contiguous", a->contiguous,
                "packet mode: the contiguous layout instead: runs of whole bands (a few % "
                "smaller; a lost packet takes whole channels)");
  cmd->add_option("--quality", a->quality, "jpeg (and learned --inner jpeg): quality 1..100")
      ->capture_default_str();
  cmd->add_option("--qp", a->qp, "hevc: x265 constant QP 0..51 (I pictures get QP-3)")
      ->capture_default_str();
  cmd->add_option("--preset", a->preset, "hevc: x265 preset ultrafast..placebo")
      ->capture_default_str();
  cmd->add_option("--bit-depth", a->bit_depth, "hevc: picture bit depth 8 or 10 (default 10)");
  cmd->add_option("--layout", a->layout,
                  "hevc: mosaic (channels tiled, intra) | frames (channels as video frames)")
      ->capture_default_str();
  cmd->add_flag("--sequence", a->sequence,
                "hevc: code the N samples of an NxCxHxW input as one video (one frame)");
  cmd->add_flag("--reorder", a->reorder,
                "jpeg/hevc: order channels by similarity (the order is stored)");
  cmd->add_option("--unit", a->unit,
                  "learned: the learned unit's folder (required; the stream records its hash)");
  cmd->add_option("--inner", a->inner,
                  "learned: inner codec for the code, ans | jpeg (default: the one the unit was "
                  "trained for, with its trained bits or quality)");
  cmd->add_option("--profile", a->profile,
                  "a profile made by `ftcodec tune`: its codec settings (and per-channel plan); "
                  "explicit flags override them");
  cmd->add_option("--target-bytes", a->target_bytes,
                  "ans/jpeg: every sample's frame is at most N bytes, at the best quality that "
                  "fits (--bits / --quality / the profile's plan are the finest tried)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  AddOutputFlags(cmd);
  AddVerbosityFlags(cmd, "no summary or notes on stderr", "also the size of every frame");
  return {cmd, [a, cmd]() { return RunEnc(*a, *cmd); },
          [a, cmd]() {
            return JobNeeds{cmd->count("--codec") ? a->codec : "", a->profile, "",
                            cmd->count("--unit") > 0};
          }};
}

}  // namespace ftc::cli
