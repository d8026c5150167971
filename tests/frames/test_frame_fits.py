"""l2.fit on tables and formulas: coding, names, predict on new tables, missing values (statsmodels as reference)."""

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError

pd = pytest.importorskip("pandas")
pytest.importorskip("formulaic")


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(18)
    n = 60
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.uniform(1, 5, n), "x3": rng.normal(size=n),
                       "g": rng.choice(["a", "b", "c"], n), "flag": rng.random(n) < 0.4})
    df["y"] = (1 + 2 * df.x1 + (df.g == "b") * 1.5 - (df.g == "c") + np.log(df.x2) + 0.5 * df.x1 * df.x3
               + 0.3 * df.flag + rng.normal(scale=0.5, size=n))
    return df


def test_formula_matches_statsmodels(frame):
    smf = pytest.importorskip("statsmodels.formula.api")
    formula = "y ~ x1 + C(g) + np.log(x2) + x1:x3"
    ref = smf.ols(formula, frame).fit()
    f = l2.fit(formula.replace("np.log", "log"), data=frame)
    # patsy puts factor columns first; formulaic (like R) keeps the written order: compare by name
    ref_params = {n.replace("np.log", "log"): v for n, v in ref.params.items()}
    assert list(f.named_params) == ["Intercept", "x1", "C(g)[T.b]", "C(g)[T.c]", "log(x2)", "x1:x3"]
    order = list(f.named_params)
    np.testing.assert_allclose(f.params, [ref_params[k] for k in order], rtol=1e-10)
    bse = dict(zip(ref_params, ref.bse))
    np.testing.assert_allclose(f.bse, [bse[k] for k in order], rtol=1e-8)
    assert f.named_params["C(g)[T.b]"] == pytest.approx(ref.params["C(g)[T.b]"], rel=1e-10)


def test_plain_frame_codes_strings_bools_categoricals(frame):
    smf = pytest.importorskip("statsmodels.formula.api")
    X = frame[["x1", "g", "flag"]].assign(g=frame.g.astype(pd.CategoricalDtype(["c", "a", "b"])))
    f = l2.fit(X, frame["y"])
    # the categorical's own order: "c" is the reference level; bool is 0/1 under its own name
    assert f.feature_names == ("x1", "g[T.a]", "g[T.b]", "flag")
    ref = smf.ols("y ~ x1 + C(g, levels=['c', 'a', 'b']) + flag", frame.assign(flag=frame.flag.astype(float))).fit()
    # statsmodels: Intercept, the factor's columns, x1, flag
    np.testing.assert_allclose(f.params[[0, 2, 3, 1, 4]], ref.params.to_numpy(), rtol=1e-10)


def test_polars_and_dict_give_the_pandas_fit(frame):
    pl = pytest.importorskip("polars")
    a = l2.fit("y ~ x1 + g", data=frame)
    b = l2.fit("y ~ x1 + g", data=pl.from_pandas(frame))
    c = l2.fit("y ~ x1 + g", data={k: frame[k].to_numpy() for k in ("y", "x1", "g")})
    np.testing.assert_allclose(b.params, a.params, rtol=1e-13)
    np.testing.assert_allclose(c.params, a.params, rtol=1e-13)
    with pytest.raises(InputError, match=r"LazyFrame.*\.collect\(\)"):
        l2.fit("y ~ x1", data=pl.from_pandas(frame).lazy())


def test_nullable_dtypes(frame):
    X = frame[["x1", "x2"]].astype("Float64").assign(k=pd.array(np.arange(len(frame)) % 7, dtype="Int64"))
    f = l2.fit(X, frame["y"])
    ref = l2.fit(np.column_stack([frame.x1, frame.x2, np.arange(len(frame)) % 7]), frame["y"].to_numpy())
    np.testing.assert_allclose(f.params, ref.params, rtol=1e-12)


def test_predict_matches_columns_by_name(frame):
    X = frame[["x1", "x2", "g"]]
    f = l2.fit(X, frame["y"])
    swapped = X[["g", "x2", "x1"]]
    np.testing.assert_allclose(f.predict(swapped), f.predict(X), rtol=1e-14)
    np.testing.assert_allclose(f.predict(X), frame["y"].to_numpy() - f.residuals, rtol=1e-10)
    with pytest.raises(InputError, match="no column 'x2'"):
        f.predict(X.drop(columns="x2"))
    with pytest.raises(InputError, match="levels seen when fitting"):
        f.predict(X.assign(g="zz"))
    with pytest.raises(InputError, match=r"missing values per column: x1: 1"):
        f.predict(X.assign(x1=np.r_[np.nan, X.x1.to_numpy()[1:]]))
    with pytest.raises(InputError, match="made from arrays"):
        l2.fit(X[["x1"]].to_numpy(), frame["y"].to_numpy()).predict(X[["x1"]])


