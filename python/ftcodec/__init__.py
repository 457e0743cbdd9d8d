"""ftcodec: compress neural-network feature tensors (split inference).

    import ftcodec
    code = ftcodec.encode(features, codec="ans", bits=4, clip="3sigma")   # bytes
    back = ftcodec.decode(code)                                           # numpy.ndarray

Arrays may be any NumPy array (C-contiguous or strided; float32, float16, uint8; float64 is
converted to float32) or a CPU torch tensor (float32, float16, bfloat16, uint8), viewed without a
copy where the layout allows. Rank 4 is N,C,H,W: every sample becomes its own frame. Every failure
raises ftcodec.Error, whose .code is the stable status name ("corrupt_data", "invalid_argument",
"not_built_in", "unsupported", "limit_exceeded", "io_error", "internal").
"""

import numpy as _np

from . import _ftcodec

__all__ = [
    "Error", "Decoder", "Profile", "encode", "decode", "probe", "encode_packets", "simulate_loss",
    "decode_after_loss", "read_packet_stream", "write_packet_stream", "is_packet_stream",
    "load_profile", "parse_profile", "SampleStreamEncoder", "SampleStreamDecoder",
    "encode_stream", "is_sample_stream", "available_codecs", "conceal_methods", "__version__",
    "LivePacketEncoder", "LiveDecoder",
]


class Error(ValueError, RuntimeError):
    """An ftcodec failure: .code is the stable status name, .message says what is wrong."""

    def __init__(self, code, message):
        super().__init__(code, message)  # args as given, so that the error pickles
        self.code = code
        self.message = message

    def __str__(self):
        return f"{self.code}: {self.message}"


_ftcodec._set_error_class(Error)

__version__ = _ftcodec.version()
Profile = _ftcodec.Profile
available_codecs = _ftcodec.available_codecs
conceal_methods = _ftcodec.conceal_methods
is_sample_stream = _ftcodec.is_sample_stream
is_packet_stream = _ftcodec.is_packet_stream
write_packet_stream = _ftcodec.write_packet_stream


def _is_torch_tensor(x):
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


def _as_array(x):
    """(a NumPy array the binding can view, whether it holds bfloat16 bit patterns)."""
    if _is_torch_tensor(x):
        import torch

        t = x.detach()
        if t.device.type != "cpu":
            raise Error("invalid_argument", f"tensor on device '{t.device}': move it to the CPU")
        if t.dtype == torch.bfloat16:
            return t.view(torch.int16).numpy(), True  # same strides, no copy
        if t.dtype == torch.float64:
            t = t.float()
        return t.numpy(), False
    a = _np.asarray(x)
    if a.dtype == _np.float64:
        a = a.astype(_np.float32)
    elif not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    if any(s < 0 or s % a.itemsize for s in a.strides):
        a = _np.ascontiguousarray(a)
    return a, False


_ENCODER_KEYS = (
    "codec", "bits", "clip", "per_channel", "deadzone", "lossless", "band_rows", "quality", "qp",
    "preset", "bit_depth", "layout", "sequence", "reorder_channels", "threads", "target_bytes",
    "step_shift", "store_dtype", "unit", "inner",
)


def _options(values):
    opts = {k: values[k] for k in _ENCODER_KEYS if values.get(k) is not None}
    if isinstance(opts.get("store_dtype"), _np.dtype) or isinstance(opts.get("store_dtype"), type):
        opts["store_dtype"] = _dtype_name(opts["store_dtype"])
    return opts


def _dtype_name(dtype):
    if dtype is None or isinstance(dtype, str):
        return dtype
    names = {_np.dtype(_np.float32): "f32", _np.dtype(_np.float16): "f16", _np.dtype(_np.uint8): "u8"}
    try:
        return names[_np.dtype(dtype)]
    except (KeyError, TypeError):
        raise Error("invalid_argument", f"unsupported dtype {dtype!r} (f32, f16, bf16, u8)") from None


def encode(array, codec=None, bits=None, clip=None, per_channel=None, deadzone=None, lossless=None,
           quality=None, qp=None, threads=1, profile=None, target_bytes=None, band_rows=None,
           store_dtype=None, preset=None, bit_depth=None, layout=None, sequence=None,
           reorder_channels=None, step_shift=None, unit=None, inner=None):
    """Encodes a tensor (rank 1..4) into an .ftc byte string.

    A parameter left at None takes the profile's value if `profile` is given (load_profile),
    else the library default: codec "ans" ("raw", "jpeg", "hevc" where built), bits 4 (1..16),
    clip None (or "3sigma", "p99.9", "-1:4", a pair (lo, hi)), per_channel False, deadzone 0
    (0..0.5), lossless False (ans: exact f32/f16/bf16), quality 90 (jpeg 1..100), qp 22 (hevc
    0..51), band_rows 0 (whole channels), target_bytes 0 (off; else every sample's frame is at
    most this many bytes), store_dtype None (raw: keep; "f32", "f16", "bf16").
    threads: frames coded in parallel (0 = all cores); the bytes never depend on it.
    The GIL is released while coding.
    """
    a, bf16 = _as_array(array)
    return _ftcodec.encode(a, bf16, _options(locals()), profile)


