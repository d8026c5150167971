"""Every figure is a well-formed inline SVG with a real size; expected count frequencies match scipy."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from scipy import stats

import l2kit as l2
from l2kit import datasets
from l2kit.diagnosis import plots
from l2kit.linear import Fit, Status


def _fit(loss, coef, intercept):
    coef = np.asarray(coef, float)
    return Fit(coef=coef, intercept=intercept, stderr=None, intercept_stderr=None, cov_params=None, rank=1,
               scale=1.0, loglike=None, status=Status.SUCCESS, message="test", n_iter=1, residuals=None, n_obs=4,
               df_resid=2.0, loss=loss, method="test", link="log")


@pytest.fixture(scope="module")
def diag():
    X, y, names = datasets.load("stackloss")
    return l2.diagnose(X, y, feature_names=names, progress=False, folds=3)


@pytest.mark.parametrize("fn", [plots.plot_residuals, plots.plot_qq, plots.plot_influence, plots.plot_loss_curves,
                                plots.plot_cv])
def test_plot_is_inline_svg(diag, fn):
    svg = fn(diag)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    w, h = map(float, root.attrib["viewBox"].split()[2:])
    assert w > 300 and h > 150
    assert "width" not in root.attrib            # the page scales it; the viewBox keeps the aspect
    assert "<metadata" not in svg and "<image" not in svg   # small, vector-only for 21 rows
    assert len(re.findall(r"<path", svg)) > 20


def test_all_plots_do_not_touch_pyplot_state(diag):
    import sys

    before = "matplotlib.pyplot" in sys.modules
    figs = plots.all_plots(diag)
    assert [f[0] for f in figs] == ["residuals", "qq", "influence", "losses", "cv"]
    assert all(f[2].startswith("<svg") for f in figs)
    assert ("matplotlib.pyplot" in sys.modules) == before


def test_outliers_are_labelled_in_the_residual_plot(diag):
    svg = plots.plot_residuals(diag)
    # labels are text rendered as paths; the glyph ids for digits 1, 2 and 3/4 must be defined
    assert svg.count("<use") > 10


def test_expected_count_frequencies_match_scipy():
    class D:
        pass

    d = D()
    d.X = np.array([[0.0], [1.0], [2.0], [0.5]])
    d.fits = {"poisson": _fit(l2.PoissonNLL(), [0.3], 0.2),
              "negative_binomial": _fit(l2.NegativeBinomialNLL(theta=1.7), [0.3], 0.2),
              "zinb": _fit(l2.ZINB(theta=1.7, pi_logit=-0.5), [0.3], 0.2)}
    mu = np.exp(0.2 + 0.3 * d.X[:, 0])
    got = plots.expected_count_frequencies(d, 6)
    k = np.arange(7)
    np.testing.assert_allclose(got["poisson"], stats.poisson.pmf(k[None], mu[:, None]).sum(0), rtol=1e-12)
    nb = stats.nbinom.pmf(k[None], 1.7, 1.7 / (1.7 + mu[:, None]))
    np.testing.assert_allclose(got["negative_binomial"], nb.sum(0), rtol=1e-12)
    pi = 1 / (1 + np.exp(0.5))
    zi = (1 - pi) * nb
    zi[:, 0] += pi
    np.testing.assert_allclose(got["zinb"], zi.sum(0), rtol=1e-12)
