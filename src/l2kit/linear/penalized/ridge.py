r"""Ridge regression over many penalties from one SVD, with leave-one-out and GCV selection.

With the intercept column projected out, :math:`A_c = U S V^H` and for every
penalty :math:`\lambda` the ridge fit, its hat-matrix diagonal and hence the
exact leave-one-out residuals are

.. math::
    \hat\beta_\lambda = V \frac{S}{S^2+\lambda} U^H b_c, \qquad
    h_i(\lambda) = \frac{|c_i|^2}{c^H c} + \sum_k |U_{ik}|^2 \frac{s_k^2}{s_k^2+\lambda}, \qquad
    e_{(i)} = \frac{r_i}{1-h_i}

(the unpenalised intercept is refitted in every fold, as in scikit-learn's
RidgeCV). GCV replaces :math:`h_i` by its mean. ``alpha`` is in l2kit's
glmnet scaling, :math:`\lambda = n\,\alpha` (``n`` = sum of weights when weighted).
"""

from __future__ import annotations

import numpy as np

from ..._errors import InputError
from .._linalg import centre, intercept_column

CRITERIA = ("loo", "gcv")


def default_alphas(s_max2: float, n_pen: float, num: int = 100) -> np.ndarray:
    """A log grid of ``num`` alphas spanning 1e-10 to 1e2 times the largest eigenvalue of the centred Gram / n."""
    return (max(s_max2, 1e-300) / n_pen) * np.logspace(-10, 2, num)


def ridge_path(A, b, c, lambdas, *, block: int = 8192) -> dict:
    """Coefficients, LOO mean squared error and GCV for every ``lambdas`` from one thin SVD.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(30, 3)); b = A @ [1.0, 2.0, 0.0] + rng.normal(size=30)
    >>> out = ridge_path(A, b, 1.0, np.array([0.1, 10.0]))
    >>> Ac, bc = A - A.mean(0), b - b.mean()
    >>> ref = np.linalg.solve(Ac.T @ Ac + 10.0 * np.eye(3), Ac.T @ bc)
    >>> bool(np.allclose(out["coefs"][1], ref))
    True
    """
    n, p = A.shape
    lam = np.asarray(lambdas, dtype=float)
    Ac, bc, mean, bmean, sw = centre(A, b, c)
    cv = intercept_column(c, n, A.dtype)
    U, s, Vh = np.linalg.svd(Ac, full_matrices=False)
    s2 = s**2
    Utb = U.conj().T @ bc
    F = s2[None, :] / (s2[None, :] + lam[:, None])          # (m, k) filter factors
    coefs = ((s / (s2[None, :] + lam[:, None])) * Utb) @ Vh.conj()   # (m, p): rows are V f U^H b
    m = lam.size
    sse = np.zeros(m)
    loo = np.zeros(m)
    h0 = (np.abs(cv) ** 2 / sw) if c is not None else None
    for i in range(0, n, block):
        j = min(i + block, n)
        Ub = U[i:j]
        fitted = Ub @ (F * Utb).T                           # (rows, m) centred fitted values
        r = bc[i:j, None] - fitted
        h = (np.abs(Ub) ** 2) @ F.T
        if h0 is not None:
            h = h + h0[i:j, None]
        sse += (np.abs(r) ** 2).sum(axis=0)
        loo += (np.abs(r / (1 - h)) ** 2).sum(axis=0)
    edf = F.sum(axis=1) + (c is not None)
    with np.errstate(divide="ignore", invalid="ignore"):
        gcv = (sse / n) / (1 - edf / n) ** 2
    intercepts = (bmean - coefs @ mean) if c is not None else np.zeros(m)
    return {"lambdas": lam, "coefs": coefs, "intercepts": intercepts, "loo_mse": loo / n, "gcv": gcv,
            "edf": edf, "s_max2": float(s2[0]) if s2.size else 0.0}


def select_alpha(A, b, c, alpha, n_pen: float, criterion: str) -> tuple[float, dict]:
    """Resolve ``alpha`` given as "loo", "gcv" or a grid into the best alpha and the curve."""
    if isinstance(alpha, str):
        criterion = alpha
        s_max2 = float(np.linalg.norm(centre(A, b, c)[0], 2) ** 2) if A.shape[1] else 0.0
        alphas = default_alphas(s_max2, n_pen)
    else:
        alphas = np.asarray(alpha, dtype=float).reshape(-1)
    if criterion not in CRITERIA:
        raise InputError("criterion", "'loo' or 'gcv'", repr(criterion), "pass criterion='loo' or 'gcv'")
    if alphas.size == 0 or not np.all(np.isfinite(alphas)) or (alphas <= 0).any():
        raise InputError("alpha", "a grid of positive finite penalties", f"{alphas!r}",
                         "pass e.g. alpha=np.logspace(-4, 2, 50)")
    path = ridge_path(A, b, c, alphas * n_pen)
    score = path["loo_mse"] if criterion == "loo" else path["gcv"]
    best = int(np.nanargmin(score))
    curve = {"alphas": alphas, "cv_criterion": criterion, "cv_curve": score, "cv_loo_mse": path["loo_mse"],
             "cv_gcv": path["gcv"], "cv_edf": path["edf"], "cv_coefs": path["coefs"],
             "cv_best_index": best, "cv_at_edge": bool(best in (0, alphas.size - 1) and alphas.size > 2)}
    return float(alphas[best]), curve