def decode(data, profile=None, dtype=None, threads=1, unit=None):
    """Decodes an .ftc byte string (bytes, bytearray, memoryview) into a numpy.ndarray; a .ftcs
    sample stream decodes to N × sample.

    dtype: None or "keep" restores the original dtype ("f32", "f16", "u8" or NumPy dtypes
    convert); bfloat16 tensors come back as float32. profile: needed for frames coded with a
    profile's plan. threads: 0 = all cores.
    """
    return _ftcodec.decode(data, profile, _dtype_name(dtype), threads, unit or "")


def probe(data):
    """What an .ftc byte string holds (headers and checksums only, no decoding): a dict with
    kind "frames", "frames" (one dict per frame: codec, dtype, shape, sizes, params, sections)
    and "total_size". A .ftcp byte string gives kind "packets" and one dict per packet."""
    return _ftcodec.probe(data)


def encode_packets(array, codec=None, bits=None, clip=None, per_channel=None, deadzone=None,
                   lossless=None, threads=1, profile=None, band_rows=None, store_dtype=None,
                   packet_size=1200, interleave=True, stream_id=None, unit=None, inner=None,
                   parameter_set_interval=64, parameter_sets=3, frame_interleave=8):
    """Encodes a tensor into one stream of packets of at most packet_size bytes (64..65535) for
    a lossy network: a list of bytes in sending order. Codecs "ans", "raw" (and "learned").
    The stream's parameter set (shape, codec, shared tables) comes first and again before every
    parameter_set_interval-th data packet, at least parameter_sets times; each data packet
    decodes alone given one copy. interleave: the interleaved layout (default): single rows of
    many channels in every packet, so a lost packet's elements keep received neighbours; False:
    runs of whole bands. frame_interleave K: the packets of K samples go round robin, spreading
    a burst of losses. band_rows None picks the bands so that every band fits a packet."""
    a, bf16 = _as_array(array)
    opts = _options(locals())
    return _ftcodec.encode_packets(a, bf16, opts, profile, packet_size, interleave, stream_id,
                                   parameter_set_interval, parameter_sets, frame_interleave)


class LivePacketEncoder:
    """A live stream (docs/format.md, "Live streams"): samples coded one at a time as they come,
    as packets of at most packet_size bytes, e.g. one per RTP packet (docs/rtp.md). The options
    are those of encode_packets(); the parameter set goes first and again before every
    parameter_set_interval-th data packet of the stream.

        enc = ftcodec.LivePacketEncoder(codec="ans", bits=4)
        for x in samples:                 # each C×H×W (rank 1..3)
            for p in enc.encode(x):
                send(p)
    """

    def __init__(self, codec=None, bits=None, clip=None, per_channel=None, deadzone=None,
                 lossless=None, profile=None, band_rows=None, store_dtype=None, unit=None,
                 inner=None, packet_size=1200, interleave=True, stream_id=None,
                 parameter_set_interval=64):
        opts = _options(locals())
        self._e = _ftcodec.LivePacketEncoder(opts, profile, packet_size, interleave, stream_id,
                                             parameter_set_interval)

    def encode(self, sample):
        """The packets of one sample (a list of bytes, in sending order). Raises Error
        (invalid_argument) for a sample of another dtype or shape than the first."""
        a, bf16 = _as_array(sample)
        return self._e.encode(a, bf16)

    @property
    def samples(self):
        return self._e.samples

    @property
    def stream_id(self):
        return self._e.stream_id


class LiveDecoder:
    """The receiver of a live stream: push() packets as they arrive, pop() samples in order.

        d = ftcodec.LiveDecoder(conceal="linear")
        for p in received:
            try:
                d.push(p)
            except ftcodec.Error:
                pass                       # corrupt, foreign or late: dropped, counted
            while (s := d.pop()) is not None:
                sample, lost, info = s     # info: frame_index, lost, packets_expected/received
        d.flush()                          # end of stream: the rest is ready

    A sample is ready when all its packets arrived, once a packet of a sample `reorder` later
    arrived, or after flush(); a sample none of whose packets arrived repeats the previous one
    ("zero": zeros)."""

    def __init__(self, conceal="linear", reorder=1, dtype=None, stream_id=None, unit=None,
                 profile=None):
        self._d = _ftcodec.LiveDecoder(conceal, reorder, _dtype_name(dtype), stream_id,
                                       unit or "", profile)

    def push(self, packet):
        self._d.push(packet)

    def pop(self):
        """None, or (sample, loss_mask, info) of the next sample in order."""
        return self._d.pop()

    def flush(self):
        self._d.flush()

    def flush_before(self, frame_index):
        self._d.flush_before(frame_index)

    @property
    def stats(self):
        return self._d.stats


