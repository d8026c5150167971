"""Elastic net / lasso by coordinate descent on the Gram matrix, against scikit-learn."""

import warnings

import numpy as np
import pytest

import l2kit as l2
from l2kit import Status

sklm = pytest.importorskip("sklearn.linear_model")


def _problem(rng, n=400, p=30):
    X = rng.normal(size=(n, p)) + rng.uniform(-2, 2, p)
    beta = np.where(rng.uniform(size=p) < 0.4, rng.normal(size=p) * 3, 0.0)
    y = X @ beta + 1.5 + rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("l1_ratio", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("alpha", [0.01, 0.2])
def test_matches_sklearn_elasticnet(rng, alpha, l1_ratio):
    X, y = _problem(rng)
    f = l2.fit(X, y, alpha=alpha, l1_ratio=l1_ratio)
    r = sklm.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-13, max_iter=200000).fit(X, y)
    assert f.converged and f.method == "cd"
    assert np.abs(f.coef - r.coef_).max() < 1e-6
    assert abs(f.intercept - r.intercept_) < 1e-6
    assert np.array_equal(f.coef == 0, r.coef_ == 0) or np.abs(f.coef - r.coef_).max() < 1e-9


def test_weighted_matches_sklearn(rng):
    X, y = _problem(rng)
    w = rng.uniform(0.1, 3, len(y))
    f = l2.fit(X, y, alpha=0.05, l1_ratio=0.7, weights=w)
    r = sklm.ElasticNet(alpha=0.05, l1_ratio=0.7, tol=1e-13, max_iter=200000).fit(X, y, sample_weight=w)
    assert np.abs(f.coef - r.coef_).max() < 1e-6


def test_lasso_kkt_conditions(rng):
    X, y = _problem(rng)
    a = 0.1
    f = l2.fit(X, y, alpha=a, l1_ratio=1.0)
    Xc = X - X.mean(0)
    g = Xc.T @ f.residuals / len(y)           # = alpha * sign(b) on the support, |g| <= alpha off it
    on = f.coef != 0
    np.testing.assert_allclose(g[on], a * np.sign(f.coef[on]), atol=1e-7)
    assert np.all(np.abs(g[~on]) <= a + 1e-7)
    assert f.stderr is None and f.extra["duality_gap"] >= 0


def test_no_false_convergence(rng):
    X, y = _problem(rng)
    with pytest.warns(RuntimeWarning, match="did NOT converge"):
        f = l2.fit(X, y, alpha=1e-4, l1_ratio=0.5, max_iter=2, tol=1e-14)
    assert f.status is Status.MAX_ITER and not f.converged and f.n_iter == 2 and "max_iter" in f.message


def test_no_intercept(rng):
    X, y = _problem(rng)
    f = l2.fit(X, y, alpha=0.05, l1_ratio=0.5, fit_intercept=False)
    r = sklm.ElasticNet(alpha=0.05, l1_ratio=0.5, fit_intercept=False, tol=1e-13, max_iter=200000).fit(X, y)
    assert np.abs(f.coef - r.coef_).max() < 1e-6 and f.intercept == 0.0


def test_python_kernels_equal_compiled(rng, monkeypatch):
    """The plain-Python / NumPy kernels (no numba, or L2KIT_DISABLE_NUMBA) give the compiled fit."""
    from l2kit import _jit
    from l2kit.linear.penalized import _kernels, _naive

    X, y = _problem(rng, 300, 80)
    ref = l2.fit(X, y, alpha=0.01, l1_ratio=0.5)
    monkeypatch.setenv("L2KIT_DISABLE_NUMBA", "1")
    monkeypatch.setattr(_jit, "_LOADED", {})
    f = l2.fit(X, y, alpha=0.01, l1_ratio=0.5)
    assert _kernels.cd_kernel() is _kernels.cd_gram
    assert _jit._LOADED[_kernels.row_pass] is _kernels.row_pass_numpy
    assert _naive.naive_kernel() is None       # naive updates need the compiled kernel
    assert f.converged and f.n_iter == ref.n_iter
    np.testing.assert_allclose(f.coef, ref.coef, rtol=0, atol=1e-12)


