// ftcodec — packet mode: independently decodable packets for lossy networks, a receiver that
// accepts them in any order, loss simulation and concealment of what was lost.
//
//   // sender
//   ftc::EncoderOptions opts;  opts.codec = "ans";  opts.bits = 4;
//   ftc::PacketOptions popts;  popts.packet_size = 1200;  // interleaved rows by default
//   ftc::encode_packets(view, opts, popts, [&](const uint8_t* p, size_t n) { send(p, n); });
//   // (parameter sets and data packets, in sending order)
//   // receiver
//   ftc::Decoder d;
//   while (...) d.push(p, n).IgnoreError();   // bad packets are dropped and counted
//   ftc::Result<ftc::DecodedTensor> r = d.finish();  // lost elements concealed by `linear`
//
// Formats: docs/format.md, "Packets" and "Packet stream files (.ftcp)". No exception crosses
// this API.
#ifndef FTCODEC_PACKET_H_
#define FTCODEC_PACKET_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace ftc {

// ---- sender ------------------------------------------------------------------------------

struct PacketOptions {
  // Largest whole packet (header, payload, checksum) in bytes, 64..65535. 1200 fits an Ethernet
  // MTU with IP and UDP headers.
  int packet_size = 1200;
  // The interleaved layout (docs/format.md, "Interleaved layout"), the default: with one row per
  // band, every packet carries rows spread over many channels, never two neighbouring rows of a
  // channel (with 3 or more packets) nor a whole channel, so every lost element has received
  // neighbours to conceal it from. false: the contiguous layout, runs of whole bands (a little
  // smaller, but a lost packet takes whole channels with it).
  bool interleave = true;
  // true: pick the band rows (docs/format.md, "How ftcodec's encoder forms packets"): one row
  // per band when interleaved, else the largest bands that fit a packet; false: use
  // EncoderOptions::band_rows as given (0 = whole channels).
  bool auto_band_rows = true;
  // Stream_Id of every packet; default: a CRC32C of the stream's contents.
  std::optional<uint32_t> stream_id;
  // The stream's parameter set (what every data packet shares: shape, codec, parameters) is
  // sent first and again before every `parameter_set_interval`-th data packet, and at least
  // `parameter_sets` times in all, spread over the stream (docs/format.md, "How ftcodec's
  // encoder forms packets"). A receiver needs one copy. Both 1..65535.
  int parameter_set_interval = 64;
  int parameter_sets = 3;
  // Sending order of a multi-sample tensor: frames in groups of this many (1..256), the packets
  // of a group round robin over its frames, so that a burst of lost packets is spread over
  // several samples instead of taking most of one. 1: frame after frame. The default, 8, was
  // chosen on every zoo model (docs/benchmarks.md, "Packet format 3 on the zoo"); it changes
  // only the order of a tensor's packets, not their bytes.
  int frame_interleave = 8;

  Status Validate() const;
};

using PacketSink = std::function<void(const uint8_t* data, size_t size)>;

// Encodes a tensor (rank 1..4; rank 4 is N,C,H,W: packets for every sample) into one stream of
// packets of at most options.packet_size bytes, handed to `sink` in sending order: data packets
// frame by frame in Packet_Index order, with the stream's parameter set first and repeated
// among them (PacketOptions::parameter_set_interval, parameter_sets).
// Codecs raw, ans and learned (others: kInvalidArgument). Codec learned: every sample is reduced
// by the unit (options.unit) and its code is packetized like an ans tensor; the inner codec must
// be ans (options.inner "ans" with options.bits, or a unit trained for ans: its bits) — inner
// jpeg is kInvalidArgument; options.band_rows (with auto_band_rows false) counts rows of the code.
// Nothing reaches `sink` on error.
Status encode_packets(const TensorView& tensor, const EncoderOptions& options,
                      const PacketOptions& packet_options, const PacketSink& sink);
Status encode_packets(const TensorView& tensor, const EncoderOptions& options,
                      const PacketSink& sink);
