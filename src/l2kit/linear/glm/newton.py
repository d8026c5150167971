"""Safeguarded Newton maximisation of a log-likelihood, with a status for every way it can end."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy import linalg

from ..._status import Status

__all__ = ["XTOL", "NewtonResult", "inverse_negative", "newton"]


class NewtonResult(NamedTuple):
    """The last iterate ``x``, its value, gradient and Hessian, the iterations, a Status and its message."""

    x: np.ndarray
    f: float
    g: np.ndarray
    H: np.ndarray
    n_iter: int
    status: Status
    message: str


#: a Newton step smaller than this, relative to 1 + |x_j| in every component, ends the iterations: the
#: iterate is then within about that much of the optimum (quadratic convergence)
XTOL = 1e-10

#: chord steps (see :func:`newton`'s ``H0``) stop once a step is below this relative size: the Newton steps
#: that follow then converge in one or two iterations
CHORD_STOP = 1e-8
#: at most this many chord steps (at a rate of 1e-2 per step, 8 take a subsample's 1e-2 error below 1e-14)
CHORD_MAX = 8


def newton(fgh: Callable, x0: np.ndarray, max_iter: int, tol: float, *, xtol: float = XTOL,
           stop: Callable[[np.ndarray], str | None] | None = None, H0: np.ndarray | None = None) -> NewtonResult:
    r"""Maximise ``f`` by safeguarded Newton steps. ``fgh(x, need, f=None)`` -> (f, g, H), or (f, None, None).

    Each step solves with :math:`-H` (shifted by a Levenberg term while it is
    not positive definite) and halves until the value does not decrease.
    Convergence is declared only when both the Newton decrement
    :math:`g^\top(-H)^{-1}g` of an unshifted step is below ``tol`` and that
    step is below ``xtol`` relative to :math:`1 + |x_j|` in every component (a
    small decrement alone leaves the coefficients up to
    :math:`\sqrt{\mathrm{tol}/\lambda_{\min}(-H)}` from the optimum). ``stop(x)``
    is asked when the decrement is met but the step is not (the value has
    converged while a parameter still runs), and when the iterations end
    otherwise: a sentence means the parameter runs to a boundary of its
    space (:attr:`Status.BOUNDARY`).

    ``H0``, an approximate Hessian (a subsample's, scaled to all the rows),
    starts with chord steps :math:`x \leftarrow x + (-H_0)^{-1} g(x)`: each a
    value and a gradient (``fgh(x, "gradient")``), no new Hessian, and a
    linear rate of about the relative error of ``H0``. They stop when a step is
    below ``CHORD_STOP``, stops contracting, or does not increase ``f``; the
    Newton steps above then decide convergence (with the exact Hessian), so
    the optimum is the same. Chord steps count as iterations.
    """
    x = np.asarray(x0, dtype=float).copy()
    chords = 0
    if H0 is not None:
        x, chords = _chord(fgh, x, H0, min(CHORD_MAX, max_iter - 1))
    f, g, H = fgh(x, True)
    dec = math.inf
    for it in range(1 + chords, max_iter + 1):
        negH = -H
        shift = 0.0
        scale = max(1e-12, float(np.max(np.abs(np.diag(negH)))))
        for _ in range(40):
            try:
                cf = linalg.cho_factor(negH + shift * np.eye(x.size), check_finite=False)
                break
            except (linalg.LinAlgError, ValueError):
                shift = max(2 * shift, 1e-8 * scale)
        else:
            return NewtonResult(x, f, g, H, it, Status.NONFINITE,
                                "stopped: the Hessian is not finite; check the data for extreme values")
        step = linalg.cho_solve(cf, g, check_finite=False)
        dec = float(g @ step)
        if shift == 0.0 and dec <= tol:
            if np.all(np.abs(step) <= xtol * (1 + np.abs(x))):
                return NewtonResult(x, f, g, H, it - 1, Status.SUCCESS, "")
            # the value has converged but a parameter still runs: towards a boundary of its space?
            if stop is not None and (why := stop(x)) is not None:
                return NewtonResult(x, f, g, H, it - 1, Status.BOUNDARY, why)
        t = 1.0
        accepted = False
        for _ in range(50):
            xn = x + t * step
            fn = fgh(xn, False)[0]   # value only; derivatives once a step is accepted
            if np.isfinite(fn) and fn >= f - 1e-12 * abs(f):
                accepted = True
                fn, gn, Hn = fgh(xn, True, fn)   # the value is known: derivatives only
                break
            t *= 0.5
        if not accepted:
            if stop is not None and (why := stop(x)) is not None:
                return NewtonResult(x, f, g, H, it, Status.BOUNDARY, why)
            return NewtonResult(x, f, g, H, it, Status.SUCCESS if dec <= 10 * tol else Status.STALLED, (
                f"stopped: no step along the Newton direction increases the log-likelihood (decrement {dec:.3g})"))
        x, f, g, H = xn, fn, gn, Hn
    if stop is not None and (why := stop(x)) is not None:
        return NewtonResult(x, f, g, H, max_iter, Status.BOUNDARY, why)
    # one last check at the final point
    try:
        step = linalg.cho_solve(linalg.cho_factor(-H, check_finite=False), g, check_finite=False)
        dec = float(g @ step)
        if dec <= tol and np.all(np.abs(step) <= xtol * (1 + np.abs(x))):
            return NewtonResult(x, f, g, H, max_iter, Status.SUCCESS, "")
    except (linalg.LinAlgError, ValueError):
        pass
    return NewtonResult(x, f, g, H, max_iter, Status.MAX_ITER, (
        f"not converged: stopped at the iteration limit max_iter={max_iter} with Newton decrement {dec:.3g} "
        f"(tol={tol:g}); raise max_iter"))


def _chord(fgh: Callable, x: np.ndarray, H0: np.ndarray, max_steps: int) -> tuple[np.ndarray, int]:
    """Chord steps with the fixed factor of ``-H0`` (see :func:`newton`): the last accepted point and the steps."""
    try:
        cf = linalg.cho_factor(-H0, check_finite=False)
    except (linalg.LinAlgError, ValueError):
        return x, 0
    f, g, _ = fgh(x, "gradient")
    last, steps = math.inf, 0
    while steps < max_steps and np.isfinite(f):
        step = linalg.cho_solve(cf, g, check_finite=False)
        size = float(np.max(np.abs(step) / (1 + np.abs(x))))
        if not size < 0.25 * last:   # no longer contracting fast: H0 is too far from the Hessian here
            break
        xn = x + step
        fn, gn, _ = fgh(xn, "gradient")
        if not (np.isfinite(fn) and fn >= f - 1e-12 * abs(f)):
            break
        x, f, g, last, steps = xn, fn, gn, size, steps + 1
        if size <= CHORD_STOP:
            break
    return x, steps


def inverse_negative(H: np.ndarray) -> np.ndarray | None:
    """:math:`(-H)^{-1}` by Cholesky (the inverse observed information); None when ``-H`` is not positive definite."""
    try:
        return linalg.cho_solve(linalg.cho_factor(-H, check_finite=False), np.eye(H.shape[0]), check_finite=False)
    except (linalg.LinAlgError, ValueError):
        return None
