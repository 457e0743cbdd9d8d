// ftcodec — model profiles: the settings `ftcodec tune` chose for one split model, and the
// per-channel quantization plan of the `ans` codec's planned mode (docs/profiles.md,
// docs/format.md "Planned mode").
//
//   ftc::Result<ftc::Profile> p = ftc::LoadProfile("resnet_s1.json");
//   ftc::EncoderOptions opts;
//   ftc::ApplyProfile(*p, &opts);        // codec, bits, clip, ... and the plan, if any
//   ftc::DecoderOptions dopts;
//   dopts.plan = p->plan;                // a decoder of planned frames needs the same plan
#ifndef FTCODEC_PROFILE_H_
#define FTCODEC_PROFILE_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "ftcodec/status.h"

namespace ftc {

// How a channel of a planned frame is coded (docs/format.md, "Plans").
enum class ChannelKind : uint8_t {
  kDropped = 0,      // not coded: every element decodes to the offset
  kNonNegative = 1,  // levels k >= 0 (post-ReLU channels)
  kSigned = 2,       // levels of both signs, zig-zag symbols
  kNonPositive = 3,  // levels k <= 0
};
const char* ChannelKindName(ChannelKind kind);  // "dropped", "nonneg", "signed", "nonpos"

struct ChannelQuant {
  ChannelKind kind = ChannelKind::kSigned;
  float step = 1.0f;    // 0 for a dropped channel, else 2^-100 .. 2^80
  float offset = 0.0f;  // the level-0 value (and the value of a dropped channel)
  // Encoder only (never in the stream): the channel is clamped to [clip_lo, clip_hi] first.
  float clip_lo = -std::numeric_limits<float>::infinity();
  float clip_hi = std::numeric_limits<float>::infinity();
};

// A per-channel quantization plan. Immutable once shared (EncoderOptions/DecoderOptions hold a
// shared_ptr<const QuantPlan>), so one plan may serve any number of threads.
struct QuantPlan {
  std::vector<ChannelQuant> channels;

  // kInvalidArgument naming the first bad channel (the format's rules, docs/format.md "Plans").
  Status Validate() const;
  // The canonical bytes the id hashes (docs/format.md).
  std::vector<uint8_t> CanonicalBytes() const;
  // The plan id written in planned frames: XXH3-64 of "ftcodec-plan" + CanonicalBytes().
  uint64_t Id() const;
};
// 16 lowercase hex digits.
std::string PlanIdHex(uint64_t id);

// What `ftcodec tune` measured for the chosen settings on its calibration samples.
struct ProfileCalibration {
  std::string data;  // e.g. "fashion-mnist train"
  int64_t samples = 0;
  double top1_uncompressed = 0;  // percent
  double top1 = 0;               // percent, with the chosen settings
  double bytes_per_sample = 0;
  double bits_per_element = 0;
  double max_drop = 0;  // the goal it was tuned for (0 when tuned for target_bytes)
  int64_t target_bytes = 0;
};

struct Profile {
  // The newest profile version this build reads and writes (docs/profiles.md); it reads every
  // version from 1 up, and writes the oldest that holds the profile (1; 2 with `conceal`; 3 with
  // `conceal_predictor`).
  static constexpr int kVersion = 3;
  int version = kVersion;
  std::string model;      // what it was tuned for, e.g. "fmnist_resnet:s1" or a head file name
  std::string head_hash;  // 32 hex digits (XXH3-128 of the TorchScript file), or empty
  std::string tail_hash;
  double input_scale = 1.0;  // what the model's inputs were multiplied by during tuning
  Shape sample_shape;        // C,H,W (or T,D) of one sample of the split tensor
  // The chosen codec settings: codec, bits, clip, per_channel, deadzone, band_rows, quality ...
  // (only the quantizing codecs' fields are stored), and the plan for the planned mode.
  EncoderOptions settings;
  std::shared_ptr<const QuantPlan> plan;
  ProfileCalibration calibration;
  // The concealment method that did best for this model on the calibration samples under packet
  // loss ("linear", "zero", ...; a ParseConcealMethod name), used by `ftcodec dec --conceal
  // auto`; empty: none chosen (version 2).
  std::string conceal;
  // ALTeC's predictor fitted on the calibration features (version 3), for --conceal altec; may
  // be null.
  std::shared_ptr<const ConcealPredictor> conceal_predictor;
  std::string command;  // the command that made it

  Status Validate() const;
};

// Parses a profile (versioned JSON, docs/profiles.md). Errors are kCorruptData naming the field
// ("profile: plan.channels[3].step: ...") or kUnsupported for an unknown version.
Result<Profile> ParseProfile(const std::string& json);
Result<Profile> LoadProfile(const std::string& path);  // the file: at most 64 MiB
std::string ProfileToJson(const Profile& profile);

// Copies the profile's settings into *options (codec and quantizer fields, the plan); the
// caller then applies explicit overrides. Threads and everything else are left alone.
void ApplyProfile(const Profile& profile, EncoderOptions* options);

}  // namespace ftc

#endif  // FTCODEC_PROFILE_H_