// As above, returning the packets.
Result<std::vector<Bytes>> encode_packets(const TensorView& tensor, const EncoderOptions& options,
                                          const PacketOptions& packet_options);

// ---- concealment ---------------------------------------------------------------------------

// How lost elements are filled (docs/format.md, "Loss and concealment").
enum class ConcealMethod : uint8_t {
  kZero = 0,     // 0
  kMean = 1,     // the channel's mean of received elements
  kLinear = 2,   // linear interpolation along H between received rows
  kInpaint = 3,  // Laplace inpainting of each channel (SOR)
  kCaltec = 4,   // inter-channel: gain/offset from the best-correlated channel (CALTeC)
  kLowRank = 5,  // HaLRTC low-rank tensor completion
  kAltec = 6,    // a per-channel linear predictor fitted on the model's features (ALTeC)
};
const char* ConcealMethodName(ConcealMethod m);  // "inpaint"
// Parses a method name ("zero", "mean", "linear", "inpaint", "caltec", "lowrank", "altec").
Result<ConcealMethod> ParseConcealMethod(const std::string& name);
std::vector<std::string> ConcealMethodNames();

// ALTeC's predictor (docs/format.md, "Loss and concealment"): for each channel c of a C×H×W
// sample, a lost element (c, y, x) is predicted as
//   bias + up·v(c, y↑, x) + down·v(c, y↓, x) + Σ_k weights[k]·v(sources[k], y, x)
// clamped to [lo, hi], where y↑ = y−1 (y+1 in the first row) and y↓ = y+1 (y−1 in the last row)
// are the rows above and below (both weights are unused when H = 1). Fitted by least squares on
// calibration features (fit_conceal_predictor), stored in a tune profile (docs/profiles.md).
struct ConcealPredictor {
  struct Channel {
    float bias = 0;
    float up = 0;
    float down = 0;
    std::vector<int32_t> sources;  // other channels (never the channel itself), each at most once
    std::vector<float> weights;    // one per source
    float lo = 0;                  // the channel's smallest and largest calibration value
    float hi = 0;
  };
  std::vector<Channel> channels;  // one per channel of the sample

  static constexpr int kMaxSources = 64;
  // kInvalidArgument naming the first bad channel: sources in range and distinct, as many
  // weights as sources, at most kMaxSources, finite values, lo <= hi.
  Status Validate() const;
};

struct ConcealFitOptions {
  int sources = 32;           // other channels per channel: the best-correlated ones
  int64_t max_rows = 200000;  // positions (sample, y, x) per channel least-squares fit
  double ridge = 1e-3;        // relative ridge regularisation of the normal equations
};

// Fits ALTeC's predictor on calibration features: an f32 tensor N×C×H×W (or one C×H×W sample).
// Deterministic. kInvalidArgument for another dtype or rank, or an empty tensor.
Result<ConcealPredictor> fit_conceal_predictor(const TensorView& features,
                                               const ConcealFitOptions& options = {});

struct ConcealOptions {
  // Rows per band for caltec (the stream's Band_Rows; 0 = whole channels).
  int band_rows = 0;
  // altec: the fitted predictor (its channel count must be the sample's C); required by altec.
  std::shared_ptr<const ConcealPredictor> predictor;
  // inpaint: sweep cap (0 = 4·max(H,W)+100) and stopping tolerance relative to the channel's
  // range of received values.
  int inpaint_max_iterations = 0;
  double inpaint_tolerance = 1e-6;
  // lowrank: iteration cap and a work budget in floating-point operations per sample.
  int lowrank_max_iterations = 60;
  double lowrank_flop_budget = 2e9;
};

// Conceals the elements of one C×H×W f32 sample where lost[i] != 0 (received elements are left
// as they are). `data` and `lost` hold C·H·W values in C order. Every method's work is linear in
// the lost elements or capped (docs/format.md, "Loss and concealment").
Status conceal_sample(float* data, const uint8_t* lost, int64_t c, int64_t h, int64_t w,
                      ConcealMethod method, const ConcealOptions& options = {});
