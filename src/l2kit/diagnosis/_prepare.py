"""Degenerate designs made into a clear answer: constant, duplicated or dependent columns and huge magnitudes.

:func:`prepare` returns the columns the diagnosis can use and a sentence for
each change, so the report says what was left out and why instead of
crashing inside a solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._errors import InputError

#: beyond this magnitude squares overflow inside the solvers: rescale by a power of two (exact)
HUGE = 1e100
TINY = 1e-100
#: features whose standard deviations differ by more than this are rescaled (rank decisions need it)
SPREAD = 1e6


@dataclass(frozen=True)
class Prepared:
    X: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...]   # (feature, why)
    notes: tuple[str, ...]


def _pow2(a: np.ndarray) -> float:
    m = float(np.max(np.abs(a))) if a.size else 0.0
    if m == 0 or TINY < m < HUGE:
        return 1.0
    return float(2.0 ** np.round(np.log2(m)))


def _sd(a: np.ndarray) -> float:
    """Standard deviation without overflow or underflow for any finite magnitude."""
    m = float(np.max(np.abs(a)))
    return m * float(np.std(a / m)) if m > 0 else 0.0


def prepare(X: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> Prepared:
    """Drop constant and linearly dependent columns, rescale huge or tiny values, refuse what cannot be diagnosed.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(8.0)
    >>> p = prepare(np.c_[x, np.ones(8), x, x ** 2], x ** 1.5, ("a", "b", "c", "d"))
    >>> p.names, [d[0] for d in p.dropped]
    (('a', 'd'), ['b', 'c'])
    """
    from scipy import linalg

    notes: list[str] = []
    if np.all(y == y[0]):
        raise InputError("y", "a target that varies", f"a constant target (every value is {y[0]:g})",
                         "pick a target column that varies; a constant needs no model")
    sy = _pow2(y)
    if sy != 1.0:
        y = y / sy
        notes.append(f"The target's magnitude ({sy:.3g}) is beyond what squared error can square in float64; "
                     f"it was divided by {sy:.3g} (a power of two, exact), so coefficients and errors are in "
                     "those units.")
    X = X.copy()
    dropped: list[tuple[str, str]] = []
    keep = []
    for j in range(X.shape[1]):
        col = X[:, j]
        if np.all(col == col[0]):
            dropped.append((names[j], f"constant (every value is {col[0]:g}); the intercept already carries it"))
            continue
        dup = next((names[i] for i in keep if np.array_equal(X[:, i], col)), None)
        if dup is not None:
            dropped.append((names[j], f"an exact copy of {dup!r}"))
            continue
        keep.append(j)
    spread = np.array([_sd(X[:, j]) for j in keep])
    if spread.size and (spread.max() / spread.min() > SPREAD or spread.max() > HUGE or spread.min() < TINY):
        for j, sj in zip(keep, spread):   # every candidate is equivariant to column scales: same diagnosis
            s = float(2.0 ** np.round(np.log2(sj)))
            X[:, j] /= s
            notes.append(f"Feature {names[j]!r} was divided by {s:.3g} (a power of two, exact) because the "
                         "features' scales differ by more than 1e6 or are beyond float64's comfortable range; "
                         "its coefficients are in those units.")
    if keep:   # exact linear dependence among the rest: keep the leading columns of a pivoted QR
        A = np.column_stack([np.ones(y.size), X[:, keep]])
        A = A / np.linalg.norm(A, axis=0)
        _, R, piv = linalg.qr(A, mode="economic", pivoting=True)
        d = np.abs(np.diag(R))
        rank = int(np.sum(d > d[0] * max(A.shape) * 1e3 * np.finfo(float).eps))
        if rank < A.shape[1]:
            out = sorted(int(c) - 1 for c in piv[rank:] if c > 0)
            for c in out:
                dropped.append((names[keep[c]], "a linear combination of the other features (exact collinearity)"))
            keep = [j for i, j in enumerate(keep) if i not in set(out)]
    n, p = y.size, len(keep)
    if n < p + 3:
        raise InputError("X", f"at least p + 3 = {p + 3} rows for {p} usable feature(s)", f"{n} rows",
                         "with n <= p + 2 the residuals have too few degrees of freedom to test the Gaussian "
                         "story or cross-validate; add rows or pass fewer features")
    for name, why in dropped:
        notes.append(f"Feature {name!r} was left out of the diagnosis: {why}.")
    return Prepared(X[:, keep], y, tuple(names[j] for j in keep), tuple(dropped), tuple(notes))
