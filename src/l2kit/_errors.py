"""The library's one input error: it names the argument, what was expected, what arrived, and the fix."""

from __future__ import annotations

__all__ = ["BoundaryWarning", "CollinearityWarning", "InputError"]


class InputError(ValueError):
    """Bad input to an l2kit function.

    The message always names the argument, what was expected, what arrived,
    and how to fix it.

    Examples
    --------
    >>> raise InputError("y_pred", "shape (3,)", "shape (3, 1)", "pass y_pred.reshape(-1)")
    Traceback (most recent call last):
    ...
    l2kit._errors.InputError: y_pred: expected shape (3,), got shape (3, 1). Fix: pass y_pred.reshape(-1).
    """

    def __init__(self, argument: str, expected: str, got: str, fix: str):
        self.argument = argument
        self.expected = expected
        self.got = got
        self.fix = fix
        super().__init__(f"{argument}: expected {expected}, got {got}. Fix: {fix.rstrip('.')}.")


class CollinearityWarning(UserWarning):
    """The design is rank deficient; the minimum-norm solution was returned."""


class BoundaryWarning(UserWarning):
    """A parameter went to the boundary of its space (``Status.BOUNDARY``); the message names the simpler model."""