// An upper bound of the work conceal_sample does beyond a few passes over the sample, in
// operations (about one multiply-add each), from the loss mask alone: inpaint's sweeps, caltec's
// search for reference channels, lowrank's iterations. 0 for zero, mean and linear, and when
// nothing is lost. What Decoder::finish checks against DecoderLimits::max_conceal_work.
int64_t estimate_conceal_work(const uint8_t* lost, int64_t c, int64_t h, int64_t w,
                              ConcealMethod method, const ConcealOptions& options = {});

// ---- receiver ------------------------------------------------------------------------------

// Which elements no packet delivered: lost[i] == 1 for element i (C order of `shape`).
// For codec learned the packets carry each sample's code, not the features: the mask is over the
// codes, shape N×C'×H'×W' (C'×H'×W' for a tensor of rank 1 to 3), and a lost code element
// affects the restored features wherever the restoration unit lets it reach.
struct LossMask {
  Shape shape;
  std::vector<uint8_t> lost;
  int64_t lost_count = 0;
};

struct PacketStats {
  uint64_t pushed = 0;            // push() calls
  uint64_t accepted = 0;          // data packets decoded and used
  uint64_t parameter_sets = 0;    // copies of the stream's parameter set received
  uint64_t duplicates = 0;        // identical to one already accepted; ignored
  uint64_t corrupt = 0;           // failed the checksum, a format check or a limit; dropped
  uint64_t over_limit = 0;        // of those: beyond a DecoderLimits bound
  uint64_t foreign = 0;           // of another Stream_Id than the stream decoded; not used
  uint64_t inconsistent = 0;      // same stream id, but disagreeing with accepted packets; not used
  uint64_t waiting = 0;           // data packets held: their parameter set has not arrived
  uint32_t stream_id = 0;         // the stream decoded (once a packet was accepted)
  uint32_t frames = 0;            // frames (samples) of the tensor; this and below: finish()
  uint32_t frames_complete = 0;   // every packet arrived
  uint32_t frames_partial = 0;    // some packets arrived
  uint32_t frames_lost = 0;       // no packet arrived (concealed entirely)
  uint64_t packets_expected = 0;  // sum of Packet_Count over frames with at least one packet
  uint64_t packets_missing = 0;   // of those; frames_lost adds at least one packet each
  // Elements of the tensor and elements concealed; codec learned: code elements (as the mask).
  int64_t elements = 0;
  int64_t lost_elements = 0;
  uint32_t other_streams = 0;              // other Stream_Ids among the valid packets
  std::vector<uint32_t> other_stream_ids;  // of those, the 16 with the most packets, most first
};

struct DecodedTensor {
  Tensor tensor;  // the original shape; dtype as PacketDecoderOptions::dtype or the original
  LossMask mask;  // learned: over the codes (see LossMask)
  PacketStats stats;
};

struct PacketDecoderOptions {
  std::optional<DType> dtype;  // output dtype; default: the original
  // What the decoder may allocate and compute (ftcodec/ftcodec.h; docs/format.md, "Decoder
  // limits"), checked before anything is allocated or concealed (kLimitExceeded otherwise).
  DecoderLimits limits;
  // Older memory caps, kept for compatibility: the smaller of each and its limits field applies
  // (limits.max_sample_elements, limits.max_tensor_elements).
  int64_t max_frame_elements = int64_t{1} << 28;
  int64_t max_tensor_elements = int64_t{1} << 40;
  // Decode only this stream; default: the stream most accepted packets belong to (the earliest
  // on a tie).
  std::optional<uint32_t> stream_id;
  ConcealOptions conceal;  // band_rows is taken from the stream
  // Codec learned: the folder of the learned unit the stream was coded with (needed by finish(),
  // not by push()).
  std::string unit;
};

