"""The fused kernel: numba and NumPy implementations agree, the two-thread split is exact, no O(n) temporaries."""

import tracemalloc

import numpy as np
import pytest
from _metrics_ref import exact_stats

import l2kit as l2
from l2kit.metrics import _fused

NAMES = ["mse", "rmse", "mae", "r2", "explained_variance"]


def _data(rng, shape, offset=0.0):
    y = offset + rng.normal(size=shape)
    p = y + rng.normal(scale=0.7, size=shape) + 0.2
    return y, p


def test_fused_sums_match_exact(rng):
    y, p = _data(rng, (3000, 2), offset=1e9)
    w = rng.uniform(size=3000)
    st = _fused.fused(y, p, w, what="moments")
    ref = exact_stats(y, p, w)
    for j in range(2):
        u = st["u"][j]                     # W and the sums of squares are in units of u
        np.testing.assert_allclose(st["W"][j] * u, ref[j]["W"], rtol=1e-14)
        np.testing.assert_allclose(st["m2y"][j] * u, ref[j]["sst"], rtol=1e-12)
        np.testing.assert_allclose(st["m2r"][j] * u, ref[j]["ssr_c"], rtol=1e-12)
        np.testing.assert_allclose(st["mabs"][j] * st["W"][j] * u, ref[j]["sae"], rtol=1e-12)
    np.testing.assert_allclose(_fused.fused(y, p, what="sse"), [c["sse"] for c in exact_stats(y, p)], rtol=1e-12)


def test_numpy_fallback_kernel_matches_numba_kernel(rng):
    kern = _fused._numba_kernels()
    if not kern:
        pytest.skip("numba not installed")
    y, p = _data(rng, (5000, 3), offset=1e6)
    w = rng.uniform(size=(5000, 3))
    for wt, mode in ((np.zeros((1, 1)), 0), (w.T, 2), (w[:, 0].reshape(1, -1), 1)):
        ky, kr = y[0].copy(), y[0] - p[0]
        ws = np.array([0.5, 2.0, 4.0])[:wt.shape[0]]
        a = kern["moments"](y.T, p.T, wt, mode, ws, ky, kr, 512)
        b = _fused._moments_numpy(y.T, p.T, wt, mode, ws, ky, kr, 700)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)


def test_two_thread_split_matches_single_pass(rng, monkeypatch):
    n = _fused.SPLIT + 12345
    y = 1e9 + rng.normal(size=n)
    p = y + rng.normal(scale=0.1, size=n)
    w = rng.uniform(size=n)
    got = {m: getattr(l2, m)(y, p, weights=w) for m in NAMES}
    got["mse_unweighted"] = l2.mse(y, p)
    monkeypatch.setattr(_fused, "SPLIT", 1 << 60)
    for m in NAMES:
        np.testing.assert_allclose(got[m], getattr(l2, m)(y, p, weights=w), rtol=1e-12, err_msg=m)
    np.testing.assert_allclose(got["mse_unweighted"], l2.mse(y, p), rtol=1e-12)


def test_no_large_temporaries():
    n = _fused.SPLIT + 1000  # also exercises the two-thread split
    a = np.random.default_rng(0).normal(size=n)
    b = a + 1.0
    for fn in (l2.mse, l2.r2, l2.mae):
        fn(a, b)  # compile / warm up outside the measurement
        tracemalloc.start()
        fn(a, b)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 0.01 * 2 * a.nbytes, (fn.__name__, peak)
