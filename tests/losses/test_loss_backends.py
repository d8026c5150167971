"""Backend parity for every registered loss: PyTorch, JAX and array-api-strict against NumPy.

* torch: tensors in, tensors out; autograd through every loss equals ``grad``;
  float32/float16 kept.
* JAX: ``jax.jit`` and ``jax.grad`` work and agree with NumPy.
* array-api-strict: the generic path uses only the standard.
* Arrays of two libraries in one call are refused.
"""

from __future__ import annotations

import numpy as np
import pytest

import l2kit
import l2kit.losses  # noqa: F401 - registers every loss
from l2kit.losses import ResidualLoss, loss_classes

CLASSES = loss_classes()
RESIDUAL = [c for c in CLASSES if issubclass(c, ResidualLoss)]


def ids(classes):
    return [c.name for c in classes]


def example(cls, seed=0, n=7):
    loss, yt, yp, kw = cls._example(np.random.default_rng(seed), n)
    return loss, np.asarray(yt, dtype=float), np.asarray(yp, dtype=float), kw


def convert_kwargs(kw, to):
    return {k: to(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}


# --------------------------------------------------------------------- torch
@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
def test_torch_tensors_in_tensors_out_and_autograd_equals_grad(cls, torch):
    loss, yt, yp, kw = example(cls)
    kw_t = convert_kwargs(kw, torch.tensor)
    p = torch.tensor(yp, requires_grad=True)
    out = loss(torch.tensor(yt), p, reduction="sum", **kw_t)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64 and out.requires_grad
    out.backward()
    np.testing.assert_allclose(out.item(), loss(yt, yp, reduction="sum", **kw), rtol=1e-12)
    np.testing.assert_allclose(p.grad.numpy(), loss.grad(yt, yp, **kw), rtol=1e-10, atol=1e-12)
    g = loss.grad(torch.tensor(yt), torch.tensor(yp), **kw_t)
    assert isinstance(g, torch.Tensor)
    np.testing.assert_allclose(g.numpy(), loss.grad(yt, yp, **kw), rtol=1e-12, atol=1e-14)
    none = loss(torch.tensor(yt), torch.tensor(yp), reduction="none", **kw_t)
    np.testing.assert_allclose(none.numpy(), loss(yt, yp, reduction="none", **kw), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
def test_torch_weighted_mean_autograd(cls, torch):
    loss, yt, yp, kw = example(cls)
    shape = np.shape(loss(yt, yp, reduction="none", **kw))
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=shape)
    p = torch.tensor(yp, requires_grad=True)
    out = loss(torch.tensor(yt), p, weights=torch.tensor(w), **convert_kwargs(kw, torch.tensor))
    out.backward()
    np.testing.assert_allclose(out.item(), loss(yt, yp, weights=w, **kw), rtol=1e-12)
    assert np.all(np.isfinite(p.grad.numpy()))


@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_torch_dtype_is_kept(cls, dtype, torch):
    loss, yt, yp, kw = example(cls)
    dt = getattr(torch, dtype)
    kw_t = convert_kwargs(kw, lambda a: torch.tensor(a, dtype=dt))
    out = loss(torch.tensor(yt, dtype=dt), torch.tensor(yp, dtype=dt), reduction="none", **kw_t)
    assert out.dtype == dt
    assert loss(torch.tensor(yt, dtype=dt), torch.tensor(yp, dtype=dt), **kw_t).dtype == dt
    assert loss.grad(torch.tensor(yt, dtype=dt), torch.tensor(yp, dtype=dt), **kw_t).dtype == dt
    ref = loss(yt.astype(dtype).astype(np.float32), yp.astype(dtype).astype(np.float32), reduction="none",
               **convert_kwargs(kw, lambda a: a.astype(dtype).astype(np.float32)))
    tol = 1e-5 if dtype == "float32" else 2e-3
    np.testing.assert_allclose(out.float().numpy(), ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("cls", RESIDUAL, ids=ids(RESIDUAL))
def test_torch_residual_functions_and_zero_residual_autograd(cls, torch):
    loss, yt, yp, _ = example(cls)
    r = np.concatenate([yt - yp, [0.0]])
    for name in ("rho", "psi", "psi_prime", "weight"):
        got = getattr(loss, name)(torch.tensor(r))
        assert isinstance(got, torch.Tensor)
        np.testing.assert_allclose(got.numpy(), getattr(loss, name)(r), rtol=1e-13, atol=1e-15)
    # autograd at r = 0 (and through weight at 0) stays finite: the where() branches are safe
    t = torch.tensor(np.zeros(3), requires_grad=True)
    (loss(torch.zeros(3, dtype=torch.float64), t, reduction="sum") + loss.weight(t).sum()).backward()
    assert torch.isfinite(t.grad).all()


def test_mixing_numpy_and_torch_is_refused(torch):
    for cls in CLASSES:
        loss, yt, yp, kw = example(cls)
        with pytest.raises(l2kit.InputError, match="a mix of numpy and torch") as info:
            loss(yt, torch.tensor(yp), **kw)
        assert "Fix:" in str(info.value)


# ----------------------------------------------------------------------- JAX
@pytest.fixture(scope="module")
def jax():
    return pytest.importorskip("jax")


@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
def test_jax_jit_and_grad_match_numpy(cls, jax):
    import jax.numpy as jnp

    loss, yt, yp, kw = example(cls)
    with jax.enable_x64(True):  # scoped, so other tests keep JAX's float32 default
        kw_j = convert_kwargs(kw, jnp.asarray)
        yt_j, yp_j = jnp.asarray(yt), jnp.asarray(yp)
        value = jax.jit(lambda a, b: loss(a, b, reduction="sum", **kw_j))(yt_j, yp_j)
        none = jax.jit(lambda a, b: loss(a, b, reduction="none", **kw_j))(yt_j, yp_j)
        g = jax.grad(lambda b: loss(yt_j, b, reduction="sum", **kw_j))(yp_j)
        g_jit = jax.jit(lambda a, b: loss.grad(a, b, **kw_j))(yt_j, yp_j)
    assert value.dtype == jnp.float64
    np.testing.assert_allclose(float(value), loss(yt, yp, reduction="sum", **kw), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(none), loss(yt, yp, reduction="none", **kw), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.asarray(g), loss.grad(yt, yp, **kw), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(g_jit), loss.grad(yt, yp, **kw), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
def test_jax_float32_default(cls, jax):
    import jax.numpy as jnp

    loss, yt, yp, kw = example(cls)
    out = loss(jnp.asarray(yt, dtype=jnp.float32), jnp.asarray(yp, dtype=jnp.float32),
               **convert_kwargs(kw, lambda a: jnp.asarray(a, dtype=jnp.float32)))
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(float(out), loss(yt, yp, **kw), rtol=1e-5)


# ---------------------------------------------------------- array-api-strict
@pytest.fixture(scope="module")
def xps():
    return pytest.importorskip("array_api_strict")


def strict_to_numpy(a):
    return l2kit._array.to_numpy(a)


@pytest.mark.parametrize("cls", CLASSES, ids=ids(CLASSES))
def test_array_api_strict_matches_numpy(cls, xps):
    loss, yt, yp, kw = example(cls)
    kw_s = convert_kwargs(kw, xps.asarray)
    a, b = xps.asarray(yt), xps.asarray(yp)
    for reduction in ("mean", "sum", "none"):
        out = loss(a, b, reduction=reduction, **kw_s)
        assert type(out).__module__.startswith("array_api_strict")
        np.testing.assert_allclose(strict_to_numpy(out), loss(yt, yp, reduction=reduction, **kw), rtol=1e-12,
                                   atol=1e-14)
    np.testing.assert_allclose(strict_to_numpy(loss.grad(a, b, **kw_s)), loss.grad(yt, yp, **kw), rtol=1e-12,
                               atol=1e-14)
    w = np.linspace(0.5, 2.0, int(np.prod(np.shape(loss(yt, yp, reduction="none", **kw))))).reshape(
        np.shape(loss(yt, yp, reduction="none", **kw)))
    np.testing.assert_allclose(strict_to_numpy(loss(a, b, weights=xps.asarray(w), **kw_s)),
                               loss(yt, yp, weights=w, **kw), rtol=1e-12)
    f32 = loss(xps.asarray(yt, dtype=xps.float32), xps.asarray(yp, dtype=xps.float32),
               **convert_kwargs(kw, lambda v: xps.asarray(v, dtype=xps.float32)))
    assert f32.dtype == xps.float32


@pytest.mark.parametrize("cls", RESIDUAL, ids=ids(RESIDUAL))
def test_array_api_strict_residual_functions(cls, xps):
    loss, yt, yp, _ = example(cls)
    r = np.concatenate([yt - yp, [0.0, 1e300]])
    with np.errstate(over="ignore"):  # Squared's rho(1e300) is inf, correctly
        for name in ("rho", "psi", "psi_prime", "weight"):
            got = getattr(loss, name)(xps.asarray(r))
            np.testing.assert_allclose(strict_to_numpy(got), getattr(loss, name)(r), rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("cls", RESIDUAL, ids=ids(RESIDUAL))
def test_jax_autodiff_of_rho_is_psi_and_of_psi_is_psi_prime(cls, jax):
    # an autodiff check independent of the finite differences, including r = 0 (safe where() branches)
    import jax.numpy as jnp

    loss = example(cls)[0]
    r = np.array([-7.3, -2.1, -0.37, 0.0, 0.021, 0.43, 1.3, 4.4])
    with jax.enable_x64(True):
        d_rho = jax.vmap(jax.grad(lambda x: loss.rho(x)))(jnp.asarray(r))
        d_psi = jax.vmap(jax.grad(lambda x: loss.psi(x)))(jnp.asarray(r))
    nonzero = r != 0  # at a kink (|r| at 0) autodiff picks one one-sided derivative
    at = slice(None) if cls.smooth else nonzero
    np.testing.assert_allclose(np.asarray(d_rho)[at], loss.psi(r)[at], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(d_psi)[nonzero], loss.psi_prime(r)[nonzero], rtol=1e-12, atol=1e-15)
    assert np.all(np.isfinite(np.asarray(d_psi)))
