"""How a solver ended, as a value: :class:`Status`.

Every fit reports one member of :class:`Status` (``Fit.status``) and a
readable sentence that says what to do (``Fit.message``). ``converged`` is
derived from the status and never set on its own, so a fit stopped at its
iteration limit can never claim convergence.
"""

from __future__ import annotations

import enum

__all__ = ["Status"]


class Status(enum.Enum):
    """Why a solver stopped.

    Members
    -------
    SUCCESS
        The tolerance was met, or the problem was solved exactly (direct
        least squares, an LP at its optimum).
    RANK_DEFICIENT
        The design is rank deficient: the minimum-norm solution was returned
        (exact, but not unique); the message names the dependent columns.
    MAX_ITER
        The iteration (or time) limit was reached before the tolerance.
    STALLED
        No further progress was possible before the tolerance: a line search
        found no descent, or the iterates reached the floating-point floor.
    SINGULAR
        The Hessian or information matrix is singular: no unique estimate.
    NONFINITE
        Non-finite values (overflow, NaN) arose during the fit.
    BOUNDARY
        A parameter went to the boundary of its space (a dispersion to
        infinity, a mixing probability to 0): a simpler model fits as well.
    FAILED
        The underlying solver reported a failure (an LP status, ...).

    Examples
    --------
    >>> from l2kit import Status
    >>> Status.SUCCESS.converged, Status.MAX_ITER.converged
    (True, False)
    >>> Status("max_iter") is Status.MAX_ITER
    True
    """

    SUCCESS = "success"
    RANK_DEFICIENT = "rank_deficient"
    MAX_ITER = "max_iter"
    STALLED = "stalled"
    SINGULAR = "singular"
    NONFINITE = "nonfinite"
    BOUNDARY = "boundary"
    FAILED = "failed"

    @property
    def converged(self) -> bool:
        """True for the statuses whose estimate solves the problem: SUCCESS and RANK_DEFICIENT."""
        return self in (Status.SUCCESS, Status.RANK_DEFICIENT)

    def __str__(self) -> str:
        return self.value
