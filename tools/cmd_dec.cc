// `ftcodec dec`.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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

struct DecArgs {
  std::string input, output, dtype = "keep", conceal = "auto", unit, profile, stream_id;
  int threads = 1;
  int64_t max_elements = 0, max_conceal_work = 0;
};

// A .ftcp file: every packet that arrived, lost elements concealed; a summary on stderr.
Result<Tensor> DecodePacketFile(const std::vector<uint8_t>& bytes, PacketDecoderOptions o,
                                ConcealMethod method) {
  PacketStreamContents contents = ReadPacketStream(bytes.data(), bytes.size());
  Decoder d(o);
  for (const Bytes& p : contents.packets) d.push(p).IgnoreError();
  Result<DecodedTensor> r = d.finish(method);
  if (!r.ok()) {
    if (contents.damaged_bytes > 0) {
      return r.status().WithContext(Thousands(contents.damaged_bytes) +
                                    " bytes of broken packet records");
    }
    return r.status();
  }
  const PacketStats& s = r->stats;
  if (contents.damaged_bytes > 0) {
    std::fprintf(stderr, "ftcodec dec: warning: the last %s bytes are not a packet record\n",
                 Thousands(contents.damaged_bytes).c_str());
  }
  if (s.corrupt + s.foreign + s.inconsistent > 0) {
    std::fprintf(
        stderr,
        "ftcodec dec: warning: dropped %s corrupt%s, %s foreign and %s inconsistent "
        "packets\n",
        Thousands(s.corrupt).c_str(),
        s.over_limit > 0 ? (" (" + Thousands(s.over_limit) + " over the limits)").c_str() : "",
        Thousands(s.foreign).c_str(), Thousands(s.inconsistent).c_str());
  }
  if (s.other_streams > 0) {
    std::string ids;
    for (uint32_t id : s.other_stream_ids) {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "%s%08x", ids.empty() ? "" : ", ", id);
      ids += buf;
    }
    if (s.other_stream_ids.size() < s.other_streams) ids += ", ...";
    std::fprintf(stderr,
                 "ftcodec dec: warning: decoded stream %08x (%s packets); packets of %u other "
                 "stream%s (%s) were ignored as foreign (--stream-id picks one)\n",
                 s.stream_id, Thousands(s.accepted).c_str(), s.other_streams,
                 s.other_streams == 1 ? "" : "s", ids.c_str());
  }
  // Codec learned: the mask and the counts are over the codes, not the features.
  const bool code = r->mask.shape != r->tensor.shape();
  if (s.lost_elements > 0) {
    std::fprintf(stderr,
                 "ftcodec dec: warning: %s of %s packets lost%s (%u of %u samples entirely); "
                 "%s of %s %selements (%.2f%%) concealed by %s%s\n",
                 Thousands(s.packets_missing).c_str(), Thousands(s.packets_expected).c_str(),
                 s.frames_lost > 0 ? " in the samples that arrived" : "", s.frames_lost, s.frames,
                 Thousands(static_cast<uint64_t>(s.lost_elements)).c_str(),
                 Thousands(static_cast<uint64_t>(s.elements)).c_str(), code ? "code " : "",
                 100.0 * static_cast<double>(s.lost_elements) / static_cast<double>(s.elements),
                 ConcealMethodName(method), code ? ", then restored by the unit" : "");
  } else if (!Quiet()) {
    std::fprintf(
        stderr, "ftcodec dec: %s packets, none lost%s\n", Thousands(s.accepted).c_str(),
        s.duplicates > 0 ? (" (" + Thousands(s.duplicates) + " duplicates ignored)").c_str() : "");
  }
  return std::move(r->tensor);
}

