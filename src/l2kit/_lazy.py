"""Module attributes imported on first use (PEP 562), so that a light path never pays for a heavy one."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_attributes(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``name`` from the submodule ``where[name]`` of ``package`` on first use.

    The value is then stored in the package's namespace, so later lookups cost nothing.

    Examples
    --------
    >>> getattr_ = lazy_attributes("l2kit.linear", {"enet_path": ".least_squares.path"})
    >>> getattr_("enet_path").__name__
    'enet_path'
    """
    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name], package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
