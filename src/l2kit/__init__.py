"""l2kit: the L2 loss (squared error) and its whole family, fast, exact and honest.

Import as ``import l2kit as l2``. Heavy submodules load on first use, so
``import l2kit`` stays fast.

Examples
--------
>>> import numpy as np, l2kit as l2
>>> y = np.array([1.0, 2.0, 3.0, 100.0])
>>> float(l2.mse(y, np.full(4, 2.0)))
2401.5
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: modules whose ``__all__`` (a literal list in their source) becomes ``l2kit.<name>``, loaded on first use
_EXPORTING = ("_errors", "losses", "metrics", "linear", "diagnosis", "signal", "geometry", "autoencoder", "stats")
#: submodules reachable as attributes, imported on first use
_SUBMODULES = ("autoencoder", "datasets", "diagnosis", "geometry", "io", "keras", "linear", "losses", "metrics",
               "signal", "sklearn", "stats", "torch", "workflows")

_exports: dict[str, tuple[str, ...]] | None = None  # public name -> the modules exporting it, built on first use


def _literal_all(path: str) -> list[str]:
    """The names in the one literal ``__all__ = [...]`` of the Python file ``path``, read without importing it.

    Raises RuntimeError for anything else (no ``__all__``, a computed value,
    ``+=``, ``.extend``...): the lazy exports must be readable statically.
    """
    import ast

    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    # every place that binds or changes __all__; exactly one top-level `__all__ = <literal>` is allowed
    binds = [n for n in ast.walk(tree)
             if (isinstance(n, ast.Name) and n.id == "__all__" and not isinstance(n.ctx, ast.Load))
             or (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "__all__")]
    top = [n for n in tree.body if isinstance(n, ast.Assign) and len(n.targets) == 1 and n.targets[0] in binds]
    names = None
    if len(binds) == 1 and len(top) == 1:
        try:
            names = ast.literal_eval(top[0].value)
        except ValueError:
            pass
    if isinstance(names, (list, tuple)) and all(isinstance(n, str) for n in names):
        return list(names)
    where = f"line {binds[0].lineno}" if binds else "no __all__"
    raise RuntimeError(f"{path} ({where}): l2kit reads __all__ statically for its lazy exports, so it must be "
                       "assigned once, at module level, to a literal list of strings (no +=, no .extend, no "
                       "computed value): write __all__ = [\"name\", ...]")


def _export_map() -> dict[str, tuple[str, ...]]:
    """Public name -> the modules whose ``__all__`` lists it (read once from their source, not imported)."""
    global _exports
    if _exports is None:
        import importlib.util

        found: dict[str, tuple[str, ...]] = {}
        for mod in _EXPORTING:
            full = f"l2kit.{mod}"
            for name in _literal_all(importlib.util.find_spec(full).origin):
                if name in _SUBMODULES:
                    raise RuntimeError(f"{full} exports {name!r}, which is also the submodule l2kit.{name}; "
                                       "rename one")
                found[name] = found.get(name, ()) + (full,)
        _exports = found
    return _exports


def _resolve(name: str) -> Any:
    """The object ``l2kit.<name>``; a name several modules export (a re-export) must be one object."""
    modules = _export_map()[name]
    values = [getattr(importlib.import_module(m), name) for m in modules]
    if any(v is not values[0] for v in values[1:]):
        raise RuntimeError(f"l2kit.{name} is ambiguous: {', '.join(modules)} each export a different {name!r}; "
                           "rename one")
    return values[0]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"l2kit.{name}")
    if name == "__all__":
        value: Any = sorted(_export_map()) + sorted(_SUBMODULES)
    elif name.startswith("__") or name not in _export_map():
        raise AttributeError(f"module 'l2kit' has no attribute {name!r}")
    else:
        value = _resolve(name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return globals().get("__all__") or __getattr__("__all__")