class SampleStreamEncoder:
    """A sample stream (.ftcs, docs/format.md "Sample streams"): what a device sends one server.
    The options are those of encode(); every sample must have the first one's dtype and shape.

        enc = ftcodec.SampleStreamEncoder(codec="ans", bits=4)
        for x in samples:          # each of rank 1..3, e.g. C×H×W
            send(enc.encode(x))    # the first result begins with the stream header
    """

    def __init__(self, codec=None, bits=None, clip=None, per_channel=None, deadzone=None,
                 lossless=None, quality=None, qp=None, profile=None, target_bytes=None,
                 band_rows=None, store_dtype=None, unit=None, inner=None):
        self._e = _ftcodec.SampleStreamEncoder(_options(locals()), profile)

    def encode(self, sample):
        """The bytes to send for one sample: the header and the record (first call), or the
        record. Raises Error (invalid_argument) for a sample of another dtype or shape."""
        a, bf16 = _as_array(sample)
        return self._e.encode(a, bf16)

    @property
    def samples(self):
        return self._e.samples


class SampleStreamDecoder:
    """The server side of a sample stream: read_header() once, then read_record() per record.

        dec = ftcodec.SampleStreamDecoder()
        used = dec.read_header(data)
        x, n = dec.read_record(data[used:])   # one sample and the record's size
    A bad record raises Error naming its index; last_record_size then says how many bytes to
    skip (0 if even its length was unreadable), and the next record still decodes."""

    def __init__(self, profile=None, dtype=None, unit=None):
        self._d = _ftcodec.SampleStreamDecoder(profile, _dtype_name(dtype), unit or "")

    def read_header(self, data):
        return self._d.read_header(data)

    def read_record(self, data):
        return self._d.read_record(data)

    @property
    def last_record_size(self):
        return self._d.last_record_size

    @property
    def records(self):
        return self._d.records


def encode_stream(array, **options):
    """An N-first array (N×C×H×W) as one .ftcs sample stream (bytes): N records."""
    enc = SampleStreamEncoder(**options)
    a = _np.asarray(array) if not _is_torch_tensor(array) else array
    return b"".join(enc.encode(a[i]) for i in range(len(a)))


class Decoder:
    """The receiver of packet mode: push() the packets that arrived (any order; duplicates are
    ignored), then finish() conceals what was lost.

        d = ftcodec.Decoder()
        for p in received:
            try:
                d.push(p)
            except ftcodec.Error:
                pass            # corrupt or foreign: dropped, counted in d.stats
        features, lost = d.finish(conceal="linear")
    """

    def __init__(self, dtype=None, stream_id=None, max_tensor_elements=0, unit=None, profile=None):
        self._d = _ftcodec.Decoder(_dtype_name(dtype), stream_id, max_tensor_elements, unit or "",
                                   profile)

    def push(self, packet):
        """Decodes one packet. Raises Error (corrupt_data, invalid_argument for another stream,
        unsupported, limit_exceeded) for a packet that is dropped; the decoder stays usable."""
        self._d.push(packet)

    def finish(self, conceal="linear"):
        """(tensor, loss_mask): the tensor with lost elements concealed ("zero", "mean",
        "linear", "inpaint", "caltec", "lowrank", or "altec" with the fitted predictor of the
        Decoder's profile) and a bool array, True where no packet delivered the element. Raises
        Error (corrupt_data) if no packet was accepted."""
        return self._d.finish(conceal)

    @property
    def stats(self):
        """Counts: pushed, accepted, duplicates, corrupt, foreign, ...; frame and element counts
        after finish()."""
        return self._d.stats


def simulate_loss(packets_or_count, model="iid", rate=0.0, burst=1.0, trace=None, seed=0):
    """Which packets a loss model drops, reproducibly: a bool array, True = lost.

    packets_or_count: a number of packets, or the packets themselves. model: "none", "iid"
    (each lost with probability rate), "ge" (Gilbert-Elliott: long-run rate, mean burst
    length) or "trace" (trace: a sequence of 0/1 or a string of them)."""
    count = packets_or_count if isinstance(packets_or_count, int) else len(packets_or_count)
    if trace is not None and model == "iid" and rate == 0.0:
        model = "trace"
    return _ftcodec.simulate_loss(count, model, rate, burst, trace, seed)


def decode_after_loss(packets, model="iid", rate=0.0, burst=1.0, trace=None, seed=0,
                      conceal="linear", dtype=None):
    """Drops packets as simulate_loss() says, decodes the rest and conceals: (tensor, loss_mask,
    stats)."""
    lost = simulate_loss(packets, model, rate, burst, trace, seed)
    d = Decoder(dtype=dtype)
    for p, gone in zip(packets, lost):
        if not gone:
            try:
                d.push(p)
            except Error:
                pass
    tensor, mask = d.finish(conceal)
    return tensor, mask, d.stats


def read_packet_stream(data):
    """Splits a .ftcp byte string into its packets (a list of bytes). Raises Error
    (corrupt_data) if the framing is broken after the last whole record."""
    packets, damaged = _ftcodec.read_packet_stream(data)
    if damaged:
        raise Error("corrupt_data", f"packet stream: {damaged} bytes after the last whole record")
    return packets


def load_profile(path):
    """Reads a profile written by `ftcodec tune`; pass it as profile= to encode/decode."""
    return _ftcodec.load_profile(str(path))


def parse_profile(text):
    """A profile from its JSON text."""
    return _ftcodec.parse_profile(text)
