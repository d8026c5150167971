"""The loss registry: names to classes, for ``get_loss`` and the CLI."""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from .._array import InputError

_REGISTRY: dict[str, type] = {}
_ALIASES: dict[str, str] = {}

T = TypeVar("T", bound=type)


def register(cls: T) -> T:
    """Class decorator: add a loss class to the registry under ``cls.name`` and its aliases."""
    if not cls.name or cls.name in _REGISTRY:
        raise RuntimeError(f"loss name {cls.name!r} is empty or already registered")
    _REGISTRY[cls.name] = cls
    for alias in cls.aliases:
        _ALIASES[alias] = cls.name
    return cls


def available_losses() -> tuple[str, ...]:
    """Names of every registered loss, sorted.

    Examples
    --------
    >>> "huber" in available_losses()
    True
    """
    return tuple(sorted(_REGISTRY))


def loss_classes() -> tuple[type, ...]:
    """Every registered loss class (used by the generated tests)."""
    return tuple(_REGISTRY[k] for k in sorted(_REGISTRY))


def get_loss(name: str, **params: Any):
    """Build a loss from its registry name.

    Examples
    --------
    >>> get_loss("huber", delta=1.345)
    Huber(delta=1.345)
    >>> get_loss("hubr")
    Traceback (most recent call last):
    ...
    l2kit._errors.InputError: loss: expected one of the registered losses ..., got 'hubr'. Fix: did you mean 'huber'?...
    """
    key = str(name).strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        names = available_losses()
        close = difflib.get_close_matches(key, list(names) + list(_ALIASES), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InputError("loss", "one of the registered losses (" + ", ".join(names) + ")", repr(name),
                         hint + "see l2kit.available_losses()")
    try:
        return _REGISTRY[key](**params)
    except TypeError as exc:
        raise InputError(f"loss {key!r}", "its documented parameters", ", ".join(params) or "no parameters",
                         str(exc)) from None
