"""The one numba loader: :func:`jit` compiles a kernel on first use, or hands back its fallback.

numba is optional (the ``fast`` extra) and slow to import, so it is imported
here, when a kernel is first requested, and never by ``import l2kit``.
Setting the environment variable ``L2KIT_DISABLE_NUMBA`` (any non-empty
value) before that first request makes every kernel its fallback: the
project-wide switch to the NumPy / plain-Python paths.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["DISABLE_ENV", "jit"]

#: the environment variable that turns numba off for the whole library
DISABLE_ENV = "L2KIT_DISABLE_NUMBA"

_LOADED: dict[Callable, Any] = {}   # fn -> its compiled kernel or its fallback, decided once


def jit(fn: Callable, fallback: Callable | None = None, *, fastmath: bool | set = False,
        nogil: bool = False) -> Callable | None:
    """``fn`` compiled by ``numba.njit(cache=True, ...)`` on first use, else ``fallback``.

    Parameters
    ----------
    fn : function
        A numba-compilable function defined in a module (numba's disk cache,
        ``cache=True``, is keyed on its source file, so later processes load
        the machine code instead of compiling it again).
    fallback : callable or None
        What to use when numba is missing or unusable, or ``L2KIT_DISABLE_NUMBA``
        is set: ``fn`` itself (plain Python, same algorithm), a NumPy version,
        or None where there is no slow path worth taking (the caller checks).
    fastmath : bool or set of str
        numba's ``fastmath`` flags, e.g. ``{"reassoc", "contract"}`` (keeps
        NaN/inf semantics, unlike ``True``).
    nogil : bool
        Release the GIL inside the kernel, for kernels run on several threads.

    Returns
    -------
    callable or None
        The same object for every call with the same ``fn``: the first call
        decides (its options and the environment at that moment).

    Examples
    --------
    >>> def add(a, b):
    ...     return a + b
    >>> kernel = jit(add, add)
    >>> kernel(2, 3)
    5
    >>> jit(add, add) is kernel
    True
    """
    try:
        return _LOADED[fn]
    except KeyError:
        pass
    got = fallback
    if not os.environ.get(DISABLE_ENV):
        try:
            import numba

            got = numba.njit(cache=True, fastmath=fastmath, nogil=nogil)(fn)
        except Exception:  # numba missing or unusable (e.g. no cache locator): same results, slower path
            got = fallback
    _LOADED[fn] = got
    return got
