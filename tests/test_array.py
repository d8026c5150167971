"""The one input validator: shapes, dtypes, backends, weights, non-finite reporting."""

import numpy as np
import pytest

from l2kit import InputError
from l2kit._array import array_namespace, compute_dtype, nonfinite_error, validate_pair


def test_column_vector_against_vector_is_refused_with_fix():
    with pytest.raises(InputError) as e:
        validate_pair(np.zeros(5), np.zeros((5, 1)))
    msg = str(e.value)
    assert "y_pred" in msg and "(5, 1)" in msg and "reshape(-1)" in msg and "(5, 5)" in msg


def test_reverse_column_vector_names_y_true():
    with pytest.raises(InputError, match=r"y_true.reshape\(-1\)"):
        validate_pair(np.zeros((4, 1)), np.zeros(4))


def test_length_mismatch_and_empty():
    with pytest.raises(InputError, match="length 3"):
        validate_pair(np.zeros(3), np.zeros(4))
    with pytest.raises(InputError, match="at least one element"):
        validate_pair(np.zeros(0), np.zeros(0))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, bool, np.uint8])
def test_integer_and_bool_promote_to_float64(dtype):
    v = validate_pair(np.ones(3, dtype=dtype), np.zeros(3, dtype=dtype))
    assert v.y_true.dtype == np.float64 and v.result_dtype == np.float64


def test_float32_stays_float16_computes_in_float32():
    v = validate_pair(np.ones(3, np.float32), np.zeros(3, np.float32))
    assert v.y_true.dtype == np.float32 and v.result_dtype == np.float32
    v = validate_pair(np.ones(3, np.float16), np.zeros(3, np.float16))
    assert v.y_true.dtype == np.float32 and v.result_dtype == np.float16


def test_complex_refused_when_not_allowed():
    with pytest.raises(InputError, match="real data only"):
        validate_pair(np.ones(3, complex), np.zeros(3), allow_complex=False)


def test_strings_refused():
    with pytest.raises(InputError, match="dtype"):
        validate_pair(np.array(["a", "b"]), np.zeros(2))


def test_lists_are_accepted():
    v = validate_pair([1, 2, 3], [1.0, 2.0, 2.5])
    assert v.y_true.shape == (3,)


def test_mixing_libraries_is_refused():
    torch = pytest.importorskip("torch")
    with pytest.raises(InputError, match="numpy and torch|mix"):
        validate_pair(np.zeros(3), torch.zeros(3))


def test_weights_per_sample_expand_explicitly_and_are_checked():
    v = validate_pair(np.zeros((4, 2)), np.zeros((4, 2)), weights=np.ones(4))
    assert v.weights.shape == (4, 1)
    with pytest.raises(InputError, match="weights"):
        validate_pair(np.zeros((4, 2)), np.zeros((4, 2)), weights=np.ones(2))
    with pytest.raises(InputError, match="non-negative"):
        validate_pair(np.zeros(3), np.zeros(3), weights=np.array([1.0, -1.0, 1.0]))
    with pytest.raises(InputError, match="NaN"):
        validate_pair(np.zeros(3), np.zeros(3), weights=np.array([1.0, np.nan, 1.0]))


def test_nonfinite_error_counts_per_argument():
    xp = array_namespace(np.zeros(1))
    err = nonfinite_error(xp, {"y_true": np.array([1.0, np.nan, np.inf]), "y_pred": np.zeros(3)})
    assert "y_true holds 2 non-finite values (first at flat index 1)" in str(err)
    assert "y_pred holds" not in str(err)


def test_compute_dtype_of_ints_is_default_float():
    xp = array_namespace(np.zeros(1))
    assert compute_dtype(xp, np.arange(3)) == (np.float64, np.float64)


def test_array_api_strict_namespace():
    xps = pytest.importorskip("array_api_strict")
    v = validate_pair(xps.asarray([1, 2, 3]), xps.asarray([1.0, 2.0, 2.0]))
    assert v.y_true.dtype == xps.float64


# -- issue 20: every library the metrics accept, the losses accept too ---------------------------------
@pytest.mark.parametrize("lib", ["pandas", "polars"])
def test_losses_and_metrics_take_table_columns_as_numpy(lib):
    import l2kit as l2

    mod = pytest.importorskip(lib)
    y, p, w = np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0]), np.array([1.0, 2.0, 0.5])
    ys, ps, ws = mod.Series(y), mod.Series(p), mod.Series(w)
    for loss in (l2.Huber(), l2.Squared(), l2.Quantile(q=0.3)):
        got = loss(ys, ps, weights=ws)
        assert type(got) is np.float64 and got == loss(y, p, weights=w)
    assert l2.mse(ys, ps, weights=ws) == l2.mse(y, p, weights=w)
    with pytest.raises(InputError, match="length 3"):
        l2.Squared()(mod.Series(y), mod.Series(p[:2]))          # never broadcast, never dropped


def test_dask_columns_stay_lazy_in_losses_and_are_computed_by_metrics():
    import l2kit as l2

    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"y": np.arange(10.0), "p": np.arange(10.0) + 0.5, "w": np.linspace(0.1, 1, 10)})
    ddf = dd.from_pandas(frame, npartitions=3)
    lazy = l2.Huber()(ddf["y"], ddf["p"], weights=ddf["w"])
    assert type(lazy).__module__.startswith("dask")
    assert float(lazy.compute()) == pytest.approx(float(l2.Huber()(frame.y, frame.p, weights=frame.w)), rel=1e-14)
    assert float(l2.mse(ddf["y"], ddf["p"], sample_weight=ddf["w"])) == pytest.approx(
        float(l2.mse(frame.y, frame.p, weights=frame.w)), rel=1e-14)
