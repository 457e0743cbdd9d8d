// The Python binding of ftcodec (module ftcodec._ftcodec). It uses the public C++ API only;
// ftcodec/__init__.py wraps it: argument defaults, array normalisation (torch tensors, float64,
// byte order, negative strides) and the ftcodec.Error class live there.
//
// Surprises first:
// - Arrays reach encode() as NumPy arrays whose strides are non-negative multiples of the item
//   size (the Python layer copies anything else); they are viewed, never copied, and the GIL is
//   released while coding. Another thread mutating the array meanwhile gets what it deserves.
// - bfloat16 has no NumPy dtype: a bf16 tensor arrives as its 16-bit pattern (int16/uint16) with
//   `bf16=True`, and decoded bf16 tensors come back as float32 (exact: every bf16 is an f32).
// - Every failure is thrown as FtcError and translated into ftcodec.Error(code, message), where
//   code is the stable StatusCodeName ("corrupt_data").
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/packet.h"
#include "ftcodec/profile.h"
#include "ftcodec/sample_stream.h"
#include "ftcodec/status.h"
#include "ftcodec/tensor.h"

namespace py = pybind11;

namespace {

struct FtcError {
  std::string code;
  std::string message;
};

// ftcodec.Error, handed over by ftcodec/__init__.py (a ValueError and RuntimeError subclass).
PyObject* g_error_class = nullptr;

[[noreturn]] void Throw(ftc::StatusCode code, std::string message) {
  throw FtcError{ftc::StatusCodeName(code), std::move(message)};
}
void ThrowIfError(const ftc::Status& s) {
  if (!s.ok()) Throw(s.code(), s.message());
}
template <typename T>
T ValueOrThrow(ftc::Result<T>&& r) {
  if (!r.ok()) ThrowIfError(r.status());
  return std::move(r).value();
}

// threads: 0 = every core; at most 256 (the API's limit).
int Threads(int threads) {
  if (threads < 0) Throw(ftc::StatusCode::kInvalidArgument, "threads must be >= 0 (0 = all cores)");
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::min(threads, 256);
}

ftc::TensorView ViewOf(const py::array& a, bool bf16) {
  const py::dtype dt = a.dtype();
  const char kind = dt.kind();
  const ssize_t item = dt.itemsize();
  ftc::DType dtype;
  if (bf16) {
    if (item != 2 || (kind != 'i' && kind != 'u')) {
      Throw(ftc::StatusCode::kInvalidArgument, "bf16 data must arrive as 16-bit integers");
    }
    dtype = ftc::DType::kBF16;
  } else if (kind == 'f' && item == 4) {
    dtype = ftc::DType::kF32;
  } else if (kind == 'f' && item == 2) {
    dtype = ftc::DType::kF16;
  } else if (kind == 'u' && item == 1) {
    dtype = ftc::DType::kU8;
  } else {
    Throw(ftc::StatusCode::kInvalidArgument,
          "unsupported dtype '" + py::str(py::handle(dt)).cast<std::string>() +
              "' (float32, float16, bfloat16 or uint8; float64 is converted to float32)");
  }
  const ssize_t rank = a.ndim();
  if (rank < 1 || rank > ftc::kMaxRank) {
    Throw(ftc::StatusCode::kInvalidArgument,
          "tensor rank " + std::to_string(rank) + " not supported (1..4)");
  }
  ftc::Shape shape, strides;
  for (ssize_t i = 0; i < rank; ++i) {
    const ssize_t s = a.strides(i);
    if (s < 0 || s % item != 0) {
      Throw(ftc::StatusCode::kInvalidArgument,
            "strides must be non-negative multiples of the item size");
    }
    shape.push_back(a.shape(i));
    strides.push_back(s / item);
  }
  return ftc::TensorView::Strided(a.data(), dtype, shape, strides);
}

// A decoded tensor as a NumPy array that owns it (no copy).
py::array ToNumpy(ftc::Tensor&& t) {
  if (t.dtype() == ftc::DType::kBF16) t = t.ConvertTo(ftc::DType::kF32);
  py::dtype dt = t.dtype() == ftc::DType::kF32  ? py::dtype::of<float>()
                 : t.dtype() == ftc::DType::kU8 ? py::dtype::of<uint8_t>()
                                                : py::dtype("float16");
  auto* owner = new ftc::Tensor(std::move(t));
  py::capsule base(owner, [](void* p) { delete static_cast<ftc::Tensor*>(p); });
  std::vector<ssize_t> shape(owner->shape().begin(), owner->shape().end());
  return py::array(dt, shape, owner->data(), base);
}

// The bytes of a bytes-like object (bytes, bytearray, memoryview, a uint8 array). The returned
// buffer_info holds the export, so a bytearray cannot be resized while the GIL is released.
py::buffer_info BytesOf(const py::buffer& b) {
  py::buffer_info info = b.request();
  if (info.ndim > 1 || (info.ndim == 1 && info.strides[0] != info.itemsize)) {
    Throw(ftc::StatusCode::kInvalidArgument, "expected contiguous bytes");
  }
  return info;
}
size_t ByteSize(const py::buffer_info& info) {
  return static_cast<size_t>(info.size * info.itemsize);
}

std::optional<ftc::DType> DTypeArg(const py::object& o) {
  if (o.is_none()) return std::nullopt;
  const std::string name = py::str(o);
  if (name == "keep") return std::nullopt;
  return ValueOrThrow(ftc::ParseDType(name));
}

ftc::ClipSpec ClipArg(const py::handle& o) {
  if (o.is_none()) return {};
  if (py::isinstance<py::str>(o)) return ValueOrThrow(ftc::ClipSpec::Parse(o.cast<std::string>()));
  if (py::isinstance<py::sequence>(o) && py::len(o) == 2) {
    ftc::ClipSpec c;
    c.kind = ftc::ClipSpec::Kind::kRange;
    c.a = py::reinterpret_borrow<py::sequence>(o)[0].cast<double>();
    c.b = py::reinterpret_borrow<py::sequence>(o)[1].cast<double>();
    return c;
  }
  Throw(ftc::StatusCode::kInvalidArgument,
        "clip must be None, a string ('3sigma', 'p99.9', '-1:4') or a pair (lo, hi)");
}

using ProfilePtr = std::shared_ptr<ftc::Profile>;

// Encoder options: the profile's settings (if any), then every key of `kw` (None values are
// left out by the Python layer). Unknown keys are an error, so a typo never passes silently.
ftc::EncoderOptions EncoderOptionsOf(const py::dict& kw, const py::object& profile) {
  ftc::EncoderOptions o;
  o.codec = "ans";
  if (!profile.is_none()) ftc::ApplyProfile(*profile.cast<ProfilePtr>(), &o);
  for (const auto& item : kw) {
    const std::string k = py::str(item.first);
    const py::handle v = item.second;
    if (k == "codec")
      o.codec = v.cast<std::string>();
    else if (k == "bits")
      o.bits = v.cast<int>();
    else if (k == "clip")
      o.clip = ClipArg(v);
    else if (k == "per_channel")
      o.per_channel = v.cast<bool>();
    else if (k == "deadzone")
      o.deadzone = v.cast<double>();
    else if (k == "lossless")
      o.lossless = v.cast<bool>();
    else if (k == "band_rows")
      o.band_rows = v.cast<int>();
    else if (k == "quality")
      o.quality = v.cast<int>();
    else if (k == "qp")
      o.qp = v.cast<int>();
    else if (k == "preset")
      o.preset = v.cast<std::string>();
    else if (k == "bit_depth")
      o.bit_depth = v.cast<int>();
    else if (k == "layout")
      o.layout = v.cast<std::string>();
    else if (k == "sequence")
      o.sequence = v.cast<bool>();
    else if (k == "reorder_channels")
      o.reorder_channels = v.cast<bool>();
    else if (k == "threads")
      o.threads = Threads(v.cast<int>());
    else if (k == "target_bytes")
      o.target_bytes = v.cast<int64_t>();
    else if (k == "step_shift")
      o.step_shift = v.cast<int>();
    else if (k == "store_dtype")
      o.store_dtype = DTypeArg(py::reinterpret_borrow<py::object>(v));
    else if (k == "unit")
      o.unit = v.cast<std::string>();
    else if (k == "inner")
      o.inner = v.cast<std::string>();
    else
      Throw(ftc::StatusCode::kInvalidArgument, "unknown encoder option '" + k + "'");
  }
  ThrowIfError(o.Validate());
  return o;
}

py::bytes Encode(const py::array& array, bool bf16, const py::dict& kw, const py::object& profile) {
  const ftc::TensorView view = ViewOf(array, bf16);
  const ftc::EncoderOptions opts = EncoderOptionsOf(kw, profile);
  ftc::Result<ftc::Bytes> r = ftc::Status(ftc::StatusCode::kInternal, "not run");
  {
    py::gil_scoped_release nogil;
    r = ftc::encode(view, opts);
  }
  const ftc::Bytes bytes = ValueOrThrow(std::move(r));
  return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

py::array Decode(const py::buffer& data, const py::object& profile, const py::object& dtype,
                 int threads, const std::string& unit) {
  const py::buffer_info info = BytesOf(data);
  ftc::DecoderOptions opts;
  opts.dtype = DTypeArg(dtype);
  opts.threads = Threads(threads);
  opts.unit = unit;
  if (!profile.is_none()) opts.plan = profile.cast<ProfilePtr>()->plan;
  ftc::Result<ftc::Tensor> r = ftc::Status(ftc::StatusCode::kInternal, "not run");
  {
    py::gil_scoped_release nogil;
    const uint8_t* p = static_cast<const uint8_t*>(info.ptr);
    r = ftc::IsSampleStream(p, ByteSize(info)) ? ftc::decode_sample_stream(p, ByteSize(info), opts)
                                               : ftc::decode(p, ByteSize(info), opts);
  }
  return ToNumpy(ValueOrThrow(std::move(r)));
}

// Sample streams (.ftcs): one encoder per stream; the first encode() returns the header too.
class PySampleStreamEncoder {
 public:
  PySampleStreamEncoder(const py::dict& kw, const py::object& profile)
      : encoder_(EncoderOptionsOf(kw, profile)) {}
  py::bytes Encode(const py::array& sample, bool bf16) {
    const ftc::TensorView view = ViewOf(sample, bf16);
    ftc::Result<ftc::Bytes> r = ftc::Status(ftc::StatusCode::kInternal, "not run");
    {
      py::gil_scoped_release nogil;
      r = encoder_.encode(view);
    }
    const ftc::Bytes b = ValueOrThrow(std::move(r));
    return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
  }
  int64_t Samples() const { return encoder_.samples(); }

 private:
  ftc::SampleStreamEncoder encoder_;
};

class PySampleStreamDecoder {
 public:
  PySampleStreamDecoder(const py::object& profile, const py::object& dtype, const std::string& unit)
      : decoder_(Options(profile, dtype, unit)) {}
  size_t ReadHeader(const py::buffer& data) {
    const py::buffer_info info = BytesOf(data);
    return ValueOrThrow(
        decoder_.read_header(static_cast<const uint8_t*>(info.ptr), ByteSize(info)));
  }
  // (sample, bytes used); on a bad record the error carries the bytes to skip (record_size).
  py::tuple ReadRecord(const py::buffer& data) {
    const py::buffer_info info = BytesOf(data);
    size_t used = 0;
    ftc::Result<ftc::Tensor> r = ftc::Status(ftc::StatusCode::kInternal, "not run");
    {
      py::gil_scoped_release nogil;
      r = decoder_.read_record(static_cast<const uint8_t*>(info.ptr), ByteSize(info), &used);
    }
    last_used_ = used;
    return py::make_tuple(ToNumpy(ValueOrThrow(std::move(r))), used);
  }
  size_t LastUsed() const { return last_used_; }
  int64_t Records() const { return decoder_.records(); }

 private:
  static ftc::DecoderOptions Options(const py::object& profile, const py::object& dtype,
                                     const std::string& unit) {
    ftc::DecoderOptions o;
    o.dtype = DTypeArg(dtype);
    o.unit = unit;
    if (!profile.is_none()) o.plan = profile.cast<ProfilePtr>()->plan;
    return o;
  }
  ftc::SampleStreamDecoder decoder_;
  size_t last_used_ = 0;
};

py::tuple ShapeTuple(const ftc::Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = s[i];
  return t;
}

py::dict PacketInfoDict(const ftc::PacketInfo& p) {
  py::dict d;
  d["size"] = p.size;
  d["valid"] = p.valid;
  if (!p.valid) {
    d["error"] = p.error;
    return d;
  }
  d["parameter_set"] = p.parameter_set;
  d["set_id"] = p.set_id;
  d["stream_id"] = p.stream_id;
  d["codec"] = p.codec;
  d["dtype"] = ftc::DTypeName(p.dtype);
  d["shape"] = ShapeTuple(p.shape);
  d["frame_index"] = p.frame_index;
  d["frame_count"] = p.frame_count;
  d["packet_index"] = p.packet_index;
  d["packet_count"] = p.packet_count;
  d["band_rows"] = p.band_rows;
  d["bands"] = p.bands;
  d["interleaved"] = p.interleaved;
  if (!p.unit.empty()) {
    d["unit"] = p.unit;
    d["inner"] = p.inner;
    d["code_shape"] = ShapeTuple(p.code_shape);
  }
  return d;
}

std::vector<ftc::Bytes> PacketList(const py::iterable& packets) {
  std::vector<ftc::Bytes> out;
  for (const auto& p : packets) {
    const py::buffer_info info = BytesOf(py::reinterpret_borrow<py::buffer>(p));
    const auto* b = static_cast<const uint8_t*>(info.ptr);
    out.emplace_back(b, b + ByteSize(info));
  }
  return out;
}

// probe(): a .ftc byte string gives its frames; a .ftcp byte string its packets.
py::dict Probe(const py::buffer& data) {
  const py::buffer_info info = BytesOf(data);
  const auto* b = static_cast<const uint8_t*>(info.ptr);
  const size_t n = ByteSize(info);
  py::dict out;
  if (ftc::IsPacketStream(b, n)) {
    ftc::PacketStreamContents c = ftc::ReadPacketStream(b, n);
    py::list packets;
    for (const ftc::PacketInfo& p : ftc::ProbePackets(c.packets)) packets.append(PacketInfoDict(p));
    out["kind"] = "packets";
    out["packets"] = packets;
    out["damaged_bytes"] = c.damaged_bytes;
    out["total_size"] = n;
    return out;
  }
  const ftc::StreamInfo s = ValueOrThrow(ftc::probe(b, n));
  py::list frames;
  for (const ftc::FrameInfo& f : s.frames) {
    py::dict d;
    d["offset"] = f.offset;
    d["size"] = f.size;
    d["batch_index"] = f.batch_index;
    d["batch_count"] = f.batch_count;
    d["sample_count"] = f.sample_count;
    d["dtype"] = ftc::DTypeName(f.dtype);
    d["shape"] = ShapeTuple(f.shape);
    d["sample_shape"] = ShapeTuple(f.sample_shape);
    d["codec"] = f.codec;
    py::dict params;
    for (const auto& kv : f.params) params[py::str(kv.first)] = kv.second;
    d["params"] = params;
    py::list sections;
    for (const ftc::SectionInfo& sec : f.sections) {
      py::dict sd;
      sd["kind"] = sec.kind;
      sd["size"] = sec.size;
      sections.append(sd);
    }
    d["sections"] = sections;
    frames.append(d);
  }
  out["kind"] = "frames";
  out["frames"] = frames;
  out["total_size"] = s.total_size;
  return out;
}

py::list EncodePackets(const py::array& array, bool bf16, const py::dict& kw,
                       const py::object& profile, int packet_size, bool interleave,
                       const py::object& stream_id, int parameter_set_interval, int parameter_sets,
                       int frame_interleave) {
  const ftc::TensorView view = ViewOf(array, bf16);
  const bool explicit_band_rows = kw.contains("band_rows");
  const ftc::EncoderOptions opts = EncoderOptionsOf(kw, profile);
  ftc::PacketOptions popts;
  popts.packet_size = packet_size;
  popts.interleave = interleave;
  popts.auto_band_rows = !explicit_band_rows;
  popts.parameter_set_interval = parameter_set_interval;
  popts.parameter_sets = parameter_sets;
  popts.frame_interleave = frame_interleave;
  if (!stream_id.is_none()) popts.stream_id = stream_id.cast<uint32_t>();
  ThrowIfError(popts.Validate());
  ftc::Result<std::vector<ftc::Bytes>> r = ftc::Status(ftc::StatusCode::kInternal, "not run");
  {
    py::gil_scoped_release nogil;
    r = ftc::encode_packets(view, opts, popts);
  }
  py::list out;
  for (const ftc::Bytes& p : ValueOrThrow(std::move(r))) {
    out.append(py::bytes(reinterpret_cast<const char*>(p.data()), p.size()));
  }
  return out;
}

py::dict StatsDict(const ftc::PacketStats& s) {
  py::dict d;
  d["pushed"] = s.pushed;
  d["accepted"] = s.accepted;
  d["duplicates"] = s.duplicates;
  d["corrupt"] = s.corrupt;
  d["foreign"] = s.foreign;
  d["inconsistent"] = s.inconsistent;
  d["parameter_sets"] = s.parameter_sets;
  d["waiting"] = s.waiting;
  d["frames"] = s.frames;
  d["frames_complete"] = s.frames_complete;
  d["frames_partial"] = s.frames_partial;
  d["frames_lost"] = s.frames_lost;
  d["packets_expected"] = s.packets_expected;
  d["packets_missing"] = s.packets_missing;
  d["elements"] = s.elements;
  d["lost_elements"] = s.lost_elements;
  return d;
}

py::array MaskArray(const ftc::LossMask& m) {
  std::vector<ssize_t> shape(m.shape.begin(), m.shape.end());
  py::array_t<bool> out(shape);
  std::copy(m.lost.begin(), m.lost.end(), static_cast<bool*>(out.mutable_data()));
  return std::move(out);
}

// Pushes one packet into a packet receiver (Decoder, LiveDecoder) without the GIL; raises the
// receiver's error for a packet it dropped.
template <typename Receiver>
void PushPacket(Receiver* receiver, const py::buffer& packet) {
  const py::buffer_info info = BytesOf(packet);
  ftc::Status s;
  {
    py::gil_scoped_release nogil;
    s = receiver->push(static_cast<const uint8_t*>(info.ptr), ByteSize(info));
  }
  ThrowIfError(s);
}

// The receiver of packet mode.
class PyDecoder {
 public:
  PyDecoder(const py::object& dtype, const py::object& stream_id, int64_t max_tensor_elements,
            const std::string& unit, const py::object& profile) {
    ftc::PacketDecoderOptions o;
    // A profile's fitted predictor, for finish(conceal="altec").
    if (!profile.is_none()) o.conceal.predictor = profile.cast<ProfilePtr>()->conceal_predictor;
    o.dtype = DTypeArg(dtype);
    if (!stream_id.is_none()) o.stream_id = stream_id.cast<uint32_t>();
    if (max_tensor_elements > 0) {
      o.max_tensor_elements = max_tensor_elements;
      o.max_frame_elements = std::min(o.max_frame_elements, max_tensor_elements);
    }
    o.unit = unit;
    decoder_ = ftc::Decoder(o);
  }

  void Push(const py::buffer& packet) { PushPacket(&decoder_, packet); }

  py::tuple Finish(const std::string& conceal) {
    const ftc::ConcealMethod method = ValueOrThrow(ftc::ParseConcealMethod(conceal));
    ftc::Result<ftc::DecodedTensor> r = ftc::Status(ftc::StatusCode::kInternal, "not run");
    {
      py::gil_scoped_release nogil;
      r = decoder_.finish(method);
    }
    ftc::DecodedTensor d = ValueOrThrow(std::move(r));
    finished_stats_ = d.stats;
    finished_ = true;
    py::array mask = MaskArray(d.mask);
    return py::make_tuple(ToNumpy(std::move(d.tensor)), mask);
  }

  py::dict Stats() const { return StatsDict(finished_ ? finished_stats_ : decoder_.stats()); }

 private:
  ftc::Decoder decoder_;
  ftc::PacketStats finished_stats_;
  bool finished_ = false;
};

// A live stream's sender (docs/format.md, "Live streams").
class PyLivePacketEncoder {
 public:
  PyLivePacketEncoder(const py::dict& kw, const py::object& profile, int packet_size,
                      bool interleave, const py::object& stream_id, int parameter_set_interval)
      : encoder_(Options(kw, profile),
                 PacketOptionsOf(kw, packet_size, interleave, stream_id, parameter_set_interval)) {}

  py::list Encode(const py::array& array, bool bf16) {
    const ftc::TensorView view = ViewOf(array, bf16);
    ftc::Result<std::vector<ftc::Bytes>> r = ftc::Status(ftc::StatusCode::kInternal, "not run");
    {
      py::gil_scoped_release nogil;
      r = encoder_.encode(view);
    }
    py::list out;
    for (const ftc::Bytes& p : ValueOrThrow(std::move(r))) {
      out.append(py::bytes(reinterpret_cast<const char*>(p.data()), p.size()));
    }
    return out;
  }
  int64_t Samples() const { return encoder_.samples(); }
  uint32_t StreamId() const { return encoder_.stream_id(); }

 private:
  static ftc::EncoderOptions Options(const py::dict& kw, const py::object& profile) {
    ftc::EncoderOptions o = EncoderOptionsOf(kw, profile);
    ThrowIfError(o.Validate());
    return o;
  }
  static ftc::PacketOptions PacketOptionsOf(const py::dict& kw, int packet_size, bool interleave,
                                            const py::object& stream_id, int interval) {
    ftc::PacketOptions p;
    p.packet_size = packet_size;
    p.interleave = interleave;
    p.auto_band_rows = !kw.contains("band_rows");
    p.parameter_set_interval = interval;
    if (!stream_id.is_none()) p.stream_id = stream_id.cast<uint32_t>();
    ThrowIfError(p.Validate());
    return p;
  }
  ftc::LivePacketEncoder encoder_;
};

// A live stream's receiver.
class PyLiveDecoder {
 public:
  PyLiveDecoder(const std::string& conceal, int reorder, const py::object& dtype,
                const py::object& stream_id, const std::string& unit, const py::object& profile) {
    ftc::LiveDecoderOptions o;
    o.conceal = ValueOrThrow(ftc::ParseConcealMethod(conceal));
    o.reorder = reorder;
    if (!profile.is_none()) {
      o.decoder.conceal.predictor = profile.cast<ProfilePtr>()->conceal_predictor;
    }
    o.decoder.dtype = DTypeArg(dtype);
    if (!stream_id.is_none()) o.decoder.stream_id = stream_id.cast<uint32_t>();
    o.decoder.unit = unit;
    decoder_ = ftc::LiveDecoder(o);
  }

  void Push(const py::buffer& packet) { PushPacket(&decoder_, packet); }

  // None, or (sample, loss mask, info dict).
  py::object Pop() {
    std::optional<ftc::LiveSample> s;
    {
      py::gil_scoped_release nogil;
      s = decoder_.pop();
    }
    if (!s) return py::none();
    py::dict info;
    info["frame_index"] = s->frame_index;
    info["lost"] = s->lost;
    info["packets_expected"] = s->packets_expected;
    info["packets_received"] = s->packets_received;
    py::array mask = MaskArray(s->mask);
    return py::make_tuple(ToNumpy(std::move(s->tensor)), mask, info);
  }

  void Flush() { decoder_.flush(); }
  void FlushBefore(uint32_t frame) { decoder_.flush_before(frame); }

  py::dict Stats() const {
    const ftc::LiveStats& s = decoder_.stats();
    py::dict d = StatsDict(s.packets);
    d["late"] = s.late;
    d["samples"] = s.samples;
    d["samples_complete"] = s.samples_complete;
    d["samples_partial"] = s.samples_partial;
    d["samples_lost"] = s.samples_lost;
    d["samples_skipped"] = s.samples_skipped;
    d["conceal_failures"] = s.conceal_failures;
    d["packets_expected"] = s.packets_expected;
    d["packets_missing"] = s.packets_missing;
    return d;
  }

 private:
  ftc::LiveDecoder decoder_;
};

py::array SimulateLoss(size_t count, const std::string& model, double rate, double burst,
                       const py::object& trace, uint64_t seed) {
  ftc::LossModel m;
  if (model == "none")
    m.kind = ftc::LossModel::Kind::kNone;
  else if (model == "iid")
    m.kind = ftc::LossModel::Kind::kIid;
  else if (model == "ge")
    m.kind = ftc::LossModel::Kind::kGilbertElliott;
  else if (model == "trace")
    m.kind = ftc::LossModel::Kind::kTrace;
  else
    Throw(ftc::StatusCode::kInvalidArgument,
          "unknown loss model '" + model + "' (none, iid, ge, trace)");
  m.rate = rate;
  m.burst = burst;
  if (!trace.is_none()) {
    if (py::isinstance<py::str>(trace)) {
      m.trace = ValueOrThrow(ftc::ParseLossTrace(trace.cast<std::string>()));
    } else {
      for (const auto& v : trace) m.trace.push_back(v.cast<bool>() ? 1 : 0);
    }
  }
  ThrowIfError(m.Validate());
  const std::vector<uint8_t> lost = ValueOrThrow(ftc::SimulateLoss(m, count, seed));
  py::array_t<bool> out(static_cast<ssize_t>(lost.size()));
  std::copy(lost.begin(), lost.end(), static_cast<bool*>(out.mutable_data()));
  return std::move(out);
}

py::dict SettingsDict(const ftc::EncoderOptions& s) {
  py::dict d;
  d["codec"] = s.codec;
  d["bits"] = s.bits;
  d["clip"] = s.clip.ToString();
  d["per_channel"] = s.per_channel;
  d["deadzone"] = s.deadzone;
  d["lossless"] = s.lossless;
  d["band_rows"] = s.band_rows;
  d["quality"] = s.quality;
  d["qp"] = s.qp;
  return d;
}

}  // namespace

PYBIND11_MODULE(_ftcodec, m) {
  m.doc() =
      "ftcodec: a codec for neural-network feature tensors (binding; use the ftcodec package)";

  m.def("_set_error_class", [](py::object cls) {
    Py_XDECREF(g_error_class);
    g_error_class = cls.release().ptr();  // kept for the life of the interpreter
  });
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const FtcError& e) {
      if (g_error_class == nullptr) {
        PyErr_SetString(PyExc_RuntimeError, (e.code + ": " + e.message).c_str());
        return;
      }
      py::object cls = py::reinterpret_borrow<py::object>(g_error_class);
      py::object inst = cls(e.code, e.message);
      PyErr_SetObject(g_error_class, inst.ptr());
    }
  });

  m.def("version", [] { return std::string(ftc::VersionString()); });
  m.def("format_version", [] { return ftc::FormatVersion(); });
  m.def("available_codecs", [] { return ftc::AvailableCodecs(); });
  m.def("conceal_methods", [] { return ftc::ConcealMethodNames(); });

  m.def("encode", &Encode, py::arg("array"), py::arg("bf16"), py::arg("options"),
        py::arg("profile"));
  m.def("decode", &Decode, py::arg("data"), py::arg("profile"), py::arg("dtype"),
        py::arg("threads"), py::arg("unit"));
  m.def("probe", &Probe, py::arg("data"));
  m.def("encode_packets", &EncodePackets, py::arg("array"), py::arg("bf16"), py::arg("options"),
        py::arg("profile"), py::arg("packet_size"), py::arg("interleave"), py::arg("stream_id"),
        py::arg("parameter_set_interval"), py::arg("parameter_sets"), py::arg("frame_interleave"));
  m.def("simulate_loss", &SimulateLoss, py::arg("count"), py::arg("model"), py::arg("rate"),
        py::arg("burst"), py::arg("trace"), py::arg("seed"));
  m.def("is_packet_stream", [](const py::buffer& data) {
    const py::buffer_info info = BytesOf(data);
    return ftc::IsPacketStream(static_cast<const uint8_t*>(info.ptr), ByteSize(info));
  });
  m.def("read_packet_stream", [](const py::buffer& data) {
    const py::buffer_info info = BytesOf(data);
    ftc::PacketStreamContents c =
        ftc::ReadPacketStream(static_cast<const uint8_t*>(info.ptr), ByteSize(info));
    py::list out;
    for (const ftc::Bytes& p : c.packets) {
      out.append(py::bytes(reinterpret_cast<const char*>(p.data()), p.size()));
    }
    return py::make_tuple(out, c.damaged_bytes);
  });
  m.def("write_packet_stream", [](const py::iterable& packets) {
    const ftc::Bytes b = ValueOrThrow(ftc::WritePacketStream(PacketList(packets)));
    return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
  });

  py::class_<PySampleStreamEncoder>(m, "SampleStreamEncoder")
      .def(py::init<const py::dict&, const py::object&>(), py::arg("options"), py::arg("profile"))
      .def("encode", &PySampleStreamEncoder::Encode, py::arg("sample"), py::arg("bf16"))
      .def_property_readonly("samples", &PySampleStreamEncoder::Samples);
  py::class_<PySampleStreamDecoder>(m, "SampleStreamDecoder")
      .def(py::init<const py::object&, const py::object&, const std::string&>(), py::arg("profile"),
           py::arg("dtype"), py::arg("unit"))
      .def("read_header", &PySampleStreamDecoder::ReadHeader, py::arg("data"))
      .def("read_record", &PySampleStreamDecoder::ReadRecord, py::arg("data"))
      .def_property_readonly("last_record_size", &PySampleStreamDecoder::LastUsed)
      .def_property_readonly("records", &PySampleStreamDecoder::Records);
  m.def("is_sample_stream", [](const py::buffer& data) {
    const py::buffer_info info = BytesOf(data);
    return ftc::IsSampleStream(static_cast<const uint8_t*>(info.ptr), ByteSize(info));
  });
  py::class_<PyLivePacketEncoder>(m, "LivePacketEncoder")
      .def(py::init<const py::dict&, const py::object&, int, bool, const py::object&, int>(),
           py::arg("options"), py::arg("profile"), py::arg("packet_size"), py::arg("interleave"),
           py::arg("stream_id"), py::arg("parameter_set_interval"))
      .def("encode", &PyLivePacketEncoder::Encode, py::arg("sample"), py::arg("bf16"))
      .def_property_readonly("samples", &PyLivePacketEncoder::Samples)
      .def_property_readonly("stream_id", &PyLivePacketEncoder::StreamId);
  py::class_<PyLiveDecoder>(m, "LiveDecoder")
      .def(py::init<const std::string&, int, const py::object&, const py::object&,
                    const std::string&, const py::object&>(),
           py::arg("conceal"), py::arg("reorder"), py::arg("dtype"), py::arg("stream_id"),
           py::arg("unit"), py::arg("profile"))
      .def("push", &PyLiveDecoder::Push, py::arg("packet"))
      .def("pop", &PyLiveDecoder::Pop)
      .def("flush", &PyLiveDecoder::Flush)
      .def("flush_before", &PyLiveDecoder::FlushBefore, py::arg("frame_index"))
      .def_property_readonly("stats", &PyLiveDecoder::Stats);
  py::class_<PyDecoder>(m, "Decoder")
      .def(py::init<const py::object&, const py::object&, int64_t, const std::string&,
                    const py::object&>(),
           py::arg("dtype"), py::arg("stream_id"), py::arg("max_tensor_elements"), py::arg("unit"),
           py::arg("profile"))
      .def("push", &PyDecoder::Push, py::arg("packet"))
      .def("finish", &PyDecoder::Finish, py::arg("conceal"))
      .def_property_readonly("stats", &PyDecoder::Stats);

  py::class_<ftc::Profile, std::shared_ptr<ftc::Profile>>(m, "Profile")
      .def_property_readonly("model", [](const ftc::Profile& p) { return p.model; })
      .def_property_readonly("version", [](const ftc::Profile& p) { return p.version; })
      .def_property_readonly("input_scale", [](const ftc::Profile& p) { return p.input_scale; })
      .def_property_readonly("sample_shape",
                             [](const ftc::Profile& p) { return ShapeTuple(p.sample_shape); })
      .def_property_readonly("settings",
                             [](const ftc::Profile& p) { return SettingsDict(p.settings); })
      .def_property_readonly("conceal", [](const ftc::Profile& p) { return p.conceal; })
      .def_property_readonly(
          "has_conceal_predictor",
          [](const ftc::Profile& p) { return static_cast<bool>(p.conceal_predictor); })
      .def_property_readonly("plan_id",
                             [](const ftc::Profile& p) -> py::object {
                               if (!p.plan) return py::none();
                               return py::str(ftc::PlanIdHex(p.plan->Id()));
                             })
      .def("to_json", [](const ftc::Profile& p) { return ftc::ProfileToJson(p); })
      .def("__repr__", [](const ftc::Profile& p) {
        return "<ftcodec.Profile model='" + p.model + "' codec='" + p.settings.codec + "'" +
               (p.plan ? " plan=" + ftc::PlanIdHex(p.plan->Id()) : std::string()) + ">";
      });
  m.def("load_profile", [](const std::string& path) {
    ftc::Result<ftc::Profile> r = ftc::Status(ftc::StatusCode::kInternal, "not run");
    {
      py::gil_scoped_release nogil;
      r = ftc::LoadProfile(path);
    }
    return std::make_shared<ftc::Profile>(ValueOrThrow(std::move(r)));
  });
  m.def("parse_profile", [](const std::string& json) {
    return std::make_shared<ftc::Profile>(ValueOrThrow(ftc::ParseProfile(json)));
  });
}
