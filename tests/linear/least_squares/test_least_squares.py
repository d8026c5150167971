"""``l2.fit`` with Squared(): OLS/WLS/GLS, bad input, weights properties, backends."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import linalg

import l2kit as l2
from l2kit import InputError, Status
from l2kit.linear import CollinearityWarning


def _problem(rng, n=60, p=3):
    X = rng.normal(size=(n, p)) + 1.0
    y = 2.0 + X @ np.arange(1.0, p + 1) + rng.normal(size=n)
    return X, y


def test_matches_lstsq_to_1e9(rng):
    X, y = _problem(rng, 5000, 20)
    f = l2.fit(X, y)
    ref = np.linalg.lstsq(np.column_stack([np.ones(len(y)), X]), y, rcond=None)[0]
    assert np.max(np.abs(f.params - ref) / np.abs(ref)) < 1e-9
    np.testing.assert_allclose(f.residuals, y - f.predict(X), atol=1e-10)
    assert f.status is Status.SUCCESS and f.converged and f.n_iter >= 1 and "refinement" in f.message


def test_complex_fit(rng):
    X = rng.normal(size=(100, 2)) + 1j * rng.normal(size=(100, 2))
    y = X @ np.array([1 + 2j, -1j]) + (0.5 - 0.5j) + 0.1 * (rng.normal(size=100) + 1j * rng.normal(size=100))
    f = l2.fit(X, y)
    ref = linalg.lstsq(np.column_stack([np.ones(100), X]), y)[0]
    np.testing.assert_allclose(f.params, ref, rtol=1e-11)
    assert isinstance(f.intercept, complex) and np.all(f.stderr > 0) and np.isfinite(f.loglike)


def test_gls_full_cov_equals_explicit_whitening(rng):
    X, y = _problem(rng, 40, 2)
    B = rng.normal(size=(40, 40))
    S = B @ B.T + 40 * np.eye(40)
    f = l2.fit(X, y, cov=S)
    Z = np.column_stack([np.ones(40), X])
    Si = np.linalg.inv(S)   # reference only: l2kit never forms it
    ref = np.linalg.solve(Z.T @ Si @ Z, Z.T @ Si @ y)
    np.testing.assert_allclose(f.params, ref, rtol=1e-10)
    np.testing.assert_allclose(f.residuals, y - Z @ ref, rtol=1e-8, atol=1e-10)


def test_diagonal_cov_is_wls(rng):
    X, y = _problem(rng)
    v = rng.uniform(0.5, 3, len(y))
    a, b = l2.fit(X, y, cov=v), l2.fit(X, y, weights=1 / v)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-12)


# -- weights properties -------------------------------------------------------------------------
weights_st = st.lists(st.integers(0, 4), min_size=25, max_size=25).filter(lambda w: sum(x > 0 for x in w) >= 8)


@given(weights_st)
def test_integer_weights_equal_repeated_rows(w):
    rng = np.random.default_rng(3)
    X, y = _problem(rng, 25, 3)
    w = np.array(w, dtype=float)
    a = l2.fit(X, y, weights=w)
    rep = np.repeat(np.arange(25), w.astype(int))
    b = l2.fit(X[rep], y[rep])
    np.testing.assert_allclose(a.params, b.params, rtol=1e-9, atol=1e-10)


@given(weights_st)
def test_zero_weights_equal_removed_rows(w):
    rng = np.random.default_rng(4)
    X, y = _problem(rng, 25, 3)
    w = np.array(w, dtype=float)
    a = l2.fit(X, y, weights=w)
    keep = w > 0
    b = l2.fit(X[keep], y[keep], weights=w[keep])
    np.testing.assert_allclose(a.params, b.params, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-9)       # removed rows do not count in df
    assert a.n_obs == keep.sum() and a.extra["n_dropped_zero_weight"] == (~keep).sum()
    assert a.residuals.shape == (25,)


@given(st.floats(1e-3, 1e3))
def test_weight_scale_invariance(k):
    rng = np.random.default_rng(5)
    X, y = _problem(rng, 30, 2)
    w = rng.uniform(0.5, 2.0, 30)
    a, b = l2.fit(X, y, weights=w), l2.fit(X, y, weights=k * w)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-9)


def test_unit_weights_equal_none(rng):
    X, y = _problem(rng)
    a, b = l2.fit(X, y, weights=np.ones(len(y))), l2.fit(X, y)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-12)
    assert abs(a.loglike - b.loglike) < 1e-10 * abs(b.loglike)


# -- rank deficiency -----------------------------------------------------------------------------
def test_collinear_columns_are_named(rng):
    X, y = _problem(rng, 50, 3)
    X = np.column_stack([X, 2 * X[:, 1]])
    with pytest.warns(CollinearityWarning, match=r"rank 3 of 4.*'x(1|3)'"):
        f = l2.fit(X, y, feature_names=["a", "x1", "c", "x3"])
    assert f.rank == 3 and f.extra["collinear"][0] in ("x1", "x3")
    ref = np.linalg.pinv(X - X.mean(0)) @ (y - y.mean())
    np.testing.assert_allclose(f.coef, ref, rtol=1e-8)


def test_constant_column_is_reported(rng):
    X, y = _problem(rng, 50, 2)
    X = np.column_stack([X, np.full(50, 3.0)])
    with pytest.warns(CollinearityWarning, match="'x2'"):
        f = l2.fit(X, y)
    assert f.rank == 2 and f.coef[2] == pytest.approx(0.0, abs=1e-12)


def test_wide_design_minimum_norm_and_advice(rng):
    X, y = rng.normal(size=(10, 30)), rng.normal(size=10)
    with pytest.warns(CollinearityWarning, match="ridge.*drop columns"):
        f = l2.fit(X, y)
    Xc, yc = X - X.mean(0), y - y.mean()
    np.testing.assert_allclose(f.coef, np.linalg.pinv(Xc) @ yc, rtol=1e-8, atol=1e-12)
    assert f.rank == 9 and np.allclose(f.residuals, 0, atol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        l2.fit(X, y, alpha=0.1)      # with a ridge penalty: unique, no warning


# -- bad input -----------------------------------------------------------------------------------
def test_nan_inf_reported_with_count_and_row(rng):
    X, y = _problem(rng)
    X[5, 1] = np.nan
    X[9, 0] = np.inf
    with pytest.raises(InputError, match=r"2 NaN/inf value\(s\) in 2 row\(s\), first at row 5"):
        l2.fit(X, y)
    X, y = _problem(rng)
    y[7] = np.nan
    with pytest.raises(InputError, match="first at row 7"):
        l2.fit(X, y)


def test_mismatched_lengths(rng):
    X, y = _problem(rng)
    with pytest.raises(InputError, match="rows like X"):
        l2.fit(X, y[:-1])
    with pytest.raises(InputError, match="cov"):
        l2.fit(X, y, cov=np.ones(len(y) - 1))


def test_non_positive_definite_cov(rng):
    X, y = _problem(rng, 20, 2)
    v = rng.normal(size=(20, 1))
    with pytest.raises(InputError, match="not positive definite"):
        l2.fit(X, y, cov=v @ v.T)
    with pytest.raises(InputError, match="symmetric"):
        l2.fit(X, y, cov=np.eye(20) + np.triu(np.ones((20, 20)), 1))
    with pytest.raises(InputError, match="variances"):
        l2.fit(X, y, cov=np.r_[np.ones(19), -1.0])


def test_negative_weights(rng):
    X, y = _problem(rng)
    w = np.ones(len(y))
    w[3] = -1
    with pytest.raises(InputError, match="negative weight.*row 3"):
        l2.fit(X, y, weights=w)


def test_bad_options(rng):
    X, y = _problem(rng)
    with pytest.raises(InputError, match="unknown keyword"):
        l2.fit(X, y, cov_typo="HC3")
    with pytest.raises(InputError, match="method"):
        l2.fit(X, y, method="lu")
    with pytest.raises(InputError, match="cov_type"):
        l2.fit(X, y, cov_type="HC9")
    with pytest.raises(InputError, match="alpha"):
        l2.fit(X, y, alpha=-1.0)
    with pytest.raises(InputError, match="l1_ratio"):
        l2.fit(X, y, alpha=1.0, l1_ratio=2.0)


def test_no_residual_df_gives_nan_stderr():
    X = np.array([[0.0], [1.0]])
    f = l2.fit(X, np.array([1.0, 3.0]))
    assert f.df_resid == 0 and np.isnan(f.stderr).all()
    assert f.coef[0] == pytest.approx(2.0)


def test_torch_in_torch_out(rng):
    torch = pytest.importorskip("torch")
    X, y = _problem(rng)
    f = l2.fit(torch.as_tensor(X), torch.as_tensor(y))
    p = f.predict(torch.as_tensor(X[:4]))
    assert isinstance(p, torch.Tensor) and p.dtype == torch.float64
    np.testing.assert_allclose(p.numpy(), l2.fit(X, y).predict(X[:4]), rtol=1e-12)


def test_pickle_roundtrip(rng):
    import pickle

    X, y = _problem(rng)
    f = l2.fit(X, y, alpha="gcv")
    g = pickle.loads(pickle.dumps(f))
    np.testing.assert_array_equal(g.coef, f.coef)
    assert g.extra["cv_criterion"] == "gcv" and not g.coef.flags.writeable


def test_status_and_convergence_flags(rng):
    X, y = _problem(rng, 200, 3)
    f = l2.fit(X, y)
    assert f.converged and f.method == "cholesky" and "refinement" in f.message
    x = np.linspace(-1, 1, 60)
    V = np.column_stack([x**k for k in range(1, 13)])      # Gram numerically singular
    yy = np.cos(3 * x)
    g = l2.fit(V, yy)
    assert g.method == "qr" and "too ill-conditioned for Cholesky" in g.message
    ref = linalg.lstsq(np.column_stack([np.ones(60), V]), yy, lapack_driver="gelsy")[0]
    np.testing.assert_allclose(g.predict(V), np.column_stack([np.ones(60), V]) @ ref, atol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        h = l2.fit(V, yy, method="cholesky")
    assert h.method in ("cholesky", "eigh") and "method='qr' is more accurate" in h.message


def test_summary_lists_every_coefficient(rng):
    X, y = _problem(rng)
    s = l2.fit(X, y, alpha=0.1, feature_names=["a", "b", "c"]).summary()
    assert all(name in s for name in ("intercept", "a", "b", "c"))
