"""Embedded datasets against the copies statsmodels ships (independent source of the same data)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from l2kit import InputError, datasets


def test_stackloss_matches_statsmodels():
    ref = sm.datasets.stackloss.load_pandas().data
    X, y, names = datasets.load("stackloss")
    assert names == ("airflow", "watertemp", "acidconc")
    np.testing.assert_array_equal(X, ref[["AIRFLOW", "WATERTEMP", "ACIDCONC"]].to_numpy(float))
    np.testing.assert_array_equal(y, ref["STACKLOSS"].to_numpy(float))


def test_longley_matches_statsmodels_and_nist_ols():
    ref = sm.datasets.longley.load_pandas()
    ds = datasets.load("longley")
    np.testing.assert_array_equal(ds.X, ref.exog.to_numpy(float))
    np.testing.assert_array_equal(ds.y, ref.endog.to_numpy(float))
    assert ds.target == "totemp"
    # NIST StRD certified intercept of the Longley regression
    res = sm.OLS(ds.y, sm.add_constant(ds.X)).fit()
    assert res.params[0] == pytest.approx(-3482258.63459582, rel=1e-6)


def test_randhie_is_a_documented_sample_of_the_statsmodels_rows():
    full = sm.datasets.randhie.load_pandas().data
    ds = datasets.load("randhie")
    idx = np.sort(np.random.default_rng(20260101).choice(len(full), 1000, replace=False))
    cols = ["lncoins", "idp", "lpi", "fmde", "physlm", "disea", "hlthg", "hlthf", "hlthp"]
    assert ds.column_names == tuple(cols) and ds.target == "mdvis"
    np.testing.assert_allclose(ds.X, full.iloc[idx][cols].to_numpy(float), rtol=0, atol=0)
    np.testing.assert_array_equal(ds.y, full.iloc[idx]["mdvis"].to_numpy(float))
    assert ds.info.kind == "counts" and (ds.y == 0).any() and np.all(ds.y == np.round(ds.y))


def test_every_dataset_has_provenance_and_target_last():
    infos = datasets.list_datasets()
    assert [i.name for i in infos] == ["stackloss", "longley", "randhie"]
    for info in infos:
        assert info.source and "public domain" in info.licence
        ds = datasets.load(info.name)
        header = pd.read_csv(ds.path, nrows=0).columns.tolist()
        assert header[-1] == ds.target == info.target
        assert len(ds) == 3 and ds.name == info.name
        assert not ds.X.flags.writeable


def test_readme_documents_every_dataset():
    import os

    text = open(os.path.join(os.path.dirname(datasets.__file__), "README.md")).read()
    for info in datasets.list_datasets():
        assert f"## {info.name}" in text


def test_unknown_name_suggests():
    with pytest.raises(InputError, match="did you mean 'longley'"):
        datasets.load("longly")
