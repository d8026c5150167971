"""Leverage, studentized residuals and Cook's distance against statsmodels' OLSInfluence."""

import numpy as np
import pytest
import statsmodels.api as sm

from l2kit.diagnosis.influence import influence


def _datasets():
    st = sm.datasets.stackloss.load_pandas()
    yield "stackloss", st.exog.to_numpy(float), st.endog.to_numpy(float)
    lo = sm.datasets.longley.load_pandas()
    yield "longley", lo.exog.to_numpy(float), lo.endog.to_numpy(float)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 5))
    y = X @ rng.normal(size=5) + rng.standard_t(2, size=80)
    yield "random", X, y


@pytest.mark.parametrize("name,X,y", list(_datasets()), ids=lambda v: v if isinstance(v, str) else "")
def test_influence_matches_statsmodels(name, X, y):
    ref = sm.OLS(y, sm.add_constant(X)).fit().get_influence()
    got = influence(X, y)
    # longley is famously ill-conditioned (cond ~ 5e9): even there QR keeps 1e-8 relative accuracy
    np.testing.assert_allclose(got.leverage, ref.hat_matrix_diag, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(got.studentized_internal, ref.resid_studentized_internal, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(got.studentized_external, ref.resid_studentized_external, rtol=1e-8, atol=1e-10)
    d_ref, p_ref = ref.cooks_distance
    np.testing.assert_allclose(got.cooks_distance, d_ref, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(got.cooks_pvalue, p_ref, rtol=1e-8, atol=1e-14)
    assert got.k == X.shape[1] + 1
    assert got.leverage.sum() == pytest.approx(got.k, rel=1e-10)


def test_rank_deficient_design_uses_the_rank():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 2))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])  # exactly collinear
    y = X[:, 0] - X[:, 1] + rng.normal(size=40)
    got = influence(X, y)
    ref = sm.OLS(y, sm.add_constant(X[:, :2])).fit().get_influence()
    assert got.k == 3
    np.testing.assert_allclose(got.leverage, ref.hat_matrix_diag, rtol=1e-8)
    np.testing.assert_allclose(got.cooks_distance, ref.cooks_distance[0], rtol=1e-7)


def test_stackloss_row_21_is_the_most_influential():
    st = sm.datasets.stackloss.load_pandas()
    inf = influence(st.exog.to_numpy(float), st.endog.to_numpy(float))
    assert int(np.argmax(inf.cooks_distance)) == 20
    assert list(inf.influential()) == [20]
