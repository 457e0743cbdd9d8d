// ftcodec — the public encode/decode API.
//
//   ftc::EncoderOptions opts;            // defaults: codec "raw", keep the input dtype
//   opts.codec = "ans"; opts.bits = 4;
//   ftc::Result<ftc::Bytes> code = ftc::encode(view, opts);
//   ftc::Result<ftc::Tensor> back = ftc::decode(code->data(), code->size());
//
// A rank-4 N×C×H×W tensor becomes N independent frames (one per sample); lower ranks one frame.
// No exception crosses this API: every fallible call returns a Status or a Result.
#ifndef FTCODEC_FTCODEC_H_
#define FTCODEC_FTCODEC_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace ftc {

using Bytes = std::vector<uint8_t>;

// A per-channel quantization plan (ftcodec/profile.h).
struct QuantPlan;

// "0.1.0"
const char* VersionString();
// Container format version written by this build (docs/format.md).
int FormatVersion();
// Names of the codecs built into this library, e.g. {"raw", "ans"}.
std::vector<std::string> AvailableCodecs();
// Whether `name` is a codec ftcodec knows of, built in or not ("jpeg" may be known but not built).
bool IsKnownCodec(const std::string& name);

// Clipping range of a quantizer (--clip).
struct ClipSpec {
  enum class Kind : uint8_t {
    kNone = 0,        // min-max of the frame (or channel)
    kRange = 1,       // fixed [a, b]
    kSigma = 2,       // mean ± a·σ, intersected with [min, max]
    kPercentile = 3,  // the two-sided [100−a, a] percentile range
  };
  Kind kind = Kind::kNone;
  double a = 0;
  double b = 0;
  // Parses "none", "A:B" (e.g. "-1.5:4"), "Ksigma" (e.g. "3sigma"), "pP" (e.g. "p99.9").
  static Result<ClipSpec> Parse(const std::string& text);
  std::string ToString() const;
};

// Every encoder setting with its range; Validate() says what is wrong.
struct EncoderOptions {
  // Codec name: "raw" | "ans" (built in); "jpeg" | "hevc" | "learned" where built.
  std::string codec = "raw";
  // raw: the dtype stored. std::nullopt keeps the input dtype; f32/f16/bf16 convert
  // (rounding to nearest even). u8 input may be stored as any float type; float input never as u8.
  std::optional<DType> store_dtype;
  // Frames coded in parallel, 1..256. Output bytes do not depend on it.
  int threads = 1;

  // --- quantizing codecs (ans; clip and per_channel also jpeg and hevc) ---
  int bits = 4;              // quantizer bit depth, 1..16 (ans)
  ClipSpec clip;             // clipping range
  bool per_channel = false;  // one range per channel instead of one per frame (or sample)
  double deadzone = 0.0;     // 0..0.5: rounding offset 0.5−deadzone (0 = mid-point rounding)
  bool lossless = false;     // ans: lossless byte-plane coding of f32/f16/bf16 (ignores bits/clip)
  int band_rows = 0;         // rows per independently decodable band; 0 = whole channel (1..65535)
  // ans: model-aware planned mode (docs/format.md "Planned mode"): per-channel steps, offsets and
  // kinds from a profile (ftcodec/profile.h). When set, `bits`, `clip` and `per_channel` are
  // unused; `deadzone` applies. The decoder needs the same plan (DecoderOptions::plan).
  std::shared_ptr<const QuantPlan> plan;
  // Planned mode: every step of the plan is scaled by 2^(step_shift/4), 0..63 (rate control sets
  // it per sample; 0 = the plan's own steps).
  int step_shift = 0;

  // Rate control: every sample's frame is at most this many bytes (0 = off), at the best quality
  // that fits: ans codes with the largest bits <= `bits` that fits (planned mode: the smallest
  // step shift); jpeg with the largest quality <= `quality`. A sample that does not fit even at
  // the coarsest setting fails with kLimitExceeded naming the smallest size reached.
  int64_t target_bytes = 0;

