"""The report leads with the verdict (recommendation, the checks that drove it, what to do next), and the
outlier badge never disagrees with the text."""

import re
from html import escape

import numpy as np
import pytest

import l2kit as l2
from l2kit import datasets
from l2kit.diagnosis import html


@pytest.fixture(scope="module")
def cases():
    X, y, names = datasets.load("stackloss")
    rng = np.random.default_rng(4)
    Xg = rng.normal(size=(60, 2))
    yg = Xg @ [1.0, -1.0] + rng.normal(size=60)
    yo = yg.copy()
    yo[[3, 17, 40]] += 12.0
    return {"stackloss": l2.diagnose(X, y, feature_names=names, progress=False),
            "gaussian": l2.diagnose(Xg, yg, progress=False), "outliers": l2.diagnose(Xg, yo, progress=False)}


@pytest.mark.parametrize("name", ["stackloss", "gaussian", "outliers"])
def test_verdict_comes_first_and_fits_one_screen(cases, name):
    d = cases[name]
    page = html.render(d)
    rec = page.index('id="recommendation"')
    assert rec < page.index('id="checks"') < page.index('id="comparison"')
    top = page[rec:page.index("</section>", rec)]
    for v in (*d.verdict, *d.next_steps):
        assert str(escape(v)) in top
    assert 2 <= len(d.verdict) <= 4 and len(d.next_steps) <= 6
    text = "\n".join(d.verdict)
    if d.recommendation.name == "squared":
        assert "squared error is fine here" in text
    else:   # the check that drove it is cited with its numbers
        driver = [c for c in d.checks.values() if c.rejected and c.reason in d.verdict]
        assert driver and re.search(r"p [=<] [0-9.e-]+", driver[0].reason)


@pytest.mark.parametrize("name", ["stackloss", "gaussian", "outliers"])
def test_outlier_badge_and_text_agree(cases, name):
    d = cases[name]
    page = html.render(d)
    pills = re.findall(r'<span class="pill (\w+)">([^<]*)</span>', page)
    badge = [(cls, t) for cls, t in pills if "outlier" in t]
    c = d.checks["outliers"]
    assert len(badge) == 1
    assert (badge[0][0] == "bad") == c.rejected == bool(d.outliers.size)
    if c.rejected:
        assert badge[0][1].startswith(f"{d.outliers.size} outlier")
        rows = ", ".join(str(i + 1) for i in d.outliers)
        assert f"outliers (rows counted from 1): {rows}" in page and f"Rows (from 1): {rows}" in c.reason
    else:
        assert "outliers (rows counted from 1)" not in page


def test_the_outlier_case_is_robust_and_lists_the_rows(cases):
    d = cases["outliers"]
    assert d.recommendation.robust and d.outliers.tolist() == [3, 17, 40]


def test_every_check_is_in_the_checks_table(cases):
    d = cases["stackloss"]
    rows = html.context(d)["checks"]
    assert [r[0] for r in rows] == [k.replace("_", " ") for k in d.checks]
    assert {"normality", "heavy tails", "outliers", "linearity", "heteroscedasticity", "serial correlation",
            "collinearity", "skewness"} <= {r[0] for r in rows}
