"""One property per public entry point: random shapes, dtypes and NaN/inf placements either are refused with the
library's error (``l2kit.InputError``) or give the values of an independent NumPy reference.

Inputs are drawn from 0-d to 3-D arrays (empty ones included) of float64/32/16, integers, booleans, complex,
strings and objects, and ragged lists, with NaN or inf put in at random places. A call on valid input must
equal the reference; a call on invalid input must raise InputError; any other exception fails.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import l2kit as l2
from l2kit import InputError
from l2kit.metrics import Accumulator

# the suite's profile sets the number of examples; L2KIT_PROPERTY_EXAMPLES=2000 runs a longer search
_LONG = {"max_examples": int(os.environ["L2KIT_PROPERTY_EXAMPLES"])} if "L2KIT_PROPERTY_EXAMPLES" in os.environ else {}
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], **_LONG)
DTYPES = [np.float64, np.float64, np.float32, np.float16, np.int64, np.bool_, np.complex128, np.str_, object]
SPECIALS = [np.nan, np.inf, -np.inf]


@st.composite
def arrays(draw, shape=None, dtypes=DTYPES, low=-50.0, high=50.0):
    """An array of a random shape and dtype; sometimes a ragged list; NaN/inf at random places."""
    if draw(st.integers(0, 14)) == 0:
        return [[1.0, 2.0], [3.0]]
    if shape is None:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
    dtype = draw(st.sampled_from(dtypes))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    a = rng.uniform(low, high, size=shape)
    if a.size and draw(st.integers(0, 3)) == 0:
        a.reshape(-1)[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(SPECIALS))
    if dtype in (np.int64, np.bool_):
        a = np.nan_to_num(a, posinf=7, neginf=-7)
    return np.asarray(a).astype(dtype)


@st.composite
def pairs(draw, dtypes=DTYPES):
    """Two arrays, usually of one shape (the case that must work), with optional weights."""
    yt = draw(arrays(dtypes=dtypes))
    same = isinstance(yt, np.ndarray) and draw(st.integers(0, 3)) > 0
    yp = draw(arrays(shape=yt.shape if same else None, dtypes=dtypes))
    w = None
    if isinstance(yt, np.ndarray) and yt.ndim >= 1 and draw(st.booleans()):
        w = draw(arrays(shape=yt.shape[:1] if draw(st.booleans()) else None,
                        dtypes=[np.float64, np.int64, np.float32], low=0.0, high=3.0))
    return yt, yp, w


def _real(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind in "fiub"


def _finite(a) -> bool:
    return bool(np.all(np.isfinite(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64))))


def _tol(*arrays_) -> float:
    kinds = {a.dtype for a in arrays_ if isinstance(a, np.ndarray)}
    return 3e-3 if np.dtype(np.float16) in kinds else 2e-5 if np.dtype(np.float32) in kinds else 1e-9


# ---------------------------------------------------------------- metrics
def _valid_metric_input(yt, yp, w) -> bool:
    if not (_real(yt) and _real(yp) and yt.shape == yp.shape and yt.ndim in (1, 2) and yt.size):
        return False
    if not (_finite(yt) and _finite(yp)):
        return False
    if w is None:
        return True
    return (_real(w) and w.shape in (yt.shape[:1], yt.shape) and _finite(w) and (w >= 0).all()
            and bool(np.all(np.sum(np.broadcast_to(w if w.shape == yt.shape else w.reshape(-1, *[1] * (yt.ndim - 1)),
                                                   yt.shape).astype(float), axis=0) > 0)))


def _np_metrics(yt, yp, w) -> dict[str, float]:
    """Uniform averages over outputs in float64, with scikit-learn's force_finite rules."""
    y = yt.astype(np.float64).reshape(len(yt), -1)
    p = yp.astype(np.float64).reshape(len(yp), -1)
    W = np.ones_like(y) if w is None else np.broadcast_to(
        w.astype(np.float64).reshape(len(w), -1), y.shape)
    r = y - p
    sw = W.sum(axis=0)
    mean = lambda a: (W * a).sum(axis=0) / sw   # noqa: E731
    sse, sst = (W * r * r).sum(axis=0), (W * (y - mean(y)) ** 2).sum(axis=0)
    ssr = (W * (r - mean(r)) ** 2).sum(axis=0)
    if len(y) == 1:   # one row has no spread; (w*r)/w can miss r by an ulp and fake a non-zero one
        sst, ssr = np.zeros_like(sst), np.zeros_like(ssr)

    def score(num, den):
        return np.where(den != 0, 1 - num / np.where(den != 0, den, 1), np.where(num != 0, 0.0, 1.0))

    out = {"mse": np.mean(sse / sw), "rmse": np.mean(np.sqrt(sse / sw)), "mae": np.mean(mean(np.abs(r))),
           "r2": np.mean(score(sse, sst)), "explained_variance": np.mean(score(ssr, sst))}
    if len(y) < 2:
        out["r2"] = math.nan
    return out


