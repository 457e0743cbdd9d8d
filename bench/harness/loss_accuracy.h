// Accuracy under packet loss, for `ftcodec bench --loss`: packetize each sample (packet mode,
// docs/format.md "Packets"), drop packets with a seeded loss model, decode and conceal, run the
// tail and count. Plain functions over public-API types (the tail is any callable), so tests can
// check the bookkeeping without the CLI.
#ifndef FTCODEC_BENCH_HARNESS_LOSS_ACCURACY_H_
#define FTCODEC_BENCH_HARNESS_LOSS_ACCURACY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/harness/rate_accuracy.h"
#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"

namespace ftc::bench {

// One loss condition.
struct LossSetting {
  std::string kind;   // "iid" or "ge"
  double rate = 0;    // long-run packet loss rate, 0..1 (1: every packet lost; iid only)
  double burst = 1;   // ge: mean burst length
  std::string label;  // "iid 0.1", "ge 0.1 B4"
  // The model handed to SimulateLoss (kNone at rate 0; unused when rate is 1).
  LossModel model;
};

// "iid:0,0.05,0.1" (one setting per rate) or "ge:RATE:BURST".
Result<std::vector<LossSetting>> ParseLossSpec(const std::string& text);
// Appends the DFTS2 reference scenario (Gilbert–Elliott, 30% loss, mean burst 7) unless
// `settings` holds it already: every loss run reports it.
void AddReferenceScenario(std::vector<LossSetting>* settings);

// The codec of the loss runs: "ans:BITS[:CLIP[/pc][/dzD]]" (the ans variants of --clips), e.g.
// "ans:4:3sigma" (the default) or "raw".
Result<EncoderOptions> ParseLossCodec(const std::string& text);

// A batch of samples as one packet stream, as a device sends its samples one after another (the
// stream's parameter set first and repeated: PacketOptions::parameter_set_interval).
struct PacketizedBatch {
  std::vector<Bytes> packets;  // in sending order
  int64_t samples = 0;
  Shape sample_shape;  // 1×C×H×W (batch of one)
};
Result<PacketizedBatch> PacketizeBatch(const TensorView& features, const EncoderOptions& codec,
                                       const PacketOptions& packet_options);

// ALTeC's predictor (fit_conceal_predictor) fitted on N-first features in the codec's view of
// a sample, as the packets carry it (C×H×W; N×T×D tokens: one channel of T rows of D).
Result<std::shared_ptr<const ConcealPredictor>> FitLossPredictor(const TensorView& features);

struct LossTally {
  int64_t samples = 0;  // sample decodes: samples × seeds
  int64_t correct = 0;
  uint64_t packets = 0;       // packets sent
  uint64_t packets_lost = 0;  // of those, dropped by the loss model
  uint64_t bytes = 0;         // bytes sent
  int64_t elements = 0;
  int64_t lost_elements = 0;  // elements concealed
  void Merge(const LossTally& other);
};

// Seed of sample `sample` (its index in the whole data set) in repetition `seed_index`: the
// same for every concealment method, so methods see the same losses.
uint64_t LossSeed(int seed_index, int64_t sample);

// For each of `seeds` repetitions: drops packets of every sample with `loss` (seeded with
// LossSeed(seed, first_sample + i)), decodes what arrived, conceals with `method` (a sample with
// no packet left is all concealed from zeros; `conceal`: the method's options, e.g. altec's
// predictor), runs `tail` on the batch and counts.
// One loss trace over the whole stream per seed (SimulateLoss with LossSeed(seed, first_sample)),
// one receiver; samples with no packet at all are concealed as the receiver does (the others'
// mean, or zeros), and if nothing but lost packets remain, every sample is concealed alone.
Result<LossTally> EvaluateLoss(const PacketizedBatch& batch, const std::vector<int>& labels,
                               const FeatureClassifier& tail, const LossSetting& loss,
                               ConcealMethod method, int seeds, int64_t first_sample = 0,
                               const ConcealOptions& conceal = {});

// One reported row.
struct LossRow {
  LossSetting loss;
  int packet_size = 0;
  std::string method;
  int seeds = 0;
  LossTally tally;
  double top1 = 0;         // percent
  double top1_drop = 0;    // points below the loss-free accuracy at this packet size
  double top1_stderr = 0;  // percent, over sample decodes
  double lost_packet_fraction = 0;
  double lost_element_fraction = 0;
  double packets_per_sample = 0;
  double bytes_per_sample = 0;
};
LossRow FinishLossRow(const LossSetting& loss, int packet_size, const std::string& method,
                      int seeds, const LossTally& tally, double lossfree_top1);

struct LossReport {
  std::vector<LossRow> rows;
  std::vector<std::pair<int, double>> lossfree_top1;  // per packet size
  double reference_top1 = -1;  // uncompressed f32 features (negative: not measured)
  std::string codec;           // "ans 3sigma b4"
  int main_packet_size = 0;    // the curves of the plot; others are dashed
  int64_t samples = 0;
  std::string model, data, command;
};

// CSV columns: loss, kind, rate, burst, packet_size, method, samples, seeds, top1, top1_drop,
// top1_stderr, lost_packet_fraction, lost_element_fraction, packets_per_sample,
// bytes_per_sample.
std::string FormatLossCsv(const LossReport& r);
std::string FormatLossJson(const LossReport& r);
std::string FormatLossTable(const LossReport& r);
// Top-1 versus loss rate, one curve per method (iid; GE settings as separate points).
std::string LossGnuplotScript(const LossReport& r, const std::string& png_path,
                              const std::string& svg_path);
// Writes <stem>.gp and, with gnuplot installed, <stem>.png/.svg (false: no gnuplot).
Result<bool> WriteLossPlot(const LossReport& r, const std::string& stem);

}  // namespace ftc::bench

#endif  // FTCODEC_BENCH_HARNESS_LOSS_ACCURACY_H_
