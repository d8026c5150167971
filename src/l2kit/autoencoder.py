r"""A linear autoencoder trained under squared error, and its closed form (PCA).

For centred data :math:`X_c` (n x d) and a code of ``k`` components, a tied
linear autoencoder encodes :math:`z = W^\top x` and decodes :math:`\hat x = W z`
with one matrix :math:`W` (d x k). Its mean squared reconstruction error

.. math::
    L(W) = \frac{1}{nd}\,\|X_c - X_c W W^\top\|_F^2

is minimised exactly when the columns of :math:`W` are an orthonormal basis
of the top-``k`` principal subspace (Baldi & Hornik, 1989): the minimum is
:math:`\sum_{i>k} s_i^2 / (nd)` with :math:`s_i` the singular values of
:math:`X_c` (Eckart-Young). Every other critical point is a saddle, so
gradient descent from a random start reaches the same error.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._array import to_numpy
from ._errors import InputError
from ._status import Status

__all__ = ["LinearAutoencoder"]


def _as_matrix(X: Any, name: str = "X", d: int | None = None) -> np.ndarray:
    a = to_numpy(X) if not isinstance(X, (list, tuple)) else np.asarray(X)
    if a.dtype.kind not in "fiub":
        raise InputError(name, "a real numeric array", f"dtype {a.dtype}", "convert it with .astype(float)")
    if a.ndim != 2:
        raise InputError(name, "a 2-D array of shape (n_samples, n_features)", f"shape {a.shape}",
                         "for one sample pass X.reshape(1, -1)" if a.ndim == 1 else "reshape X to 2-D")
    if a.shape[0] == 0:
        raise InputError(name, "at least one row", "no rows", "pass non-empty data")
    if d is not None and a.shape[1] != d:
        raise InputError(name, f"{d} features like the training data", f"{a.shape[1]} features",
                         "pass the same columns the autoencoder was fitted on")
    a = np.asarray(a, dtype=np.float64)
    if not np.isfinite(a).all():
        rows = np.flatnonzero(~np.isfinite(a).all(axis=1))
        raise InputError(name, "finite values", f"NaN/inf in {rows.size} row(s), first at row {int(rows[0])}",
                         "drop or impute those rows first")
    return a


class LinearAutoencoder:
    r"""Linear autoencoder with ``n_components`` code units, fitted under squared error.

    Parameters
    ----------
    n_components : int
        Size of the code ``k``.
    tied : bool, default True
        Decoder is the transpose of the encoder (:math:`\hat x = W W^\top x`).
        Untied: separate encoder ``E`` (d x k) and decoder ``D`` (k x d).
    method : {"closed_form", "gradient"}
        ``"closed_form"``: truncated SVD of the centred data (the PCA
        optimum). ``"gradient"``: full-batch gradient descent on the mean
        squared error (:class:`l2kit.Squared`) with Barzilai-Borwein steps
        and an Armijo backtracking safeguard, from a small random start.
    center : bool, default True
        Subtract the training mean before encoding (and add it back).
    max_iter : int, default 5000
    tol : float, default 1e-10
        Gradient iterations stop when the relative decrease of the loss over
        an iteration falls below ``tol`` and the gradient norm below
        ``sqrt(tol)`` times its initial value. (The untied path has flat
        directions, ``E A, A^-1 D``, and converges much more slowly.)
    random_state : int or numpy Generator, optional
        Seed of the random start (gradient method).

    Attributes
    ----------
    mean_ : ndarray (d,)
    encoder_ : ndarray (d, k)
        ``transform(X) = (X - mean_) @ encoder_``.
    decoder_ : ndarray (k, d)
        ``reconstruct(X) = transform(X) @ decoder_ + mean_``.
    components_ : ndarray (k, d)
        Orthonormal basis of the learned subspace (for the closed form, the
        principal axes, signed like scikit-learn's PCA).
    reconstruction_error_ : float
        Mean squared reconstruction error on the training data, per element.
    optimal_error_ : float
        The PCA optimum :math:`\sum_{i>k} s_i^2/(nd)` of the training data.
    n_iter_ : int
    status_ : Status
        ``SUCCESS`` for the closed form or a gradient path that met ``tol``,
        ``MAX_ITER`` when it stopped at ``max_iter``.
    message_ : str
        The readable sentence.
    converged_ : bool
        Derived from ``status_``: never true when the gradient path stopped at ``max_iter``.
    loss_curve_ : list of float
        Training loss per gradient iteration (empty for the closed form).

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 5)) + 0.01 * rng.normal(size=(200, 5))
    >>> ae = l2.LinearAutoencoder(2).fit(X)
    >>> bool(np.isclose(ae.reconstruction_error_, ae.optimal_error_))
    True
    >>> ag = l2.LinearAutoencoder(2, method="gradient", random_state=0).fit(X)
    >>> ag.converged_, bool(np.isclose(ag.reconstruction_error_, ae.reconstruction_error_, rtol=1e-6))
    (True, True)
    """

    def __init__(self, n_components: int, tied: bool = True, *, method: str = "closed_form",
                 center: bool = True, max_iter: int = 5000, tol: float = 1e-10, random_state: Any = None):
        if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) or n_components < 1:
            raise InputError("n_components", "a positive integer", repr(n_components), "pass e.g. n_components=2")
        if method not in ("closed_form", "gradient"):
            raise InputError("method", "'closed_form' or 'gradient'", repr(method), "pass method='closed_form'")
        if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
            raise InputError("max_iter", "a positive integer", repr(max_iter), "pass e.g. max_iter=5000")
        if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol >= 0):
            raise InputError("tol", "a non-negative number", repr(tol), "pass e.g. tol=1e-10")
        self.n_components = int(n_components)
        self.tied = bool(tied)
        self.method = method
        self.center = bool(center)
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.random_state = random_state

    def __repr__(self) -> str:
        return (f"LinearAutoencoder(n_components={self.n_components}, tied={self.tied}, "
                f"method={self.method!r})")

    # -- fitting -----------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> LinearAutoencoder:
        """Fit to the rows of ``X`` (n_samples, n_features); ``y`` is ignored."""
        X = _as_matrix(X)
        n, d = X.shape
        k = self.n_components
        if k > min(n, d):
            raise InputError("n_components", f"at most min(n_samples, n_features) = {min(n, d)}", str(k),
                             "use fewer components")
        self.mean_ = X.mean(axis=0) if self.center else np.zeros(d)
        Xc = X - self.mean_
        s = np.linalg.svd(Xc, compute_uv=False)
        self.singular_values_ = s
        self.optimal_error_ = float(np.sum(s[k:] ** 2) / (n * d))
        self.loss_curve_: list[float] = []
        if self.method == "closed_form":
            self._fit_closed(Xc)
        else:
            self._fit_gradient(Xc)
        self.reconstruction_error_ = float(np.mean((Xc - (Xc @ self.encoder_) @ self.decoder_) ** 2))
        # orthonormal basis of the decoder's row space (the learned subspace)
        if self.method == "gradient":
            q, _ = np.linalg.qr(self.decoder_.T)
            self.components_ = q.T
        self.n_features_in_ = d
        return self

    def _fit_closed(self, Xc: np.ndarray) -> None:
        _, _, vt = np.linalg.svd(Xc, full_matrices=False)
        V = vt[: self.n_components]
        # deterministic signs (largest |entry| of each axis positive), as scikit-learn's svd_flip
        signs = np.sign(V[np.arange(V.shape[0]), np.argmax(np.abs(V), axis=1)])
        signs[signs == 0] = 1
        V = V * signs[:, None]
        self.components_ = V
        self.encoder_ = V.T.copy()
        self.decoder_ = V.copy()
        self.n_iter_ = 0
        self.status_, self.message_ = Status.SUCCESS, "closed form (truncated SVD)"

    @property
    def converged_(self) -> bool:
        """Whether the fit met its tolerance (derived from ``status_``)."""
        return self.status_.converged

    def _loss_and_grad(self, Xc, params):
        from .losses import Squared

        sq = Squared()
        if self.tied:
            (W,) = params
            Z = Xc @ W
            R = Z @ W.T
            loss = float(sq(Xc, R))
            G = sq.grad(Xc, R) / Xc.size  # d mean / d reconstruction
            gW = Xc.T @ (G @ W) + G.T @ Z  # both uses of W
            return loss, [gW]
        E, D = params
        Z = Xc @ E
        R = Z @ D
        loss = float(sq(Xc, R))
        G = sq.grad(Xc, R) / Xc.size
        return loss, [Xc.T @ (G @ D.T), Z.T @ G]

    def _fit_gradient(self, Xc: np.ndarray) -> None:
        rng = np.random.default_rng(self.random_state)
        n, d = Xc.shape
        k = self.n_components
        scale = 1.0 / math.sqrt(d)
        params = [scale * rng.normal(size=(d, k))] if self.tied else \
            [scale * rng.normal(size=(d, k)), scale * rng.normal(size=(k, d))]
        loss, grads = self._loss_and_grad(Xc, params)
        g0 = math.sqrt(sum(float(np.sum(g * g)) for g in grads)) or 1.0
        # first step from the curvature scale of the loss: 1 / (largest eigenvalue of X^T X / (n d))
        step = (n * d) / (8.0 * float(self.singular_values_[0]) ** 2 + 1e-300)
        prev_params, prev_grads = None, None
        self.status_ = Status.MAX_ITER
        self.message_ = f"stopped at max_iter={self.max_iter} before meeting tol={self.tol:g}"
        it = 0
        for it in range(1, self.max_iter + 1):
            if prev_params is not None:  # Barzilai-Borwein step from the last two iterates
                sy = sum(float(np.sum((p - q) * (g - h))) for p, q, g, h in zip(params, prev_params, grads, prev_grads))
                ss = sum(float(np.sum((p - q) ** 2)) for p, q in zip(params, prev_params))
                if sy > 0:
                    step = ss / sy
            gg = sum(float(np.sum(g * g)) for g in grads)
            while True:  # Armijo backtracking keeps every step a descent step
                trial = [p - step * g for p, g in zip(params, grads)]
                new_loss, new_grads = self._loss_and_grad(Xc, trial)
                if new_loss <= loss - 1e-4 * step * gg or step < 1e-300:
                    break
                step *= 0.5
            prev_params, prev_grads = params, grads
            params, grads = trial, new_grads
            decrease = loss - new_loss
            loss = new_loss
            self.loss_curve_.append(loss)
            gnorm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
            if decrease <= self.tol * max(loss, 1e-300) and gnorm <= math.sqrt(self.tol) * g0:
                self.status_ = Status.SUCCESS
                self.message_ = f"converged after {it} iterations (relative decrease and gradient below tolerance)"
                break
        self.n_iter_ = it
        if self.tied:
            (W,) = params
            self.encoder_, self.decoder_ = W, W.T.copy()
        else:
            self.encoder_, self.decoder_ = params

    # -- use ---------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "encoder_"):
            raise InputError("LinearAutoencoder", "a fitted autoencoder", "an unfitted one", "call .fit(X) first")

    def transform(self, X: Any) -> np.ndarray:
        """Codes ``(X - mean_) @ encoder_``, shape (n_samples, n_components)."""
        self._check_fitted()
        X = _as_matrix(X, d=self.n_features_in_)
        return (X - self.mean_) @ self.encoder_

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Decode codes ``Z`` back to feature space: ``Z @ decoder_ + mean_``."""
        self._check_fitted()
        Z = _as_matrix(Z, "Z", d=self.n_components)
        return Z @ self.decoder_ + self.mean_

    def reconstruct(self, X: Any) -> np.ndarray:
        """Encode and decode ``X``: its projection onto the learned subspace."""
        return self.inverse_transform(self.transform(X))

    def score(self, X: Any) -> float:
        """Mean squared reconstruction error of ``X`` per element (lower is better)."""
        X = _as_matrix(X, d=getattr(self, "n_features_in_", None))
        return float(np.mean((X - self.reconstruct(X)) ** 2))
