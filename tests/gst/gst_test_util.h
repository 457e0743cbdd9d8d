// Helpers of the GStreamer plugin's tests: data, the library's reference encode and decode,
// pipelines run against a deadline, free UDP ports.
#ifndef FTCODEC_TESTS_GST_GST_TEST_UTIL_H_
#define FTCODEC_TESTS_GST_GST_TEST_UTIL_H_

#include <gst/gst.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "ftcodec/tensor.h"

namespace ftc::test {

// N × C × H × W post-ReLU-like f32 samples (about 40 % zeros), deterministic in `seed`.
Tensor ReluFeatures(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed);
void WriteNpyFile(const std::string& path, const Tensor& t);
Tensor ReadNpyFile(const std::string& path);  // fails the test (empty tensor) if unreadable

// The packets LivePacketEncoder gives for every sample of `tensor` (N × sample), in order.
std::vector<std::vector<Bytes>> LiveEncode(const Tensor& tensor, const EncoderOptions& options,
                                           const PacketOptions& packet_options);
// Pushes the packets in order into a LiveDecoder (pop after each push, flush at the end) and
// returns the N × sample tensor of the samples it gave out.
Tensor LiveDecode(const std::vector<Bytes>& packets, ConcealMethod method = ConcealMethod::kLinear);
std::vector<Bytes> Flatten(const std::vector<std::vector<Bytes>>& per_sample);

// A UDP port on 127.0.0.1 that was free a moment ago.
int FreeUdpPort();

// Runs pipelines until `done()` (checked between bus messages) or the deadline; an ERROR
// message on any bus fails (returns false with the message in *error). EOS messages are
// counted per pipeline in *eos (if given).
using Clock = std::chrono::steady_clock;
bool RunPipelines(const std::vector<GstElement*>& pipelines, const std::function<bool()>& done,
                  Clock::time_point deadline, std::string* error, std::vector<int>* eos = nullptr,
                  const std::function<void(GstMessage*)>& on_message = {});

// gst_parse_launch or nullptr (with the error in *error).
GstElement* Launch(const std::string& description, std::string* error);
// Sets to PLAYING (false if that fails at once).
bool Play(GstElement* pipeline);
void Dispose(GstElement* pipeline);

}  // namespace ftc::test

#endif  // FTCODEC_TESTS_GST_GST_TEST_UTIL_H_
