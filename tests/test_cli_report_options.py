"""``l2kit report`` / ``l2kit fit`` options from issues 17 and 18's gaps: --ordered, --family, count losses."""

import numpy as np
import pytest

from l2kit.cli import main

pytest.importorskip("pyarrow")


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _check_line(out: str, name: str) -> str:
    return next(ln for ln in out.splitlines() if ln.strip().startswith(name))


def _ar1_table(tmp_path, n=120, rho=0.8, seed=3):
    """A linear model with AR(1) errors (Durbin-Watson far below 2), rows in time order."""
    rng = np.random.default_rng(seed)
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = rho * e[t - 1] + rng.normal()
    x = rng.normal(size=n)
    y = 1.0 + 2.0 * x + e
    path = tmp_path / "ar1.csv"
    path.write_text("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    return path


def test_report_ordered_runs_the_serial_correlation_check(tmp_path, capsys):
    path = _ar1_table(tmp_path)
    rc, out, _ = run(capsys, "report", path, "--target", "y", "--out", tmp_path / "a.html")
    assert rc == 0 and "skipped" in _check_line(out, "serial_correlation")
    rc, out, _ = run(capsys, "report", path, "--target", "y", "--ordered", "--out", tmp_path / "b.html")
    line = _check_line(out, "serial_correlation")
    assert rc == 0 and "reject" in line, line
    assert "HAC" in out   # serial correlation changes the standard errors, not the loss


def test_report_help_documents_ordered(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    assert "--ordered" in capsys.readouterr().out
