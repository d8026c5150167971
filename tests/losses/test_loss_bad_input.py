"""Bad input to losses is refused with a message naming the argument, what was expected, what arrived and the fix."""

from __future__ import annotations

import re

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError
from l2kit.losses import Absolute, Huber, Mahalanobis, Quantile, Squared, Tukey, available_losses

LOSSES = [Squared(), Absolute(), Huber(), Tukey(), Quantile(q=0.2)]
MESSAGE = re.compile(r"^[\w ,()=.'\[\]-]+: expected .+, got .+\. Fix: .+\.$", re.S)


def check_message(exc: InputError, argument: str):
    msg = str(exc)
    assert MESSAGE.match(msg), msg
    assert exc.argument == argument or argument in exc.argument, msg
    assert exc.fix


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_column_vector_against_vector_is_refused_not_broadcast(loss):
    with pytest.raises(InputError) as info:
        loss(np.zeros(5), np.zeros((5, 1)))
    check_message(info.value, "y_pred")
    assert "broadcast to (5, 5)" in str(info.value) and "y_pred.reshape(-1)" in str(info.value)
    with pytest.raises(InputError) as info:
        loss(np.zeros((5, 1)), np.zeros(5))
    assert "y_true.reshape(-1)" in str(info.value)


@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_length_and_shape_mismatch(loss):
    with pytest.raises(InputError, match=r"expected length 5 like y_true, got length 4") as info:
        loss(np.zeros(5), np.zeros(4))
    check_message(info.value, "y_pred")
    with pytest.raises(InputError, match=r"shape \(3, 4\)"):
        loss(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(InputError):
        loss(np.zeros((3, 4)), np.zeros(12))


@pytest.mark.parametrize("loss", LOSSES + [Mahalanobis(cov=np.eye(2))], ids=repr)
def test_empty_input(loss):
    shape = (0, 2) if isinstance(loss, Mahalanobis) else (0,)
    with pytest.raises(InputError, match="at least one element") as info:
        loss(np.zeros(shape), np.zeros(shape))
    check_message(info.value, "y_true")


def test_non_positive_definite_covariance():
    with pytest.raises(InputError, match="positive-definite") as info:
        Mahalanobis(cov=np.array([[1.0, 0.0], [0.0, -1.0]]))
    check_message(info.value, "cov")
    assert "jitter" in info.value.fix


def test_unknown_loss_name_lists_the_names():
    with pytest.raises(InputError) as info:
        l2.get_loss("hubber")
    msg = str(info.value)
    check_message(info.value, "loss")
    assert "did you mean 'huber'" in msg
    for name in available_losses():
        assert name in msg
    with pytest.raises(InputError, match="registered losses"):
        l2.get_loss("no-such-loss-at-all")


def test_integer_and_bool_targets_promote_documentedly():
    # documented in l2kit._array: integers and booleans promote to the default float
    out = Huber()(np.array([1, 0, 3]), np.array([True, False, True]), reduction="none")
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [0.0, 0.0, 1.5])


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([object(), object()])])
def test_non_numeric_input(bad):
    with pytest.raises(InputError):
        Huber()(bad, np.zeros(2))


@pytest.mark.parametrize(("weights", "match"), [
    (np.array([1.0, -1.0, 1.0]), "non-negative"),
    (np.array([1.0, np.nan, 1.0]), "NaN weights"),
    (np.zeros(3), "positive sum"),
    (np.ones(4), r"shape \(3,\)"),
    (np.ones((3, 1)), r"shape \(3,\)"),
    (np.array([1j, 1, 1]), "real"),
])
def test_bad_weights(weights, match):
    with pytest.raises(InputError, match=match) as info:
        Huber()(np.zeros(3), np.ones(3), weights=weights)
    check_message(info.value, "weights")


def test_unknown_keywords_and_reduction():
    with pytest.raises(InputError, match="keyword") as info:
        Huber()(np.zeros(3), np.ones(3), var=np.ones(3))
    assert "var" in str(info.value)
    with pytest.raises(InputError, match="reduction") as info:
        Huber()(np.zeros(3), np.ones(3), reduction="batchmean")
    check_message(info.value, "reduction")


def test_arguments_after_arrays_are_keyword_only():
    with pytest.raises(TypeError):
        Huber()(np.zeros(3), np.ones(3), None)  # weights must be passed by keyword
    with pytest.raises(TypeError):
        Huber(1.0, 2.0)  # one tuning constant


def test_mixing_numpy_and_jax_is_refused():
    jnp = pytest.importorskip("jax.numpy")
    with pytest.raises(InputError, match="a mix of jax and numpy"):
        Huber()(jnp.zeros(3), np.zeros(3))


@pytest.mark.parametrize("cls", l2.loss_classes(), ids=lambda c: c.name)
def test_ragged_lists_are_refused_with_the_library_error(cls):
    # Geodesic (a loss over the last axis) raised NumPy's "inhomogeneous shape" ValueError
    loss = cls._example(np.random.default_rng(0), 3)[0]
    with pytest.raises(InputError, match="ragged"):
        loss([[1.0, 0.0], [1.0]], [[1.0, 0.0], [0.0, 1.0]])
