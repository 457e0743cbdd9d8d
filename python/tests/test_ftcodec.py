"""Tests of the Python package: round trips, error bounds, errors, strides, packets, profiles."""
import os
import threading

import numpy as np
import pytest

import ftcodec

SOURCE_DIR = os.environ.get(
    "FTC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
FEATURES = os.path.join(SOURCE_DIR, "data", "features", "fmnist_s1_relu.npy")
PLAN_PROFILE = os.path.join(SOURCE_DIR, "tests", "fuzz", "corpus", "profile_fuzz",
                            "plan_bn_4ch.json")


@pytest.fixture(scope="module")
def features():
    return np.load(FEATURES)[:4]  # 4 x 64 x 14 x 14 float32, post-ReLU


def random_f32(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---- round trips -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.uint8])
def test_raw_round_trip_is_exact(dtype):
    a = (random_f32((2, 3, 5, 7)) * 40 + 100).astype(dtype)
    back = ftcodec.decode(ftcodec.encode(a, codec="raw"))
    assert back.dtype == a.dtype
    assert back.shape == a.shape
    assert np.array_equal(back, a)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_lossless_round_trip_is_bit_exact_with_nan_and_inf(dtype):
    a = random_f32((3, 8, 9), seed=2).astype(dtype)
    a[0, 0, 0] = np.nan
    a[1, 2, 3] = np.inf
    a[2, 7, 8] = -0.0
    code = ftcodec.encode(a, codec="ans", lossless=True)
    back = ftcodec.decode(code)
    assert back.dtype == a.dtype
    assert back.tobytes() == a.tobytes()


def test_ans_error_is_within_half_a_step(features):
    bits = 4
    code = ftcodec.encode(features, codec="ans", bits=bits)
    back = ftcodec.decode(code)
    assert back.shape == features.shape and back.dtype == np.float32
    for n in range(features.shape[0]):  # one min-max range per sample (frame)
        lo, hi = features[n].min(), features[n].max()
        step = (hi - lo) / (2 ** bits - 1)
        err = np.abs(back[n] - features[n]).max()
        assert err <= step / 2 * 1.0001 + 1e-6, (n, err, step)
    assert len(code) < features.nbytes / 6  # 4 bits and entropy coding: far below f32


def test_ans_default_codec_and_bits(features):
    assert ftcodec.encode(features) == ftcodec.encode(features, codec="ans", bits=4)
    assert ftcodec.probe(ftcodec.encode(features))["frames"][0]["codec"] == "ans"


def test_encoding_is_deterministic_across_threads(features):
    one = ftcodec.encode(features, bits=3, clip="3sigma", threads=1)
    assert ftcodec.encode(features, bits=3, clip="3sigma", threads=4) == one
    assert ftcodec.encode(features, bits=3, clip="3sigma", threads=0) == one  # 0 = all cores


def test_clip_as_a_pair_equals_clip_as_text(features):
    assert ftcodec.encode(features, clip=(0.0, 1.5)) == ftcodec.encode(features, clip="0:1.5")
    back = ftcodec.decode(ftcodec.encode(features, clip=(0.0, 1.5)))
    assert back.max() <= 1.5 + 1e-6


def test_decode_dtype_conversion(features):
    code = ftcodec.encode(features, codec="raw")
    half = ftcodec.decode(code, dtype="f16")
    assert half.dtype == np.float16
    assert np.array_equal(half, features.astype(np.float16))
    assert ftcodec.decode(code, dtype=np.float16).dtype == np.float16


def test_decode_accepts_bytearray_and_memoryview(features):
    code = ftcodec.encode(features)
    expected = ftcodec.decode(code)
    assert np.array_equal(ftcodec.decode(bytearray(code)), expected)
    assert np.array_equal(ftcodec.decode(memoryview(code)), expected)


