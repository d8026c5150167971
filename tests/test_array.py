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
