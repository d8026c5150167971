"""The self-contained HTML report: content, no network, atomic writes."""

import os
import re

import numpy as np
import pytest
from markupsafe import escape

import l2kit as l2
from l2kit import datasets
from l2kit.diagnosis import html


@pytest.fixture(scope="module")
def diag():
    X, y, names = datasets.load("stackloss")
    return l2.diagnose(X, y, feature_names=names, target="stackloss", progress=False)


@pytest.fixture(scope="module")
def page(diag):
    return html.render(diag, title="stackloss test")


def test_report_holds_table_recommendation_reasons_and_plots(diag, page):
    assert "<title>stackloss test</title>" in page
    for label in ("Squared (OLS)", "Huber", "Tukey MM", "L1 (Absolute)"):
        assert f">{label}</th>" in page
    # every coefficient and standard error of the OLS column is in the table
    f = diag.fits["squared"]
    for est, se in zip(f.params, f.bse):
        assert html._num(est) in page and html._num(se, 3) in page
    assert repr(diag.recommendation.loss) in page
    for r in diag.reasons:
        assert str(escape(r)) in page
    for ident in ("residuals", "qq", "influence", "losses", "cv"):
        assert f'id="fig-{ident}"' in page
    svgs = re.findall(r"<svg\b[^>]*>", page)
    assert len(svgs) >= 5
    assert all('viewBox="' in s for s in svgs)


def test_report_is_self_contained(page):
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "@import" not in page
    # the only URLs are XML namespaces inside the inline SVG, which browsers never fetch
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert not re.search(r'(src|href)="(?!#|data:)', page), "external resource reference"


def test_to_html_writes_atomically(diag, tmp_path):
    out = tmp_path / "report.html"
    assert diag.to_html(out) == str(out)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert os.listdir(tmp_path) == ["report.html"]


def test_failed_render_leaves_no_file(diag, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("render failed")

    monkeypatch.setattr(html, "context", boom)
    with pytest.raises(RuntimeError):
        diag.to_html(tmp_path / "r.html")
    assert os.listdir(tmp_path) == []


def test_failed_write_leaves_no_temp_file(diag, tmp_path, monkeypatch):
    import l2kit.io.atomic as atomic

    real = os.replace

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", fail)
    with pytest.raises(OSError):
        diag.to_html(tmp_path / "r.html")
    monkeypatch.setattr(atomic.os, "replace", real)
    assert os.listdir(tmp_path) == []


def test_count_report_has_the_count_histogram():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    mu = np.exp(0.4 + X @ [0.5, -0.3])
    y = rng.negative_binomial(1.0, 1.0 / (1.0 + mu)).astype(float)
    d = l2.diagnose(X, y, progress=False, folds=3)
    page = html.render(d)
    assert 'id="fig-counts"' in page
    assert "Observed vs fitted counts" in page or "not drawn" in page
    assert "Pearson chi2/df" in page or "Overdispersion" in page
