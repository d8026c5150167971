"""Functional metrics against scikit-learn, exact references and property tests."""

import math
import warnings

import numpy as np
import pytest
from _metrics_ref import exact_metrics, exact_stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import l2kit as l2
from l2kit import InputError
from l2kit.metrics import NonFiniteOmitted, UndefinedMetric, _fused

skm = pytest.importorskip("sklearn.metrics")

PAIRS = [
    ("mse", "mean_squared_error"),
    ("rmse", "root_mean_squared_error"),
    ("mae", "mean_absolute_error"),
    ("r2", "r2_score"),
    ("explained_variance", "explained_variance_score"),
]
NAMES = [p[0] for p in PAIRS]


def _data(rng, shape, offset=0.0):
    y = offset + rng.normal(size=shape)
    p = y + rng.normal(scale=0.7, size=shape) + 0.2
    return y, p


def _sklearn_cases():
    for name, skname in PAIRS:
        for shape in [(40,), (40, 3), (30000,), (30000, 2)]:
            mos = ["uniform_average", "raw_values"]
            if len(shape) == 2:  # sklearn refuses output weights for 1-D input
                mos.append("weights")
                if name in ("r2", "explained_variance"):  # sklearn defines it for these only
                    mos.append("variance_weighted")
            for mo in mos:
                for weighted in (False, True):
                    yield pytest.param(name, skname, shape, weighted, mo, id=f"{name}-{shape}-{mo}-w{int(weighted)}")


@pytest.mark.parametrize("name,skname,shape,weighted,multioutput", list(_sklearn_cases()))
def test_matches_sklearn(rng, name, skname, shape, weighted, multioutput):
    if multioutput == "weights":
        multioutput = np.arange(1.0, shape[1] + 1)
    y, p = _data(rng, shape)
    w = rng.uniform(0, 2, size=shape[0]) if weighted else None
    got = getattr(l2, name)(y, p, weights=w, multioutput=multioutput)
    want = getattr(skm, skname)(y, p, sample_weight=w, multioutput=multioutput)
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-14)
    assert np.shape(got) == np.shape(want)


@pytest.mark.parametrize("name,skname", PAIRS)
def test_per_element_weights_equal_per_column_sklearn(rng, name, skname):
    y, p = _data(rng, (60, 3))
    w = rng.uniform(0, 2, size=(60, 3))
    got = getattr(l2, name)(y, p, weights=w, multioutput="raw_values")
    want = [getattr(skm, skname)(y[:, j], p[:, j], sample_weight=w[:, j]) for j in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-11)


@pytest.mark.parametrize("name,skname", [("r2", "r2_score"), ("explained_variance", "explained_variance_score")])
@pytest.mark.parametrize("perfect", [True, False])
def test_constant_target_follows_sklearn_force_finite(name, skname, perfect):
    y = np.full(5, 3.0)
    p = y.copy() if perfect else y + np.arange(5.0)
    got = float(getattr(l2, name)(y, p))
    assert got == getattr(skm, skname)(y, p) == (1.0 if perfect else 0.0)
    # mixed columns, raw values and variance weighting
    y2 = np.column_stack([y, np.arange(5.0)])
    p2 = np.column_stack([p, np.arange(5.0) + 0.5])
    for mo in ("raw_values", "uniform_average", "variance_weighted"):
        np.testing.assert_allclose(getattr(l2, name)(y2, p2, multioutput=mo),
                                   getattr(skm, skname)(y2, p2, multioutput=mo), rtol=1e-12)


def test_r2_single_sample_is_nan_with_warning():
    with pytest.warns(UndefinedMetric):
        assert math.isnan(float(l2.r2(np.array([1.0]), np.array([2.0]))))


@pytest.mark.parametrize("n", [1000, 50000])
def test_r2_large_offset_exact(rng, n):
    """y = 1e9 + small noise: one-pass sum-of-squares loses every digit; we must not."""
    y = 1e9 + rng.normal(scale=1e-2, size=n)
    p = y + rng.normal(scale=5e-3, size=n)
    ref = exact_metrics(y, p)
    for name in ("r2", "explained_variance"):
        got = float(getattr(l2, name)(y, p))
        np.testing.assert_allclose(1 - got, ref["one_minus_" + ("r2" if name == "r2" else "ev")], rtol=1e-9)
    # the one-pass textbook formula really fails on this data (so the test can fail)
    s1, s2 = math.fsum(y) / n, float(np.sum(y * y)) / n
    naive_var = s2 - s1 * s1
    assert abs(naive_var * n / exact_stats(y, p)[0]["sst"] - 1) > 1e-3


