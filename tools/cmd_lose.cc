// `ftcodec lose`: simulates a lossy network on a .ftcp packet stream. Uses only the public API.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "tools/cli_io.h"
#include "tools/commands.h"

namespace ftc::cli {
namespace {

struct LoseArgs {
  std::string input, output, model = "iid", trace;
  double rate = 0, burst = 1;
  uint64_t seed = 1;
};

int RunLose(const LoseArgs& a, const CLI::App& cmd) {
  const char* verb = "lose";
  if (int rc = CheckOutput(a.output, {a.input, a.trace}, verb); rc != 0) return rc;
  LossModel m;
  const bool has_trace = cmd.count("--trace") > 0;
  if (has_trace) {
    if (cmd.count("--model") && a.model != "trace") {
      return Usage("--trace replaces --model " + ShortToken(a.model), verb);
    }
    if (cmd.count("--rate") || cmd.count("--burst")) {
      return Usage("--trace takes no --rate or --burst", verb);
    }
    m.kind = LossModel::Kind::kTrace;
  } else if (a.model == "iid" || a.model == "ge") {
    if (!cmd.count("--rate")) return Usage("--model " + a.model + " needs --rate", verb);
    if (a.model == "iid") {
      if (cmd.count("--burst")) return Usage("--burst applies to --model ge only", verb);
      m.kind = LossModel::Kind::kIid;
    } else {
      if (!cmd.count("--burst")) return Usage("--model ge needs --burst (mean burst length)", verb);
      m.kind = LossModel::Kind::kGilbertElliott;
    }
    m.rate = a.rate;
    m.burst = a.burst;
  } else if (a.model == "trace") {
    return Usage("--model trace needs --trace FILE", verb);
  } else {
    return Usage("--model must be iid, ge or trace (got '" + ShortToken(a.model) + "')", verb);
  }
  if (Status s = m.Validate(); !s.ok()) return Fail(s, verb);
  if (has_trace) {
    Result<std::vector<uint8_t>> text = ReadInput(a.trace);
    if (!text.ok()) return Fail(text.status(), verb);
    Result<std::vector<uint8_t>> trace = ParseLossTrace(std::string(text->begin(), text->end()));
    if (!trace.ok()) return Fail(trace.status().WithContext(a.trace), verb);
    m.trace = std::move(trace).value();
  }

  Result<std::vector<uint8_t>> in = ReadInput(a.input);
  if (!in.ok()) return Fail(in.status(), verb);
  if (!in->empty() && !IsPacketStream(in->data(), in->size())) {
    return Fail(
        Status(StatusCode::kCorruptData, (a.input == "-" ? std::string("<stdin>") : a.input) +
                                             " is not a .ftcp packet stream"),
        verb);
  }
  PacketStreamContents contents = ReadPacketStream(in->data(), in->size());
  if (contents.damaged_bytes > 0) {
    std::fprintf(stderr, "ftcodec lose: warning: dropped the last %s bytes (not a packet record)\n",
                 Thousands(contents.damaged_bytes).c_str());
  }
  const size_t n = contents.packets.size();
  Result<std::vector<uint8_t>> lost = SimulateLoss(m, n, a.seed);
  if (!lost.ok()) return Fail(lost.status(), verb);
  std::vector<Bytes> kept;
  for (size_t i = 0; i < n; ++i) {
    if (!(*lost)[i]) kept.push_back(std::move(contents.packets[i]));
  }
  Result<Bytes> out = WritePacketStream(kept);
  if (!out.ok()) return Fail(out.status(), verb);
  if (Status s = WriteOutput(a.output, *out); !s.ok()) return Fail(s, verb);
  const size_t dropped = n - kept.size();
  if (Verbose()) {
    std::string which;
    for (size_t i = 0; i < n; ++i) {
      if ((*lost)[i]) which += (which.empty() ? "" : " ") + std::to_string(i);
    }
    std::fprintf(stderr, "ftcodec lose: dropped packets: %s\n",
                 which.empty() ? "none" : which.c_str());
  }
  if (Quiet()) return 0;
  std::string how;
  char buf[128];
  switch (m.kind) {
    case LossModel::Kind::kIid:
      std::snprintf(buf, sizeof(buf), "iid, rate %g, seed %llu", m.rate,
                    static_cast<unsigned long long>(a.seed));
      how = buf;
      break;
    case LossModel::Kind::kGilbertElliott:
      std::snprintf(buf, sizeof(buf), "ge, rate %g, burst %g, seed %llu", m.rate, m.burst,
                    static_cast<unsigned long long>(a.seed));
      how = buf;
      break;
    default:
      how = "trace " + a.trace;
      break;
  }
  std::fprintf(stderr, "ftcodec lose: dropped %s of %s packets (%.2f%%) [%s]\n",
               Thousands(dropped).c_str(), Thousands(n).c_str(),
               n == 0 ? 0.0 : 100.0 * static_cast<double>(dropped) / static_cast<double>(n),
               how.c_str());
  return 0;
}

}  // namespace

Command AddLoseCommand(CLI::App& app) {
  auto a = std::make_shared<LoseArgs>();
  CLI::App* cmd =
      app.add_subcommand("lose", "Drop packets of a .ftcp packet stream by a loss model");
  cmd->add_option("INPUT", a->input, "input .ftcp ('-' for stdin)")->required();
  cmd->add_option("OUTPUT", a->output,
                  "output .ftcp with the packets that survive ('-' for stdout)")
      ->required();
  cmd->add_option("--model", a->model,
                  "iid (independent losses) | ge (Gilbert-Elliott bursts) | trace")
      ->capture_default_str();
  cmd->add_option("--rate", a->rate, "iid/ge: long-run loss rate, 0 <= p < 1");
  cmd->add_option("--burst", a->burst, "ge: mean burst length B >= 1 (needs p <= B/(B+1))");
  cmd->add_option("--seed", a->seed, "random seed: the same seed drops the same packets")
      ->capture_default_str();
  cmd->add_option("--trace", a->trace,
                  "file of 0/1 per packet, whitespace separated (1 = lost); replaces --model");
  AddOutputFlags(cmd);
  AddVerbosityFlags(cmd, "no summary on stderr", "also the index of every dropped packet");
  return {cmd, [a, cmd]() { return RunLose(*a, *cmd); }};
}

}  // namespace ftc::cli
