// rtp_sender: the senders of the RTP load benchmark (scripts/gst_load; docs/benchmarks.md,
// "Feature streams over RTP: many senders, one receiver"). N streams of RTP packets
// (docs/rtp.md) to one UDP port at R samples/s each, as N devices running `ftcnpysrc ! ftcenc !
// rtpftcpay ! udpsink` would send them, but cheap to send: the samples of an .npy are coded
// once with LivePacketEncoder, and each stream sends those packets with its own Stream_Id
// (checksums recomputed) and SSRC, so that the machine's CPU goes to the receiver under test.
//
//   rtp_sender --port P --streams N [--rate 30] [--samples S] [--bits 4] FEATURES.npy
//
// Stream i (1..N): SSRC i, Stream_Id i; its samples go out at t0 + k / rate, the streams spread
// evenly over each period. Prints the packets and bytes sent and the CPU time it took.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bitstream/packet.h"
#include "ftcodec/npy.h"
#include "ftcodec/packet.h"
#include "gst/rtp_ftc.h"

namespace {

int Usage(const char* why) {
  std::fprintf(stderr,
               "rtp_sender: %s\nusage: rtp_sender --port P --streams N [--rate R] [--samples S] "
               "[--bits B] FEATURES.npy\n",
               why);
  return 1;
}

void SleepUntil(const timespec& t) {
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr) != 0) {
  }
}

timespec Add(timespec t, int64_t ns) {
  ns += t.tv_nsec;
  t.tv_sec += ns / 1000000000;
  t.tv_nsec = ns % 1000000000;
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, streams = 0, rate = 30, samples = 300, bits = 4;
  std::string input;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      input = a;
      continue;
    }
    if (i + 1 >= argc) return Usage(("missing value after " + a).c_str());
    const int v = std::atoi(argv[++i]);
    if (a == "--port") {
      port = v;
    } else if (a == "--streams") {
      streams = v;
    } else if (a == "--rate") {
      rate = v;
    } else if (a == "--samples") {
      samples = v;
    } else if (a == "--bits") {
      bits = v;
    } else {
      return Usage(("unknown option " + a).c_str());
    }
  }
  if (port <= 0 || port > 65535 || streams < 1 || streams > 65535 || rate < 1 || samples < 1 ||
      input.empty()) {
    return Usage("--port, --streams and an input are needed");
  }
  std::ifstream in(input, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  ftc::Result<ftc::NpyArray> npy = ftc::ReadNpy(bytes.data(), bytes.size());
  if (!npy.ok() || npy->tensor.rank() < 2 || npy->tensor.dtype() != ftc::DType::kF32) {
    std::fprintf(stderr, "rtp_sender: %s: not an N × sample float32 .npy\n", input.c_str());
    return 1;
  }
  const ftc::Tensor& t = npy->tensor;
  const ftc::Shape sample(t.shape().begin() + 1, t.shape().end());
  const size_t sample_bytes = t.size_bytes() / static_cast<size_t>(t.shape()[0]);

  // Code the samples once (Stream_Id 1); every stream sends these packets with its own id.
  ftc::EncoderOptions o;
  o.codec = "ans";
  o.bits = bits;
  ftc::PacketOptions po;
  po.stream_id = 1;
  ftc::LivePacketEncoder enc(o, po);
  std::vector<std::vector<ftc::Bytes>> coded;
  size_t coded_bytes = 0, coded_packets = 0;
  for (int k = 0; k < samples; ++k) {
    const size_t at = (static_cast<size_t>(k) % static_cast<size_t>(t.shape()[0])) * sample_bytes;
    ftc::Result<std::vector<ftc::Bytes>> p =
        enc.encode(ftc::TensorView::Contiguous(t.data() + at, ftc::DType::kF32, sample));
    if (!p.ok()) {
      std::fprintf(stderr, "rtp_sender: %s\n", p.status().ToString().c_str());
      return 1;
    }
    for (const ftc::Bytes& b : *p) coded_bytes += b.size();
    coded_packets += p->size();
    coded.push_back(std::move(p).value());
  }
  // The RTP packets of every stream, sample by sample.
  std::vector<std::vector<std::vector<uint8_t>>> rtp(static_cast<size_t>(streams));
  for (int s = 0; s < streams; ++s) {
    uint16_t seq = static_cast<uint16_t>(s * 7919);
    for (int k = 0; k < samples; ++k) {
      const uint32_t ts = static_cast<uint32_t>(s) * 104729u +
                          static_cast<uint32_t>(k) * static_cast<uint32_t>(90000 / rate);
      for (size_t j = 0; j < coded[k].size(); ++j) {
        ftc::Bytes p = coded[k][j];
        ftc::SetPacketStreamId(static_cast<uint32_t>(s + 1), &p);
        rtp[s].push_back(ftc::rtp::WriteRtpPacket(96, j + 1 == coded[k].size(), seq++, ts,
                                                  static_cast<uint32_t>(s + 1), p.data(),
                                                  p.size()));
      }
    }
  }
  std::vector<std::vector<size_t>> first(static_cast<size_t>(streams));  // of each sample
  for (int s = 0; s < streams; ++s) {
    size_t at = 0;
    for (int k = 0; k < samples; ++k) {
      first[s].push_back(at);
      at += coded[k].size();
    }
    first[s].push_back(at);
  }

  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  rusage r0;
  getrusage(RUSAGE_SELF, &r0);
  timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  const int64_t period = 1000000000 / rate;
  uint64_t sent = 0, failed = 0;
  for (int k = 0; k < samples; ++k) {
    for (int s = 0; s < streams; ++s) {
      SleepUntil(Add(t0, k * period + period * s / streams));
      for (size_t j = first[s][k]; j < first[s][k + 1]; ++j) {
        const std::vector<uint8_t>& p = rtp[s][j];
        if (sendto(fd, p.data(), p.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) <
            0) {
          ++failed;
        } else {
          ++sent;
        }
      }
    }
  }
  rusage r1;
  getrusage(RUSAGE_SELF, &r1);
  close(fd);
  const double cpu = static_cast<double>(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec +
                                         r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
                     1e-6 * static_cast<double>(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec +
                                                r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
  std::printf(
      "sender streams=%d samples=%d packets-per-sample=%.2f bytes-per-sample=%.0f sent=%llu "
      "failed=%llu send-cpu-s=%.3f\n",
      streams, samples, static_cast<double>(coded_packets) / samples,
      static_cast<double>(coded_bytes) / samples, static_cast<unsigned long long>(sent),
      static_cast<unsigned long long>(failed), cpu);
  return failed == 0 ? 0 : 1;
}