  // --- picture codecs (jpeg, hevc): channels packed into pictures (docs/format.md) ---
  int quality = 90;  // jpeg: quality 1..100
  int qp = 22;       // hevc: x265's nominal constant QP 0..51 (P pictures; I pictures get qp-3)
  std::string preset = "ultrafast";  // hevc: x265 preset, "ultrafast" .. "placebo"
  int bit_depth = 0;  // picture sample bits: 0 = the codec's default (jpeg 8, hevc 10); 8 or 10
  std::string layout = "mosaic";  // "mosaic" (tiled grid, jpeg/hevc) | "frames" (hevc only)
  bool sequence = false;  // hevc: a rank-4 batch as one video in a single multi-sample frame
  bool reorder_channels = false;  // jpeg/hevc: order channels by similarity (order is stored)

  // --- learned: a learned bottleneck unit, then an inner codec for its code ---
  std::string unit;  // learned: the unit directory (required)
  // learned: inner codec "ans" | "jpeg"; empty = the one the unit was trained for, with its
  // trained bits/quality. When set, `bits` (ans) or `quality` (jpeg) apply.
  std::string inner;

  Status Validate() const;
};

// What a decoder may spend on one input (docs/format.md, "Decoder limits"). Every count a stream
// claims is checked against these before anything is allocated or computed; an input beyond one
// fails with kLimitExceeded and a message naming the limit. The defaults suit a server decoding
// untrusted input: memory and work stay proportional to what the input's bytes can honestly
// describe. Raise them to decode huge tensors (ForElements; `ftcodec dec --max-elements N`).
struct DecoderLimits {
  // Elements of one sample (a .ftc frame, a packet's sample or learned code), 1..2^28.
  int64_t max_sample_elements = int64_t{1} << 28;
  // Elements of the whole decoded tensor, all samples (learned packets: the codes and the
  // restored features each), 1..2^40.
  int64_t max_tensor_elements = int64_t{1} << 28;
  // Bands of one sample of a packet stream (Band_Total), 1..2^31-1.
  int64_t max_bands = int64_t{1} << 24;
  // Bytes of the decoded tensor in its output dtype, 1..2^42.
  int64_t max_output_bytes = int64_t{1} << 30;
  // Packet streams: the elements and bands a packet carries, and the tensor the accepted packets
  // of a stream describe, are at most expansion_slack + expansion_ratio × their bytes (cf. the
  // .ftc expansion limit, 2^16 + 1024 elements per byte of a frame). 0 turns this bound off.
  int64_t expansion_ratio = 1024;              // 0..2^20
  int64_t expansion_slack = int64_t{1} << 20;  // 0..2^40
  // Packet streams: concealment work for the whole stream, in operations (about one
  // multiply-add each), as estimated from the loss pattern before anything is concealed
  // (estimate_conceal_work in ftcodec/packet.h); a stream that needs more fails. 0 (default):
  // 2^31 + 2^20 per byte of the stream's accepted packets.
  int64_t max_conceal_work = 0;

  // kInvalidArgument naming a field out of range.
  Status Validate() const;
  // Limits that accept a tensor of up to `elements` elements whatever the input's size (the
  // expansion bound off; samples of at most min(elements, 2^28); output of 4 bytes per element);
  // what `ftcodec dec --max-elements` sets. `elements` is 1..2^40.
  static DecoderLimits ForElements(int64_t elements);
};

struct DecoderOptions {
  // Output dtype; std::nullopt restores the original dtype recorded in the stream.
  std::optional<DType> dtype;
  // Refuse frames with more elements than this (memory cap per frame), 1..2^28. The smaller of
  // this and limits.max_sample_elements applies.
  int64_t max_frame_elements = int64_t{1} << 28;
  int threads = 1;   // 1..256
  std::string unit;  // learned: the unit directory (required to decode learned frames)
  // ans planned mode: the plan the frames name (a profile's plan); frames naming another plan
  // are refused.
  std::shared_ptr<const QuantPlan> plan;
  DecoderLimits limits;
};