METRICS = ["mse", "rmse", "mae", "r2", "explained_variance"]


def _close(got, want, tol, scale=1.0):
    if math.isnan(want):
        return math.isnan(got)
    return abs(float(got) - want) <= tol * max(abs(want), scale)


@pytest.mark.parametrize("name", METRICS)
@SETTINGS
@given(pairs())
def test_metric_refuses_or_equals_numpy(name, case):
    yt, yp, w = case
    fn = getattr(l2, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # UndefinedMetric for one sample: the value is checked below
        if not _valid_metric_input(yt, yp, w):
            with pytest.raises(InputError):
                fn(yt, yp, weights=w)
            return
        ref = _np_metrics(yt, yp, w)[name]
        try:
            got = fn(yt, yp, weights=w)
        except InputError as exc:   # only a float16 result that does not fit float16 may be refused
            assert "float16" in str(exc) and abs(ref) > 6e4, (exc, ref)
            return
    scale = 1.0 if name in ("r2", "explained_variance") else 1e-12
    assert _close(got, ref, 20 * _tol(yt, yp), scale), (got, ref)


@SETTINGS
@given(pairs(dtypes=[np.float64, np.float32, np.int64, np.bool_, np.complex128, np.str_]))
def test_accumulator_refuses_or_equals_numpy(case):
    yt, yp, w = case
    acc = Accumulator()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not _valid_metric_input(yt, yp, w):
            with pytest.raises(InputError):
                acc.update(yt, yp, w)
                acc.result()
            return
        res = acc.update(yt, yp, w).result()
    ref = _np_metrics(yt, yp, w)
    for name in METRICS:   # float32 data take their weights in float32 too
        assert _close(res[name], ref[name], 20 * _tol(yt, yp), 1.0 if name in ("r2", "explained_variance")
                      else 1e-12), name


# ---------------------------------------------------------------- losses
def _residual_references():
    def huber(r, d):
        a = np.abs(r)
        return np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))

    def tukey(r, c):
        x = np.clip(r / c, -1, 1)
        v = c * c / 6 * (1 - (1 - x * x) ** 3)
        return np.where(np.isinf(r), np.inf, v)

    return {
        l2.Squared(): lambda r: r * r,
        l2.Absolute(): np.abs,
        l2.Huber(delta=1.5): lambda r: huber(r, 1.5),
        l2.PseudoHuber(delta=2.0): lambda r: 4.0 * (np.sqrt(1 + (r / 2.0) ** 2) - 1),
        l2.SmoothL1(beta=0.5): lambda r: np.where(np.abs(r) < 0.5, 0.5 * r * r / 0.5, np.abs(r) - 0.25),
        l2.LogCosh(): lambda r: np.abs(r) + np.log1p(np.exp(-2 * np.abs(r))) - np.log(2),
        l2.Cauchy(c=2.0): lambda r: 2.0 * np.log1p((r / 2.0) ** 2),
        l2.Tukey(c=3.0): lambda r: tukey(r, 3.0),
        l2.Quantile(q=0.3): lambda r: np.where(r < 0, (0.3 - 1) * r, 0.3 * r),
    }


RESIDUAL = _residual_references()