def test_float64_is_coded_as_float32():
    a = random_f32((4, 5)).astype(np.float64)
    back = ftcodec.decode(ftcodec.encode(a, codec="raw"))
    assert back.dtype == np.float32
    assert np.array_equal(back, a.astype(np.float32))


# ---- strided input -------------------------------------------------------------------------

def test_strided_input_equals_contiguous_result(features):
    strided = features[:, ::2, 1:13, ::3]  # a view: every stride differs from C order
    assert not strided.flags["C_CONTIGUOUS"]
    contiguous = np.ascontiguousarray(strided)
    for kwargs in ({"codec": "raw"}, {"codec": "ans", "bits": 5}, {"lossless": True}):
        assert ftcodec.encode(strided, **kwargs) == ftcodec.encode(contiguous, **kwargs)


def test_transposed_negative_and_fortran_strides(features):
    s = features[0]  # 64 x 14 x 14
    for view in (s.transpose(0, 2, 1), s[:, ::-1, :], np.asfortranarray(s)):
        assert ftcodec.encode(view, codec="raw") == ftcodec.encode(np.ascontiguousarray(view),
                                                                   codec="raw")


def test_big_endian_input_is_converted():
    a = random_f32((3, 4))
    assert np.array_equal(ftcodec.decode(ftcodec.encode(a.astype(">f4"), codec="raw")), a)


# ---- errors --------------------------------------------------------------------------------

def test_error_class_is_value_and_runtime_error():
    import pickle

    assert issubclass(ftcodec.Error, ValueError)
    assert issubclass(ftcodec.Error, RuntimeError)
    with pytest.raises(ValueError) as e:
        ftcodec.decode(b"garbage")
    assert str(e.value) == f"corrupt_data: {e.value.message}"
    again = pickle.loads(pickle.dumps(e.value))
    assert (again.code, again.message) == (e.value.code, e.value.message)


