"""l2kit.sphere: projection, tangent space, retraction, exp/log maps and the stable angle."""

import mpmath
import numpy as np
import pytest

from l2kit import InputError, sphere


def unit(rng, n, d=3):
    u = rng.normal(size=(n, d))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def test_project(rng):
    x = rng.normal(size=(20, 4)) * 5
    p = sphere.project(x)
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(p * np.linalg.norm(x, axis=1, keepdims=True), x, rtol=1e-13)
    with pytest.raises(InputError, match="non-zero"):
        sphere.project(np.zeros((2, 3)))


def test_tangent_is_orthogonal_and_idempotent(rng):
    x, v = unit(rng, 10), rng.normal(size=(10, 3))
    t = sphere.tangent(x, v)
    np.testing.assert_allclose(np.sum(t * x, axis=1), 0.0, atol=1e-14)
    np.testing.assert_allclose(sphere.tangent(x, t), t, atol=1e-14)


def test_retract_stays_on_sphere_and_matches_exp_to_second_order(rng):
    x = unit(rng, 10)
    v = sphere.tangent(x, rng.normal(size=(10, 3)))
    for eps in (1e-1, 1e-2):
        r, e = sphere.retract(x, eps * v), sphere.exp(x, eps * v)
        np.testing.assert_allclose(np.linalg.norm(r, axis=1), 1.0, rtol=1e-15)
        assert np.max(np.abs(r - e)) < 2 * eps ** 3 * np.max(np.linalg.norm(v, axis=1)) ** 3


def test_exp_log_inverse_and_distance(rng):
    x, y = unit(rng, 50), unit(rng, 50)
    v = sphere.log(x, y)
    np.testing.assert_allclose(np.sum(v * x, axis=1), 0.0, atol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), sphere.distance(x, y), rtol=1e-12)
    np.testing.assert_allclose(sphere.exp(x, v), y, atol=1e-12)
    np.testing.assert_allclose(sphere.distance(x, y), np.arccos(np.clip(np.sum(x * y, 1), -1, 1)), atol=1e-7)
    np.testing.assert_array_equal(sphere.exp(x, np.zeros_like(x)), x)
    np.testing.assert_array_equal(sphere.log(x, x), np.zeros_like(x))


@pytest.mark.parametrize("angle", [1e-12, 1e-8, 1e-4, 0.5, np.pi - 1e-6, np.pi - 1e-9])
def test_distance_is_accurate_at_extreme_angles(angle):
    # independent reference: mpmath at 50 digits
    mpmath.mp.dps = 50
    x = np.array([1.0, 0.0, 0.0])
    y = np.array([np.cos(angle), np.sin(angle), 0.0])
    ref = float(mpmath.atan2(mpmath.mpf(y[1]), mpmath.mpf(y[0])))
    got = float(sphere.distance(x, y))
    assert got == pytest.approx(ref, rel=1e-12)


def test_shape_mismatch_refused(rng):
    with pytest.raises(InputError):
        sphere.retract(unit(rng, 3), np.zeros((3, 2)))
    with pytest.raises(InputError):
        sphere.project(np.float64(1.0))


def test_torch_backend():
    torch = pytest.importorskip("torch")
    x = torch.randn(5, 3, dtype=torch.float64)
    p = sphere.project(x)
    assert isinstance(p, torch.Tensor)
    np.testing.assert_allclose(torch.linalg.norm(p, dim=1).numpy(), 1.0)
