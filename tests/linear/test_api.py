"""The fit dispatcher: loss resolution and refusal of unfittable losses and bad designs."""

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError
from l2kit.linear._design import validate_design


def test_unknown_loss_name_lists_names():
    with pytest.raises(InputError, match="squared"):
        l2.fit(np.ones((3, 1)), np.ones(3), loss="no_such_loss")


def test_non_loss_object_refused():
    with pytest.raises(InputError, match="loss object"):
        l2.fit(np.ones((3, 1)), np.ones(3), loss=42)


def test_y_missing_refused():
    with pytest.raises(InputError, match="y"):
        l2.fit(np.ones((3, 1)))


def test_design_refuses_column_vector_target():
    with pytest.raises(InputError, match=r"y.reshape\(-1\)"):
        validate_design(np.ones((3, 1)), np.ones((3, 1)))


def test_design_reports_nonfinite_count_and_first_row():
    X = np.ones((5, 2))
    X[3, 1] = np.nan
    X[4, 0] = np.inf
    with pytest.raises(InputError) as e:
        validate_design(X, np.ones(5))
    assert "2 NaN/inf value(s) in 2 row(s), first at row 3, column 1" in str(e.value)


def test_design_refuses_negative_and_zero_weights():
    with pytest.raises(InputError, match="first at row 1"):
        validate_design(np.ones((3, 1)), np.ones(3), np.array([1.0, -2.0, 1.0]))
    with pytest.raises(InputError, match="all-zero"):
        validate_design(np.ones((3, 1)), np.ones(3), np.zeros(3))


def test_design_length_mismatch():
    with pytest.raises(InputError, match="3 rows like X"):
        validate_design(np.ones((3, 1)), np.ones(4))


def test_design_takes_pandas_column_names():
    pd = pytest.importorskip("pandas")
    d = validate_design(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 5.0]}), [1.0, 2.0])
    assert d.feature_names == ("a", "b")


def test_ragged_or_non_numeric_sequences_are_refused_with_the_library_error():
    # a ragged list for X gave NumPy's raw "inhomogeneous shape" ValueError
    with pytest.raises(InputError, match="ragged list") as exc:
        l2.fit([[1.0, 2.0], [3.0]], [1.0, 2.0])
    assert exc.value.argument == "X"
    with pytest.raises(InputError, match="ragged list"):
        l2.fit([[1.0], [2.0], [3.0]], [1.0, [2.0], 3.0])
    with pytest.raises(InputError, match="weights"):
        l2.fit([[1.0], [2.0], [3.0]], [1.0, 2.0, 3.0], weights=["a", "b", "c"])


@pytest.mark.parametrize("loss", ["squared", "huber", "quantile", "poisson_nll"])
@pytest.mark.parametrize("scale", [5e-324, 1e-300, 1e200, 1e300])
def test_weights_on_an_extreme_scale_are_blamed_not_the_columns(loss, scale):
    # 1e300 gave "rescale the columns"; 5e-324 gave "success" with wrong coefficients and NaN standard errors
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = rng.poisson(3.0, size=40).astype(float)
    w = np.full(40, scale)
    with pytest.raises(InputError) as exc:
        l2.fit(X, y, loss=loss, weights=w)
    assert exc.value.argument == "weights" and "largest weight" in exc.value.got
    assert "divide the weights by their largest value" in exc.value.fix
    if loss == "squared":   # the chunked path too
        with pytest.raises(InputError, match="largest weight"):
            l2.fit((X[i:i + 10], y[i:i + 10], w[i:i + 10]) for i in range(0, 40, 10))
    ref = l2.fit(X, y, loss=loss, weights=w / w.max())
    assert ref.converged


def test_nan_is_refused_without_columns_and_for_a_wide_design():
    # found by the property tests: an intercept of NaN with status "success" (no columns), or NaN
    # coefficients with "max_iter" (fewer rows than columns, the SVD path)
    for X, y in ((np.empty((3, 0)), np.array([1.0, np.nan, 2.0])),
                 (np.random.default_rng(0).normal(size=(2, 3)), np.array([np.nan, 1.0]))):
        with pytest.raises(InputError, match="finite values") as exc:
            l2.fit(X, y)
        assert exc.value.argument == "y"


@pytest.mark.parametrize("loss", ["huber", "tukey", "quantile", "poisson_nll", "cauchy"])
def test_values_whose_squares_overflow_are_refused_by_the_other_solvers(loss):
    # found by the file fuzzer: Huber on a value of 1.8e154 raised OverflowError in the sandwich covariance
    X = np.array([[0.0], [0.0], [1.826077013925236e154], [0.0], [1.0]])
    y = np.array([0.0, 2.0, 0.0, 2.0, 1.0])
    with pytest.raises(InputError, match="magnitude at most 1e\\+152") as exc:
        l2.fit(X, y, loss=loss)
    assert exc.value.argument == "X" and "row 2" in exc.value.got
    with pytest.raises(InputError, match="magnitude"):
        l2.fit(np.arange(5.0)[:, None], y * 1e160, loss=loss)


# -- issue 20: predictions come back in the caller's library and dtype ---------------------------------
def test_predictions_keep_the_callers_library_and_float32():
    import l2kit as l2

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    f32 = l2.fit(X.astype(np.float32), y.astype(np.float32))
    assert f32.predict(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(f32.predict(X.astype(np.float32)), l2.fit(X, y).predict(X), rtol=1e-5, atol=1e-6)
    assert l2.fit(X, y).predict(X).dtype == np.float64
    jnp = pytest.importorskip("jax.numpy")
    fj = l2.fit(jnp.asarray(X), jnp.asarray(y))
    pj = fj.predict(jnp.asarray(X))
    assert type(pj).__module__.split(".")[0] in ("jax", "jaxlib") and pj.dtype == jnp.asarray(X).dtype


def test_a_dask_dataframe_is_fitted_by_columns_with_their_names():
    import l2kit as l2

    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    frame["y"] = 1 + 2 * frame.a - frame.b + rng.normal(size=40) * 0.1
    ddf = dd.from_pandas(frame, npartitions=4)
    f = l2.fit(ddf[["a", "b"]], ddf["y"])
    ref = l2.fit(frame[["a", "b"]], frame["y"])
    assert f.feature_names == ("a", "b")
    np.testing.assert_allclose(f.coef, ref.coef, rtol=1e-10)