def _kkt_violation(X, y, f, alpha, l1_ratio):
    """Largest violation of the elastic-net optimality conditions, relative to alpha * l1_ratio."""
    l1, l2p = alpha * l1_ratio, alpha * (1 - l1_ratio)
    Xc = X - X.mean(0)
    g = Xc.T @ (y - y.mean() - Xc @ f.coef) / len(y) - l2p * f.coef
    on = f.coef != 0
    return max(np.abs(g[on] - l1 * np.sign(f.coef[on])).max(initial=0.0),
               np.maximum(np.abs(g[~on]) - l1, 0.0).max(initial=0.0)) / l1


def _gram_dtypes(monkeypatch):
    """Record the dtype of every Gram matrix the solver forms."""
    from l2kit.linear.penalized import _centred

    seen, real = [], _centred.Centred.gram

    def spy(self, cols, start, dtype):
        seen.append(np.dtype(dtype).name)
        return real(self, cols, start, dtype)

    monkeypatch.setattr(_centred.Centred, "gram", spy)
    return seen


def test_float32_gram_is_refined_to_the_float64_optimum(rng, monkeypatch):
    """A large working set uses a float32 Gram; exact-gradient rounds still reach the float64 optimum."""
    seen = _gram_dtypes(monkeypatch)
    X, y = _problem(rng, n=3000, p=120)
    f = l2.fit(X, y, alpha=0.002, l1_ratio=0.5)
    r = sklm.ElasticNet(alpha=0.002, l1_ratio=0.5, tol=1e-14, max_iter=200000).fit(X, y)
    assert "float32" in seen and "float64" not in seen
    assert f.converged and np.abs(f.coef - r.coef_).max() < 1e-9
    assert _kkt_violation(X, y, f, 0.002, 0.5) < 1e-6


def test_ill_conditioned_design_falls_back_to_a_float64_gram(rng, monkeypatch):
    """Near-duplicate columns defeat float32 (the Gram loses definiteness): it is rebuilt in float64."""
    seen = _gram_dtypes(monkeypatch)
    X, y = _problem(rng, n=2000, p=100)
    f = _lasso_on_near_duplicates(rng, X, y)
    assert seen[0] == "float32" and "float64" in seen
    assert f.extra["duality_gap"] <= 1e-10 * np.var(y)


def _lasso_on_near_duplicates(rng, X, y):
    """Make column 1 a near-copy of column 0, fit the lasso and check it against sklearn's.

    Only the pair's sum is identified to 1e-6; the other coefficients and
    the optimality conditions are checked as usual.
    """
    X[:, 1] = X[:, 0] + 1e-7 * rng.normal(size=len(y))
    f = l2.fit(X, y, alpha=0.01, l1_ratio=1.0)
    r = sklm.Lasso(alpha=0.01, tol=1e-14, max_iter=200000).fit(X, y)
    assert f.converged and _kkt_violation(X, y, f, 0.01, 1.0) < 1e-6
    assert abs(f.coef[0] + f.coef[1] - r.coef_[0] - r.coef_[1]) < 1e-6
    np.testing.assert_allclose(f.coef[2:], r.coef_[2:], atol=1e-6)
    return f


def test_float32_overflow_redone_in_float64(rng):
    """Columns whose squares overflow float32 get a float64 Gram, not inf."""
    from l2kit.linear.penalized import _centred

    A = rng.normal(size=(500, 6)) * np.array([1e25, 1.0, 1e-30, 1.0, 2.0, 3.0])
    b = rng.normal(size=500)
    X = _centred.Centred(A, b, 1.0, 500)
    G = X.gram(np.arange(6), 0, np.float32)
    Ac = A - A.mean(0)
    np.testing.assert_allclose(G, Ac.T @ Ac / 500, rtol=1e-12, atol=0)


