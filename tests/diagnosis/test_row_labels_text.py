"""The diagnosis' reasons and verdict name rows as the summary and report do: by the table's row labels."""

import numpy as np
import pytest

import l2kit as l2

pd = pytest.importorskip("pandas")


def _frame_with_outliers(n=80, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 1.0 + 2.0 * x + rng.normal(size=n)
    y[[10, 40]] += 15.0    # two gross outliers in y
    labels = [f"plant{k:03d}" for k in range(n)]
    return pd.DataFrame({"x": x, "y": y}, index=pd.Index(labels, name="id")), labels


def test_reasons_and_verdict_use_row_labels():
    df, labels = _frame_with_outliers()
    d = l2.diagnose("y ~ x", data=df, progress=False)
    assert d.checks["outliers"].rejected and {10, 40} <= set(map(int, d.outliers))
    reason = d.checks["outliers"].reason
    assert "plant010" in reason and "plant040" in reason and "(row labels)" in reason, reason
    assert "from 1" not in reason
    text = " ".join([*d.verdict, *d.reasons])
    assert "plant010" in text, text
    assert "outliers (row labels): " in d.summary()
    assert "plant010" in d.summary()


def test_positions_from_one_without_labels():
    df, _ = _frame_with_outliers()
    d = l2.diagnose(df[["x"]].to_numpy(), df["y"].to_numpy(), progress=False)
    reason = d.checks["outliers"].reason
    assert "Rows (from 1): " in reason and "11" in reason and "41" in reason, reason


def test_html_outlier_sentence_names_labels(tmp_path):
    df, _ = _frame_with_outliers()
    d = l2.diagnose("y ~ x", data=df, progress=False)
    html = open(d.to_html(tmp_path / "r.html")).read()
    assert "outliers (row labels): plant010" in html
    assert "rows counted from 1" not in html
