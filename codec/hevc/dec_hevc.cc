// Decoder of codec `hevc`: libavcodec's HEVC decoder fed from memory through its parser.
//
// The payload is untrusted. Before a picture's samples are used its size and pixel format must
// be exactly what the frame's parameters imply (max_pixels also stops libavcodec from allocating
// anything larger), every libavcodec error is corrupt data (AV_EF_EXPLODE turns the decoder's
// concealment of damaged slices into errors), and the stream must hold exactly the expected
// number of pictures. libavcodec's own log messages are pushed below the default log level:
// those about the context through log_level_offset, and those it logs without one (imgutils,
// parameter-set parsing) by lowering libav's process-wide level once — only if it is still at
// libav's default, so an application that configured libav logging keeps its choice.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/pixfmt.h>
}

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "base/status_macros.h"
#include "codec/hevc/hevc_common.h"

namespace ftc::hevc {
namespace {

std::string AvError(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof(buf));
  return buf;
}

struct AvDecoder {
  AVCodecParserContext* parser = nullptr;
  AVCodecContext* context = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  ~AvDecoder() {
    if (parser) av_parser_close(parser);
    avcodec_free_context(&context);
    av_packet_free(&packet);
    av_frame_free(&frame);
  }
};

class PictureReceiver {
 public:
  PictureReceiver(AvDecoder* d, PackedPictures* pictures, uint8_t chroma)
      : d_(d), pictures_(pictures), g_(pictures->geometry()), chroma_(chroma) {}

  // Sends one packet (nullptr: end of stream) and takes every picture the decoder returns.
  Status Send(const AVPacket* packet) {
    int rc = avcodec_send_packet(d_->context, packet);
    if (rc < 0 && rc != AVERROR_EOF) {
      return FTC_CORRUPT("hevc: corrupt video data: %s", AvError(rc).c_str());
    }
    for (;;) {
      rc = avcodec_receive_frame(d_->context, d_->frame);
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return Status::Ok();
      if (rc < 0) return FTC_CORRUPT("hevc: corrupt video data: %s", AvError(rc).c_str());
      Status s = Take(d_->frame);
      av_frame_unref(d_->frame);
      FTC_RETURN_IF_ERROR(s);
    }
  }
  int64_t received() const { return received_; }

 private:
  Status Take(const AVFrame* f) {
    if (received_ >= g_.pictures) {
      return FTC_CORRUPT("hevc: the video holds more than the %lld pictures expected",
                         static_cast<long long>(g_.pictures));
    }
    if (f->width != g_.width || f->height != g_.height) {
      return FTC_CORRUPT("hevc: picture %lld is %dx%d, the frame's parameters need %lldx%lld",
                         static_cast<long long>(received_), f->width, f->height,
                         static_cast<long long>(g_.width), static_cast<long long>(g_.height));
    }
    const bool mono = chroma_ == kChroma400;
    const int want = g_.params.bits == 8 ? (mono ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_YUV420P)
                                         : (mono ? AV_PIX_FMT_GRAY10LE : AV_PIX_FMT_YUV420P10LE);
    if (f->format != want) {
      return FTC_CORRUPT("hevc: picture %lld is not %d-bit %s (pixel format %d)",
                         static_cast<long long>(received_), g_.params.bits,
                         mono ? "4:0:0" : "4:2:0", f->format);
    }
    if ((f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags) {
      return FTC_CORRUPT("hevc: picture %lld was damaged", static_cast<long long>(received_));
    }
    if (g_.params.bits == 8) {
      pictures_->Accept<uint8_t>(received_, f->data[0], f->linesize[0]);
    } else {
      // 10-bit samples are native uint16 in [0, 1023]; linesize is in bytes.
      pictures_->Accept<uint16_t>(received_, reinterpret_cast<const uint16_t*>(f->data[0]),
                                  f->linesize[0] / 2);
    }
    ++received_;
    return Status::Ok();
  }

  AvDecoder* d_;
  PackedPictures* pictures_;
  const PackGeometry& g_;
  uint8_t chroma_;
  int64_t received_ = 0;
};

}  // namespace

Status DecodeSample(const ParsedFrame& f, const DecoderOptions&, Tensor* out) {
  FTC_ASSIGN_OR_RETURN(HevcFrame h, ParseHevcFrame(f));
  static std::once_flag quiet;
  std::call_once(quiet, [] {
    if (av_log_get_level() == AV_LOG_INFO) av_log_set_level(AV_LOG_FATAL);
  });
  const PackGeometry& g = h.pictures.geometry();
  const SectionRef& payload = h.pictures.picture_section();

  AvDecoder d;
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_HEVC);
  if (!codec) return Status(StatusCode::kNotBuiltIn, "hevc: libavcodec has no HEVC decoder");
  d.parser = av_parser_init(AV_CODEC_ID_HEVC);
  d.context = avcodec_alloc_context3(codec);
  d.packet = av_packet_alloc();
  d.frame = av_frame_alloc();
  if (!d.parser || !d.context || !d.packet || !d.frame) {
    return FTC_INTERNAL("hevc: libavcodec allocation failed");
  }
  d.context->thread_count = 1;
  d.context->err_recognition = AV_EF_CRCCHECK | AV_EF_BITSTREAM | AV_EF_EXPLODE;
  // libavcodec checks its padded buffer size (width aligned up, plus edges) against max_pixels;
  // the exact size is checked on every picture.
  d.context->max_pixels = (g.width + 128) * (g.height + 128);
  d.context->log_level_offset = AV_LOG_TRACE;  // errors become trace-level messages
  if (int rc = avcodec_open2(d.context, codec, nullptr); rc < 0) {
    return FTC_INTERNAL("hevc: cannot open libavcodec's HEVC decoder: %s", AvError(rc).c_str());
  }
  // The parser may read up to AV_INPUT_BUFFER_PADDING_SIZE bytes past the end: pad a copy.
  std::vector<uint8_t> data(payload.size + AV_INPUT_BUFFER_PADDING_SIZE, 0);
  if (payload.size) std::memcpy(data.data(), payload.data, payload.size);
  PictureReceiver receiver(&d, &h.pictures, h.chroma);
  const uint8_t* p = data.data();
  size_t left = payload.size;
  // Feed everything, then once more with no input to flush the parser's last access unit.
  for (bool flushing = left == 0;;) {
    const int chunk = static_cast<int>(std::min<size_t>(left, 1 << 30));
    const int used = av_parser_parse2(d.parser, d.context, &d.packet->data, &d.packet->size,
                                      flushing ? nullptr : p, flushing ? 0 : chunk, AV_NOPTS_VALUE,
                                      AV_NOPTS_VALUE, 0);
    if (used < 0) return FTC_CORRUPT("hevc: unparsable video data: %s", AvError(used).c_str());
    if (!flushing && used == 0 && d.packet->size == 0) {
      return FTC_INTERNAL("hevc: the parser made no progress");
    }
    if (!flushing) {
      p += used;
      left -= static_cast<size_t>(used);
    }
    if (d.packet->size > 0) FTC_RETURN_IF_ERROR(receiver.Send(d.packet));
    if (flushing) {
      if (d.packet->size == 0) break;
    } else if (left == 0) {
      flushing = true;
    }
  }
  FTC_RETURN_IF_ERROR(receiver.Send(nullptr));
  if (receiver.received() != g.pictures) {
    return FTC_CORRUPT("hevc: the video holds %lld of the %lld pictures expected",
                       static_cast<long long>(receiver.received()),
                       static_cast<long long>(g.pictures));
  }
  if (const uint32_t got = h.pictures.LevelsChecksum(); got != h.levels_checksum) {
    return FTC_CORRUPT(
        "hevc: the decoded pictures differ from the encoder's (levels checksum "
        "%08x, expected %08x): damaged video data",
        got, h.levels_checksum);
  }
  return h.pictures.Finish(out);
}