@pytest.mark.parametrize("n, p", [(60, 300), (80, 2500)])
def test_wide_design_matches_sklearn(rng, n, p):
    X = rng.normal(size=(n, p))
    y = X[:, :5] @ [3.0, -2.0, 1.5, 1.0, -1.0] + 0.1 * rng.normal(size=n)
    f = l2.fit(X, y, alpha=0.05, l1_ratio=0.9)
    r = sklm.ElasticNet(alpha=0.05, l1_ratio=0.9, tol=1e-14, max_iter=200000).fit(X, y)
    assert f.converged and np.abs(f.coef - r.coef_).max() < 1e-7
    if p > 2000:                     # very wide: only a working set's Gram is ever formed
        assert f.extra["working_set_size"] < p


def test_column_major_design_gives_the_same_fit(rng):
    """F-ordered X takes the column-wise block copy and the BLAS row passes: same fit."""
    X, y = _problem(rng, n=1500, p=90)
    ref = l2.fit(X, y, alpha=0.01, l1_ratio=0.5)
    f = l2.fit(np.asfortranarray(X), y, alpha=0.01, l1_ratio=0.5)
    np.testing.assert_allclose(f.coef, ref.coef, rtol=0, atol=1e-12)


def test_nan_in_x_is_reported_not_fitted(rng):
    X, y = _problem(rng)
    X[17, 3] = np.nan
    with pytest.raises(l2.InputError, match="first at row 17"):
        l2.fit(X, y, alpha=0.1, l1_ratio=0.5)