int RunDec(const DecArgs& a) {
  const char* verb = "dec";
  if (int rc = CheckOutput(a.output, {a.input, a.profile}, verb); rc != 0) return rc;
  DecoderOptions o;
  o.threads = ResolveThreads(a.threads);
  if (a.dtype != "keep") {
    Result<DType> t = ParseDType(a.dtype);
    if (!t.ok() || *t == DType::kU8) {
      return Usage("--dtype must be keep, f32, f16 or bf16 (got '" + ShortToken(a.dtype) + "')",
                   verb);
    }
    o.dtype = *t;
  }
  if (o.threads < 1 || o.threads > 256) return Usage("--threads must be 0..256", verb);
  // --conceal auto: the method the profile chose for its model (tune), else linear.
  std::string conceal = a.conceal == "auto" ? "linear" : a.conceal;
  o.unit = a.unit;
  std::shared_ptr<const ConcealPredictor> predictor;
  if (!a.profile.empty()) {
    Result<Profile> p = LoadProfile(a.profile);
    if (!p.ok()) return Fail(p.status(), verb);
    o.plan = p->plan;
    predictor = p->conceal_predictor;
    if (a.conceal == "auto" && !p->conceal.empty()) conceal = p->conceal;
  }
  Result<ConcealMethod> method = ParseConcealMethod(conceal);
  if (!method.ok()) return Fail(method.status(), verb);
  if (*method == ConcealMethod::kAltec && !predictor) {
    return Usage("--conceal altec needs --profile P with a fitted predictor (ftcodec tune)", verb);
  }
  Result<DecoderLimits> limits = LimitsFromFlags(a.max_elements, a.max_conceal_work);
  if (!limits.ok()) return Fail(limits.status(), verb);
  o.limits = *limits;
  PacketDecoderOptions po;
  po.dtype = o.dtype;
  po.unit = a.unit;
  po.limits = *limits;
  po.conceal.predictor = predictor;
  if (!a.stream_id.empty()) {
    Result<uint32_t> id = ParseStreamId(a.stream_id);
    if (!id.ok()) return Fail(id.status(), verb);
    po.stream_id = *id;
  }
  Result<std::vector<uint8_t>> in = ReadInput(a.input);
  if (!in.ok()) return Fail(in.status(), verb);
  const bool packets = IsPacketStream(in->data(), in->size());
  if (!packets && !a.stream_id.empty()) {
    return Usage("--stream-id applies to .ftcp packet streams only", verb);
  }
  Result<Tensor> t = packets ? DecodePacketFile(*in, po, *method)
                     : IsSampleStream(in->data(), in->size())
                         ? decode_sample_stream(in->data(), in->size(), o)
                         : decode(in->data(), in->size(), o);
  if (!t.ok()) {
    if (predictor && *method == ConcealMethod::kAltec &&
        t.status().code() == StatusCode::kUnsupported) {
      return Fail(t.status().WithContext("profile " + a.profile), verb);
    }
    return Fail(t.status(), verb);
  }
  if (t->dtype() == DType::kBF16 && !Quiet()) {
    std::fprintf(stderr, "ftcodec dec: note: NumPy has no bfloat16; writing float32 (exact)\n");
  }
  Result<std::vector<uint8_t>> npy = WriteNpy(t->view());
  if (!npy.ok()) return Fail(npy.status(), verb);
  if (Status s = WriteOutput(a.output, *npy); !s.ok()) return Fail(s, verb);
  if (Verbose()) {
    std::fprintf(stderr, "ftcodec dec: %s %s\n", DTypeName(t->dtype()),
                 ShapeToString(t->shape()).c_str());
  }
  return 0;
}

}  // namespace

Command AddDecCommand(CLI::App& app) {
  auto a = std::make_shared<DecArgs>();
  CLI::App* cmd =
      app.add_subcommand("dec", "Decode a .ftc stream or a .ftcp packet stream into a .npy tensor");
  cmd->add_option("INPUT", a->input, "input .ftc, .ftcp or .ftcs ('-' for stdin)")->required();
  cmd->add_option("OUTPUT", a->output, "output .npy ('-' for stdout)")->required();
  AddOutputFlags(cmd);
  AddVerbosityFlags(cmd, "no summary or notes on stderr (warnings stay)",
                    "also the decoded dtype and shape");
  cmd->add_option("--dtype", a->dtype, "output dtype keep|f32|f16|bf16")->capture_default_str();
  cmd->add_option("--threads", a->threads, "frames decoded in parallel (0 = all cores, 1..256)")
      ->capture_default_str();
  cmd->add_option(
         "--conceal", a->conceal,
         ".ftcp input: how lost elements are filled: auto (the --profile's method for "
         "its model, else linear), zero, mean, linear, inpaint, caltec, lowrank, altec (the "
         "--profile's fitted predictor)")
      ->capture_default_str();
  cmd->add_option("--profile", a->profile,
                  "the profile (ftcodec tune) of the stream: its per-channel plan, its "
                  "concealment method for --conceal auto and its altec predictor");
  cmd->add_option("--unit", a->unit,
                  "codec learned (.ftc or .ftcp): the folder of the learned unit the stream was "
                  "coded with");
  AddMaxElementsOption(cmd, &a->max_elements);
  cmd->add_option("--max-conceal-work", a->max_conceal_work,
                  ".ftcp input: concealment budget in operations (default: 2^31 + 2^20 per "
                  "byte of the stream's packets)");
  cmd->add_option("--stream-id", a->stream_id,
                  ".ftcp input: decode the stream of this Stream_Id (8 hex digits, as `info` "
                  "shows it; default: the stream most packets belong to)");
  return {cmd, [a]() { return RunDec(*a); },
          [a, cmd]() {
            return JobNeeds{"", "", a->input, cmd->count("--unit") > 0};
          }};
}

}  // namespace ftc::cli
