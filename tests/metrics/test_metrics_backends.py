"""Backend parity: torch (tensors in/out, autograd), JAX (jit, grad), array-api-strict against NumPy."""

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError

NAMES = ["mse", "rmse", "mae", "r2", "explained_variance"]


@pytest.fixture
def jax_x64():
    jax = pytest.importorskip("jax")
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield jax
    jax.config.update("jax_enable_x64", old)


def _data(shape=(30, 2)):
    rng = np.random.default_rng(7)
    y = rng.normal(size=shape)
    return y, y + rng.normal(scale=0.5, size=shape), rng.uniform(0.1, 2, size=shape[0])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mo", ["uniform_average", "raw_values"])
def test_torch_parity_and_dtype(name, mo):
    torch = pytest.importorskip("torch")
    y, p, w = _data()
    f = getattr(l2, name)
    for dt in (torch.float64, torch.float32):
        out = f(torch.tensor(y, dtype=dt), torch.tensor(p, dtype=dt), weights=torch.tensor(w, dtype=dt), multioutput=mo)
        assert isinstance(out, torch.Tensor) and out.dtype == dt
        np.testing.assert_allclose(out.numpy(), f(y, p, weights=w, multioutput=mo),
                                   rtol=1e-12 if dt == torch.float64 else 2e-5)
    out16 = f(torch.tensor(y, dtype=torch.float16), torch.tensor(p, dtype=torch.float16))
    assert out16.dtype == torch.float16


@pytest.mark.parametrize("name", NAMES)
def test_torch_autograd_matches_finite_differences(name):
    torch = pytest.importorskip("torch")
    y, p, w = _data((12,))
    yt = torch.tensor(y)
    pt = torch.tensor(p, requires_grad=True)
    f = getattr(l2, name)
    f(yt, pt, weights=torch.tensor(w)).backward()
    num = np.empty_like(p)
    h = 1e-6
    for i in range(len(p)):
        e = np.zeros_like(p)
        e[i] = h
        num[i] = (float(f(y, p + e, weights=w)) - float(f(y, p - e, weights=w))) / (2 * h)
    np.testing.assert_allclose(pt.grad.numpy(), num, rtol=1e-5, atol=1e-8)


def test_torch_mse_equals_functional_mse_loss():
    torch = pytest.importorskip("torch")
    y, p, _ = _data((100, 3))
    yt, pt = torch.tensor(y), torch.tensor(p)
    torch.testing.assert_close(l2.mse(yt, pt), torch.nn.functional.mse_loss(pt, yt))


def test_torch_constant_target_grad_is_finite():
    torch = pytest.importorskip("torch")
    pt = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    out = l2.r2(torch.full((3,), 2.0, dtype=torch.float64), pt)
    assert float(out.detach()) == 0.0
    out.backward()
    assert torch.isfinite(pt.grad).all()


def test_torch_nonfinite_raises():
    torch = pytest.importorskip("torch")
    y = torch.tensor([1.0, float("nan"), 3.0])
    with pytest.raises(InputError, match="y_true holds 1 non-finite"):
        l2.mse(y, torch.zeros(3))


@pytest.mark.parametrize("name", NAMES)
def test_jax_jit_and_grad(name, jax_x64):
    jax = jax_x64
    jnp = jax.numpy
    y, p, _ = _data((20,))
    f = getattr(l2, name)
    ref = float(f(y, p))
    jy, jp = jnp.asarray(y), jnp.asarray(p)
    assert abs(float(f(jy, jp)) - ref) < 1e-12
    assert abs(float(jax.jit(lambda a, b: f(a, b))(jy, jp)) - ref) < 1e-12
    g = jax.grad(lambda b: f(jy, b))(jp)
    h = 1e-6
    e = np.zeros_like(p)
    e[3] = h
    num = (float(f(y, p + e)) - float(f(y, p - e))) / (2 * h)
    assert abs(float(g[3]) - num) < 1e-6 * max(1, abs(num))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("weighted", [False, True])
def test_array_api_strict_parity(name, weighted):
    xps = pytest.importorskip("array_api_strict")
    y, p, w = _data()
    f = getattr(l2, name)
    kw = {"weights": xps.asarray(w)} if weighted else {}
    out = f(xps.asarray(y), xps.asarray(p), multioutput="raw_values", **kw)
    assert type(out).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(out), f(y, p, multioutput="raw_values", weights=w if weighted else None),
                               rtol=1e-12)


def test_array_api_strict_omit():
    xps = pytest.importorskip("array_api_strict")
    y = np.array([1.0, np.nan, 3.0, 4.0])
    p = np.array([1.5, 2.0, 2.0, 4.0])
    with pytest.warns(l2.metrics.NonFiniteOmitted):
        out = l2.mse(xps.asarray(y), xps.asarray(p), nonfinite="omit")
    assert float(out) == pytest.approx(float(l2.mse(y[[0, 2, 3]], p[[0, 2, 3]])))
