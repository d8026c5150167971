"""Chunked (out-of-core) least squares equals the in-memory fit, whatever the chunking."""

import warnings

import numpy as np
import pytest
from _scale_helpers import assert_same_fit, inmemory_fit, make_data, sm_fit
from hypothesis import given, settings
from hypothesis import strategies as st

import l2kit as l2
from l2kit import InputError


def chunked(X, y, w=None, cuts=(), **kw):
    edges = [0, *sorted(cuts), len(y)]
    if w is None:
        it = ((X[a:b], y[a:b]) for a, b in zip(edges, edges[1:]))
    else:
        it = ((X[a:b], y[a:b], w[a:b]) for a, b in zip(edges, edges[1:]))
    return l2.fit(it, **kw)


@given(cuts=st.lists(st.integers(0, 300), max_size=8), weighted=st.booleans(), seed=st.integers(0, 2**16),
       offset=st.sampled_from([0.0, 1e3]))
@settings(max_examples=25)
def test_chunked_equals_statsmodels(cuts, weighted, seed, offset):
    rng = np.random.default_rng(seed)
    X, y, w = make_data(rng, offset=offset, weights=weighted, zero_weights=3 if weighted else 0)
    f = chunked(X, y, w, cuts)
    ref = sm_fit(X, y, w)
    assert_same_fit(f, ref.params, ref.bse)
    assert f.residuals is None and f.rank == X.shape[1] and f.converged
    assert f.df_resid == ref.df_resid
    np.testing.assert_allclose(f.scale, ref.scale, rtol=1e-10)
    np.testing.assert_allclose(f.loglike, ref.llf, rtol=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_chunked_equals_inmemory_l2_fit(rng, weighted):
    X, y, w = make_data(rng, n=500, p=5, offset=10.0, weights=weighted)
    ref = inmemory_fit(X, y, w)
    f = chunked(X, y, w, cuts=[7, 100, 101, 333])
    assert_same_fit(f, ref.params, ref.bse)
    assert f.rank == ref.rank and f.df_resid == ref.df_resid


def test_no_intercept(rng):
    X, y, w = make_data(rng, weights=True)
    f = chunked(X, y, w, cuts=[50, 150], fit_intercept=False)
    ref = sm_fit(X, y, w, fit_intercept=False)
    assert_same_fit(f, ref.params, ref.bse)
    assert f.intercept == 0.0 and f.df_resid == ref.df_resid


def test_rank_deficient_min_norm_and_warning(rng):
    X, y, _ = make_data(rng, n=200, p=3)
    X = np.column_stack([X, X[:, 0] - 2 * X[:, 1]])  # column 3 depends on 0 and 1
    with pytest.warns(UserWarning, match="rank deficient") as rec:
        f = chunked(X, y, cuts=[30, 90])
    assert "x3" in str(rec[0].message) or "x0" in str(rec[0].message)
    assert f.rank == 3 and f.df_resid == 200 - 3 - 1
    Xc, yc = X - X.mean(0), y - y.mean()
    ref = np.linalg.lstsq(Xc, yc, rcond=None)[0]  # minimum-norm solution
    np.testing.assert_allclose(f.coef, ref, atol=1e-10 * np.abs(ref).max())
    # fitted values agree with the full-rank fit on the independent columns
    g = sm_fit(X[:, :3], y)
    np.testing.assert_allclose(f.intercept + X @ f.coef, g.fittedvalues, atol=1e-9)
    np.testing.assert_allclose(f.scale, g.scale, rtol=1e-10)


def test_rank_deficient_matches_inmemory(rng):
    X, y, _ = make_data(rng, n=200, p=3)
    X = np.column_stack([X, X[:, 0] + X[:, 2]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = inmemory_fit(X, y)
        f = chunked(X, y, cuts=[17, 101])
    assert f.rank == ref.rank
    assert_same_fit(f, ref.params, ref.bse)


def test_constant_column_is_collinear_with_intercept(rng):
    X, y, _ = make_data(rng, n=100, p=2)
    X[:, 1] = 5.0
    with pytest.warns(UserWarning, match="x1"):
        f = chunked(X, y, cuts=[40])
    assert f.rank == 1 and f.coef[1] == pytest.approx(0.0, abs=1e-12)
    ref = sm_fit(X[:, :1], y)
    np.testing.assert_allclose([f.intercept, f.coef[0]], ref.params, rtol=1e-10)


@given(seed=st.integers(0, 2**16), k=st.integers(1, 3))
@settings(max_examples=15)
def test_weight_invariances(seed, k):
    rng = np.random.default_rng(seed)
    X, y, _ = make_data(rng, n=60, p=2)
    base = chunked(X, y, cuts=[20])
    ones = chunked(X, y, np.ones(60), cuts=[33])
    np.testing.assert_allclose(ones.params, base.params, atol=1e-10)
    np.testing.assert_allclose(ones.bse, base.bse, rtol=1e-10)
    # integer weights == repeated rows (coefficients; WLS inference counts rows, as statsmodels)
    reps = rng.integers(1, 4, 60)
    wi = chunked(X, y, reps.astype(float), cuts=[10, 45])
    rep = chunked(np.repeat(X, reps, 0), np.repeat(y, reps), cuts=[k * 7])
    np.testing.assert_allclose(wi.params, rep.params, atol=1e-10)
    # zero weight == removed row (inference too: n counts rows of positive weight)
    w0 = np.ones(60)
    w0[::k + 2] = 0.0
    zw = chunked(X, y, w0, cuts=[13])
    keep = w0 > 0
    rm = chunked(X[keep], y[keep], cuts=[5])
    np.testing.assert_allclose(zw.params, rm.params, atol=1e-10)
    np.testing.assert_allclose(zw.bse, rm.bse, rtol=1e-10)
    assert zw.df_resid == rm.df_resid
    # scale invariance of the weights
    sc = chunked(X, y, 7.5 * w0, cuts=[30])
    np.testing.assert_allclose(sc.params, zw.params, atol=1e-10)
    np.testing.assert_allclose(sc.bse, zw.bse, rtol=1e-10)


def test_dataframe_chunks_name_features(rng):
    pd = pytest.importorskip("pandas")
    X, y, _ = make_data(rng, n=50, p=2)
    df = pd.DataFrame(X, columns=["a", "b"])
    f = l2.fit(iter([(df.iloc[:20], y[:20]), (df.iloc[20:], y[20:])]))
    assert f.feature_names == ("a", "b")


def test_ridge_on_chunks_matches_closed_form(rng):
    X, y, _ = make_data(rng, n=100, p=3)
    alpha = 0.3
    f = chunked(X, y, cuts=[50], alpha=alpha)
    Xc, yc = X - X.mean(0), y - y.mean()
    ref = np.linalg.solve(Xc.T @ Xc + 100 * alpha * np.eye(3), Xc.T @ yc)  # 1/(2n) RSS + alpha/2 |b|^2
    np.testing.assert_allclose(f.coef, ref, rtol=1e-10)


@pytest.mark.parametrize("chunks, match", [
    (lambda X, y: iter([(X[:5], y[:5]), (X[5:, :1], y[5:])]), "columns like the first chunk"),
    (lambda X, y: iter([(X[:, 0], y)]), "2-D"),
    (lambda X, y: iter([(X, y[:-1])]), "shape"),
    (lambda X, y: iter([X]), "tuple"),
    (lambda X, y: iter([]), "at least one"),
])
def test_bad_chunks_are_refused(rng, chunks, match):
    X, y, _ = make_data(rng, n=20, p=2)
    with pytest.raises(InputError, match=match):
        l2.fit(chunks(X, y))


def test_nonfinite_and_negative_weight_name_the_global_row(rng):
    X, y, _ = make_data(rng, n=20, p=2)
    X[13, 1] = np.nan
    with pytest.raises(InputError, match=r"global row 13 .*column 1"):
        chunked(X, y, cuts=[10])
    X[13, 1] = 0.0
    w = np.ones(20)
    w[17] = -1
    with pytest.raises(InputError, match="global row 17"):
        chunked(X, y, w, cuts=[10])


def test_options_refused(rng):
    X, y, _ = make_data(rng, n=20, p=2)
    with pytest.raises(InputError, match="weights"):
        l2.fit(iter([(X, y)]), weights=np.ones(20))
    with pytest.raises(InputError, match="l1_ratio"):
        l2.fit(iter([(X, y)]), alpha=0.1, l1_ratio=0.5)
    with pytest.raises(InputError, match="bogus"):
        l2.fit(iter([(X, y)]), bogus=1)
    with pytest.raises(InputError, match="re-iterable"):
        l2.fit(iter([(X, y)]), loss="huber")


@pytest.mark.parametrize("weighted", [False, True])
def test_ridge_on_chunks_matches_inmemory(rng, weighted):
    X, y, w = make_data(rng, n=200, p=3, weights=weighted)
    ref = inmemory_fit(X, y, w, alpha=0.05)
    f = chunked(X, y, w, cuts=[60, 61], alpha=0.05)
    assert_same_fit(f, ref.params, ref.bse)
    assert f.df_resid == pytest.approx(ref.df_resid, rel=1e-12)


# --- the two halves of fit_chunks: reduce parts separately (e.g. on threads), merge them in order, fit

def test_reduced_parts_merge_to_the_one_pass_fit(rng):
    from l2kit.linear.least_squares import GramState, fit_reduced, reduce_chunks

    X = rng.normal(size=(900, 3))
    y = 2 + X @ [1.0, 0.5, -1.0] + rng.normal(size=900)
    w = rng.uniform(0.5, 2.0, size=900)
    one = l2.fit((X[a:a + 100], y[a:a + 100], w[a:a + 100]) for a in range(0, 900, 100))
    first = reduce_chunks((X[a:a + 100], y[a:a + 100], w[a:a + 100]) for a in range(0, 400, 100))
    second = reduce_chunks(((X[a:a + 100], y[a:a + 100], w[a:a + 100]) for a in range(400, 900, 100)),
                           first_row=400)
    merged = first.merge(second)
    assert (merged.rows, merged.n_chunks, merged.first_row) == (900, 9, 0)
    assert merged.wmax == w.max()
    got = fit_reduced(merged)
    np.testing.assert_allclose(np.r_[got.intercept, got.coef], np.r_[one.intercept, one.coef], rtol=1e-12)
    np.testing.assert_allclose(got.stderr, one.stderr, rtol=1e-10)
    # chunks already reduced to GramStates (unweighted) enter as they are
    states = [GramState.from_columns([*X[a:a + 300].T.copy(), y[a:a + 300]]) for a in range(0, 900, 300)]
    plain = l2.fit((X[a:a + 300], y[a:a + 300]) for a in range(0, 900, 300))
    got = fit_reduced(reduce_chunks(states))
    np.testing.assert_allclose(np.r_[got.intercept, got.coef], np.r_[plain.intercept, plain.coef], rtol=1e-12)


def test_reduced_parts_refuse_what_the_one_pass_refuses(rng):
    from l2kit.linear.least_squares import GramState, fit_reduced, reduce_chunks

    X, y = rng.normal(size=(50, 2)), rng.normal(size=50)
    two = reduce_chunks([(X, y)])
    three = reduce_chunks([(rng.normal(size=(50, 3)), y)])
    with pytest.raises(InputError, match="features"):
        two.merge(three)
    with pytest.raises(InputError, match="features"):
        reduce_chunks([(X, y), GramState.from_columns([*rng.normal(size=(3, 50)), y])])
    with pytest.raises(InputError, match="overflow"):   # a state that is not finite is never merged
        reduce_chunks([GramState.from_columns([np.r_[np.nan, X[1:, 0]], X[:, 1], y])])
    with pytest.raises(InputError, match="empty iterator"):
        fit_reduced(reduce_chunks([]))
    Xb = X.copy()
    Xb[7, 1] = np.inf   # a bad row of the second part is numbered globally
    with pytest.raises(InputError, match="global row 107"):
        reduce_chunks([(Xb, y)], first_row=100)
    with pytest.raises(InputError, match="largest weight"):
        fit_reduced(reduce_chunks([(X, y, np.full(50, 1e150))]))