@pytest.mark.parametrize("loss", list(RESIDUAL), ids=repr)
@SETTINGS
@given(pairs())
def test_residual_loss_refuses_or_equals_numpy(loss, case):
    yt, yp, w = case
    valid = (_real(yt) and _real(yp) and yt.shape == yp.shape and yt.size > 0) or (
        type(loss) is l2.Squared and isinstance(yt, np.ndarray) and isinstance(yp, np.ndarray)
        and yt.dtype.kind in "fiubc" and yp.dtype.kind in "fiubc" and yt.shape == yp.shape and yt.size > 0)
    # losses take non-negative weights, inf included (NaN is refused); non-finite data propagate
    valid_w = w is None or (_real(w) and valid and w.shape in (yt.shape, yt.shape[:1]) and (w >= 0).all()
                            and yt.ndim >= 1)
    if not (valid and valid_w):
        with pytest.raises(InputError):
            loss(yt, yp, weights=w, reduction="none")
        return
    with np.errstate(all="ignore"):
        got = np.asarray(loss(yt, yp, weights=w, reduction="none"))
        r = yt.astype(np.complex128 if yt.dtype.kind == "c" or yp.dtype.kind == "c" else np.float64) - yp
        want = np.abs(r) ** 2 if np.iscomplexobj(r) else RESIDUAL[loss](r)
        if w is not None:
            want = want * (w if w.shape == yt.shape else w.reshape(-1, *[1] * (yt.ndim - 1)))
    bad = ~np.isfinite(r)
    assert not np.isfinite(got[bad]).any() or w is not None   # non-finite input stays non-finite (unweighted)
    ok = ~bad & np.isfinite(want)
    if w is not None:
        ok &= np.isfinite(w if w.shape == yt.shape else w.reshape(-1, *[1] * (yt.ndim - 1)))
    np.testing.assert_allclose(got[ok].astype(np.float64), want[ok], rtol=20 * _tol(yt, yp), atol=1e-6)


@pytest.mark.parametrize("cls", l2.loss_classes(), ids=lambda c: c.name)
@SETTINGS
@given(pairs(dtypes=[np.float64, np.float32, np.int64, np.str_, object]))
def test_every_registered_loss_refuses_or_answers(cls, case):
    # losses without a closed NumPy reference here: the call gives an array of the elementwise shape or refuses
    loss, _, _, kw = cls._example(np.random.default_rng(0), 3)
    yt, yp, w = case
    try:
        with np.errstate(all="ignore"):
            out = loss(yt, yp, weights=w, reduction="none", **{k: v for k, v in kw.items() if np.ndim(v) == 0})
    except InputError:
        return
    assert isinstance(yt, np.ndarray) and np.shape(out) == (yt.shape[:-1] if loss.reduces_last_axis else yt.shape)


# ---------------------------------------------------------------- fit
@st.composite
def designs(draw):
    n = draw(st.integers(0, 12))
    p = draw(st.integers(0, 4))
    shape_x = draw(st.sampled_from([(n, p), (n, p), (n, p), (n,), (n, p, 1), ()]))
    X = draw(arrays(shape=shape_x, dtypes=[np.float64, np.float64, np.float32, np.int64, np.bool_, np.str_]))
    y = draw(arrays(shape=draw(st.sampled_from([(n,), (n,), (n, 1), (n + 1,)])),
                    dtypes=[np.float64, np.float64, np.int64, np.complex128, object]))
    return X, y


@SETTINGS
@given(designs())
def test_fit_refuses_or_equals_lstsq(case):
    X, y = case
    # least squares takes complex targets too
    valid = (_real(X) and X.ndim == 2 and isinstance(y, np.ndarray) and y.dtype.kind in "fiubc"
             and y.shape == (X.shape[0],) and X.shape[0] >= 1 and _finite(X) and bool(np.isfinite(y).all()))
    if not valid:
        with pytest.raises(InputError):
            l2.fit(X, y)
        return
    A = np.column_stack([np.ones(len(y)), X.astype(np.float64)])
    full_rank = len(y) >= A.shape[1] + 1 and np.linalg.matrix_rank(A) == A.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # CollinearityWarning for rank-deficient draws
        f = l2.fit(X, y)
    yf = y.astype(np.complex128 if y.dtype.kind == "c" else np.float64)
    if full_rank:
        ref = np.linalg.lstsq(A, yf, rcond=None)[0]
        np.testing.assert_allclose(np.r_[f.intercept, f.coef], ref, rtol=1e-7, atol=1e-7 * max(1, np.abs(ref).max()))
    else:
        # minimum-norm or not, the fitted values are the projection of y on the columns
        fitted = A @ np.linalg.lstsq(A, yf, rcond=None)[0]
        np.testing.assert_allclose(f.predict(X), fitted, atol=1e-6 * max(1.0, np.abs(y).max()))