def test_r2_large_offset_mpmath(rng):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60
    y = 1e9 + rng.normal(size=300)
    p = y - rng.normal(scale=0.3, size=300)
    ym = [mpmath.mpf(float(v)) for v in y]
    pm = [mpmath.mpf(float(v)) for v in p]
    mean = mpmath.fsum(ym) / len(ym)
    sst = mpmath.fsum((a - mean) ** 2 for a in ym)
    sse = mpmath.fsum((a - b) ** 2 for a, b in zip(ym, pm))
    np.testing.assert_allclose(float(l2.r2(y, p)), float(1 - sse / sst), rtol=1e-13)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [100, 40000])
def test_fast_numba_and_numpy_paths_agree(rng, name, n, monkeypatch):
    y, p = _data(rng, (n,), offset=100.0)
    w = rng.uniform(size=n)
    a = getattr(l2, name)(y, p, weights=w)
    b = getattr(l2, name)(y, p)
    monkeypatch.setattr(_fused, "_KERNELS", {})  # as if numba were missing
    np.testing.assert_allclose(getattr(l2, name)(y, p, weights=w), a, rtol=1e-12)
    np.testing.assert_allclose(getattr(l2, name)(y, p), b, rtol=1e-12)
    ref = exact_metrics(y, p)
    np.testing.assert_allclose(b, ref[name], rtol=1e-12)


def test_dtypes_kept(rng):
    y, p = _data(rng, (50,))
    assert l2.mse(y.astype(np.float32), p.astype(np.float32)).dtype == np.float32
    assert l2.r2(y.astype(np.float16), p.astype(np.float16)).dtype == np.float16
    out = l2.mae(np.arange(5), np.arange(5) + 1)  # integers promote to float64
    assert out.dtype == np.float64 and out == 1.0
    np.testing.assert_allclose(l2.mse(y.astype(np.float32), p.astype(np.float32)),
                               skm.mean_squared_error(y.astype(np.float32), p.astype(np.float32)), rtol=1e-6)
    assert isinstance(l2.mse(y, p), float)  # NumPy float64 scalar is a float


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_shape_n_vs_n1_refused(name):
    with pytest.raises(InputError, match=r"shape \(4, 1\).*broadcast"):
        getattr(l2, name)(np.zeros(4), np.zeros((4, 1)))


@pytest.mark.parametrize("name", NAMES)
def test_length_mismatch_and_empty_refused(name):
    with pytest.raises(InputError, match="length 3"):
        getattr(l2, name)(np.zeros(4), np.zeros(3))
    with pytest.raises(InputError, match="empty"):
        getattr(l2, name)(np.zeros(0), np.zeros(0))
    with pytest.raises(InputError, match="1-D"):
        getattr(l2, name)(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))


def test_option_errors(rng):
    y, p = _data(rng, (10, 2))
    with pytest.raises(InputError, match="multioutput"):
        l2.mse(y, p, multioutput="variance_weighted")
    with pytest.raises(InputError, match="2 output weights"):
        l2.r2(y, p, multioutput=[1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="nonfinite"):
        l2.mse(y, p, nonfinite="ignore")
    with pytest.raises(InputError, match="positive sum"):
        l2.mse(y, p, weights=np.zeros(10))
    with pytest.raises(InputError, match="non-negative"):
        l2.r2(y, p, weights=-np.ones(10))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [20, 40000])
def test_nonfinite_raise_names_argument_and_count(name, n):
    y = np.linspace(0, 1, n)
    p = y + 0.5
    y[[2, 5]] = np.nan
    p[7] = np.inf
    with pytest.raises(InputError) as exc:
        getattr(l2, name)(y, p)
    msg = str(exc.value)
    assert "y_true holds 2 non-finite values" in msg and "y_pred holds 1 non-finite value" in msg
    w = np.ones(n)
    w[1] = np.inf
    with pytest.raises(InputError, match="weights holds 1 non-finite"):
        getattr(l2, name)(y[10:20] * 0 + np.arange(10.0), y[10:20] * 0, weights=w[:10])


@pytest.mark.parametrize("name", NAMES)
def test_nonfinite_omit_counts_and_matches_clean(name, rng):
    y, p = _data(rng, (50, 2))
    w = rng.uniform(size=50)
    y[3, 1] = np.nan
    p[10, 0] = -np.inf
    with pytest.warns(NonFiniteOmitted) as rec:
        got = getattr(l2, name)(y, p, weights=w, nonfinite="omit")
    assert rec[0].message.count == 2 and rec[0].message.total == 50
    keep = np.ones(50, bool)
    keep[[3, 10]] = False
    np.testing.assert_allclose(got, getattr(l2, name)(y[keep], p[keep], weights=w[keep]), rtol=1e-13)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # clean data: no warning
        getattr(l2, name)(y[keep], p[keep], nonfinite="omit")
    with pytest.raises(InputError, match="all 2 samples"):
        getattr(l2, name)(np.array([np.nan, 1.0]), np.array([1.0, np.nan]), nonfinite="omit")


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_overflow_is_not_silent():
    with pytest.raises(InputError, match="overflow"):
        l2.mse(np.array([1e200, 0.0]), np.array([-1e200, 0.0]))


