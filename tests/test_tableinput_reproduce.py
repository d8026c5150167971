"""The report's reproduce lines carry the recommended fit's options and give exactly the report's numbers."""

import json
import shlex

import numpy as np
import pytest

import l2kit as l2
from l2kit.cli import main

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
pytest.importorskip("formulaic")


def _leverage_outliers(n=100, seed=4):
    """10% gross outliers at high leverage: the diagnosis recommends the MM fit."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = 1.0 + 2.0 * x1 - x2 + rng.normal(size=n)
    bad = np.arange(10)
    x1[bad] += 6.0
    y[bad] -= 20.0
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y})


def _negative_binomial(n=300, seed=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    mu = np.exp(0.5 + 0.6 * x)
    y = rng.negative_binomial(1.5, 1.5 / (1.5 + mu))
    return pd.DataFrame({"x": x, "y": y})


def _heteroscedastic(n=300, seed=7):
    """Error SD proportional to x: squared error with HC3 standard errors (this seed's tails pass)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(1, 3, size=n)
    return pd.DataFrame({"x": x, "y": 1.0 + x + rng.normal(size=n) * x})


def _report_lines(capsys, path, out_html):
    rc = main(["report", str(path), "--target", "y", "--out", str(out_html)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    lines = out.splitlines()
    i = lines.index("reproduce the recommended fit:")
    return lines[i + 1].strip(), lines[i + 2].strip()


@pytest.mark.parametrize("make, name, needles", [
    (_leverage_outliers, "tukey", ("--method mm", "--seed 0", "method='mm'", "seed=0")),
    (_negative_binomial, "negative_binomial", ("negative_binomial_nll",)),
    (_heteroscedastic, "squared", ("--cov-type HC3", "cov_type='HC3'")),
])
def test_reproduced_fits_equal_the_recommended_fit(tmp_path, capsys, make, name, needles):
    df = make()
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    d = l2.diagnose("y ~ " + " + ".join(c for c in df.columns if c != "y"), data=df, progress=False)
    assert d.recommendation.name == name, (d.recommendation, d.verdict)
    ref = d.fits[name]   # the fit whose numbers the report shows
    cmd, py = _report_lines(capsys, path, tmp_path / "r.html")
    for s in needles:
        assert s in cmd + py, (s, cmd, py)
    assert main(shlex.split(cmd)[1:] + ["--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    scope: dict = {}
    exec(py, scope)
    api = scope["fit"]
    for got_params, got_se in ((list(cli["named_params"].values()), [cli["intercept_stderr"], *cli["stderr"]]),
                               (api.params, api.bse)):
        np.testing.assert_allclose(np.asarray(got_params, float)[:ref.params.size], ref.params, rtol=1e-9,
                                   atol=1e-12)
        np.testing.assert_allclose(np.asarray(got_se, float)[:ref.params.size], np.asarray(ref.bse, float),
                                   rtol=1e-9, atol=1e-12)


def test_fit_refuses_seed_without_mm(tmp_path, capsys):
    path = tmp_path / "d.csv"
    _heteroscedastic().to_csv(path, index=False)
    assert main(["fit", str(path), "--target", "y", "--seed", "1"]) == 2
    assert "--method mm" in capsys.readouterr().err
