"""Hypothesis property tests of case weights, for every registered loss.

* ones = no weights;
* integer weights = repeated rows;
* zero weights = removed rows;
* scale invariance of the weighted mean (sum(w l) / sum(w)); the sum scales.

Weights are one per sample (first axis), so the same properties hold for
losses over the last axis and for heatmaps.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import l2kit.losses  # noqa: F401 - registers every loss
from l2kit.losses import Loss, loss_classes

CLASSES = loss_classes()


def ids(classes):
    return [c.name for c in classes]


def setup(cls, seed, n):
    loss, yt, yp, kw = cls._example(np.random.default_rng(seed), n)
    yt, yp = np.asarray(yt, dtype=float), np.asarray(yp, dtype=float)
    return loss, yt, yp, kw, yt.shape[0]


def take(kw, idx, rows):
    """Index per-row keyword arrays (e.g. var=, target_weight=) like the rows."""
    return {k: v[idx] if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == rows else v for k, v in kw.items()}


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-11, atol=1e-13)


@st.composite
def case(draw, positive=False):
    seed = draw(st.integers(0, 2**16))
    n = draw(st.integers(2, 9))
    lo = 1 if positive else 0
    weights = draw(st.lists(st.integers(lo, 4), min_size=n, max_size=n).filter(lambda w: sum(w) > 0))
    return seed, n, weights


def fit_weights(weights, rows):
    """The drawn weights adapted to the example's number of rows (some examples fix their shape)."""
    w = np.resize(np.asarray(weights), rows)
    if w.sum() == 0:
        w[0] = 1
    return w


@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
@given(data=case())
def test_ones_integer_and_zero_weights(cls, data):
    seed, n, weights = data
    loss, yt, yp, kw, rows = setup(cls, seed, n)
    # ones = no weights
    for reduction in ("mean", "sum", "none"):
        close(loss(yt, yp, weights=np.ones(rows), reduction=reduction, **kw), loss(yt, yp, reduction=reduction, **kw))
    # integer weights = repeated rows
    w = fit_weights(weights, rows)
    idx = np.repeat(np.arange(rows), w)
    for reduction in ("mean", "sum"):
        close(loss(yt, yp, weights=w, reduction=reduction, **kw),
              loss(yt[idx], yp[idx], reduction=reduction, **take(kw, idx, rows)))
    # zero weights = removed rows (with real-valued weights on the others)
    w = w * np.random.default_rng(seed).uniform(0.5, 2.0, size=rows)
    keep = w > 0
    for reduction in ("mean", "sum"):
        close(loss(yt, yp, weights=w, reduction=reduction, **kw),
              loss(yt[keep], yp[keep], weights=w[keep], reduction=reduction, **take(kw, keep, rows)))
    none = np.asarray(loss(yt, yp, weights=w, reduction="none", **kw))
    assert np.all(none[~keep] == 0)


STANDARD = [c for c in CLASSES if c.__call__ is Loss.__call__]


@pytest.mark.parametrize("cls", STANDARD, ids=ids(STANDARD))
@given(data=case(), scale=st.sampled_from([1e-3, 0.37, 7.5, 1e6]))
def test_weighted_mean_formula_and_scale_invariance(cls, data, scale):
    seed, n, weights = data
    loss, yt, yp, kw, rows = setup(cls, seed, n)
    w = fit_weights(weights, rows) * 1.0
    values = np.asarray(loss(yt, yp, reduction="none", **kw))
    wfull = w.reshape((rows,) + (1,) * (values.ndim - 1)) * np.ones_like(values)
    mean = loss(yt, yp, weights=w, **kw)
    close(mean, (wfull * values).sum() / wfull.sum())
    close(loss(yt, yp, weights=scale * w, **kw), mean)
    np.testing.assert_allclose(loss(yt, yp, weights=scale * w, reduction="sum", **kw),
                               scale * loss(yt, yp, weights=w, reduction="sum", **kw), rtol=1e-11)
