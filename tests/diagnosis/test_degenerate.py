"""Degenerate data is a clear answer, never a crash: through ``l2.diagnose`` and ``l2kit report``."""

import os

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError
from l2kit.cli import main


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, X @ [1.0, 2.0] + rng.normal(size=n)


@pytest.mark.parametrize("extra, why", [
    (lambda X: np.ones(len(X)), "constant"),
    (lambda X: X[:, 0], "exact copy of 'x0'"),
    (lambda X: X[:, 0] - 2 * X[:, 1], "linear combination"),
])
def test_constant_duplicate_and_dependent_columns_are_left_out_with_a_note(extra, why):
    X, y = _data()
    d = l2.diagnose(np.c_[X, extra(X)], y, progress=False, cv="needed")
    ref = l2.diagnose(X, y, progress=False, cv="needed")
    assert d.feature_names == ("x0", "x1") and d.dropped[0][0] == "x2" and why in d.dropped[0][1]
    assert any("'x2' was left out" in r for r in d.reasons)
    assert d.recommendation.name == ref.recommendation.name
    np.testing.assert_allclose(d.fits["squared"].coef, ref.fits["squared"].coef, rtol=1e-10)


@pytest.mark.parametrize("sx, sy", [(1e20, 1.0), (1e-30, 1.0), (1e200, 1e250), (1.0, 1e-250)])
def test_huge_and_tiny_magnitudes_give_the_same_checks(sx, sy):
    X, y = _data()
    ref = l2.diagnose(X, y, progress=False, cv="needed")
    d = l2.diagnose(X * [sx, 1.0], y * sy, progress=False, cv="needed")
    assert d.recommendation.name == ref.recommendation.name
    for k, c in ref.checks.items():
        if c.tested:
            assert d.checks[k].p_value == pytest.approx(c.p_value, rel=1e-6, abs=1e-12), k
    assert d.notes and all("power of two" in s for s in d.notes)


def test_constant_target_and_too_few_rows_are_refused_with_the_reason():
    X, y = _data()
    with pytest.raises(InputError, match="constant target.*a constant needs no model"):
        l2.diagnose(X, np.full(40, 3.0), progress=False)
    for n in (3, 4):   # n <= p + 2
        with pytest.raises(InputError, match=f"got {n} rows.*too few degrees of freedom"):
            l2.diagnose(X[:n], y[:n], progress=False)
    # p + 3 rows of which one column is constant: 2 usable features need 5 rows, 5 are given
    d = l2.diagnose(np.c_[X[:5], np.ones(5)], y[:5], progress=False, folds=2)
    assert d.recommendation.name == "squared" and "tukey" in d.fit_errors


def _csv(path, X, y):
    cols = [f"x{j}" for j in range(X.shape[1])]
    rows = "".join(",".join(repr(float(v)) for v in (*x, t)) + "\n" for x, t in zip(X.tolist(), y.tolist()))
    path.write_text(",".join(cols) + ",y\n" + rows)
    return path


def test_report_cli_on_degenerate_tables(tmp_path, capsys):
    X, y = _data()
    ok = _csv(tmp_path / "dup.csv", np.c_[X, X[:, 1], np.full(40, 7.0)], y * 1e200)
    out = tmp_path / "r.html"
    assert main(["report", str(ok), "--target", "y", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "'x2' was left out" in text and "'x3' was left out" in text and os.path.exists(out)
    bad = _csv(tmp_path / "const.csv", X, np.full(40, 2.0))
    assert main(["report", str(bad), "--target", "y", "--out", str(tmp_path / "c.html")]) == 2
    err = capsys.readouterr().err
    assert "const.csv" in err and "constant target" in err and "Traceback" not in err
    assert not os.path.exists(tmp_path / "c.html")


def test_no_usable_feature_skips_the_feature_checks():
    # every column constant: Breusch-Pagan and VIF have nothing to test (they raised ZeroDivisionError/IndexError)
    d = l2.diagnose(np.ones((6, 2)), np.array([1.0, 5, 2, 8, 3, 9]), folds=2, progress=False)
    assert d.recommendation.name == "squared"
    assert d.checks["heteroscedasticity"].verdict == "skipped" and d.checks["collinearity"].verdict == "skipped"
