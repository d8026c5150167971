"""What reading the rendered reports of stackloss, quine and a 1e5-row table showed: text that disagreed."""

import numpy as np
import pytest

import l2kit as l2
from l2kit.diagnosis.html import _pills


def _positive_left_skewed(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = 20.0 + X @ [1.0, -1.0] - rng.gamma(2.0, 1.0, size=n)   # positive target, left-skewed errors
    return X, y


def test_skewness_reason_does_not_call_left_skew_right_skewed():
    X, y = _positive_left_skewed()
    d = l2.diagnose(X, y, progress=False, cv="needed")
    c = d.checks["skewness"]
    assert c.tested and c.statistic < 0 and not c.rejected
    assert "are right-skewed" not in c.reason and f"{c.statistic:.2f}" in c.reason, c.reason


def test_pill_reads_p_below_not_p_equals_below():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = X @ [1.0, 2.0] + rng.normal(size=200)
    y[:20] += 40.0
    d = l2.diagnose(X, y, progress=False, cv="needed")
    text = [t for t, _ in _pills(d)]
    out = next(t for t in text if "outlier" in t)
    assert "Holm p < 1e-16" in out and "= <" not in out, out
    assert all("= <" not in t for t in text)


def test_count_recommendation_does_not_advise_a_robust_loss():
    """quine-like overdispersed counts: NB recommended; the OLS-residual checks' advice would contradict it."""
    rng = np.random.default_rng(2)
    n = 300
    x = rng.normal(size=n)
    mu = np.exp(1.5 + 0.8 * x)
    y = rng.negative_binomial(1.2, 1.2 / (1.2 + mu)).astype(float)
    d = l2.diagnose(x[:, None], y, progress=False)
    assert d.recommendation.name == "negative_binomial"
    assert d.checks["heavy_tails"].rejected   # the OLS residuals are heavy-tailed, as counts are
    steps = " ".join(d.next_steps)
    assert "robust loss" not in steps and "HC3" not in steps and "MM fit" not in steps, d.next_steps
    assert "negative binomial" in steps


def test_reproduce_prints_no_default_theta(tmp_path):
    """The NB candidate's theta=1.0 is the start of its estimate: printing it beside theta = 1.27 disagreed."""
    pd = pytest.importorskip("pandas")
    from l2kit.tableinput import loss_spec, prepare, reproduce

    assert loss_spec(l2.get_loss("negative_binomial_nll")) == "negative_binomial_nll"
    assert loss_spec(l2.get_loss("huber", delta=1.345)) == "huber(delta=1.345)"
    path = tmp_path / "c.csv"
    pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 3, 2]}).to_csv(path, index=False)
    cmd, py = reproduce(prepare(str(path), target="y"), l2.get_loss("negative_binomial_nll"), "drop")
    assert "theta" not in cmd and "theta" not in py


def test_quantile_residuals_are_uniform_under_the_model_and_not_otherwise():
    """Dunn & Smyth: uniform under the true model (KS at level 0.001), far from it under the wrong one."""
    from scipy import stats

    from l2kit.diagnosis._fits import quantile_residuals

    rng = np.random.default_rng(7)
    n, theta, pi = 4000, 1.5, 0.3
    mu = np.exp(rng.normal(1.0, 0.5, size=n))
    y_nb = rng.negative_binomial(theta, theta / (theta + mu)).astype(float)
    y_zi = np.where(rng.random(n) < pi, 0.0, y_nb)
    assert stats.kstest(quantile_residuals(y_nb, mu, theta, rng=rng), "uniform").pvalue > 1e-3
    assert stats.kstest(quantile_residuals(y_zi, mu, theta, pi, rng=rng), "uniform").pvalue > 1e-3
    assert stats.kstest(quantile_residuals(y_nb, mu, rng=rng), "uniform").pvalue < 1e-6   # Poisson: wrong


def test_count_report_has_the_quantile_residual_panel(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=300)
    mu = np.exp(1.5 + 0.8 * x)
    y = rng.negative_binomial(1.2, 1.2 / (1.2 + mu)).astype(float)
    d = l2.diagnose(x[:, None], y, progress=False)
    from l2kit.diagnosis.panels import panel_plots

    panels = {ident: (caption, svg) for ident, caption, svg, _ in panel_plots(d)}
    assert "quantres" in panels and panels["quantres"][1].lstrip().startswith("<svg"), panels.get("quantres")
    assert "rootogram" in panels and "not drawn" not in panels["quantres"][0]


def test_labels_at_the_right_edge_are_placed_inside_the_axes():
    """mtcars' influence panel cut 'Merc 230' and 'Ford Pantera L' at the right edge of the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from l2kit.diagnosis._rows import place_labels

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    assert place_labels(ax, [0.99, 0.5, 0.5], [0.5, 0.5, 0.99], ["Ford Pantera L", "Merc 230", "Fiat 128"]) == 0
    ha = {t.get_text(): t.get_ha() for t in ax.texts}
    assert ha == {"Ford Pantera L": "right", "Merc 230": "left", "Fiat 128": "left"}
    fig.canvas.draw()
    frame = ax.get_window_extent()
    for t in ax.texts:
        box = t.get_window_extent()
        assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1 and box.y1 <= frame.y1 + 1, t.get_text()
    plt.close(fig)
