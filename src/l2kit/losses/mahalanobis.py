r"""Squared Mahalanobis distance over the last axis, and whitening matrices.

Both work through a Cholesky factor :math:`\Sigma = L L^\top`: a loss value is
:math:`\|L^{-1} r\|^2`, computed by a triangular solve. No explicit inverse of
the covariance is ever formed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._array import array_namespace, compute_dtype, to_numpy
from .._errors import InputError
from ._base import Loss
from ._registry import register

__all__ = ["Mahalanobis", "whiten"]

_JITTER_FIX = ("add jitter to the diagonal, e.g. {name} + 1e-6 * np.trace({name}) / d * np.eye(d), "
               "or remove duplicated or collinear variables")


def _check_spd(matrix: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate a symmetric positive-definite matrix; return it (float64, read-only) and its Cholesky factor."""
    if matrix is None:
        raise InputError(name, "a (d, d) matrix", "None", f"pass {name}=...")
    try:
        a = to_numpy(matrix) if hasattr(matrix, "shape") else np.asarray(matrix)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise InputError(name, "a (d, d) matrix of numbers", type(matrix).__name__, "pass a NumPy array") from exc
    if a.dtype.kind not in "biuf":
        raise InputError(name, "a real (d, d) matrix", f"dtype {a.dtype}",
                         "pass a real matrix (complex covariances are not supported)")
    a = np.array(a, dtype=np.float64, copy=True)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise InputError(name, "a square, non-empty (d, d) matrix", f"shape {a.shape}",
                         "pass the d x d matrix of the d variables along the last axis"
                         + (" (for per-variable variances v, pass np.diag(v))" if a.ndim == 1 else ""))
    if not np.all(np.isfinite(a)):
        raise InputError(name, "finite entries", f"{int(np.sum(~np.isfinite(a)))} non-finite entries",
                         "clean the matrix")
    scale = float(np.max(np.abs(a)))
    asym = float(np.max(np.abs(a - a.T)))
    if asym > 1e-10 * scale:
        raise InputError(name, "a symmetric matrix", f"max |{name} - {name}.T| = {asym:.3g}",
                         f"symmetrise it with ({name} + {name}.T) / 2")
    a = 0.5 * (a + a.T)  # exact symmetry for the factorisations below
    d = a.shape[0]
    try:
        chol = np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        lam = float(np.linalg.eigvalsh(a).min())
        raise InputError(name, "a positive-definite matrix",
                         f"a matrix whose smallest eigenvalue is {lam:.3g}",
                         _JITTER_FIX.format(name=name)) from None
    diag = np.diag(chol)
    # (min/max of diag L)^2 bounds the condition number from below: beyond 1/eps it is singular
    ratio = float(diag.min() / diag.max()) ** 2
    if ratio < d * np.finfo(np.float64).eps:
        raise InputError(name, "a numerically positive-definite matrix",
                         f"a matrix with condition number above {1 / ratio:.3g}",
                         _JITTER_FIX.format(name=name))
    chol = np.asfortranarray(chol)
    a.setflags(write=False)
    chol.setflags(write=False)
    return a, chol


def _solve_lower(xp, chol, b, *, transpose: bool = False):
    """Solve ``chol @ x = b`` (or ``chol.T @ x = b``) with a triangular solver of ``xp``'s library."""
    import array_api_compat as compat

    if compat.is_numpy_namespace(xp):
        from scipy.linalg import solve_triangular

        # a Fortran-ordered factor: SciPy's C-order path is ~1000x slower for small matrices
        return solve_triangular(np.asfortranarray(chol), b, lower=True, trans=1 if transpose else 0,
                                check_finite=False)
    mat = xp.matrix_transpose(chol) if transpose else chol
    if compat.is_torch_namespace(xp):
        import torch

        return torch.linalg.solve_triangular(mat, b, upper=transpose)
    if compat.is_jax_namespace(xp):
        from jax.scipy.linalg import solve_triangular

        return solve_triangular(mat, b, lower=not transpose)
    return xp.linalg.solve(mat, b)  # generic array-API path: still a solve, never an inverse