def test_pandas_input_like_sklearn(rng):
    pd = pytest.importorskip("pandas")
    y, p = _data(rng, (30, 2))
    w = rng.uniform(size=30)
    got = l2.r2(pd.DataFrame(y), pd.DataFrame(p), weights=pd.Series(w))
    assert got == pytest.approx(skm.r2_score(pd.DataFrame(y), pd.DataFrame(p), sample_weight=pd.Series(w)), rel=1e-12)


def test_mixing_libraries_refused():
    torch = pytest.importorskip("torch")
    with pytest.raises(InputError, match="mix of"):
        l2.mse(np.zeros(3), torch.zeros(3))


# ---------------------------------------------------------------------------
# weight invariances (hypothesis)
# ---------------------------------------------------------------------------
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def problems(draw):
    n = draw(st.integers(3, 25))
    y = draw(hnp.arrays(np.float64, n, elements=finite))
    p = draw(hnp.arrays(np.float64, n, elements=finite))
    reps = draw(hnp.arrays(np.int64, n, elements=st.integers(1, 4)))
    return y, p, reps


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(problems())
def test_weight_invariances(prob):
    y, p, reps = prob
    for name in NAMES:
        f = getattr(l2, name)
        base = f(y, p)
        _close(f(y, p, weights=np.ones(len(y))), base)  # ones = none
        _close(f(y, p, weights=reps), f(np.repeat(y, reps), np.repeat(p, reps)))  # integer = repeats
        _close(f(y, p, weights=reps * 2.5), f(y, p, weights=reps))  # scale invariance
        zero = reps.astype(float)
        zero[0] = 0.0
        if len(y) > 3:
            _close(f(y, p, weights=zero), f(y[1:], p[1:], weights=zero[1:]))  # zero = removal


def test_zero_weight_row_leaves_no_trace_even_as_the_first_row():
    # found by hypothesis: the fused kernel shifted values by row 0; with weight 0 and a large residual
    # there, rounding left MSE 6e-27 instead of 0, flipping sklearn's constant-target R^2 rule from 1 to 0
    y = np.zeros(4)
    p = np.array([341.9763339992011, 0.0, 0.0, 0.0])
    w = np.array([0.0, 1.0, 1.0, 1.0])
    assert l2.mse(y, p, weights=w) == 0.0
    assert l2.r2(y, p, weights=w) == skm.r2_score(y, p, sample_weight=w) == 1.0
    assert l2.explained_variance(y, p, weights=w) == skm.explained_variance_score(y, p, sample_weight=w) == 1.0
    Y, P = np.zeros((4, 2)), np.zeros((4, 2))
    P[0, 0], P[1, 1] = 341.97, 12.3
    W = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [1.0, 1.0]])      # per-element weights
    np.testing.assert_array_equal(l2.r2(Y, P, weights=W, multioutput="raw_values"), [1.0, 1.0])


METRIC_FUNCS = [l2.mse, l2.rmse, l2.mae, l2.r2, l2.explained_variance]


@pytest.mark.parametrize("fn", METRIC_FUNCS, ids=lambda f: f.__name__)
def test_zero_dimensional_input_is_refused_not_an_index_error(fn):
    for a, b in ((np.array(1.0), np.array(2.0)), (np.float64(1.0), np.float64(2.0)), (3, 4)):
        with pytest.raises(InputError, match="0-d scalar") as exc:
            fn(a, b)
        assert "np.atleast_1d" in exc.value.fix
    with pytest.raises(InputError, match="0-d scalar"):
        l2.metrics.Accumulator().update(np.array(1.0), np.array(2.0))


@pytest.mark.parametrize("fn", METRIC_FUNCS, ids=lambda f: f.__name__)
def test_ragged_lists_are_refused_with_the_library_error(fn):
    with pytest.raises(InputError, match="ragged list"):
        fn([[1.0, 2.0], [3.0]], [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(InputError, match="ragged list"):
        l2.metrics.Accumulator().update([[1.0, 2.0], [3.0]], [1.0, 2.0])


@pytest.mark.parametrize("fn", [l2.mse, l2.rmse, l2.mae], ids=lambda f: f.__name__)
def test_float16_result_that_overflows_is_refused(fn):
    # the float32/float64 result (3.6e5 or 1.2e5) became inf when cast back to float16, with no error
    y = np.full(4, 300.0 if fn is l2.mse else 6e4, dtype=np.float16)
    with pytest.raises(InputError, match="float16") as exc:
        fn(y, -y)
    assert "float32" in exc.value.fix
    assert np.isfinite(fn(y.astype(np.float32), -y.astype(np.float32)))    # float32 keeps it
    small = fn(np.ones(4, np.float16), np.zeros(4, np.float16))
    assert small.dtype == np.float16 and small == 1.0
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(y)
    with pytest.raises(InputError, match="float16"):
        fn(t, -t)