def test_missing_raise_lists_columns_and_drop_counts(frame):
    df = frame.copy()
    df.loc[[3, 7], "x1"] = np.nan
    df.loc[[7, 9, 11], "g"] = None
    with pytest.raises(InputError, match=r"4 row\(s\) \(per column: x1: 2, g: 3.*missing='drop'"):
        l2.fit("y ~ x1 + g", data=df)
    f = l2.fit("y ~ x1 + g", data=df, missing="drop")
    ref = l2.fit("y ~ x1 + g", data=df.drop(index=[3, 7, 9, 11]))
    np.testing.assert_allclose(f.params, ref.params, rtol=1e-13)
    assert f.n_dropped == 4 and dict(f.missing.by_column) == {"x1": 2, "g": 3}
    assert f.missing.dropped_rows == (3, 7, 9, 11)
    assert "4 row(s) with missing values dropped" in f.summary()
    # an unused column's missing values do not drop rows
    assert l2.fit("y ~ x3", data=df).n_dropped == 0
    # weights follow the rows kept
    w = np.arange(1.0, len(df) + 1)
    fw = l2.fit("y ~ x1 + g", data=df, weights=w, missing="drop")
    keep = np.setdiff1d(np.arange(len(df)), [3, 7, 9, 11])
    np.testing.assert_allclose(fw.params, l2.fit("y ~ x1 + g", data=df.iloc[keep], weights=w[keep]).params,
                               rtol=1e-12)


def test_missing_target_counted_in_plain_frames(frame):
    y = frame["y"].astype("Float64").copy()
    y.iloc[5] = pd.NA
    with pytest.raises(InputError, match=r"y: 1"):
        l2.fit(frame[["x1"]], y)
    assert l2.fit(frame[["x1"]], y, missing="drop").n_dropped == 1


def test_intercept_from_the_formula_and_labels(frame):
    f = l2.fit("y ~ x1 - 1", data=frame)
    assert not f.fit_intercept and f.feature_names == ("x1",)
    with pytest.raises(InputError, match="'- 1'"):
        l2.fit("y ~ x1", data=frame, fit_intercept=False)
    labelled = frame.set_index(pd.Index([f"r{i}" for i in range(len(frame))]))
    assert l2.fit("y ~ x1", data=labelled).row_labels[:2] == ("r0", "r1")
    assert l2.fit("y ~ x1", data=frame).row_labels is None


def test_bad_tables_are_explained(frame):
    with pytest.raises(InputError, match="no column 'nope'"):
        l2.fit("y ~ nope", data=frame)
    with pytest.raises(InputError, match="pass data=df"):
        l2.fit("y ~ x1")
    with pytest.raises(InputError, match="Wilkinson formula"):
        l2.fit("y ~ (x1", data=frame)
    with pytest.raises(InputError, match=r"identifier.*set_index\('id'\)"):
        l2.fit(frame[["x1"]].assign(id=[f"s{i}" for i in range(len(frame))]), frame["y"])
    with pytest.raises(InputError, match="columns of one length"):
        l2.fit("y ~ x", data={"y": [1.0, 2.0, 3.0], "x": [1.0, 2.0]})
    with pytest.raises(InputError, match="numeric target"):
        l2.fit(frame[["x1"]], frame["g"])


def test_diagnose_takes_a_formula(frame):
    df = frame.set_index(pd.Index([f"r{i}" for i in range(len(frame))]))
    d = l2.diagnose("y ~ x1 + C(g)", data=df, progress=False)
    assert d.feature_names == ("x1", "C(g)[T.b]", "C(g)[T.c]") and d.target == "y"
    assert d.row_labels[0] == "r0" and d.formula == "y ~ x1 + C(g)"
    ref = l2.fit("y ~ x1 + C(g)", data=df)
    np.testing.assert_allclose(d.fits["squared"].params, ref.params, rtol=1e-12)


def test_plain_numeric_formula_fast_path_equals_formulaic():
    # a formula of plain numeric columns is copied straight into the design (no formulaic frames): same fit
    rng = np.random.default_rng(4)
    df = pd.DataFrame(rng.normal(size=(1000, 3)), columns=["a", "b", "c"]).assign(k=np.arange(1000) % 9)
    df["y"] = df.a - 2 * df.b + 0.1 * df.k + rng.normal(size=1000)
    f = l2.fit("y ~ a + b + k", data=df)
    ref = l2.fit(df[["a", "b", "k"]].to_numpy(), df["y"].to_numpy())
    np.testing.assert_allclose(f.params, ref.params, rtol=1e-12)
    assert f.feature_names == ("a", "b", "k")
    np.testing.assert_allclose(f.predict(df[["k", "b", "a"]].iloc[:5]), ref.predict(df[["a", "b", "k"]].to_numpy()[:5]),
                               rtol=1e-12)
    with pytest.raises(InputError, match="no column 'b'"):
        f.predict(df[["a", "k"]])
    g = l2.fit("y ~ a + C(k)", data=df)   # factors still go through formulaic, levels from every row
    assert g.feature_names[-1] == "C(k)[T.8]"