@register
@dataclass(frozen=True)
class Mahalanobis(Loss):
    r"""Squared Mahalanobis distance of each row, over the last axis.

    .. math::
        \ell(y, \hat y) = r^\top \Sigma^{-1} r = \|L^{-1} r\|^2,\qquad
        \Sigma = L L^\top,\qquad
        \frac{\partial\ell}{\partial\hat y} = -2\,\Sigma^{-1} r

    with :math:`r = y - \hat y` the last-axis vector of each row. Pass exactly
    one of ``cov`` (:math:`\Sigma`) or ``precision`` (:math:`\Sigma^{-1}`,
    then :math:`\ell = \|L_P^\top r\|^2` with :math:`P = L_P L_P^\top`). No
    factor 1/2: ``Mahalanobis(cov=np.eye(d))`` gives the row sums of
    :class:`Squared`. It is ``scipy.spatial.distance.mahalanobis(u, v, VI)**2``.

    The matrix is validated once, at construction (square, finite,
    symmetric, numerically positive definite), and stored as a read-only
    float64 NumPy copy with its Cholesky factor; calls use triangular solves
    in the inputs' library (NumPy/SciPy, PyTorch, JAX; other array-API
    libraries use ``xp.linalg.solve``) and dtype. The matrix is a constant
    of the loss: autograd flows to the inputs, not to ``cov``.

    ``reduction="none"`` returns one value per row (shape ``y.shape[:-1]``);
    ``weights`` are one per row.

    ``l2kit.fit(X, Y, loss=Mahalanobis(cov=S))`` with ``Y`` of shape (n, d)
    fits a multi-output linear model (``coef`` of shape (p, d), ``intercept``
    (d,)) by the generic gradient solver. With one design for every output
    the estimate equals column-wise least squares; ``S`` changes the
    standard errors (sandwich) and matters once rows are weighted
    differently. For one output with known per-row variances use
    ``l2kit.fit(X, y, cov=...)`` (GLS).

    Parameters
    ----------
    cov : array of shape (d, d), optional
        Symmetric positive-definite covariance of the errors.
    precision : array of shape (d, d), optional
        Its inverse, if that is what you have.

    Examples
    --------
    >>> import numpy as np
    >>> loss = Mahalanobis(cov=np.array([[4.0, 0.0], [0.0, 1.0]]))
    >>> loss(np.array([[2.0, 1.0]]), np.zeros((1, 2)), reduction="none")
    array([2.])
    >>> loss.grad(np.array([[2.0, 1.0]]), np.zeros((1, 2)))
    array([[-1., -2.]])
    >>> Mahalanobis(cov=np.array([[1.0, 2.0], [2.0, 1.0]]))
    Traceback (most recent call last):
    ...
    l2kit._errors.InputError: cov: expected a positive-definite matrix, got a matrix whose smallest eigenvalue ...
    """

    cov: Any = None
    precision: Any = None

    name = "mahalanobis"
    aliases = ("mahalanobis_squared", "whitened_squared")
    convex = True
    smooth = True
    redescending = False
    reduces_last_axis = True
    fit_family = "gradient"

    def __post_init__(self):
        if (self.cov is None) == (self.precision is None):
            raise InputError("Mahalanobis(cov=..., precision=...)", "exactly one of cov or precision",
                             "both" if self.cov is not None else "neither",
                             "pass Mahalanobis(cov=S) or Mahalanobis(precision=P)")
        which = "cov" if self.cov is not None else "precision"
        matrix, chol = _check_spd(getattr(self, which), which)
        object.__setattr__(self, which, matrix)
        object.__setattr__(self, "_chol", chol)  # cached factor (not a field)

    # -- value semantics for a loss holding an array ------------------------
    @property
    def _matrix(self) -> np.ndarray:
        return self.cov if self.cov is not None else self.precision

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return (self.cov is None) == (other.cov is None) and np.array_equal(self._matrix, other._matrix)

    def __hash__(self) -> int:
        m = self._matrix
        return hash((type(self).__name__, self.cov is None, m.shape, m.tobytes()))

    def __repr__(self) -> str:
        which = "cov" if self.cov is not None else "precision"
        m = self._matrix
        if m.size <= 64:  # nested lists of round-trip floats: eval(repr(loss)) == loss
            return f"Mahalanobis({which}={m.tolist()!r})"
        body = np.array2string(m, separator=", ", threshold=64, edgeitems=2, precision=4)
        return f"Mahalanobis({which}={' '.join(body.split())})"

    # -- kernels ------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Length ``d`` of the last axis the loss expects."""
        return int(self._matrix.shape[0])

    def _validate(self, y_true, y_pred, weights, kwargs):
        v = super()._validate(y_true, y_pred, weights, kwargs)
        self._check_last_axis(v.y_true)  # a shape check: runs under JAX tracing too
        return v

    def _check_last_axis(self, y_true) -> None:
        shape = tuple(y_true.shape)
        if len(shape) == 0 or shape[-1] != self.dim:
            raise InputError("y_true", f"an array whose last axis has length {self.dim} (the size of "
                             f"{'cov' if self.cov is not None else 'precision'})", f"shape {shape}",
                             "put the d variables on the last axis, e.g. y.reshape(-1, d), or pass a "
                             "matrix of matching size")

    def _factor(self, xp, like):
        import array_api_compat as compat

        # other libraries get a writable copy (torch warns on read-only NumPy buffers)
        chol = self._chol if compat.is_numpy_namespace(xp) else np.array(self._chol)
        return xp.asarray(chol, dtype=like.dtype, device=compat.device(like))

    def _rows(self, xp, r):
        shape = tuple(r.shape)
        return xp.reshape(r, (-1, shape[-1])), shape

    def _elementwise(self, xp, y_true, y_pred, **kwargs):
        rows, shape = self._rows(xp, y_true - y_pred)
        chol = self._factor(xp, rows)
        if self.cov is not None:
            z = _solve_lower(xp, chol, xp.matrix_transpose(rows))  # (d, m) = L^-1 r
            values = xp.sum(z * z, axis=0)
        else:
            z = rows @ chol  # (m, d) = (L_P^T r)^T
            values = xp.sum(z * z, axis=1)
        return xp.reshape(values, shape[:-1])

    def _grad(self, xp, y_true, y_pred, **kwargs):
        rows, shape = self._rows(xp, y_true - y_pred)
        chol = self._factor(xp, rows)
        if self.cov is not None:
            z = _solve_lower(xp, chol, xp.matrix_transpose(rows))
            s = xp.matrix_transpose(_solve_lower(xp, chol, z, transpose=True))  # (Sigma^-1 r)^T
        else:
            s = (rows @ chol) @ xp.matrix_transpose(chol)  # P r, P symmetric
        return xp.reshape(-2.0 * s, shape)

    @classmethod
    def _example(cls, rng, n=7):
        d = 3
        a = rng.normal(size=(d, d))
        cov = a @ a.T + d * np.eye(d)
        return cls(cov=cov), rng.normal(size=(n, d)), rng.normal(size=(n, d)), {}


