#!/usr/bin/python3
"""Writes the source tensors of the golden files (data/golden/src). Development-time only.

  /usr/bin/python3 data/golden/make_sources.py
"""
import os
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "src")
os.makedirs(src, exist_ok=True)
rng = np.random.default_rng(20261122)

a = rng.normal(0, 2, size=(2, 3, 5, 7)).astype("<f4")
flat = a.reshape(-1)
flat[:8] = [np.nan, np.inf, -np.inf, -0.0, 1e-40, -3e38, 65519.0, 1e-8]
np.save(os.path.join(src, "g_f32_2x3x5x7.npy"), a)
np.save(os.path.join(src, "g_f16_9x11.npy"), rng.normal(0, 1, size=(9, 11)).astype("<f2"))
np.save(os.path.join(src, "g_u8_3x4x5.npy"), rng.integers(0, 256, size=(3, 4, 5), dtype=np.uint8))
np.save(os.path.join(src, "g_f32_17.npy"), rng.uniform(-1, 1, size=17).astype("<f4"))
feats = np.load(os.path.join(here, "..", "features", "fmnist_s1_relu.npy"))
np.save(os.path.join(src, "g_relu_2x8x7x9.npy"), np.ascontiguousarray(feats[:2, :8, 2:9, 3:12]))
bn = np.load(os.path.join(here, "..", "features", "fmnist_s1_bn.npy"))
np.save(os.path.join(src, "g_bn_1x4x6x6.npy"), np.ascontiguousarray(bn[3:4, 10:14, 4:10, 4:10]))
