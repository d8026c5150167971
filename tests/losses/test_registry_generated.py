"""Tests generated for every loss in the registry.

Parametrised over ``l2kit.losses.loss_classes()`` after importing the whole
``l2kit.losses`` package, so a loss registered by any module gets these checks
automatically. Inputs come from each class's ``_example(rng, n)``.

* ``grad`` against central finite differences of the elementwise loss
  (``reduction="none"``; per row for losses over the last axis);
* residual losses: ``psi`` against FD of ``rho``, ``psi_prime`` against FD of
  ``psi``, ``weight == psi / r`` away from 0 and finite (no warnings) at 0;
* immutability, hashing, equality, pickling and the repr/params round trip
  through ``get_loss(name, **params)``; declared properties are data;
* reductions: ``sum``/``mean``/``none`` consistent, ones-weights == no weights;
* dtypes: float32 stays float32, float16 returns float16.
"""

from __future__ import annotations

import dataclasses
import pickle
import warnings

import numpy as np
import pytest

import l2kit.losses  # noqa: F401 - registers every loss before collection
from l2kit.losses import Loss, ResidualLoss, get_loss, loss_classes

CLASSES = loss_classes()
RESIDUAL = [c for c in CLASSES if issubclass(c, ResidualLoss)]
FIT_FAMILIES = {"least_squares", "irls", "linprog", "glm", "gradient", None}
# fixed residual grid away from every kink of the registered robust losses' examples
R_GRID = np.array([-7.3, -2.1, -0.37, -0.013, 0.021, 0.43, 1.3, 4.4])


def ids(classes):
    return [c.name for c in classes]


def example(cls, seed=0, n=7):
    loss, yt, yp, kw = cls._example(np.random.default_rng(seed), n)
    assert isinstance(loss, cls)
    return loss, np.asarray(yt, dtype=float), np.asarray(yp, dtype=float), kw


def standard_mean(cls) -> bool:
    """True when the class keeps the base reduction (mean = sum(w l) / sum(w))."""
    return cls.__call__ is Loss.__call__


def fd_steps(x):
    return 1e-6 * np.maximum(1.0, np.abs(x))


def assert_fd(analytic, fd, what):
    analytic, fd = np.asarray(analytic, dtype=float), np.asarray(fd, dtype=float)
    scale = max(1.0, float(np.max(np.abs(fd))))
    np.testing.assert_allclose(analytic, fd, rtol=2e-5, atol=2e-6 * scale, err_msg=what)


def test_registry_is_populated():
    names = {c.name for c in CLASSES}
    for expected in ("squared", "absolute", "huber", "pseudo_huber", "smooth_l1", "log_cosh",
                     "cauchy", "tukey", "quantile", "mahalanobis"):
        assert expected in names


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
def test_grad_matches_finite_differences(cls):
    loss, yt, yp, kw = example(cls)
    g = np.asarray(loss.grad(yt, yp, **kw))
    assert g.shape == yp.shape
    h = fd_steps(yp)
    if cls.reduces_last_axis:
        fd = np.empty_like(yp)
        for j in range(yp.shape[-1]):
            e = np.zeros_like(yp)
            e[..., j] = h[..., j]
            up = np.asarray(loss(yt, yp + e, reduction="none", **kw))
            down = np.asarray(loss(yt, yp - e, reduction="none", **kw))
            fd[..., j] = (up - down) / (2 * h[..., j])
    else:
        up = np.asarray(loss(yt, yp + h, reduction="none", **kw))
        down = np.asarray(loss(yt, yp - h, reduction="none", **kw))
        assert up.shape == yp.shape
        fd = (up - down) / (2 * h)
    assert_fd(g, fd, f"{cls.name}: grad vs finite differences")


@pytest.mark.parametrize("cls", RESIDUAL, ids=ids(RESIDUAL))
def test_psi_and_psi_prime_match_finite_differences(cls):
    loss, yt, yp, _ = example(cls)
    r = np.concatenate([yt - yp, R_GRID])
    h = fd_steps(r)
    assert_fd(loss.psi(r), (loss.rho(r + h) - loss.rho(r - h)) / (2 * h), f"{cls.name}: psi vs FD of rho")
    assert_fd(loss.psi_prime(r), (loss.psi(r + h) - loss.psi(r - h)) / (2 * h),
              f"{cls.name}: psi_prime vs FD of psi")


@pytest.mark.parametrize("cls", RESIDUAL, ids=ids(RESIDUAL))
def test_grad_is_minus_psi_and_value_is_rho(cls):
    loss, yt, yp, kw = example(cls)
    np.testing.assert_allclose(loss.grad(yt, yp, **kw), -loss.psi(yt - yp), rtol=1e-14)
    np.testing.assert_allclose(loss(yt, yp, reduction="none", **kw), loss.rho(yt - yp), rtol=1e-14)


