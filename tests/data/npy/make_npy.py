#!/usr/bin/python3
"""Regenerates the .npy test files in this folder with real NumPy (dev time only).

Run from anywhere: /usr/bin/python3 tests/data/npy/make_npy.py
The C++ tests (tests/npy_test.cc) read these files; they never need Python. Files named
bad_*.npy are valid NumPy files that ftcodec must refuse (unsupported dtypes, ranks, shapes).
Every file is kept under 2 KB.
"""
import os

import numpy as np

OUT = os.path.dirname(os.path.abspath(__file__))


def save(name, array, version=None):
    path = os.path.join(OUT, name)
    if version is None:
        np.save(path, array, allow_pickle=True)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, array, version=version, allow_pickle=True)
    assert os.path.getsize(path) < 2048, name


def main():
    # Values with an exact f16 representation, so every float file holds the same numbers.
    base = (np.arange(24, dtype=np.float64) - 8.0) * 0.25  # -2.0 .. 3.75
    f4 = base.astype("<f4").reshape(2, 3, 4)

    # C order, every float dtype and byte order.
    save("f4_le_c.npy", f4)
    save("f4_be_c.npy", f4.astype(">f4"))
    save("f2_le_c.npy", f4.astype("<f2"))
    save("f2_be_c.npy", f4.astype(">f2"))
    save("f8_le_c.npy", f4.astype("<f8"))
    save("f8_be_c.npy", f4.astype(">f8"))
    # Fortran order: same logical values as f4_le_c.npy.
    save("f4_le_f.npy", np.asfortranarray(f4))
    save("f4_be_f.npy", np.asfortranarray(f4.astype(">f4")))
    save("f2_le_f.npy", np.asfortranarray(f4.astype("<f2")))
    save("f8_be_f.npy", np.asfortranarray(f4.astype(">f8")))
    # Format versions 2.0 and 3.0.
    save("f4_le_c_v2.npy", f4, version=(2, 0))
    save("f4_le_c_v3.npy", f4, version=(3, 0))

    # f8 values that need rounding to f32, and their f32 rounding as NumPy does it.
    f8 = np.array([0.1, 1.0 / 3.0, -2.0 / 3.0, 1e-50, -1e300, 3.4028235677973366e38,
                   np.pi, 1.0000000596046448, 1.0000001788139343, np.nan, -np.inf, -0.0],
                  dtype="<f8")
    save("f8_round.npy", f8)
    with np.errstate(over="ignore"):
        save("f8_round_as_f4.npy", f8.astype("<f4"))

    # f16 special values: kept bit-exact.
    save("f2_special.npy", np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 65504.0, 6e-8,
                                     6.1035e-05, 1.0009765625, -3.5], dtype="<f2"))

    # Bytes, rank 1..4, shapes that change the header padding.
    save("u1_c.npy", (np.arange(48, dtype=np.int64) * 37 % 256).astype("|u1").reshape(4, 12))
    save("u1_rank1.npy", (np.arange(1000) % 251).astype("|u1"))
    save("u1_f.npy", np.asfortranarray((np.arange(60) * 7 % 256).astype("|u1").reshape(3, 4, 5)))
    save("f4_rank1.npy", np.arange(3, dtype="<f4"))
    save("f4_rank4.npy", (np.arange(1 * 2 * 3 * 5, dtype="<f4") - 7.5).reshape(1, 2, 3, 5))
    save("f2_rank4.npy", (np.arange(2 * 3 * 10 * 11) % 97 - 40.5).astype("<f2")
         .reshape(2, 3, 10, 11)[:, :, :4, :])  # slicing makes a copy on save: C order
    save("f4_big_dims.npy", np.ones((1, 1, 1, 123), dtype="<f4"))

    # Valid NumPy files that ftcodec refuses.
    save("bad_c8.npy", np.array([1 + 2j, 3 - 4j], dtype="<c8"))
    save("bad_object.npy", np.array([1, "two", None], dtype=object))
    save("bad_structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
    save("bad_i4.npy", np.arange(4, dtype="<i4"))
    save("bad_i1.npy", np.arange(4, dtype="|i1"))
    save("bad_u2.npy", np.arange(4, dtype="<u2"))
    save("bad_bool.npy", np.array([True, False]))
    save("bad_bytes.npy", np.array([b"ab", b"c"], dtype="|S2"))
    save("bad_unicode.npy", np.array(["ab", "c"], dtype="<U2"))
    save("bad_datetime.npy", np.array(["2020-01-01"], dtype="<M8[D]"))
    save("bad_0d.npy", np.array(1.5, dtype="<f4"))
    save("bad_rank5.npy", np.zeros((1, 1, 1, 2, 2), dtype="<f4"))
    save("bad_empty.npy", np.zeros((2, 0, 3), dtype="<f4"))
    save("bad_f16_longdouble.npy", np.zeros(2, dtype=np.longdouble))


if __name__ == "__main__":
    main()
