"""The mergeable weighted Gram state and the exact distributed median (l2kit.linear._chunked)."""

import json

import numpy as np
import pytest

from l2kit import InputError
from l2kit.linear import WeightedGramState, _chunked
from l2kit.linear._chunked import _IterSource, exact_median
from l2kit.linear._scale import weighted_median


def _abs_y(X, y, w):
    return np.abs(y)


def test_state_merges_to_the_full_sums_and_survives_json():
    rng = np.random.default_rng(0)
    X, h, c = rng.normal(size=(500, 4)), rng.normal(size=500), rng.uniform(size=500)
    parts = [WeightedGramState.of_rows(X[i:i + 120], h[i:i + 120], weights=c[i:i + 120],
                                       value=float(h[i:i + 120].sum()), gradient=X[i:i + 120].T @ h[i:i + 120],
                                       sums={"a": 1.0})
             for i in range(0, 500, 120)]
    total = parts[3] + parts[0] + parts[2] + parts[1] + parts[4]          # any order
    back = WeightedGramState.from_dict(json.loads(json.dumps(total.to_dict())))
    np.testing.assert_allclose(back.gram, (X * h[:, None]).T @ X, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(back.gradient, X.T @ h, rtol=1e-12, atol=1e-12)
    assert back.n_rows == 500 and back.sums == {"a": 5.0}
    assert back.sum_weights == pytest.approx(c.sum(), rel=1e-14) and back.value == pytest.approx(h.sum(), abs=1e-12)


def test_state_from_dict_refuses_a_tampered_state():
    s = WeightedGramState.of_rows(np.eye(3), np.ones(3), gradient=np.ones(3)).to_dict()
    s["gram"][0][1] = 5.0
    with pytest.raises(InputError, match="symmetric"):
        WeightedGramState.from_dict(s)
    with pytest.raises(InputError, match="to_dict"):
        WeightedGramState.from_dict({"gram": [[1.0]]})


@pytest.mark.parametrize("cap", [5, 1 << 20])
def test_exact_median_equals_the_in_memory_weighted_median(cap, monkeypatch):
    monkeypatch.setattr(_chunked, "GATHER_CAP", cap)     # 5: forces the refining passes
    rng = np.random.default_rng(1)
    for trial in range(30):
        n = int(rng.integers(1, 2000))
        y = rng.standard_cauchy(n) * 10.0 ** rng.integers(-6, 6)
        if trial % 3 == 0:
            y = np.round(y)                               # ties, and exact zeros
        w = None if trial % 2 else rng.integers(0, 4, size=n).astype(float)
        if w is not None and w.sum() == 0:
            w[0] = 1.0
        cuts = np.split(np.arange(n), np.sort(rng.integers(0, n, size=3)))
        chunks = [(np.ones((i.size, 1)), y[i]) if w is None else (np.ones((i.size, 1)), y[i], w[i]) for i in cuts]
        src = _IterSource(chunks)
        ref = weighted_median(np.abs(y), w)
        for guess in (None, 1.3 * ref + 1e-300, 1e-30, 1e30):
            assert exact_median(src, _abs_y, (), guess=guess) == ref


def test_exact_median_moves_counts_and_one_bracket_only():
    rng = np.random.default_rng(2)
    y = rng.normal(size=200_000)
    src = _IterSource([(np.ones((50_000, 1)), y[i:i + 50_000]) for i in range(0, 200_000, 50_000)])
    got = exact_median(src, _abs_y, (), guess=0.7)
    assert got == np.median(np.abs(y))
    assert src.n_passes == 2                              # one counting pass, one gather pass


class _Generated:
    """``n_chunks`` chunks of 5000 rows made on the fly (seeded per chunk): the rows never exist all at once."""

    def __init__(self, n_chunks):
        self.n_chunks = n_chunks

    def __iter__(self):
        for i in range(self.n_chunks):
            rng = np.random.default_rng(i)
            X = rng.normal(size=(5000, 4))
            yield X, rng.poisson(np.exp(0.2 + X @ [0.1, -0.2, 0.3, 0.0])).astype(float)


@pytest.mark.parametrize("loss", ["poisson", "huber"])
def test_memory_is_bounded_by_the_chunk_not_the_rows(loss):
    import tracemalloc

    import l2kit as l2

    peaks = []
    for n_chunks in (4, 32):
        tracemalloc.start()
        f = l2.fit(_Generated(n_chunks), loss=loss)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert f.converged and f.n_obs == 5000 * n_chunks
    # 8x the rows (1.3 MB of X per 4 chunks -> 10 MB in all): the peak is that of a chunk or two
    assert peaks[1] <= 1.25 * peaks[0], peaks
