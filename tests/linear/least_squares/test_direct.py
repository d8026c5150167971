"""Direct least-squares kernels: one-pass centred Gram, solving from the Gram, the three paths."""

import numpy as np
import pytest
from scipy import linalg

from l2kit.linear import CollinearityWarning
from l2kit.linear.least_squares import centred_gram, gram_inverse, lstsq, solve_normal_equations


def _ref(A, b, intercept=True):
    Z = np.column_stack([np.ones(len(b)), A]) if intercept else A
    return linalg.lstsq(Z, b, lapack_driver="gelsd")[0]


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_centred_gram_matches_explicit_centring(rng, dtype):
    A = rng.normal(size=(9000, 4)) + 100.0
    b = rng.normal(size=9000) + 5.0
    if dtype == np.complex128:
        A = A + 1j * rng.normal(size=A.shape)
        b = b + 1j * rng.normal(size=b.shape)
    g = centred_gram(A, b, block=1000)   # several blocks
    Ac, bc = A - A.mean(0), b - b.mean()
    np.testing.assert_allclose(g.G, Ac.conj().T @ Ac, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(g.Atb, Ac.conj().T @ bc, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(g.mean, A.mean(0), rtol=1e-13)
    assert abs(g.bss - np.vdot(bc, bc).real) < 1e-9 * g.bss
    assert g.cancellation > 100   # the means dominate the spread: reported


def test_centred_gram_with_weight_column(rng):
    A, b = rng.normal(size=(50, 3)), rng.normal(size=50)
    s = np.sqrt(rng.uniform(0.5, 2, 50))
    g = centred_gram(A * s[:, None], b * s, s)
    w = s**2
    m = (w @ A) / w.sum()
    np.testing.assert_allclose(g.mean, m, rtol=1e-12)
    Ac = (A - m) * s[:, None]
    np.testing.assert_allclose(g.G, Ac.T @ Ac, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", ["auto", "cholesky", "qr", "svd"])
@pytest.mark.parametrize("intercept", [True, False])
def test_paths_agree_with_gelsd(rng, method, intercept):
    A = rng.normal(size=(200, 5)) * [1, 10, 100, 1e-3, 1] + 3
    b = A @ rng.normal(size=5) + rng.normal(size=200)
    s = lstsq(A, b, 1.0 if intercept else None, method=method)
    ref = _ref(A, b, intercept)
    est = np.r_[s.intercept, s.coef] if intercept else s.coef
    np.testing.assert_allclose(est, ref, rtol=1e-11)
    Z = np.column_stack([np.ones(200), A]) if intercept else A
    np.testing.assert_allclose(s.residuals, b - Z @ ref, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("method", ["auto", "cholesky", "qr", "svd"])
def test_complex_matches_scipy(rng, method):
    A = rng.normal(size=(80, 3)) + 1j * rng.normal(size=(80, 3))
    b = A @ (rng.normal(size=3) + 1j * rng.normal(size=3)) + 2 - 1j + 0.1 * rng.normal(size=80)
    s = lstsq(A, b, method=method)
    ref = _ref(A, b)
    np.testing.assert_allclose(np.r_[s.intercept, s.coef], ref, rtol=1e-11)


def test_auto_falls_back_to_qr_on_ill_conditioned_tall_data(rng):
    """A large design whose Gram is too ill-conditioned: auto leaves Cholesky by itself."""
    n = 20000
    x = rng.uniform(0, 1, n)
    A = np.column_stack([x**k for k in range(1, 9)])     # cond(A_c scaled) ~ 1e6: cond^2 eps > 1e-6
    b = A @ np.ones(8) + 0.01 * rng.normal(size=n)
    s = lstsq(A, b)
    assert s.method == "qr"
    ref = _ref(A, b)
    np.testing.assert_allclose(np.r_[s.intercept, s.coef], ref, rtol=1e-6)


def test_auto_uses_cholesky_on_well_conditioned_tall_data(rng):
    A = rng.normal(size=(20000, 10)) + 2
    b = A @ np.arange(10.0) + rng.normal(size=20000)
    s = lstsq(A, b)
    assert s.method == "cholesky" and s.n_refine >= 1
    np.testing.assert_allclose(np.r_[s.intercept, s.coef], _ref(A, b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", ["auto", "qr", "svd", "cholesky"])
def test_rank_deficient_gives_minimum_norm(rng, method):
    A = rng.normal(size=(60, 3))
    A = np.column_stack([A, A[:, 0] + A[:, 1]])           # column 3 = column 0 + column 1
    b = rng.normal(size=60)
    s = lstsq(A, b, method=method)
    assert s.rank == 3
    assert len(s.collinear) == 1
    Ac, bc = A - A.mean(0), b - b.mean()
    np.testing.assert_allclose(s.coef, np.linalg.pinv(Ac) @ bc, rtol=1e-8, atol=1e-10)


def test_solve_normal_equations_and_inverse(rng):
    A, b = rng.normal(size=(100, 4)), rng.normal(size=100)
    g = centred_gram(A, b)
    s = solve_normal_equations(g.G, g.Atb, ridge=2.0)
    Ac, bc = A - A.mean(0), b - b.mean()
    np.testing.assert_allclose(s.coef, np.linalg.solve(Ac.T @ Ac + 2 * np.eye(4), Ac.T @ bc), rtol=1e-12)
    np.testing.assert_allclose(gram_inverse(g.G), np.linalg.inv(Ac.T @ Ac), rtol=1e-10)
    # singular Gram: eigen route, rank and minimum norm
    G = np.array([[1.0, 1.0], [1.0, 1.0]])
    s = solve_normal_equations(G, np.array([2.0, 2.0]))
    assert s.rank == 1 and s.method == "eigh"
    np.testing.assert_allclose(s.coef, [1.0, 1.0])


def test_ridge_paths_agree(rng):
    A, b = rng.normal(size=(50, 6)), rng.normal(size=50)
    Ac, bc = A - A.mean(0), b - b.mean()
    ref = np.linalg.solve(Ac.T @ Ac + 3 * np.eye(6), Ac.T @ bc)
    for m in ["auto", "cholesky", "qr", "svd"]:
        np.testing.assert_allclose(lstsq(A, b, method=m, ridge=3.0).coef, ref, rtol=1e-11)


def test_collinearity_warning_class_is_user_warning():
    assert issubclass(CollinearityWarning, UserWarning)


@pytest.mark.parametrize("offset", [10.0, 1000.0])
def test_refinement_repairs_the_rank_one_centring(rng, offset):
    """X^T X - n m m^T loses (mean/std)^2 * eps; one or two refinement passes on the residuals restore it."""
    n, p = 50000, 10
    A = rng.normal(size=(n, p)) + offset
    b = A @ rng.normal(size=p) + rng.normal(size=n)
    g = centred_gram(A, b)
    before = solve_normal_equations(g.G, g.Atb).coef
    s = lstsq(A, b)
    ref = _ref(A, b)[1:]
    err_before = np.abs(before - ref).max() / np.abs(ref).max()
    err_after = np.abs(s.coef - ref).max() / np.abs(ref).max()
    assert s.method == "cholesky"
    assert err_after < 1e-13
    if offset >= 1000:
        assert err_before > 1e-11 > err_after      # the refinement step is what makes it exact


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("weighted", [False, True])
def test_centred_gram_wide_path(rng, dtype, weighted):
    """p >= 64 takes the no-copy syrk/herk route; same statistics as explicit centring."""
    n, p = 300, 70
    A = rng.normal(size=(n, p)) + 3.0
    b = rng.normal(size=n) + 1.0
    if dtype == np.complex128:
        A = A + 1j * rng.normal(size=A.shape)
        b = b + 1j * rng.normal(size=n)
    s = np.sqrt(rng.uniform(0.5, 2.0, n)) if weighted else None
    Aw, bw = (A * s[:, None], b * s) if weighted else (A, b)
    g = centred_gram(Aw, bw, s if weighted else 1.0)
    w = s**2 if weighted else np.ones(n)
    m = (w @ A) / w.sum()
    bm = (w @ b) / w.sum()
    Ac = (A - m) * np.sqrt(w)[:, None]
    bc = (b - bm) * np.sqrt(w)
    np.testing.assert_allclose(g.G, Ac.conj().T @ Ac, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(g.Atb, Ac.conj().T @ bc, rtol=1e-10, atol=1e-9)
    assert abs(g.bss - np.vdot(bc, bc).real) < 1e-9 * g.bss
