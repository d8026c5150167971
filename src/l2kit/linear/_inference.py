r"""Inference for least squares: classical and sandwich covariances (HC0-HC3, cluster, HAC), Gaussian log-likelihood.

The estimates are parametrised as :math:`\theta = (\beta_0, \beta)` with the
intercept column ``c`` projected out of the design (``A_c = A - c\,m``). In
the orthogonal parametrisation :math:`\phi = (\beta_0 + m\beta, \beta)` the
bread of every covariance is block diagonal, ``diag(1/sw, G_c^{-1})``; the
result is mapped back by :math:`T = [[1, -m], [0, I]]`, so nothing is ever
inverted but the (already factored) centred Gram matrix.

Reusable for streamed fits: :func:`classical_cov` needs only the inverse of
the centred Gram matrix, the column means and the weight sum.
"""

from __future__ import annotations

import math

import numpy as np

from ._covariance import COV_KINDS, CovSpec, meat, small_sample_factor

COV_TYPES = COV_KINDS


def _to_theta(cov_phi: np.ndarray, mean: np.ndarray, fit_intercept: bool) -> np.ndarray:
    if not fit_intercept:
        return cov_phi
    p = mean.shape[0]
    T = np.eye(p + 1, dtype=np.result_type(cov_phi, mean))
    T[0, 1:] = -mean
    return T @ cov_phi @ T.conj().T


def classical_cov(ginv: np.ndarray, scale: float, *, mean: np.ndarray | None = None, sw: float = 0.0,
                  fit_intercept: bool = True, ridge: float = 0.0) -> np.ndarray:
    r"""Classical covariance :math:`\sigma^2 (X^\top X)^{-1}` of ``(intercept, coef)``.

    ``ginv`` is the inverse of the centred (ridge-shifted) Gram matrix; for
    ridge the covariance is the sandwich :math:`\sigma^2 (G+\lambda)^{-1} G (G+\lambda)^{-1}`
    :math:`= \sigma^2 (g - \lambda g^2)` with :math:`g = (G+\lambda)^{-1}`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 2)); Xc = X - X.mean(0)
    >>> C = classical_cov(np.linalg.inv(Xc.T @ Xc), 2.0, mean=X.mean(0), sw=30.0)
    >>> Z = np.column_stack([np.ones(30), X])
    >>> bool(np.allclose(C, 2.0 * np.linalg.inv(Z.T @ Z)))
    True
    """
    g = ginv - ridge * (ginv @ ginv) if ridge else ginv
    p = g.shape[0]
    if not fit_intercept:
        return scale * g
    phi = np.zeros((p + 1, p + 1), dtype=g.dtype)
    phi[0, 0] = 1.0 / sw
    phi[1:, 1:] = g
    return scale * _to_theta(phi, np.asarray(mean), True)


def leverage(A, c, mean, sw, ginv, *, block: int = 8192) -> np.ndarray:
    r"""Diagonal of the hat matrix, :math:`h_i = |c_i|^2/sw + a_{c,i} G^{-1} a_{c,i}^H` (chunked)."""
    n = A.shape[0]
    h = np.empty(n)
    for i in range(0, n, block):
        j = min(i + block, n)
        Ab = A[i:j]
        if c is not None:
            cb = np.full(j - i, c) if np.ndim(c) == 0 else c[i:j]
            Ab = Ab - np.outer(cb, mean)
            h[i:j] = np.abs(cb) ** 2 / sw
        else:
            h[i:j] = 0.0
        h[i:j] += np.real(np.einsum("ij,ij->i", Ab @ ginv.T, Ab.conj()))
    return h


def _z_block(A, c, mean, i, j, fit_intercept):
    """Rows ``i:j`` of the design in the orthogonal parametrisation, ``[c, A - c m]`` (``A`` without intercept)."""
    Ab = A[i:j]
    if not fit_intercept:
        return Ab
    cb = np.full(j - i, c, dtype=Ab.dtype) if np.ndim(c) == 0 else c[i:j]
    return np.column_stack([cb, Ab - np.outer(cb, mean)])


def robust_cov(spec: CovSpec, A, c, resid, ginv, *, mean, sw, df_resid: float, fit_intercept: bool = True,
               block: int = 8192) -> np.ndarray:
    """Sandwich covariances of least squares: HC0-HC3, cluster and HAC (see :mod:`._covariance`).

    ``A``, ``c`` and ``resid`` are on the whitened scale (as statsmodels uses
    ``wexog`` and ``wresid``, and R's ``estfun.lm`` the weighted residuals).
    The HC meats are accumulated in row blocks; cluster and HAC form the
    ``(n, k)`` scores once.
    """
    n, p = A.shape
    k = p + fit_intercept
    bread = np.zeros((k, k), dtype=ginv.dtype)
    if fit_intercept:
        bread[0, 0] = 1.0 / sw
        bread[1:, 1:] = ginv
    else:
        bread = ginv
    if spec.kind in ("cluster", "HAC"):
        scores = _z_block(A, c, mean, 0, n, fit_intercept) * resid[:, None]
        M = meat(scores, spec)
    else:
        u = np.abs(resid) ** 2
        if spec.kind in ("HC2", "HC3"):
            h = leverage(A, c if fit_intercept else None, mean, sw, ginv, block=block)
            u = u / (1 - h) if spec.kind == "HC2" else u / (1 - h) ** 2
        M = np.zeros((k, k), dtype=np.result_type(A, resid))
        for i in range(0, n, block):
            j = min(i + block, n)
            Zb = _z_block(A, c, mean, i, j, fit_intercept)
            M += Zb.conj().T @ (Zb * u[i:j, None])
    cov = bread @ M @ bread.conj().T * small_sample_factor(spec, float(n), int(round(n - df_resid)))
    return _to_theta(cov, np.asarray(mean), fit_intercept)


def gaussian_loglike(rss: float, nobs: int, *, logdet_cov: float = 0.0, complex_data: bool = False) -> float:
    r"""Concentrated Gaussian log-likelihood, as statsmodels OLS/WLS/GLS.

    .. math:: \ell = -\tfrac{n}{2}\left(\log 2\pi + \log(\mathrm{RSS}/n) + 1\right) - \tfrac12\log|\Sigma|

    with ``logdet_cov`` = :math:`\log|\Sigma|` (WLS: :math:`-\sum\log w_i`). For
    complex data the circular complex normal: :math:`-n(\log\pi + \log(\mathrm{RSS}/n) + 1)`.

    Examples
    --------
    >>> round(gaussian_loglike(10.0, 10), 6)
    -14.189385
    """
    if rss <= 0:
        return math.inf
    if complex_data:
        return -nobs * (math.log(math.pi) + math.log(rss / nobs) + 1) - logdet_cov
    return -0.5 * nobs * (math.log(2 * math.pi) + math.log(rss / nobs) + 1) - 0.5 * logdet_cov
