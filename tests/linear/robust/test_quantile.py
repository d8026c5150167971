"""Quantile / L1 regression: exact LP optimum against scikit-learn and statsmodels."""

import warnings

import numpy as np
import pytest

import l2kit as l2
import l2kit.linear.robust._lp as lp_mod
import l2kit.linear.robust.quantile as quantile_mod
from l2kit import InputError, Status


def data(seed=0, n=400, p=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = 1 + X @ np.arange(1, p + 1) + rng.standard_t(2, size=n)
    return X, y


def objective(q, y, pred, w=None):
    r = y - pred
    rho = np.where(r < 0, (q - 1) * r, q * r)
    return float(rho.sum() if w is None else w @ rho)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("method", ["auto", "dual", "primal", "highs-ipm", "highs-ds"])
def test_optimum_equals_sklearn_quantile_regressor(q, method):
    from sklearn.linear_model import QuantileRegressor

    X, y = data()
    f = l2.fit(X, y, loss=l2.Quantile(q), method=method)
    sk = QuantileRegressor(quantile=q, alpha=0.0, solver="highs").fit(X, y)
    ours, ref = objective(q, y, f.predict(X)), objective(q, y, sk.predict(X))
    assert f.converged and f.status is Status.SUCCESS and "optimal" in f.message
    assert ours == pytest.approx(ref, rel=1e-10)
    assert f.extra["objective"] == pytest.approx(ours, rel=1e-12)
    assert f.extra["n_zero_residuals"] >= X.shape[1] + 1     # a vertex of the LP


def test_not_worse_than_statsmodels_quantreg():
    import statsmodels.api as sm

    X, y = data(1)
    for q in (0.25, 0.75):
        f = l2.fit(X, y, loss=l2.Quantile(q))
        ref = sm.QuantReg(y, sm.add_constant(X)).fit(q=q, max_iter=5000, p_tol=1e-12)
        ours, theirs = objective(q, y, f.predict(X)), objective(q, y, sm.add_constant(X) @ ref.params)
        assert ours <= theirs + 1e-9 and ours == pytest.approx(theirs, rel=1e-6)
        np.testing.assert_allclose(f.params, ref.params, atol=1e-3)


def test_absolute_is_median_regression():
    X, y = data(2)
    a = l2.fit(X, y, loss=l2.Absolute())
    b = l2.fit(X, y, loss=l2.Quantile(0.5))
    assert objective(0.5, y, a.predict(X)) == pytest.approx(objective(0.5, y, b.predict(X)), rel=1e-12)
    assert a.extra["objective"] == pytest.approx(np.abs(y - a.predict(X)).sum(), rel=1e-12)
    # intercept-only: the median
    f = l2.fit(np.zeros((5, 0)), np.array([1.0, 7.0, 3.0, 100.0, 2.0]), loss=l2.Absolute())
    assert f.intercept == pytest.approx(3.0)


def test_integer_weights_equal_repeated_rows_and_zero_weights():
    X, y = data(3, n=150)
    w = np.random.default_rng(9).integers(0, 4, size=y.size)
    rep = np.repeat(np.arange(y.size), w)
    a = l2.fit(X, y, loss=l2.Quantile(0.3), weights=w.astype(float))
    b = l2.fit(X[rep], y[rep], loss=l2.Quantile(0.3))
    assert objective(0.3, y, a.predict(X), w) == pytest.approx(objective(0.3, y[rep], b.predict(X[rep])), rel=1e-10)


def test_globbed_large_n_path_is_exact(monkeypatch):
    """Portnoy-Koenker preprocessing reaches the same optimum as the plain LP (forced on a small problem)."""
    X, y = data(4, n=6000, p=4)
    plain = l2.fit(X, y, loss=l2.Quantile(0.7), method="dual")
    monkeypatch.setattr(quantile_mod, "GLOB_MIN_ROWS", 1000)
    glob = l2.fit(X, y, loss=l2.Quantile(0.7), method="highs")
    assert glob.method.startswith("linprog-globbed") and "verified" in glob.message
    assert objective(0.7, y, glob.predict(X)) == pytest.approx(objective(0.7, y, plain.predict(X)), rel=1e-10)
    w = np.random.default_rng(1).uniform(0, 2, size=y.size)
    a = l2.fit(X, y, loss=l2.Quantile(0.2), weights=w, method="highs")
    monkeypatch.setattr(quantile_mod, "GLOB_MIN_ROWS", 10 ** 9)
    b = l2.fit(X, y, loss=l2.Quantile(0.2), weights=w, method="dual")
    assert objective(0.2, y, a.predict(X), w) == pytest.approx(objective(0.2, y, b.predict(X), w), rel=1e-10)


def test_bad_quantile_and_options():
    for q in (0.0, 1.0, -0.2, 1.5):
        with pytest.raises(InputError, match="between 0 and 1"):
            l2.Quantile(q=q)
    X, y = data()
    with pytest.raises(InputError, match="method"):
        l2.fit(X, y, loss=l2.Quantile(0.5), method="simplex")
    with pytest.raises(InputError, match="l1_ratio=1"):   # an L1 penalty only (issue 20)
        l2.fit(X, y, loss=l2.Quantile(0.5), alpha=1.0)


def test_globbed_repairs_sign_violations():
    """A band far too narrow forces wrong globs; the KKT check must catch them and re-solve to the optimum."""
    X, y = data(7, n=5000, p=3)
    Xa = np.column_stack([np.ones(y.size), X])
    beta, res, rounds = lp_mod.solve_quantile_globbed(Xa, y, None, 0.4, band=0.2, m=40)
    plain, _ = lp_mod.solve_quantile_lp(Xa, y, None, 0.4)
    assert rounds > 1
    assert objective(0.4, y, Xa @ beta) == pytest.approx(objective(0.4, y, Xa @ plain), rel=1e-10)


@pytest.mark.parametrize("q", [0.25, 0.5, 0.9])
def test_quantreg_estimators_run_and_agree_roughly(q):
    """iid, nid and ker estimate the same sparsity on homoscedastic data (R parity: test_r_reference.py)."""
    X, y = data(1, n=2000)
    fits = {k: l2.fit(X, y, loss=l2.Quantile(q), cov_type=k) for k in ("iid", "nid", "ker")}
    for f in fits.values():
        assert f.converged and f.bse is not None and np.all(np.isfinite(f.bse)) and f.dist == "t"
    np.testing.assert_allclose(fits["nid"].bse, fits["iid"].bse, rtol=0.4)
    np.testing.assert_allclose(fits["ker"].bse, fits["iid"].bse, rtol=0.4)
    assert l2.fit(X, y, loss=l2.Quantile(q), cov_type="none").stderr is None
    with pytest.raises(InputError, match="'ker', 'nid', 'iid', 'none'"):
        l2.fit(X, y, loss=l2.Quantile(q), cov_type="HC1")


@pytest.mark.parametrize("loss", [l2.Quantile(0.3), l2.Absolute()])
@pytest.mark.parametrize("scale", [1e-20, 1e-10, 1e-8, 1e10, 1e150])
@pytest.mark.parametrize("method", ["dual", "primal"])
def test_a_column_on_any_scale_is_fitted_like_the_others(loss, scale, method):
    # HiGHS drops matrix entries below ~1e-9: unscaled, a column of 1e-10 got coefficient 0 and "optimal"
    X, y = data(seed=3, n=200)
    ref = l2.fit(X, y, loss=loss, method=method)
    s = np.array([scale, 1.0, 1.0])
    f = l2.fit(X * s, y, loss=loss, method=method)
    assert f.status is Status.SUCCESS
    np.testing.assert_allclose(f.coef * s, ref.coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(f.stderr * s, ref.stderr, rtol=1e-9)
    assert f.intercept == pytest.approx(ref.intercept, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("target_scale", [1e-12, 1e50])
@pytest.mark.parametrize("weight", [1e-90, 1e-9, 1e90])
def test_small_or_large_weights_and_targets_give_the_same_lp_optimum(target_scale, weight):
    # unscaled, weights of 1e-9 gave coefficients 0 ("optimal") and 1e90 an "unbounded" failure
    X, y = data(seed=4, n=150)
    ref = l2.fit(X, y, loss=l2.Quantile(0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # standard errors of frequency weights summing below p are another story
        f = l2.fit(X, y * target_scale, loss=l2.Quantile(0.5), weights=np.full(y.size, weight), cov_type="none")
    assert f.status is Status.SUCCESS
    np.testing.assert_allclose(f.coef / target_scale, ref.coef, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- Frisch-Newton + verified vertex ("auto")
@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("p, weighted", [(3, False), (12, True)])
def test_frisch_newton_vertex_equals_highs(q, p, weighted):
    """The interior point ends at the exact LP vertex: same objective as HiGHS's dual to 1e-12, the same
    coefficients (a unique optimum with continuous data), at least rank residuals exactly 0."""
    X, y = data(11, n=1500, p=p)
    w = np.random.default_rng(2).uniform(0.2, 3.0, size=y.size) if weighted else None
    f = l2.fit(X, y, loss=l2.Quantile(q), weights=w)
    ref = l2.fit(X, y, loss=l2.Quantile(q), weights=w, method="dual")
    assert f.method == "frisch-newton" and f.status is Status.SUCCESS and "verified" in f.message
    assert objective(q, y, f.predict(X), w) == pytest.approx(objective(q, y, ref.predict(X), w), rel=1e-12)
    np.testing.assert_allclose(f.params, ref.params, rtol=1e-9, atol=1e-9)
    assert np.sum(f.residuals == 0.0) >= p + 1 or f.extra["n_zero_residuals"] >= p + 1


def test_a_variable_exactly_at_its_bound_ends_the_interior_point_without_warnings():
    """A CV fold on which Frisch-Newton hit a bound exactly (non-finite scaling, NaN in the Gram): the iteration
    stops there and the verified vertex step finishes, with no RuntimeWarning and the HiGHS optimum."""
    import json
    import pathlib

    case = json.loads((pathlib.Path(__file__).parents[2] / "fixtures" / "fn_bound_case.json").read_text())
    X, y = np.asarray(case["X"]), np.asarray(case["y"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        f = l2.fit(X, y, loss=l2.Absolute())
    ref = l2.fit(X, y, loss=l2.Absolute(), method="dual")
    assert f.status is Status.SUCCESS
    assert objective(0.5, y, f.predict(X), None) == pytest.approx(objective(0.5, y, ref.predict(X), None), rel=1e-12)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_frisch_newton_with_preprocessing_equals_highs(monkeypatch, q):
    """Portnoy-Koenker preprocessing (forced at 4000 rows) around the interior point: the same optimum."""
    from l2kit.linear.robust import _fn

    X, y = data(5, n=6000, p=4)
    w = np.random.default_rng(3).uniform(0.0, 2.0, size=y.size)
    ref = l2.fit(X, y, loss=l2.Quantile(q), weights=w, method="dual")
    monkeypatch.setattr(_fn, "FN_DIRECT_ROWS", 1000)
    f = l2.fit(X, y, loss=l2.Quantile(q), weights=w)
    assert f.method == "frisch-newton" and "Portnoy-Koenker" in f.message
    assert objective(q, y, f.predict(X), w) == pytest.approx(objective(q, y, ref.predict(X), w), rel=1e-12)
    np.testing.assert_allclose(f.params, ref.params, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("q", [0.1, 0.9])
def test_wide_design_preprocesses_at_quantregs_subsample_size(q):
    """12000 x 20: quantreg's m = sqrt(k) n^(2/3) (2400 rows) makes preprocessing pay (with (kn)^(2/3) it ran
    the interior point on all rows); the band's optimum is the plain LP's, heavy tails and skewed q included."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(12000, 20))
    y = 1.0 + X @ rng.normal(size=20) + (1 + 0.5 * np.abs(X[:, 0])) * rng.standard_t(3, size=12000)
    f = l2.fit(X, y, loss=l2.Quantile(q), cov_type="none")
    ref = l2.fit(X, y, loss=l2.Quantile(q), cov_type="none", method="dual")
    assert f.method == "frisch-newton" and "Portnoy-Koenker" in f.message and f.status is Status.SUCCESS
    assert objective(q, y, f.predict(X)) == pytest.approx(objective(q, y, ref.predict(X)), rel=1e-12)
    assert f.extra["objective"] == pytest.approx(ref.extra["objective"], rel=1e-12)
    np.testing.assert_allclose(f.params, ref.params, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_interior_point_preprocessing_globs_are_pseudo_observations(q, monkeypatch):
    """Heteroscedastic 200000 x 4 (the bench's design): the reduced problem with the globs as two
    pseudo-observations always has an interior start (the shifted right-hand side it replaced had none at
    q = 0.1 and 0.5 and doubled the band twice), and the answer is the LP optimum."""
    from l2kit.linear.robust import _fn

    rng = np.random.default_rng(1_000_005)
    X = rng.normal(size=(200_000, 4))
    y = 1.0 + X @ rng.normal(size=4) + (1 + 0.5 * np.abs(X[:, 0])) * rng.standard_t(3, size=X.shape[0])
    Xa = np.column_stack([np.ones(y.size), X])
    sizes = []
    fn = _fn.frisch_newton
    monkeypatch.setattr(_fn, "frisch_newton", lambda X, *a, **k: sizes.append(X.shape[0]) or fn(X, *a, **k))
    beta, _, rounds = _fn.solve_quantile_fn(Xa, y, None, q)
    monkeypatch.undo()
    m = int(np.sqrt(5) * y.size ** (2 / 3))
    assert beta is not None and rounds <= 2
    assert max(sizes[1:]) < 2 * 1.5 * m            # no round ran on a doubled band
    plain, _, _ = fn(Xa, y, np.ones(y.size), q)          # the interior point on all rows, then its vertex
    ref, ok = _fn.vertex(Xa, y, np.ones(y.size), q, plain)
    assert ok and objective(q, y, Xa @ beta) == pytest.approx(objective(q, y, Xa @ ref), rel=1e-12)


def test_narrow_band_with_a_straddling_glob_is_repaired():
    """A band too narrow puts a glob in the reduced problem's optimal basis (no optimal vertex among the band
    rows): its violators, found at the interior solution, join the band instead of giving up to HiGHS."""
    from l2kit.linear.robust import _fn

    X, y = data(8, n=60_000, p=3)
    Xa = np.column_stack([np.ones(y.size), X])
    beta, _, rounds = _fn.solve_quantile_fn(Xa, y, None, 0.5, band=0.05)
    ref = l2.fit(X, y, loss=l2.Quantile(0.5), method="dual")
    assert beta is not None and rounds > 1
    assert objective(0.5, y, Xa @ beta) == pytest.approx(objective(0.5, y, ref.predict(X)), rel=1e-12)


def test_frisch_newton_stops_at_the_rounding_floor():
    """An unreachable gap tolerance ends at the rounding floor within a few iterations, not at max_iter, and
    the vertex step still finds the optimum."""
    from l2kit.linear.robust._fn import frisch_newton, vertex

    X, y = data(9, n=4000, p=3)
    Xa = np.column_stack([np.ones(y.size), X])
    c = np.ones(y.size)
    beta, it, converged = frisch_newton(Xa, y, c, 0.9, tol=1e-18)
    _, it_default, ok = frisch_newton(Xa, y, c, 0.9)
    assert ok and not converged and it < it_default + 15
    exact, good = vertex(Xa, y, c, 0.9, beta)
    ref = l2.fit(X, y, loss=l2.Quantile(0.9), method="dual")
    assert good and objective(0.9, y, Xa @ exact) == pytest.approx(objective(0.9, y, ref.predict(X)), rel=1e-12)


@pytest.mark.parametrize("n", [1500, 60_000])          # the interior point on all rows; with preprocessing
@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_discrete_design_and_target_stay_on_the_exact_interior_point_path(n, q):
    """Dummy features and an integer target: many rows lie exactly on the optimal fit and most rows repeat.
    The basis comes from distinct rows, the dual values of every row on the fit are found by a small LP, and
    the vertex is the LP optimum (before, every such fit fell back to HiGHS)."""
    rng = np.random.default_rng(n)
    X = (rng.uniform(size=(n, 4)) < 0.3).astype(float)
    y = np.round(1 + X @ rng.normal(size=4) * 3 + rng.standard_t(3, size=n))
    f = l2.fit(X, y, loss=l2.Quantile(q), cov_type="none")
    ref = l2.fit(X, y, loss=l2.Quantile(q), cov_type="none", method="dual")
    assert f.method == "frisch-newton" and f.status is Status.SUCCESS
    assert f.extra["n_zero_residuals"] > 10 * X.shape[1]          # degenerate: far more than k rows on the fit
    assert objective(q, y, f.predict(X)) == pytest.approx(objective(q, y, ref.predict(X)), rel=1e-12)


def test_vertex_with_more_rows_on_the_fit_than_the_basis():
    """KKT at a degenerate vertex: the rows on the fit beyond the basis may take any dual value in their box,
    so a certificate exists exactly when the LP over them is feasible; a non-optimal fit through as many rows
    has none."""
    from l2kit.linear.robust._fn import _basis, vertex

    X = np.column_stack([np.ones(9), np.repeat([0.0, 1.0, 2.0], 3)])
    y = np.array([0.0, 1, 2, 1, 1, 1, 2, 3, 4])                  # the median line y = x holds 5 of the 9 rows
    c = np.ones(9)
    exact, ok = vertex(X, y, c, 0.5, np.array([0.0, 1.0]))
    assert ok and np.allclose(exact, [0.0, 1.0])
    assert list(_basis(X, np.zeros(9))) == [0, 3]                # row 1 and 2 repeat row 0's features
    _, bad = vertex(X, y, c, 0.5, np.array([1.0, 0.0]))          # y = 1 holds 4 rows but is not optimal
    assert not bad


def test_vertex_check_rejects_a_non_optimal_basis():
    """KKT at a vertex: the least-squares fit's nearest vertex is not the quantile optimum, and says so."""
    from l2kit.linear.robust._fn import frisch_newton, vertex

    X, y = data(6, n=500, p=3)
    Xa = np.column_stack([np.ones(y.size), X])
    c = np.ones(y.size)
    ols = np.linalg.lstsq(Xa, y, rcond=None)[0]
    assert vertex(Xa, y, c, 0.1, ols)[1] is False
    beta, it, ok = frisch_newton(Xa, y, c, 0.1)
    exact, good = vertex(Xa, y, c, 0.1, beta)
    assert ok and good and it < 50


def test_falls_back_to_highs_without_numba_or_when_a_check_fails(monkeypatch):
    from l2kit.linear.robust import _fn

    X, y = data(7, n=800)
    ref = l2.fit(X, y, loss=l2.Quantile(0.3), method="dual")
    monkeypatch.setattr(_fn, "_kernels", lambda: None)          # as with L2KIT_DISABLE_NUMBA
    f = l2.fit(X, y, loss=l2.Quantile(0.3))
    assert f.method.startswith("linprog") and f.converged
    np.testing.assert_allclose(f.params, ref.params, rtol=1e-9, atol=1e-9)
    monkeypatch.undo()
    monkeypatch.setattr(_fn, "vertex", lambda *a, **k: (None, False))
    g = l2.fit(X, y, loss=l2.Quantile(0.3))
    assert g.method.startswith("linprog") and g.converged
    np.testing.assert_allclose(g.params, ref.params, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------- several quantiles in one call
@pytest.mark.parametrize("n", [900, 30000])
def test_fit_quantiles_equals_separate_fits(n):
    """Shared work (design, scaling, the preprocessing subsample) changes nothing: each fit equals its
    own l2.fit, standard errors ("nid": two more LPs each) included."""
    X, y = data(8, n=n, p=3)
    w = np.random.default_rng(4).uniform(0.5, 1.5, size=y.size)
    qs = [0.9, 0.1, 0.5]
    fits = l2.fit_quantiles(X, y, qs, weights=w, cov_type="nid")
    assert [f.loss.q for f in fits] == qs
    for q, f in zip(qs, fits):
        one = l2.fit(X, y, loss=l2.Quantile(q), weights=w, cov_type="nid")
        assert f.status is Status.SUCCESS and f.method == one.method
        np.testing.assert_allclose(f.params, one.params, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(f.bse, one.bse, rtol=1e-10)
    assert fits[1].intercept < fits[2].intercept < fits[0].intercept


def test_fit_quantiles_builds_the_design_with_its_intercept_once(monkeypatch):
    """The intercept column (a copy of X) and the Gram matrix for the rank are made once for all quantiles."""
    from l2kit.linear._design import Design

    calls = []
    build = Design.with_intercept
    monkeypatch.setattr(Design, "with_intercept", lambda self, fit: calls.append(fit) or build(self, fit))
    X, y = data(8, n=3000, p=3)
    l2.fit_quantiles(X, y, [0.1, 0.5, 0.9], cov_type="none")
    assert calls == [True]


def test_fit_quantiles_refuses_bad_quantiles():
    X, y = data()
    with pytest.raises(InputError, match="between 0 and 1"):
        l2.fit_quantiles(X, y, [0.5, 1.2])
    with pytest.raises(InputError, match="q"):
        l2.fit_quantiles(X, y, [])


def test_lp_scaling_copies_X_only_for_extreme_columns():
    """Ordinary columns are not copied (memory at 1e7 rows); a column near 2^20 or 2^-20 still is, exactly."""
    rng = np.random.default_rng(3)
    Xa = np.column_stack([np.ones(50), rng.normal(size=(50, 2)) * [3.0, 1e4]])
    y = rng.normal(size=50)
    Xs, ys, _, sc = lp_mod.lp_scaling(Xa, y, None)
    assert Xs is Xa and np.all(sc.columns == 1.0)
    for big in (2.0**20 * 1.5, 2.0**-20 * 1.5):
        Xb = Xa * [1.0, 1.0, big / 1e4]
        Xs, _, _, sc = lp_mod.lp_scaling(Xb, y, None)
        assert Xs is not Xb and np.array_equal(Xs * sc.columns, Xb)
        assert sc.columns[2] != 1.0 and np.all(sc.columns[:2] == 1.0)
