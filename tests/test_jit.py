"""l2kit._jit: the one numba loader (lazy, cached per function, L2KIT_DISABLE_NUMBA honoured)."""

import subprocess
import sys

import numpy as np
import pytest

from l2kit import _jit


def _sum_squares(a):  # compiled by numba in the tests below
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * a[i]
    return acc


def _sum_squares_numpy(a):
    return float(a @ a)


def test_compiled_kernel_matches_fallback_and_is_cached(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.delenv(_jit.DISABLE_ENV, raising=False)
    monkeypatch.setattr(_jit, "_LOADED", {})
    kernel = _jit.jit(_sum_squares, _sum_squares_numpy, fastmath={"reassoc", "contract"})
    assert kernel is not _sum_squares_numpy and type(kernel).__module__.startswith("numba")
    a = np.arange(10.0)
    assert kernel(a) == _sum_squares_numpy(a) == 285.0
    assert _jit.jit(_sum_squares, None) is kernel      # the first call decides, later ones reuse it


@pytest.mark.parametrize("fallback", [_sum_squares_numpy, None])
def test_disable_env_gives_the_fallback(monkeypatch, fallback):
    monkeypatch.setenv(_jit.DISABLE_ENV, "1")
    monkeypatch.setattr(_jit, "_LOADED", {})
    assert _jit.jit(_sum_squares, fallback) is fallback


def test_fallback_when_numba_cannot_load(monkeypatch):
    monkeypatch.delenv(_jit.DISABLE_ENV, raising=False)
    monkeypatch.setattr(_jit, "_LOADED", {})
    monkeypatch.setitem(sys.modules, "numba", None)    # import numba raises ImportError
    assert _jit.jit(_sum_squares, _sum_squares_numpy) is _sum_squares_numpy


def test_numba_is_imported_only_on_first_use():
    code = ("import sys, l2kit, l2kit._jit, l2kit.metrics; assert 'numba' not in sys.modules; "
            "import numpy as np; l2kit.mse(np.ones(3), np.zeros(3)); assert 'numba' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