Result<HevcFrame> ParseHevcFrame(const ParsedFrame& f) {
  ByteReader r(f.header.params.data(), f.header.params.size());
  Result<PackParams> p = PackedPictures::ParseParams(&r, f.sample);
  if (!p.ok()) return p.status().WithContext("hevc");
  uint8_t qp, preset, chroma;
  uint32_t checksum;
  if (!r.U8(&qp) || !r.U8(&preset) || !r.U8(&chroma) || !r.U32(&checksum)) {
    return FTC_CORRUPT("hevc: truncated codec parameters");
  }
  if (qp > 51) return FTC_CORRUPT("hevc: QP %u out of range 0..51", qp);
  if (preset >= kPresetCount) return FTC_CORRUPT("hevc: preset index %u out of range", preset);
  if (chroma > kChroma420) return FTC_CORRUPT("hevc: invalid chroma format %u", chroma);
  if (r.remaining() != 0) {
    return FTC_CORRUPT("hevc: %zu unexpected codec parameter bytes", r.remaining());
  }
  Result<PackedPictures> pictures = PackedPictures::Create(f, *p, Limits());
  if (!pictures.ok()) return pictures.status().WithContext("hevc");
  HevcFrame out;
  out.pictures = std::move(pictures).value();
  out.qp = qp;
  out.preset = preset;
  out.chroma = chroma;
  out.levels_checksum = checksum;
  return out;
}

namespace {

Status HevcDescribe(const ParsedFrame& f, ParamList* out) {
  FTC_ASSIGN_OR_RETURN(HevcFrame h, ParseHevcFrame(f));
  out->emplace_back("qp", std::to_string(h.qp));
  out->emplace_back("preset", kPresetNames[h.preset]);
  out->emplace_back("chroma", h.chroma == kChroma400 ? "4:0:0" : "4:2:0 flat");
  h.pictures.Describe(out);
  return Status::Ok();
}

const char* HevcSectionName(uint8_t kind) { return PackSectionName(kind, "hevc"); }

}  // namespace
}  // namespace ftc::hevc

namespace ftc {
extern const CodecDecoder kHevcDecoder = {hevc::kCodecId,
                                          "hevc",
                                          hevc::DecodeSample,
                                          hevc::HevcDescribe,
                                          hevc::HevcSectionName,
                                          nullptr,  // no band halves: does not packetize
                                          nullptr,
                                          nullptr,
                                          true};
}  // namespace ftc