// Encodes a tensor (rank 1..4; rank 4 is N,C,H,W and gives N frames).
Result<Bytes> encode(const TensorView& tensor, const EncoderOptions& options);
// Decodes a whole .ftc byte string (all frames of one tensor).
Result<Tensor> decode(const uint8_t* data, size_t size, const DecoderOptions& options = {});
inline Result<Tensor> decode(const Bytes& bytes, const DecoderOptions& options = {}) {
  return decode(bytes.data(), bytes.size(), options);
}

// ---- Servers: batches on the caller's threads ----
//
// Thread safety: every free function of this header (encode, decode, decode_batch, probe, the
// option checks) may be called from any number of threads at once; they share no state but the
// codec tables, which are read-only once the libtorch component has registered codec learned
// (at static initialisation or before the first call). A Tensor or option struct is not
// synchronised: share it read-only. ftc::Decoder (packet.h) is one stream's state: one thread
// at a time per Decoder, any number of Decoders at once.

// Runs independent tasks: the library's own threads by default, or a server's pool.
class Executor {
 public:
  virtual ~Executor() = default;
  // Calls task(i) exactly once for every i in [0, count), on any threads, and returns when every
  // call has returned. Tasks do not throw and do not call Run of the same executor.
  virtual void Run(int64_t count, const std::function<void(int64_t)>& task) = 0;
};
// The library's executor: up to `threads` threads started per Run (1: the calling thread only).
std::unique_ptr<Executor> MakeThreadExecutor(int threads);

struct StreamRef {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

// Decodes N streams into the N samples of `out`, a caller-allocated N×C×H×W tensor (f32, f16,
// bf16 or u8): stream i must hold one sample of shape C×H×W (a .ftc of a rank-3 tensor, or of a
// rank-4 one with one sample) and lands, converted to out's dtype, in sample i. Returns one
// status per stream: a stream that fails (corrupt, another shape, a limit) leaves its sample all
// zeros and the others are unaffected. The call itself fails only for an unusable `out` or
// options (kInvalidArgument). Each stream is decoded on one thread of `executor` (nullptr: the
// library's threads, options.threads of them); options.dtype is ignored (out's dtype applies).
// Codec learned (options.unit set): the streams' codes are decoded that way, then restored on the
// calling thread, up to 64 samples per run of the restoration unit, on libtorch's intra-op threads
// (ftc::SetTorchThreads); a stream of another unit or codec, or a corrupt one, decodes on its own
// as above. A sample restored together with others may differ from decode's by float rounding
// (libtorch's batch kernels; within 1e-5 of the sample's largest magnitude, docs/learned.md).
Result<std::vector<Status>> decode_batch(const std::vector<StreamRef>& streams, Tensor* out,
                                         const DecoderOptions& options = {},
                                         Executor* executor = nullptr);

struct SectionInfo {
  std::string kind;   // "data", "tables", ...
  uint64_t size = 0;  // payload bytes
};

struct FrameInfo {
  uint64_t offset = 0;  // byte offset of the frame in the file
  uint64_t size = 0;    // whole frame, header and checksums included
  uint32_t batch_index = 0;
  uint32_t batch_count = 1;
  uint32_t sample_count = 1;  // samples coded by this frame (> 1 only for hevc --sequence)
  DType dtype = DType::kF32;  // original dtype
  Shape shape;                // original tensor shape (all samples)
  Shape sample_shape;         // C,H,W coded by this frame
  std::string codec;
  std::vector<std::pair<std::string, std::string>> params;  // codec parameters, for display
  std::vector<SectionInfo> sections;
};

struct StreamInfo {
  std::vector<FrameInfo> frames;
  uint64_t total_size = 0;
};

// Reads and checks every header and checksum without decoding payloads.
Result<StreamInfo> probe(const uint8_t* data, size_t size);
// As above, refusing frames of more than limits.max_sample_elements elements.
Result<StreamInfo> probe(const uint8_t* data, size_t size, const DecoderLimits& limits);
inline Result<StreamInfo> probe(const Bytes& bytes) { return probe(bytes.data(), bytes.size()); }

}  // namespace ftc

#endif  // FTCODEC_FTCODEC_H_
