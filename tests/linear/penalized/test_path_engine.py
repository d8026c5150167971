"""The path engine: per-fold Gram sums against NumPy, the compiled kernel against its plain-Python self,
and ridge's eigendecomposition against a direct solve."""

import numpy as np
import pytest

from l2kit.linear.penalized._path_kernel import path_cd, path_kernel
from l2kit.linear.penalized.path import alpha_grid, alpha_max, centred, fold_sums, solve_path


@pytest.fixture
def problem(rng):
    X = rng.normal(size=(90, 7)) + rng.uniform(-50, 50, 7)      # large means: centring must not cancel
    y = X[:, :2] @ [1.0, -1.0] + rng.normal(size=90)
    return X, y


@pytest.mark.parametrize("c", [1.0, None, "weights"])
def test_fold_sums_give_the_centred_training_problems(problem, rng, c):
    X, y = problem
    w = rng.uniform(0.5, 2.0, size=90)
    cv = np.sqrt(w) if c == "weights" else c
    A, b = (X * cv[:, None], y * cv) if c == "weights" else (X, y)
    bounds = np.array([0, 30, 55, 90])
    sums = fold_sums(A, b, cv, bounds)
    for f in (None, 1):
        rows = np.ones(90, bool) if f is None else ~((np.arange(90) >= 30) & (np.arange(90) < 55))
        Ak, bk = A[rows], b[rows]
        if c is None:
            Ac, bc, n = Ak, bk, rows.sum()
        else:
            ck = (np.full(90, cv) if np.ndim(cv) == 0 else cv)[rows]
            m, bm = ck @ Ak / (ck @ ck), ck @ bk / (ck @ ck)
            Ac, bc, n = Ak - np.outer(ck, m), bk - ck * bm, ck @ ck
        Q, q, yy, nn, mean, bmean = centred(sums, leave_out=f)
        assert nn == pytest.approx(n, rel=1e-14)
        np.testing.assert_allclose(Q, Ac.T @ Ac / n, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(q, Ac.T @ bc / n, rtol=1e-9, atol=1e-12)
        assert yy == pytest.approx(bc @ bc / n, rel=1e-10)


def test_compiled_kernel_equals_plain_python(problem):
    X, y = problem
    Xc, yc = X - X.mean(0), y - y.mean()
    Q, q, yy = Xc.T @ Xc / 90, Xc.T @ yc / 90, yc @ yc / 90
    alphas = alpha_grid(alpha_max(q, 0.5), 12, 1e-3)
    out = []
    for kernel in (path_kernel(), path_cd):
        W, g, it, R2 = np.zeros((12, 7)), np.zeros(12), np.zeros(12, np.int64), np.zeros(12)
        kernel(Q, q, yy, alphas * 0.5, alphas * 0.5, alphas[0] * 0.5, 1e-13, 10000, W, g, it, R2)
        out.append((W, R2))
    np.testing.assert_allclose(out[0][0], out[1][0], atol=1e-12)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-10)
    np.testing.assert_allclose(out[0][1], ((yc[:, None] - Xc @ out[0][0].T) ** 2).mean(0), rtol=1e-9)


def test_ridge_path_is_the_direct_solve(problem):
    X, y = problem
    Xc, yc = X - X.mean(0), y - y.mean()
    Q, q, yy = Xc.T @ Xc / 90, Xc.T @ yc / 90, yc @ yc / 90
    alphas = np.array([10.0, 0.1, 1e-4])
    W, gaps, it, R2 = solve_path(Q, q, yy, alphas, 0.0, tol=1e-10, max_iter=10)
    for k, a in enumerate(alphas):
        np.testing.assert_allclose(W[k], np.linalg.solve(Q + a * np.eye(7), q), rtol=1e-9)
    assert not gaps.any() and not it.any()