def test_options_checked(rng):
    X, y = _problem(rng)
    with pytest.raises(l2.InputError, match="max_iter"):
        l2.fit(X, y, alpha=0.1, l1_ratio=0.5, max_iter=0)
    with pytest.raises(l2.InputError, match="nonrobust"):
        l2.fit(X, y, alpha=0.1, l1_ratio=0.5, cov_type="HC3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        l2.fit(X, y, alpha=0.0, l1_ratio=1.0)   # no penalty: plain least squares


# ---------------------------------------------------------------------------
# naive updates on a float32 column copy (dense, nearly orthogonal designs)
# ---------------------------------------------------------------------------
def _naive_spy(monkeypatch, *, force=False):
    """Record whether each fit took naive updates (and whether they handed over); ``force`` skips the tests."""
    from l2kit.linear.penalized import _centred, enet

    seen = {"naive": [], "handover": 0}
    real_copy, real_gram = enet._naive_copy, _centred.NaiveCopy.gram
    if force:
        monkeypatch.setattr(enet, "_NAIVE_MAX_SPREAD", np.inf)
        monkeypatch.setattr(enet, "naive_min_p", lambda tol: 0)

    def copy(X, tol, spread, updates):
        F = real_copy(X, tol, spread, updates)
        seen["naive"].append(F is not None)
        return F

    def gram(self, n_pen, l2):
        seen["handover"] += 1
        return real_gram(self, n_pen, l2)

    monkeypatch.setattr(enet, "_naive_copy", copy)
    monkeypatch.setattr(_centred.NaiveCopy, "gram", gram)
    return seen


def _orthogonal(rng, n=3000, p=160):
    X = rng.normal(size=(n, p)) + rng.uniform(-1, 1, p)
    y = X @ np.where(rng.uniform(size=p) < 0.3, rng.normal(size=p), 0.0) + 2.0 + rng.normal(size=n)
    return X, y


def _exact(X, y, alpha, l1_ratio, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sklm.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=200000, **kw).fit(X, y)


@pytest.mark.parametrize("p", [7, 12])
def test_grouped_naive_sweeps_are_plain_gauss_seidel(rng, p):
    """Columns in groups of four (one pass over rho per group, earlier steps of the group through its
    products) give the iterates of textbook naive coordinate descent, to float32 rounding.

    Updating a group's four coefficients from one set of products without
    that correction would be Jacobi within the group: ~5e-2 off here.
    """
    from l2kit.linear.penalized import _centred, _naive

    kernel = _naive.naive_kernel()
    if kernel is None:
        pytest.skip("naive updates need numba")
    n = 400
    A = rng.normal(size=(n, p)) + rng.uniform(-1, 1, p)
    A[:, 2] = 3.0                        # constant: zero once centred, never updated
    b = A @ rng.normal(size=p) + rng.normal(size=n)
    X = _centred.Centred(A, b, 1.0, n)
    F = _centred.NaiveCopy(X, 1e-6)
    assert F.columns.shape == (-(-p // 4) * 4, n)
    Fc = F.columns[:p].astype(np.float64)
    Q = Fc @ Fc.T / n
    l1, l2 = 0.05, 0.02
    for sweeps in (1, 3):
        w = np.zeros(p)
        F.within[:] = np.nan                # filled by the first sweep
        assert kernel(F.columns, F.within, X.q, w, l1, l2, 1.0 / n, 0.0, sweeps, True) == (sweeps, False)
        groups = np.arange(F.columns.shape[0]) // 4 * 4
        Qf = F.columns.astype(np.float64) @ F.columns.T.astype(np.float64)
        np.testing.assert_allclose(F.within, Qf[np.arange(len(groups))[:, None], groups[:, None] + np.arange(4)],
                                   rtol=1e-12, atol=1e-9 * Qf.max())
        ref = np.zeros(p)
        for _ in range(sweeps):
            for j in np.flatnonzero(Q.diagonal() > 0):
                z = X.q[j] - Q[j] @ ref + Q[j, j] * ref[j]
                ref[j] = np.sign(z) * max(abs(z) - l1, 0.0) / (Q[j, j] + l2)
        assert w[2] == 0.0 and np.count_nonzero(ref) > p // 2
        np.testing.assert_allclose(w, ref, rtol=0, atol=1e-6 * np.abs(ref).max())


def test_naive_updates_chosen_for_a_dense_orthogonal_design(rng, monkeypatch):
    """Loose tol, many columns, nearly all active and nearly orthogonal: naive sweeps, no Gram matrix."""
    seen = _naive_spy(monkeypatch)
    X, y = _orthogonal(rng, p=100)        # between the cost model's 78 columns (tol 1e-6) and 140 (tighter)
    r = _exact(X, y, 0.002, 0.5)
    f = l2.fit(X, y, alpha=0.002, l1_ratio=0.5, tol=1e-6)
    assert seen == {"naive": [True], "handover": 0}
    assert f.converged and f.extra["duality_gap"] <= 1e-6 * np.var(y)
    assert np.abs(f.coef - r.coef_).max() < 1e-5 and abs(f.intercept - r.intercept_) < 1e-5
    # the default tol (1e-10) needs more sweeps than a float32 Gram costs: covariance updates
    seen["naive"].clear()
    l2.fit(X, y, alpha=0.002, l1_ratio=0.5)
    assert seen["naive"] == [False]


def test_naive_updates_reach_the_float64_optimum(rng, monkeypatch):
    """The float32 copy only sets the contraction: rounds from exact gradients end at the float64 optimum."""
    seen = _naive_spy(monkeypatch, force=True)
    X, y = _orthogonal(rng)
    f = l2.fit(X, y, alpha=0.002, l1_ratio=0.5)
    r = _exact(X, y, 0.002, 0.5)
    assert seen == {"naive": [True], "handover": 0}
    assert f.converged and np.abs(f.coef - r.coef_).max() < 1e-9 and abs(f.intercept - r.intercept_) < 1e-9
    assert _kkt_violation(X, y, f, 0.002, 0.5) < 1e-6


def test_naive_refinement_rounds_run_until_they_gain(rng, monkeypatch):
    """A refinement round starts within eps of its optimum; it still sweeps until the change is 100x smaller.

    Stopping it after one sweep (the first sweep's change is already below
    eps) gains only ~10x in the gap per round: 7 rounds (7 exact passes) at
    tol=1e-12 instead of 3 (measured).
    """
    from l2kit.linear.penalized import _centred

    _naive_spy(monkeypatch, force=True)
    rounds = []
    real = _centred.naive_kernel

    def kernel():
        inner = real()

        def run(*args):
            rounds.append(inner(*args))
            return rounds[-1]
        return run

    monkeypatch.setattr(_centred, "naive_kernel", kernel)
    X, y = _orthogonal(rng)
    f = l2.fit(X, y, alpha=0.002, l1_ratio=0.5, tol=1e-12)
    r = _exact(X, y, 0.002, 0.5)
    assert f.converged and np.abs(f.coef - r.coef_).max() < 1e-9
    assert 2 <= len(rounds) <= 3 and all(ok for _, ok in rounds)
    assert all(sweeps >= 2 for sweeps, _ in rounds[1:])


def test_correlated_design_keeps_covariance_updates(rng, monkeypatch):
    """Strongly correlated columns (the probe's Jacobi step moves far): covariance updates from the start."""
    seen = _naive_spy(monkeypatch)
    n, p = 3000, 160
    L = np.linalg.cholesky(0.9 ** np.abs(np.subtract.outer(np.arange(p), np.arange(p))))
    X = rng.normal(size=(n, p)) @ L.T
    y = X[:, ::7].sum(1) + rng.normal(size=n)
    f = l2.fit(X, y, alpha=0.001, l1_ratio=0.5, tol=1e-6)
    assert np.count_nonzero(f.coef) > 0.5 * p and seen["naive"] == [False]
    assert f.converged and f.extra["duality_gap"] <= 1e-6 * np.var(y)


def test_slow_naive_sweeps_hand_over_to_covariance_updates(rng, monkeypatch):
    """Forced onto a correlated design, naive sweeps run out of budget and covariance updates finish the fit."""
    seen = _naive_spy(monkeypatch, force=True)
    n, p = 2000, 120
    L = np.linalg.cholesky(0.95 ** np.abs(np.subtract.outer(np.arange(p), np.arange(p))))
    X = rng.normal(size=(n, p)) @ L.T + 3.0
    y = X[:, ::5].sum(1) + rng.normal(size=n)
    f = l2.fit(X, y, alpha=0.001, l1_ratio=0.5)
    r = _exact(X, y, 0.001, 0.5)
    assert seen["naive"] == [True] and seen["handover"] == 1
    assert f.converged and np.abs(f.coef - r.coef_).max() < 1e-7
    assert _kkt_violation(X, y, f, 0.001, 0.5) < 1e-6


def test_naive_updates_with_weights_and_without_intercept(rng, monkeypatch):
    """Case weights (centring by sqrt(w)) and no intercept (no centring) go through the copy too."""
    from l2kit.linear.penalized import enet

    default_spread = enet._NAIVE_MAX_SPREAD
    seen = _naive_spy(monkeypatch, force=True)
    X, y = _orthogonal(rng, 1500, 100)
    w = rng.uniform(0.2, 3.0, len(y))
    f = l2.fit(X, y, alpha=0.003, l1_ratio=0.7, weights=w)
    r = _exact(X, y, 0.003, 0.7).fit(X, y, sample_weight=w)
    assert np.abs(f.coef - r.coef_).max() < 1e-8 and abs(f.intercept - r.intercept_) < 1e-8
    assert seen == {"naive": [True], "handover": 0}
    # uncentred shifted columns share a large common direction: naive sweeps stall and hand over
    f0 = l2.fit(X, y, alpha=0.003, l1_ratio=0.7, fit_intercept=False)
    r0 = _exact(X, y, 0.003, 0.7, fit_intercept=False)
    assert np.abs(f0.coef - r0.coef_).max() < 1e-8 and f0.intercept == 0.0
    assert seen == {"naive": [True, True], "handover": 1}
    # unforced, the probe sees that direction and never starts naive sweeps there
    monkeypatch.setattr(enet, "_NAIVE_MAX_SPREAD", default_spread)
    l2.fit(X, y, alpha=0.003, l1_ratio=0.7, fit_intercept=False)
    assert seen["naive"][-1] is False



def test_near_duplicate_columns_leave_the_copy_for_a_float64_gram(rng, monkeypatch):
    """Forced naive on near-duplicate columns: the copy's Gram is not positive definite, so float64 takes over."""
    seen = _naive_spy(monkeypatch, force=True)
    gdt = _gram_dtypes(monkeypatch)
    X, y = _orthogonal(rng, 2000, 100)
    _lasso_on_near_duplicates(rng, X, y)
    assert seen["naive"] == [True]
    if seen["handover"]:                   # the copy's Gram was tried and refused: float64 from A
        assert gdt == ["float64"]


@pytest.mark.parametrize("n, p", [(10000, 200), (1003, 37), (33, 17), (16, 8), (7, 5)])
def test_column_copy_equals_the_elementwise_transpose(rng, n, p):
    """The float32 column copy: every element is ``float32(A[i, k] - cv[i] mean[k])`` at ``[k, i]``."""
    pytest.importorskip("numba")
    from l2kit.linear.penalized import _naive

    A = rng.normal(size=(n, p)) * 1e3 + rng.uniform(-5, 5, p)
    cv, mean = rng.uniform(0.5, 2, n), A.mean(axis=0)
    out = np.full((p + 3, n), np.nan, dtype=np.float32)     # rows past p untouched
    _naive.column_copy_kernel()(A, cv, mean, out)
    ref = (A - cv[:, None] * mean).T.astype(np.float32)
    np.testing.assert_array_max_ulp(out[:p], ref, maxulp=1)
    assert np.isnan(out[p:]).all()


@pytest.mark.parametrize("order", ["C", "F"])
def test_column_copy_reads_strided_views(rng, order):
    """A column slice (rows with a longer stride) and column-major data are copied alike."""
    pytest.importorskip("numba")
    from l2kit.linear.penalized import _naive

    big = np.asarray(rng.normal(size=(100, 30)), order=order)
    A = big[:, 3:23]
    cv, mean = np.ones(100), A.mean(axis=0)
    out = np.empty((20, 100), dtype=np.float32)
    _naive.column_copy_kernel()(A, cv, mean, out)
    np.testing.assert_array_max_ulp(out, (A - mean).T.astype(np.float32), maxulp=1)


def test_columns_beyond_float32_skip_the_naive_copy(rng, monkeypatch):
    """Data whose centred values exceed float32's range never enters the float32 copy (it would hold inf):
    covariance updates on a float64 Gram instead. Scaling X and y by s and alpha by s^2 scales the
    objective by s^2, so the coefficients must not move."""
    seen = _naive_spy(monkeypatch, force=True)
    X, y = _orthogonal(rng, n=600, p=12)
    r = _exact(X, y, 0.01, 0.5)
    f = l2.fit(X, y, alpha=0.01, l1_ratio=0.5, tol=1e-12)
    s = 1e39
    big = l2.fit(X * s, y * s, alpha=0.01 * s**2, l1_ratio=0.5, tol=1e-12)
    assert seen["naive"] == [True, False]
    for fit in (f, big):
        assert fit.converged
        np.testing.assert_allclose(fit.coef, r.coef_, rtol=1e-7, atol=1e-9 * np.abs(r.coef_).max())
    assert abs(big.intercept / s - r.intercept_) < 1e-7