// Receives the packets of a stream in any order. push() decodes a packet at once; a packet that
// is corrupt or over a limit is dropped (counted; push returns the reason) and never changes the
// decoder's state. Valid packets are grouped by Stream_Id and stream-wide fields; the stream
// decoded is the group most accepted packets belong to (or PacketDecoderOptions::stream_id), so
// a stale packet of another stream cannot take over: push() reports a packet outside the
// current leading group as foreign (another Stream_Id) or inconsistent (the same Stream_Id, other
// fields), and stats() counts relative to it. Packets of one frame must agree on Packet_Count and
// their quantizer ranges and must not overlap (inconsistent otherwise). finish() may be called
// any number of times. Memory: the decoded bands that arrived, at most
// DecoderLimits::expansion_slack + expansion_ratio per byte of accepted packets; in finish() the
// whole tensor and mask (about 5 bytes per element; codec learned: the codes and mask, then 4
// bytes per restored element), each checked against the limits first. Not thread-safe.
class Decoder {
 public:
  explicit Decoder(const PacketDecoderOptions& options = {});
  ~Decoder();
  Decoder(Decoder&&) noexcept;
  Decoder& operator=(Decoder&&) noexcept;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Ok for an accepted packet or a duplicate of the leading stream; kCorruptData (bad checksum,
  // malformed, inconsistent), kInvalidArgument (a different stream), kUnsupported or
  // kLimitExceeded otherwise. The decoder stays usable whatever push returns.
  Status push(const uint8_t* data, size_t size);
  Status push(const Bytes& packet) { return push(packet.data(), packet.size()); }
  // The tensor with lost elements concealed, the loss mask and the counts. Fails (kCorruptData)
  // if no packet was accepted: the shape is unknown; kLimitExceeded if the tensor, the output
  // or the concealment work exceeds the limits. Codec learned: lost code elements are
  // concealed in the code (latent space; a frame without packets gets the mean code of the
  // others), then the restoration unit maps every code back to the features. It fails with
  // kNotBuiltIn without a learned unit loader (libtorch), kInvalidArgument without
  // PacketDecoderOptions::unit, the loader's error for a unit it cannot load, and kUnsupported
  // for another unit ("unit mismatch: ...") or shapes the unit does not map.
  // The default method, linear, did best of the training-free methods over the zoo models
  // (docs/benchmarks.md, "Loss on any model").
  Result<DecodedTensor> finish(ConcealMethod method = ConcealMethod::kLinear) const;
  // Counts so far (the frame and element counts are filled in by finish()).
  const PacketStats& stats() const;

 private:
  friend class LiveDecoder;  // a live stream's receiver is this decoder's machinery
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- live streams --------------------------------------------------------------------------
// A live stream (docs/format.md, "Live streams") codes samples one at a time as they come, with
// no sample count: what a device sends a server, e.g. over RTP (docs/rtp.md).
//
//   ftc::LivePacketEncoder enc(opts, popts);
//   for (...) for (const ftc::Bytes& p : *enc.encode(sample)) send(p);
//
//   ftc::LiveDecoder dec;
//   dec.push(p, n).IgnoreError();                 // as Decoder::push
//   while (auto s = dec.pop()) use(s->tensor);     // samples in order, lost parts concealed
//   dec.flush();                                    // end of stream: the rest become ready

// Whether the bytes are a packet of this format version whose Kind says parameter set (the
// header bytes only; the checksum is not checked). What an RTP payloader repeats.
bool IsParameterSetPacket(const uint8_t* data, size_t size);

class LivePacketEncoder {
 public:
  // PacketOptions: packet_size, interleave, auto_band_rows, stream_id and
  // parameter_set_interval apply (counted over the whole stream); parameter_sets and
  // frame_interleave do not (a live stream is unbounded and sent sample by sample).
  LivePacketEncoder(EncoderOptions options, PacketOptions packet_options = {});
  ~LivePacketEncoder();
  LivePacketEncoder(LivePacketEncoder&&) noexcept;
  LivePacketEncoder& operator=(LivePacketEncoder&&) noexcept;

  // Codes one sample (rank 1 to 3, or rank 4 with N = 1): its data packets in Packet_Index
  // order, preceded by the parameter set where it is due (always before the first sample's).
  // The first call fixes the dtype, sample shape and stream id; a sample of another dtype or
  // shape is kInvalidArgument, as are options encode_packets refuses. Nothing changes on error.
  Result<std::vector<Bytes>> encode(const TensorView& sample);
  int64_t samples() const;     // samples coded so far
  uint32_t stream_id() const;  // 0 before the first sample
  // The current parameter set (empty before the first sample), for a transport that repeats it
  // on its own schedule.
  const Bytes& parameter_set() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One sample of a live stream, as LiveDecoder gives it out.
struct LiveSample {
  uint32_t frame_index = 0;
  Tensor tensor;  // the stream's sample shape; dtype as PacketDecoderOptions::dtype or the stream's
  LossMask mask;  // over the sample (learned: over its code)
  uint32_t packets_expected = 0;  // Packet_Count (0 when no packet arrived)
  uint32_t packets_received = 0;
  bool lost = false;  // no packet arrived: the previous sample given out (zero: zeros)
};

struct LiveDecoderOptions {
  // Stream choice, limits, output dtype, concealment options and learned unit, as for Decoder.
  PacketDecoderOptions decoder;
  ConcealMethod conceal = ConcealMethod::kLinear;
  // A sample is ready when all its packets arrived, or once a packet of a sample this many
  // samples later arrived (1..65536; 1 suits a transport that delivers in order, such as a
  // jitter buffer), or after flush().
  int reorder = 1;
  // Samples held at most: beyond, the oldest is ready (bounds memory on hostile frame indices).
  int max_pending = 64;
  // At most this many wholly lost samples are given out between two received ones; a longer
  // gap (a sender that restarted, or a hostile index) skips to the next received sample.
  int max_lost_run = 64;
};

struct LiveStats {
  PacketStats packets;            // as Decoder::stats() (frame counts unused)
  uint64_t late = 0;              // packets of samples already given out; dropped
  uint64_t samples = 0;           // given out
  uint64_t samples_complete = 0;  // of those: every packet arrived
  uint64_t samples_partial = 0;   // some packets arrived, the rest concealed
  uint64_t samples_lost = 0;      // no packet arrived
  uint64_t samples_skipped = 0;   // beyond max_lost_run: never given out
  uint64_t conceal_failures = 0;  // samples whose concealment failed (a limit): given out as lost
  uint64_t packets_expected = 0;  // over the samples given out with packets
  uint64_t packets_missing = 0;
};

// Receives a live stream's packets (in any order) and gives out its samples in Frame_Index
// order. Not thread-safe; one per stream. Memory: the packets of about max_pending samples of
// the stream, and as many of any other stream, when pop() is called after every push().
class LiveDecoder {
 public:
  explicit LiveDecoder(const LiveDecoderOptions& options = {});
  ~LiveDecoder();
  LiveDecoder(LiveDecoder&&) noexcept;
  LiveDecoder& operator=(LiveDecoder&&) noexcept;

  // As Decoder::push; also kInvalidArgument for a late packet (counted in LiveStats::late) and
  // for a parameter set of a stream that is not live (Frame_Count > 0). A packet far behind the
  // next sample (more than max_lost_run + max_pending + reorder samples) is a sender that
  // started again: the samples waiting are dropped (LiveStats::samples_skipped) and the stream
  // goes on from that packet's sample.
  Status push(const uint8_t* data, size_t size);
  Status push(const Bytes& packet) { return push(packet.data(), packet.size()); }
  // The next sample if it is ready, else nullopt. Never fails: a sample that cannot be
  // concealed within the limits is given out as lost (LiveStats::conceal_failures).
  std::optional<LiveSample> pop();
  // Makes every sample that has packets ready (and the lost ones between): end of stream.
  void flush();
  // Makes the samples before `frame_index` ready (a loss the transport reported).
  void flush_before(uint32_t frame_index);
  // The Frame_Index of the next sample pop() gives out, once known.
  std::optional<uint32_t> next_frame() const;
  const LiveStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- packet stream files (.ftcp) -------------------------------------------------------------

// True if the bytes look like a .ftcp file rather than a .ftc (docs/format.md).
bool IsPacketStream(const uint8_t* data, size_t size);

struct PacketStreamContents {
  std::vector<Bytes> packets;
  size_t damaged_bytes = 0;  // bytes after a broken record (0 for a well-formed file)
};
// Splits a .ftcp file into its packets (checks the framing only, not the packets).
PacketStreamContents ReadPacketStream(const uint8_t* data, size_t size);
// What one packet says about itself (for `ftcodec info`): its header, checked like a decoder
// would (checksum included); `error` names the problem of a packet that fails.
struct PacketInfo {
  size_t size = 0;
  bool valid = false;
  bool parameter_set = false;  // a parameter set (the fields below but frame and bands are its)
  uint32_t set_id = 0;
  std::string error;
  uint32_t stream_id = 0;
  std::string codec;
  DType dtype = DType::kF32;
  Shape shape;
  uint32_t frame_index = 0, frame_count = 0;
  uint32_t packet_index = 0, packet_count = 0;
  uint32_t band_rows = 0;  // 0 = whole channels
  uint32_t bands = 0;      // bands the packet carries
  bool interleaved = false;
  // Codec learned: the unit's hash (32 hex digits), the inner codec ("ans") and the code's shape
  // C',H',W' (what band_rows and bands refer to); empty otherwise.
  std::string unit;
  std::string inner;
  Shape code_shape;
};
// A data packet is probed against the first valid parameter set of its stream and Set_Id among
// `packets` (invalid without one: "no parameter set").
std::vector<PacketInfo> ProbePackets(const std::vector<Bytes>& packets);
// As above, checking each packet against `limits` like a decoder (a packet beyond one is invalid,
// its error naming the limit).
std::vector<PacketInfo> ProbePackets(const std::vector<Bytes>& packets,
                                     const DecoderLimits& limits);
// The stream-level limits a decoder applies before it allocates, on ProbePackets' result: the
// tensor of the stream most valid packets agree on must fit the expansion limit of those
// packets' bytes and the output caps (kLimitExceeded naming the figures). Ok when no packet is
// valid.
Status CheckPacketStreamLimits(const std::vector<PacketInfo>& infos, const DecoderLimits& limits);

// [u32 length][packet] for every packet. Packets must be 1..65535 bytes (kInvalidArgument).
Result<Bytes> WritePacketStream(const std::vector<Bytes>& packets);

// ---- loss simulation -------------------------------------------------------------------------

struct LossModel {
  enum class Kind : uint8_t {
    kNone = 0,            // nothing lost
    kIid = 1,             // each packet lost with probability `rate`
    kGilbertElliott = 2,  // two-state Markov channel with loss rate `rate`, mean burst `burst`
    kTrace = 3,           // trace[i] != 0: packet i lost
  };
  Kind kind = Kind::kNone;
  double rate = 0;   // long-run loss rate p, 0 <= p < 1
  double burst = 1;  // GE: mean burst length B >= 1 (needs p <= B / (B + 1))
  std::vector<uint8_t> trace;

  Status Validate() const;
};

// Parses a trace: 0/1 values separated by whitespace (1 = lost).
Result<std::vector<uint8_t>> ParseLossTrace(const std::string& text);

// Which of `count` packets (in sending order) are lost: 1 = lost. Reproducible: the same model,
// count and seed give the same result on every platform (splitmix64, integer thresholds).
// Gilbert–Elliott: P(bad->good) = 1/B, P(good->bad) = P(bad->good) / (1/p − 1); the first state
// is drawn from the stationary distribution (bad with probability p); packets are lost in the
// bad state only. A trace shorter than `count` is kInvalidArgument.
Result<std::vector<uint8_t>> SimulateLoss(const LossModel& model, size_t count, uint64_t seed);

// Drops the packets SimulateLoss marks, pushes the rest into a Decoder and finishes it: the
// whole receiver side in one call (for benchmarks).
Result<DecodedTensor> DecodeAfterLoss(const std::vector<Bytes>& packets, const LossModel& model,
                                      uint64_t seed, ConcealMethod method,
                                      const PacketDecoderOptions& options = {});

}  // namespace ftc

#endif  // FTCODEC_PACKET_H_
