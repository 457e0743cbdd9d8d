#include "tests/gst/gst_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstring>

#include "ftcodec/npy.h"
#include "tests/test_util.h"

namespace ftc::test {
namespace {

uint64_t SplitMix(uint64_t* s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

Tensor ReluFeatures(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed) {
  Tensor t = *Tensor::Create(DType::kF32, {n, c, h, w});
  float* p = t.data_as<float>();
  uint64_t s = seed;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const double gain = 0.5 + static_cast<double>(SplitMix(&s) % 1000) / 1000.0;
      const double phase = static_cast<double>(SplitMix(&s) % 6283) / 1000.0;
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
          const double noise = static_cast<double>(SplitMix(&s) % 1000) / 1000.0 - 0.5;
          const double v =
              gain *
                  (std::sin(0.7 * static_cast<double>(y) + phase + 0.1 * static_cast<double>(i)) +
                   std::cos(0.5 * static_cast<double>(x) - phase)) +
              0.3 * noise - 0.2;
          *p++ = static_cast<float>(v > 0 ? v : 0);
        }
      }
    }
  }
  return t;
}

void WriteNpyFile(const std::string& path, const Tensor& t) {
  Result<std::vector<uint8_t>> b = WriteNpy(t.view());
  if (b.ok()) WriteFileBytes(path, *b);
}

Tensor ReadNpyFile(const std::string& path) {
  std::vector<uint8_t> bytes = ReadFileBytes(path);
  Result<NpyArray> a = ReadNpy(bytes.data(), bytes.size());
  if (!a.ok()) return Tensor();
  return std::move(a->tensor);
}

std::vector<std::vector<Bytes>> LiveEncode(const Tensor& tensor, const EncoderOptions& options,
                                           const PacketOptions& packet_options) {
  LivePacketEncoder enc(options, packet_options);
  std::vector<std::vector<Bytes>> out;
  Shape sample(tensor.shape().begin() + 1, tensor.shape().end());
  const size_t bytes = tensor.size_bytes() / static_cast<size_t>(tensor.shape()[0]);
  for (int64_t i = 0; i < tensor.shape()[0]; ++i) {
    Result<std::vector<Bytes>> p = enc.encode(TensorView::Contiguous(
        tensor.data() + static_cast<size_t>(i) * bytes, tensor.dtype(), sample));
    if (!p.ok()) return {};
    out.push_back(std::move(p).value());
  }
  return out;
}

Tensor LiveDecode(const std::vector<Bytes>& packets, ConcealMethod method) {
  LiveDecoderOptions o;
  o.conceal = method;
  o.decoder.dtype = DType::kF32;
  LiveDecoder d(o);
  std::vector<LiveSample> samples;
  for (const Bytes& p : packets) {
    d.push(p).IgnoreError();
    while (std::optional<LiveSample> s = d.pop()) samples.push_back(std::move(*s));
  }
  d.flush();
  while (std::optional<LiveSample> s = d.pop()) samples.push_back(std::move(*s));
  if (samples.empty()) return Tensor();
  Shape shape = samples[0].tensor.shape();
  shape.insert(shape.begin(), static_cast<int64_t>(samples.size()));
  Tensor t = *Tensor::Create(DType::kF32, shape);
  size_t at = 0;
  for (const LiveSample& s : samples) {
    std::memcpy(t.data() + at, s.tensor.data(), s.tensor.size_bytes());
    at += s.tensor.size_bytes();
  }
  return t;
}

std::vector<Bytes> Flatten(const std::vector<std::vector<Bytes>>& per_sample) {
  std::vector<Bytes> out;
  for (const auto& v : per_sample) out.insert(out.end(), v.begin(), v.end());
  return out;
}

int FreeUdpPort() {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

bool RunPipelines(const std::vector<GstElement*>& pipelines, const std::function<bool()>& done,
                  Clock::time_point deadline, std::string* error, std::vector<int>* eos,
                  const std::function<void(GstMessage*)>& on_message) {
  std::vector<GstBus*> buses;
  for (GstElement* p : pipelines) buses.push_back(gst_element_get_bus(p));
  if (eos) eos->assign(pipelines.size(), 0);
  bool ok = true;
  while (ok && !done()) {
    if (Clock::now() >= deadline) {
      *error = "deadline passed";
      ok = false;
      break;
    }
    bool any = false;
    for (size_t i = 0; i < buses.size() && ok; ++i) {
      while (GstMessage* m = gst_bus_pop(buses[i])) {
        any = true;
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
          GError* e = nullptr;
          gchar* dbg = nullptr;
          gst_message_parse_error(m, &e, &dbg);
          *error = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(m))) + ": " + e->message +
                   (dbg ? std::string(" (") + dbg + ")" : "");
          g_error_free(e);
          g_free(dbg);
          ok = false;
        } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS && eos) {
          ++(*eos)[i];
        }
        if (on_message) on_message(m);
        gst_message_unref(m);
        if (!ok) break;
      }
    }
    if (!any) g_usleep(2000);
  }
  for (GstBus* b : buses) gst_object_unref(b);
  return ok;
}

GstElement* Launch(const std::string& description, std::string* error) {
  GError* e = nullptr;
  GstElement* p = gst_parse_launch(description.c_str(), &e);
  if (e != nullptr) {
    *error = e->message;
    g_error_free(e);
    if (p) gst_object_unref(p);
    return nullptr;
  }
  return p;
}

bool Play(GstElement* pipeline) {
  // A live source (udpsrc) has bound its socket when this returns; nothing waits for preroll.
  return gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
}

void Dispose(GstElement* pipeline) {
  if (pipeline == nullptr) return;
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

}  // namespace ftc::test