def whiten(cov: Any, *, kind: str = "symmetric"):
    r"""Whitening matrix :math:`W` with :math:`W^\top W = \Sigma^{-1}`.

    Then :math:`W r` has identity covariance when :math:`r` has covariance
    :math:`\Sigma`, and :math:`\|W r\|^2` is the squared Mahalanobis distance.

    * ``kind="symmetric"`` (ZCA / Mahalanobis whitening):
      :math:`W = \Sigma^{-1/2} = V \Lambda^{-1/2} V^\top` from the symmetric
      eigendecomposition; :math:`W` is symmetric and the whitened data stay
      closest to the original.
    * ``kind="cholesky"``: :math:`W = L^{-1}` with :math:`\Sigma = L L^\top`,
      lower triangular (a triangular solve against the identity); cheapest.

    ``cov`` is validated like :class:`Mahalanobis`'s (square, finite,
    symmetric, positive definite). The result has ``cov``'s array library and
    float dtype (integer input gives the default float); PyTorch and JAX
    compute with their own linear algebra, so autograd flows through.

    Parameters
    ----------
    cov : array of shape (d, d)
    kind : {"symmetric", "cholesky"}

    Returns
    -------
    array of shape (d, d)

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> w = whiten(cov, kind="cholesky")
    >>> np.allclose(w.T @ w @ cov, np.eye(2))
    True
    >>> w = whiten(cov)
    >>> np.allclose(w, w.T) and np.allclose(w @ cov @ w, np.eye(2))
    True
    """
    if kind not in ("symmetric", "cholesky"):
        raise InputError("kind", "'symmetric' or 'cholesky'", repr(kind), "pass kind='symmetric' or kind='cholesky'")
    sym, chol = _check_spd(cov, "cov")
    xp = array_namespace(cov)
    if not hasattr(cov, "shape"):
        cov = np.asarray(cov)
    compute, result = compute_dtype(xp, cov, allow_complex=False, argnames=("cov",))
    if type(cov) is np.ndarray:
        # NumPy: float64 LAPACK on the validated, symmetrised copy; returned in the input's float dtype
        if kind == "cholesky":
            from scipy.linalg import solve_triangular

            w = solve_triangular(chol, np.eye(chol.shape[0], order="F"), lower=True, check_finite=False)
        else:
            lam, vec = np.linalg.eigh(sym)
            w = (vec * (1.0 / np.sqrt(lam))) @ vec.T
        return w.astype(result, copy=False)
    c = xp.astype(cov, compute) if cov.dtype != compute else cov
    c = 0.5 * (c + xp.matrix_transpose(c))
    if kind == "cholesky":
        lower = xp.linalg.cholesky(c)
        import array_api_compat as compat

        eye = xp.eye(c.shape[0], dtype=compute, device=compat.device(c))
        w = _solve_lower(xp, lower, eye)
    else:
        lam, vec = xp.linalg.eigh(c)
        w = (vec * (1.0 / xp.sqrt(lam))) @ xp.matrix_transpose(vec)
    return xp.astype(w, result) if w.dtype != result else w