def test_corrupt_input_raises_corrupt_data(features):
    code = bytearray(ftcodec.encode(features, bits=4))
    code[len(code) // 2] ^= 0x40
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.decode(bytes(code))
    assert e.value.code == "corrupt_data"
    assert "checksum" in e.value.message
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.probe(bytes(code))
    assert e.value.code == "corrupt_data"


def test_truncated_and_garbage_input_raise_corrupt_data(features):
    code = ftcodec.encode(features)
    for bad in (code[:-5], code[:10], b"", b"not an ftcodec stream at all"):
        with pytest.raises(ftcodec.Error) as e:
            ftcodec.decode(bad)
        assert e.value.code == "corrupt_data", (len(bad), e.value)


def test_invalid_options_raise_invalid_argument(features):
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.encode(features, bits=17)
    assert e.value.code == "invalid_argument" and "bits" in e.value.message
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.encode(features, codec="nonsense")
    assert e.value.code in ("invalid_argument", "not_built_in")
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.encode(features, clip="sideways")
    assert e.value.code == "invalid_argument"


def test_unsupported_dtype_and_rank():
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.encode(np.zeros((2, 2), dtype=np.int32))
    assert e.value.code == "invalid_argument" and "dtype" in e.value.message
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.encode(np.zeros((1, 1, 1, 1, 2), dtype=np.float32))
    assert e.value.code == "invalid_argument" and "rank" in e.value.message


def test_lossy_codec_refuses_nan():
    a = random_f32((4, 4))
    a[1, 1] = np.nan
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.encode(a, codec="ans", bits=4)
    assert e.value.code == "unsupported" and "NaN" in e.value.message


# ---- probe ---------------------------------------------------------------------------------

def test_probe_reports_frames(features):
    code = ftcodec.encode(features, codec="ans", bits=3)
    info = ftcodec.probe(code)
    assert info["kind"] == "frames"
    assert info["total_size"] == len(code)
    assert len(info["frames"]) == features.shape[0]
    f = info["frames"][1]
    assert f["codec"] == "ans" and f["dtype"] == "f32"
    assert f["shape"] == features.shape
    assert f["sample_shape"] == features.shape[1:]
    assert f["batch_index"] == 1 and f["batch_count"] == features.shape[0]
    assert sum(fr["size"] for fr in info["frames"]) == len(code)


# ---- packets -------------------------------------------------------------------------------

def test_packets_round_trip_without_loss(features):
    packets = ftcodec.encode_packets(features, codec="ans", bits=4, packet_size=300)
    assert len(packets) > features.shape[0]
    assert all(len(p) <= 300 for p in packets)
    d = ftcodec.Decoder()
    for p in reversed(packets):  # any order
        d.push(p)
    data = [p for p in packets if p[3] == 0]  # byte 3: 0 data packet, 1 parameter set
    assert 0 < len(data) < len(packets)
    d.push(data[0])  # a duplicate is ignored
    tensor, lost = d.finish()
    for n in range(features.shape[0]):
        step = (features[n].max() - features[n].min()) / 15
        assert np.abs(tensor[n] - features[n]).max() <= step / 2 * 1.0001 + 1e-6
    assert lost.shape == features.shape and lost.dtype == np.bool_ and not lost.any()
    stats = d.stats
    assert stats["accepted"] == len(data) and stats["duplicates"] == 1
    assert stats["parameter_sets"] == len(packets) - len(data) and stats["waiting"] == 0
    # Options of the stream: more copies of the parameter set, frames round robin.
    more = ftcodec.encode_packets(features, codec="ans", bits=4, packet_size=300,
                                  parameter_set_interval=2, frame_interleave=2)
    assert len(more) > len(packets)
    assert len([p for p in more if p[3] == 1]) > len(packets) - len(data)  # more copies
    d = ftcodec.Decoder()
    for p in more:
        d.push(p)
    again, _ = d.finish()
    assert np.array_equal(again, tensor)
    assert stats["frames_complete"] == features.shape[0]


def test_raw_packets_are_exact_and_loss_is_masked_and_concealed(features):
    packets = ftcodec.encode_packets(features, codec="raw", packet_size=1200, interleave=True)
    lost_packets = ftcodec.simulate_loss(packets, model="iid", rate=0.3, seed=5)
    assert lost_packets.dtype == np.bool_ and lost_packets.shape == (len(packets),)
    assert 0 < lost_packets.sum() < len(packets)
    d = ftcodec.Decoder()
    for p, gone in zip(packets, lost_packets):
        if not gone:
            d.push(p)
    tensor, lost = d.finish(conceal="zero")
    assert lost.any()
    assert np.array_equal(tensor[~lost], features[~lost])  # received elements are exact
    assert np.all(tensor[lost] == 0)                      # zero concealment
    assert d.stats["lost_elements"] == lost.sum()
    inpainted, lost2 = d.finish(conceal="inpaint")
    assert np.array_equal(lost, lost2)
    assert np.array_equal(inpainted[~lost], features[~lost])


def test_corrupt_packet_raises_and_decoder_stays_usable(features):
    packets = ftcodec.encode_packets(features, codec="raw", packet_size=600)
    bad = bytearray(packets[0])
    bad[len(bad) // 2] ^= 1
    d = ftcodec.Decoder()
    with pytest.raises(ftcodec.Error) as e:
        d.push(bytes(bad))
    assert e.value.code == "corrupt_data"
    for p in packets:
        d.push(p)
    tensor, lost = d.finish()
    assert np.array_equal(tensor, features) and not lost.any()
    assert d.stats["corrupt"] == 1


def test_foreign_packets_are_refused(features):
    ours = ftcodec.encode_packets(features[:1], codec="raw", packet_size=600)
    theirs = ftcodec.encode_packets(features[1:2] + 1, codec="raw", packet_size=600)
    d = ftcodec.Decoder()
    d.push(ours[0])
    with pytest.raises(ftcodec.Error) as e:
        d.push(theirs[0])
    assert e.value.code == "invalid_argument"
    assert d.stats["foreign"] == 1
    pinned = ftcodec.Decoder(stream_id=ftcodec.probe(ftcodec.write_packet_stream(theirs))
                             ["packets"][0]["stream_id"])
    with pytest.raises(ftcodec.Error):
        pinned.push(ours[0])


def test_learned_codec_is_not_in_the_python_module(features):
    assert "learned" not in ftcodec.available_codecs()
    assert {"raw", "ans"} <= set(ftcodec.available_codecs())
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.encode(features, codec="learned", unit="/nonexistent")
    assert e.value.code == "not_built_in"


def test_finish_without_packets_raises():
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.Decoder().finish()
    assert e.value.code == "corrupt_data"


def test_simulate_loss_is_reproducible_and_checks_its_model():
    a = ftcodec.simulate_loss(1000, model="ge", rate=0.1, burst=4, seed=7)
    assert np.array_equal(a, ftcodec.simulate_loss(1000, model="ge", rate=0.1, burst=4, seed=7))
    assert 40 < a.sum() < 200
    assert np.array_equal(ftcodec.simulate_loss(4, model="trace", trace=[0, 1, 1, 0]),
                          [False, True, True, False])
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.simulate_loss(10, model="iid", rate=1.5)
    assert e.value.code == "invalid_argument"


def test_packet_stream_files(features):
    packets = ftcodec.encode_packets(features[:1], codec="ans", packet_size=200)
    stream = ftcodec.write_packet_stream(packets)
    assert ftcodec.is_packet_stream(stream)
    assert ftcodec.read_packet_stream(stream) == packets
    info = ftcodec.probe(stream)
    assert info["kind"] == "packets" and len(info["packets"]) == len(packets)
    assert all(p["valid"] and p["codec"] == "ans" for p in info["packets"])


def test_decode_after_loss(features):
    packets = ftcodec.encode_packets(features, codec="raw", packet_size=400)
    tensor, lost, stats = ftcodec.decode_after_loss(packets, model="iid", rate=0.2, seed=3)
    assert tensor.shape == features.shape and stats["lost_elements"] == lost.sum()


# ---- profiles ------------------------------------------------------------------------------

def test_profile_plan_is_needed_to_decode():
    profile = ftcodec.load_profile(PLAN_PROFILE)
    assert profile.sample_shape == (4, 6, 6)
    assert profile.settings["codec"] == "ans" and profile.plan_id is not None
    a = random_f32((2, 4, 6, 6), seed=9)
    code = ftcodec.encode(a, profile=profile)
    assert ftcodec.probe(code)["frames"][0]["codec"] == "ans"
    back = ftcodec.decode(code, profile=profile)
    # The plan's steps (0.2, 0.1, 0.4, 0.05; channel 2 clipped to [-1, 1], channel 3 >= 0).
    ref = a.copy()
    ref[:, 2] = np.clip(ref[:, 2], -1, 1)
    ref[:, 3] = np.maximum(ref[:, 3], 0)
    for c, step in enumerate((0.2, 0.1, 0.4, 0.05)):
        assert np.abs(back[:, c] - ref[:, c]).max() <= step * 0.75 + 1e-6
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.decode(code)
    assert e.value.code in ("invalid_argument", "unsupported")
    # An explicit argument overrides the profile's (deadzone 0.25 there).
    assert ftcodec.encode(a, profile=profile, deadzone=0.25) == code
    assert ftcodec.encode(a, profile=profile, deadzone=0.0) != code


def test_profile_errors(tmp_path):
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.load_profile(tmp_path / "missing.json")
    assert e.value.code == "io_error"
    with pytest.raises(ftcodec.Error) as e:
        ftcodec.parse_profile('{"ftcodec_profile": 1, "settings": {"bits": "many"}}')
    assert e.value.code == "corrupt_data"


# ---- threads and the GIL ---------------------------------------------------------------------

def test_encoding_from_threads_gives_the_same_bytes(features):
    expected = ftcodec.encode(features, bits=4)
    results = [None] * 4

    def work(i):
        results[i] = ftcodec.encode(features, bits=4)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected for r in results)


# ---- torch ---------------------------------------------------------------------------------

def test_torch_tensor_round_trip(features):
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(features.copy())
    code = ftcodec.encode(t, codec="raw")
    assert code == ftcodec.encode(features, codec="raw")
    back = torch.from_numpy(ftcodec.decode(code))
    assert torch.equal(back, t)
    # A strided torch view codes like its contiguous copy.
    view = t[:, 1::2].transpose(2, 3)
    assert ftcodec.encode(view, bits=4) == ftcodec.encode(view.contiguous(), bits=4)
    # requires_grad is fine (detached, not copied).
    assert ftcodec.encode(t.clone().requires_grad_(True), codec="raw") == code


def test_torch_bfloat16_and_half(features):
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(features[:1].copy()).to(torch.bfloat16)
    back = ftcodec.decode(ftcodec.encode(t, codec="raw"))
    assert back.dtype == np.float32  # bf16 comes back as f32, exactly
    assert torch.equal(torch.from_numpy(back), t.float())
    assert ftcodec.probe(ftcodec.encode(t, codec="raw"))["frames"][0]["dtype"] == "bf16"
    lossless = ftcodec.decode(ftcodec.encode(t, lossless=True))
    assert torch.equal(torch.from_numpy(lossless), t.float())
    h = torch.from_numpy(features[:1].copy()).half()
    assert torch.equal(torch.from_numpy(ftcodec.decode(ftcodec.encode(h, codec="raw"))), h)


# ---- the README's Python quick start -----------------------------------------------------------

def test_readme_quick_start_runs(monkeypatch, capsys):
    pytest.importorskip("torch")
    if not os.path.exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"):
        pytest.skip("Fashion-MNIST (dataset-fashion-mnist) not installed")
    with open(os.path.join(SOURCE_DIR, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(SOURCE_DIR)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["top1"] >= 0.8  # the uncompressed model reaches ~93%
    assert len(scope["code"]) < scope["features"].numel() * 4 / 6
    assert "bytes per image" in capsys.readouterr().out


def test_inputs_are_viewed_not_copied(features):
    # What the binding is handed shares memory with the caller's data (NumPy strided views,
    # torch tensors and their bf16 bit patterns); only layouts it cannot view are copied.
    view = features[:, ::2]
    a, bf16 = ftcodec._as_array(view)
    assert np.shares_memory(a, features) and not bf16
    flipped, _ = ftcodec._as_array(features[:, :, ::-1])  # negative strides: a copy
    assert not np.shares_memory(flipped, features)
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(features.copy())
    a, _ = ftcodec._as_array(t[:, 1::3].transpose(2, 3))
    assert np.shares_memory(a, t.numpy())
    b = t.to(torch.bfloat16)
    a, bf16 = ftcodec._as_array(b)
    assert bf16 and a.dtype == np.int16 and a.ctypes.data == b.data_ptr()


# ---- sample streams ----------------------------------------------------------------------------

def test_sample_stream_round_trip_and_bad_record(features):
    data = ftcodec.encode_stream(features, codec="ans", bits=4, clip="3sigma")
    assert ftcodec.is_sample_stream(data)
    frames = ftcodec.encode(features, codec="ans", bits=4, clip="3sigma")
    assert len(data) < len(frames)
    np.testing.assert_array_equal(ftcodec.decode(data), ftcodec.decode(frames))
    # Record by record, as a server reads them; a damaged record fails alone.
    enc = ftcodec.SampleStreamEncoder(codec="ans", bits=4, clip="3sigma")
    parts = [enc.encode(x) for x in features]
    assert enc.samples == 4
    with pytest.raises(ftcodec.Error, match="sample 4 is f32 64x14x13"):
        enc.encode(features[0][:, :, :13])
    assert b"".join(parts) == data
    bad = bytearray(parts[2])
    bad[len(bad) // 2] ^= 0x20
    dec = ftcodec.SampleStreamDecoder()
    used = dec.read_header(parts[0])
    x0, n0 = dec.read_record(parts[0][used:])
    assert n0 == len(parts[0]) - used
    np.testing.assert_array_equal(x0, ftcodec.decode(frames)[0])
    dec.read_record(parts[1])
    with pytest.raises(ftcodec.Error, match="record 2"):
        dec.read_record(bytes(bad))
    assert dec.last_record_size == len(parts[2])
    x3, _ = dec.read_record(parts[3])
    np.testing.assert_array_equal(x3, ftcodec.decode(frames)[3])
    assert dec.records == 4


def test_altec_uses_the_profiles_predictor(features):
    ch = {"bias": 0.0, "up": 0.5, "down": 0.5, "lo": 0.0, "hi": 100.0, "sources": [],
          "weights": []}
    import json
    text = json.dumps({"ftcodec_profile": 3, "sample_shape": [64, 14, 14],
                       "settings": {"codec": "ans", "bits": 4}, "conceal": "altec",
                       "conceal_predictor": {"channels": [ch] * 64}})
    p = ftcodec.parse_profile(text)
    assert p.conceal == "altec" and p.has_conceal_predictor
    packets = ftcodec.encode_packets(features[:1], codec="ans", bits=4, packet_size=300)
    lost = ftcodec.simulate_loss(packets, model="iid", rate=0.3, seed=3)
    kept = [q for q, gone in zip(packets, lost) if not gone]
    d = ftcodec.Decoder(profile=p)
    for q in kept:
        d.push(q)
    x, mask = d.finish(conceal="altec")
    assert mask.any() and np.isfinite(x).all()
    plain = ftcodec.Decoder()
    for q in kept:
        plain.push(q)
    y, _ = plain.finish(conceal="zero")
    np.testing.assert_array_equal(x[~mask], y[~mask])  # received elements untouched
    with pytest.raises(ftcodec.Error, match="predictor"):
        plain2 = ftcodec.Decoder()
        for q in kept:
            plain2.push(q)
        plain2.finish(conceal="altec")


def test_live_stream_round_trip_in_order_with_a_lost_sample():
    x = np.load(FEATURES)[:5]
    enc = ftcodec.LivePacketEncoder(codec="ans", bits=4, packet_size=400, stream_id=9)
    per_sample = [enc.encode(x[i]) for i in range(5)]
    assert enc.samples == 5 and enc.stream_id == 9
    assert all(len(p) >= 2 for p in per_sample)  # several packets per sample
    d = ftcodec.LiveDecoder()
    got = []
    for i, packets in enumerate(per_sample):
        for p in packets:
            if i == 2 and p[3] == 0:  # every data packet of sample 2 is lost
                continue
            d.push(p)
        while (s := d.pop()) is not None:
            got.append(s)
    d.flush()
    while (s := d.pop()) is not None:
        got.append(s)
    assert [info["frame_index"] for _, _, info in got] == [0, 1, 2, 3, 4]
    ref = ftcodec.decode(ftcodec.encode(x[3], codec="ans", bits=4))
    np.testing.assert_array_equal(got[3][0], ref)
    assert got[2][2]["lost"] and got[2][1].all()
    np.testing.assert_array_equal(got[2][0], got[1][0])  # a lost sample repeats the previous
    st = d.stats
    assert st["samples"] == 5 and st["samples_lost"] == 1 and st["samples_complete"] == 4
    with pytest.raises(ftcodec.Error) as e:
        d.push(per_sample[0][1])  # sample 0 was given out: late
    assert e.value.code == "invalid_argument" and "late" in e.value.message
    with pytest.raises(ftcodec.Error):
        enc.encode(x[0][:, :5])  # another shape
