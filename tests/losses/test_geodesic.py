"""Geodesic(): squared angle on the sphere, its Riemannian gradient, against torch and mpmath."""

import mpmath
import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError, sphere


def unit(rng, n, d=3):
    u = rng.normal(size=(n, d))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def test_registry_and_properties():
    loss = l2.get_loss("geodesic")
    assert isinstance(loss, l2.Geodesic) and loss.reduces_last_axis
    assert l2.get_loss("angle") == l2.Geodesic()
    assert hash(l2.Geodesic()) == hash(l2.Geodesic())


def test_values_match_arccos_and_mpmath(rng):
    t, p = unit(rng, 30), unit(rng, 30)
    vals = l2.Geodesic()(t, p, reduction="none")
    assert vals.shape == (30,)
    mpmath.mp.dps = 40
    for i in range(5):
        dot = mpmath.fsum(mpmath.mpf(a) * mpmath.mpf(b) for a, b in zip(t[i], p[i]))
        na = mpmath.sqrt(mpmath.fsum(mpmath.mpf(a) ** 2 for a in t[i]))
        nb = mpmath.sqrt(mpmath.fsum(mpmath.mpf(b) ** 2 for b in p[i]))
        assert vals[i] == pytest.approx(float(mpmath.acos(dot / (na * nb)) ** 2), rel=1e-12)
    assert float(l2.Geodesic()(t, p)) == pytest.approx(vals.mean())
    w = rng.uniform(0, 2, 30)
    assert float(l2.Geodesic()(t, p, weights=w)) == pytest.approx(np.sum(w * vals) / np.sum(w))


def test_small_angles_stable():
    t = np.array([[1.0, 0.0, 0.0]])
    a = 1e-9
    p = np.array([[np.cos(a), np.sin(a), 0.0]])
    assert float(l2.Geodesic()(t, p)) == pytest.approx(a * a, rel=1e-9)
    # arccos of the dot product would give 0 here
    assert np.arccos(np.dot(t[0], p[0])) == 0.0


def test_grad_is_riemannian_and_matches_torch_autograd(rng):
    torch = pytest.importorskip("torch")
    t, p = unit(rng, 20), unit(rng, 20)
    g = l2.Geodesic().grad(t, p)
    # tangent to the sphere at y_pred, length 2 * angle, equal to -2 log_p(t)
    np.testing.assert_allclose(np.sum(g * p, axis=1), 0.0, atol=1e-13)
    np.testing.assert_allclose(np.linalg.norm(g, axis=1), 2 * sphere.distance(p, t), rtol=1e-12)
    np.testing.assert_allclose(g, -2 * sphere.log(p, t), atol=1e-13)
    # torch autograd of the same loss on torch tensors (array-API path), reduction="sum"
    tp = torch.tensor(p, requires_grad=True)
    l2.Geodesic()(torch.tensor(t), tp, reduction="sum").backward()
    np.testing.assert_allclose(tp.grad.numpy(), g, rtol=1e-10, atol=1e-12)
    # and autograd of an independent formula: arccos of normalised dot product, projected on the tangent space
    tp2 = torch.tensor(p, requires_grad=True)
    tt = torch.tensor(t)
    dot = (tt * tp2).sum(1) / tp2.norm(dim=1)
    (torch.arccos(dot) ** 2).sum().backward()
    ref = tp2.grad.numpy()
    ref = ref - np.sum(ref * p, axis=1, keepdims=True) * p
    np.testing.assert_allclose(g, ref, rtol=1e-8, atol=1e-10)


def test_grad_finite_differences_along_the_sphere(rng):
    t, p = unit(rng, 5), unit(rng, 5)
    g = l2.Geodesic().grad(t, p)
    v = sphere.tangent(p, rng.normal(size=p.shape))
    h = 1e-6
    f = lambda q: l2.Geodesic()(t, q, reduction="none")  # noqa: E731
    fd = (f(sphere.exp(p, h * v)) - f(sphere.exp(p, -h * v))) / (2 * h)
    np.testing.assert_allclose(fd, np.sum(g * v, axis=1), rtol=1e-6, atol=1e-9)


def test_grad_at_zero_angle_is_zero(rng):
    p = unit(rng, 4)
    np.testing.assert_array_equal(l2.Geodesic().grad(p, p), np.zeros_like(p))


def test_riemannian_descent_converges_to_target(rng):
    t, p = unit(rng, 10), unit(rng, 10)
    for _ in range(60):
        p = sphere.retract(p, -0.25 * l2.Geodesic().grad(t, p))
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, rtol=1e-14)
    assert float(l2.Geodesic()(t, p)) < 1e-20


def test_direction_only_and_errors(rng):
    t, p = unit(rng, 6), unit(rng, 6)
    np.testing.assert_allclose(l2.Geodesic()(3 * t, 0.5 * p, reduction="none"),
                               l2.Geodesic()(t, p, reduction="none"), rtol=1e-13)
    with pytest.raises(InputError, match="zero vector"):
        l2.Geodesic()(t, np.zeros_like(p))
    with pytest.raises(InputError):
        l2.Geodesic()(t, p[:, :2])
    with pytest.raises(InputError):
        l2.Geodesic()(t, p, var=1.0)


def test_float32(rng):
    t, p = unit(rng, 8).astype(np.float32), unit(rng, 8).astype(np.float32)
    out = l2.Geodesic()(t, p, reduction="none")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, l2.Geodesic()(t.astype(float), p.astype(float), reduction="none"), rtol=1e-4)