@pytest.mark.parametrize("cls", RESIDUAL, ids=ids(RESIDUAL))
def test_weight_is_psi_over_r_and_finite_at_zero(cls):
    loss, yt, yp, _ = example(cls)
    r = np.concatenate([yt - yp, R_GRID])
    r = r[np.abs(r) > 1e-3]
    np.testing.assert_allclose(loss.weight(r), loss.psi(r) / r, rtol=1e-12, atol=1e-300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero or invalid-value warnings at r = 0
        at0 = [np.asarray(f(np.array([0.0, -0.0]))) for f in (loss.rho, loss.psi, loss.psi_prime, loss.weight)]
        huge = [np.asarray(f(np.array([-1e300, 1e300]))) for f in (loss.psi, loss.psi_prime, loss.weight)]
    for a in at0 + huge:
        assert np.all(np.isfinite(a)), f"{cls.name}: non-finite at r=0 or |r|=1e300"
    w0 = at0[3]
    assert np.all(w0 > 0)
    if cls.smooth:
        # the limit of psi(r)/r at 0 is psi'(0)
        np.testing.assert_allclose(w0, at0[2], rtol=1e-12)
        np.testing.assert_allclose(loss.weight(np.array([1e-7])), w0[:1], rtol=1e-6)
    assert np.all(at0[0] == 0), "rho(0) = 0 for every residual loss"


# ---------------------------------------------------------- value semantics
@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
def test_declared_properties_are_data(cls):
    assert isinstance(cls.name, str) and cls.name == cls.name.lower() and cls.name
    for flag in ("convex", "smooth", "redescending", "reduces_last_axis", "allow_complex"):
        assert isinstance(getattr(cls, flag), bool), flag
    assert cls.fit_family in FIT_FAMILIES
    assert isinstance(cls.call_kwargs, tuple) and isinstance(cls.aliases, tuple)
    assert not (cls.redescending and cls.convex), "a redescending psi cannot come from a convex rho"
    for alias in cls.aliases + (cls.name, cls.name.upper(), cls.name.replace("_", "-")):
        assert type(get_loss(alias, **example(cls)[0].params)) is cls


@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
def test_immutable_hashable_and_round_trips(cls):
    loss = example(cls)[0]
    assert dataclasses.is_dataclass(loss)
    field_names = [f.name for f in dataclasses.fields(loss)] or ["name"]
    with pytest.raises((dataclasses.FrozenInstanceError, AttributeError)):
        setattr(loss, field_names[0], 1.0)
    rebuilt = get_loss(cls.name, **loss.params)
    assert rebuilt == loss and hash(rebuilt) == hash(loss)
    assert repr(rebuilt) == repr(loss) and repr(loss).startswith(cls.__name__ + "(")
    assert len({loss, rebuilt}) == 1
    assert pickle.loads(pickle.dumps(loss)) == loss
    # a different loss of the same class (default parameters where that differs) is unequal
    assert loss != "not a loss"


@pytest.mark.parametrize("cls", [c for c in CLASSES if dataclasses.fields(c)],
                         ids=ids([c for c in CLASSES if dataclasses.fields(c)]))
def test_changing_a_parameter_changes_equality(cls):
    loss = example(cls)[0]
    for f in dataclasses.fields(loss):
        value = getattr(loss, f.name)
        if isinstance(value, float) and not isinstance(value, bool):
            try:
                other = dataclasses.replace(loss, **{f.name: value * 0.5 if value > 0 else value - 1})
            except Exception:  # noqa: BLE001 - the halved value may be out of range
                continue
            assert other != loss and repr(other) != repr(loss)


# --------------------------------------------------------------- reductions
@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
def test_reductions_are_consistent(cls):
    loss, yt, yp, kw = example(cls)
    values = np.asarray(loss(yt, yp, reduction="none", **kw))
    expected_shape = yt.shape[:-1] if cls.reduces_last_axis else yt.shape
    assert values.shape == expected_shape
    np.testing.assert_allclose(loss(yt, yp, reduction="sum", **kw), values.sum(), rtol=1e-12)
    if standard_mean(cls):
        np.testing.assert_allclose(loss(yt, yp, **kw), values.mean(), rtol=1e-12)
        w = np.random.default_rng(1).uniform(0.1, 3.0, size=values.shape)
        np.testing.assert_allclose(loss(yt, yp, weights=w, **kw), (w * values).sum() / w.sum(), rtol=1e-12)
        np.testing.assert_allclose(loss(yt, yp, weights=w, reduction="none", **kw), w * values, rtol=1e-12)
    with pytest.raises(l2kit.InputError, match="reduction"):
        loss(yt, yp, reduction="avg", **kw)


@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ones_weights_equal_no_weights(cls, reduction):
    loss, yt, yp, kw = example(cls)
    shape = np.shape(loss(yt, yp, reduction="none", **kw))
    plain = loss(yt, yp, reduction=reduction, **kw)
    for w in (np.ones(shape), np.ones(shape[:1]), np.ones(shape, dtype=int)):
        np.testing.assert_allclose(loss(yt, yp, weights=w, reduction=reduction, **kw), plain, rtol=1e-14)


# ------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_float_dtype_is_kept(cls, dtype):
    loss, yt, yp, kw = example(cls)
    yt32, yp32 = yt.astype(dtype), yp.astype(dtype)
    for reduction in ("mean", "none"):
        out = loss(yt32, yp32, reduction=reduction, **kw)
        assert out.dtype == dtype, (reduction, out.dtype)
    g = loss.grad(yt32, yp32, **kw)
    assert g.dtype == dtype
    # float16 computes in float32: agrees with the float32 result rounded to float16
    ref = np.asarray(loss(yt32.astype(np.float32), yp32.astype(np.float32), reduction="none", **kw))
    np.testing.assert_allclose(np.asarray(loss(yt32, yp32, reduction="none", **kw), dtype=np.float32), ref,
                               rtol=2e-3 if dtype == np.float16 else 1e-6, atol=1e-3 if dtype == np.float16 else 1e-6)
    if issubclass(cls, ResidualLoss):
        for f in (loss.rho, loss.psi, loss.psi_prime, loss.weight):
            assert f(yt32 - yp32).dtype == dtype


@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
def test_integer_inputs_promote_to_float(cls):
    # documented in l2kit._array: integer and boolean arrays promote to the default float
    loss, yt, yp, kw = example(cls)
    yt = np.round(yt)
    try:
        expected = loss(yt, yp, reduction="none", **kw)
    except l2kit.InputError:
        pytest.skip("integer-valued targets leave this loss's domain (e.g. unit vectors)")
    got = loss(yt.astype(np.int64), yp, reduction="none", **kw)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    if np.all((yt == 0) | (yt == 1)):
        np.testing.assert_allclose(loss(yt.astype(bool), yp, reduction="none", **kw), expected, rtol=1e-14)


# ----------------------------------------------------------- non-finite input
@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
def test_nan_input_never_becomes_a_finite_number(cls):
    loss, yt, yp, kw = example(cls)
    bad = yp.copy()
    bad.reshape(-1)[0] = np.nan
    try:
        values = np.asarray(loss(yt, bad, reduction="none", **kw))
    except l2kit.InputError as exc:  # a domain check may refuse NaN outright: also honest
        assert "y_pred" in str(exc)
        return
    assert not np.isfinite(values.reshape(-1)[0])
    assert not np.isfinite(loss(yt, bad, **kw))
    assert not np.isfinite(np.asarray(loss.grad(yt, bad, **kw)).reshape(-1)[0])
    if issubclass(cls, ResidualLoss):
        r = np.array([np.nan, 1.0])
        assert np.isnan(loss.rho(r)[0]) and np.isnan(loss.psi(r)[0])


@pytest.mark.parametrize("cls", RESIDUAL, ids=ids(RESIDUAL))
def test_infinite_residuals_keep_a_non_finite_loss(cls):
    # Tukey mapped +-inf residuals to c**2/6 (a silent finite number); every loss must keep them visible
    loss, yt, yp, kw = example(cls)
    r = np.array([np.inf, -np.inf, 1.0])
    assert not np.isfinite(loss.rho(r)[:2]).any()
    bad = yt.copy()
    bad[0] = np.inf
    assert not np.isfinite(loss(bad, yp, reduction="none", **kw)[0])
    assert not np.isfinite(loss(bad, yp, **kw))


@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
def test_all_zero_weights_are_refused_by_the_mean(cls):
    # HeatmapFocal returned 0 for all-zero weights where the other losses refuse a weighted mean of nothing
    loss, yt, yp, kw = example(cls)
    shape = np.shape(loss(yt, yp, reduction="none", **kw))
    with pytest.raises(l2kit.InputError, match="sum to 0"):
        loss(yt, yp, weights=np.zeros(shape), **kw)


@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
def test_repr_evaluates_back_to_an_equal_loss(cls):
    loss = example(cls)[0]
    rebuilt = eval(repr(loss), {cls.__name__: cls, "nan": float("nan"), "inf": float("inf")})  # noqa: S307
    assert rebuilt == loss