@pytest.mark.parametrize("loss", ["huber", "tukey", "absolute", "quantile", "poisson_nll", "cauchy"])
@SETTINGS
@given(designs())
def test_other_solvers_refuse_or_return_a_fit(loss, case):
    X, y = case
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = l2.fit(X, np.abs(y) if loss == "poisson_nll" and _real(y) else y, loss=loss)
    except InputError:
        return
    assert isinstance(f, l2.Fit) and f.coef.shape == (X.shape[1],)
    assert f.converged == bool(np.all(np.isfinite(f.coef))) or not f.converged   # no "converged" NaN


# ---------------------------------------------------------------- align, whiten
@SETTINGS
@given(arrays(), arrays())
def test_align_refuses_or_matches_the_numpy_error_curve(x, y):
    # 1-D signals, or 2-D (samples, channels) with the same channels: one common shift
    valid = (_real(x) and _real(y) and x.ndim == y.ndim and x.ndim in (1, 2) and x.shape[1:] == y.shape[1:]
             and len(x) >= 2 and len(y) >= 2 and x[0].size > 0 and _finite(x) and _finite(y)
             and np.any(x != 0) and np.any(y != 0))
    if not valid:
        with pytest.raises(InputError):
            l2.align(x, y)
        return
    xa, ya = x.astype(np.float64).reshape(len(x), -1), y.astype(np.float64).reshape(len(y), -1)
    res = l2.align(x.astype(np.float64), y.astype(np.float64))
    corr = sum(np.correlate(ya[:, j], xa[:, j], mode="full") for j in range(xa.shape[1]))   # lags -(n-1)..m-1
    scale = float(np.sum(xa * xa) + np.sum(ya * ya))
    want = scale - 2 * corr
    np.testing.assert_allclose(res.loss, np.maximum(want, 0), atol=1e-9 * scale)
    np.testing.assert_array_equal(res.lags, np.arange(-(len(xa) - 1), len(ya)))
    assert np.isfinite(res.shift) and abs(res.shift - res.integer_shift) <= 1.0


@SETTINGS
@given(arrays(dtypes=[np.float64, np.float64, np.int64, np.float32, np.str_]), st.sampled_from(["symmetric",
                                                                                                 "cholesky"]))
def test_whiten_refuses_or_inverts_the_covariance(a, kind):
    with np.errstate(all="ignore"):   # a drawn inf makes a @ a.T NaN: an invalid covariance, refused below
        cov = a @ np.swapaxes(a, -1, -2) + np.eye(a.shape[-2]) if (_real(a) and a.ndim == 2 and a.size) else a
    valid = _real(cov) and cov.ndim == 2 and cov.shape[0] == cov.shape[1] and cov.size and _finite(cov) \
        and np.all(np.linalg.eigvalsh(cov.astype(float)) > 1e-12 * np.abs(cov).max())
    if not valid:
        with pytest.raises(InputError):
            l2.whiten(cov, kind=kind)
        return
    W = np.asarray(l2.whiten(cov, kind=kind), dtype=np.float64)
    np.testing.assert_allclose(W.T @ W @ cov.astype(np.float64), np.eye(len(cov)),
                               atol=1e-6 * np.linalg.cond(cov.astype(float)))


# ---------------------------------------------------------------- diagnosis and statistics
@SETTINGS
@given(arrays(dtypes=[np.float64, np.float64, np.int64, np.str_, object]))
def test_residual_statistics_refuse_or_answer(r):
    for fn in (l2.jarque_bera, l2.qq, l2.heavy_tails):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(r)
        except InputError:
            continue


@settings(SETTINGS, max_examples=min(SETTINGS.max_examples, 10))
@given(designs())
def test_diagnose_refuses_or_answers(case):
    X, y = case
    assume(not (isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[0] > 8))   # keep the fits small
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = l2.diagnose(X, y, folds=2, progress=False)
    except InputError:
        return
    assert d.recommendation is not None
