"""The recommendation of a diagnosis: a registry loss with its parameters and fit options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._fits import LABELS, ROBUST


@dataclass(frozen=True)
class Recommendation:
    """The loss the data asks for: a registry loss with its parameters and fit options.

    Use it as ``l2.fit(X, y, loss=rec.loss, **rec.options)``.
    """

    name: str                 # candidate key, e.g. "huber"
    loss: Any                 # the loss object (from the registry)
    options: dict = field(default_factory=dict)   # extra fit options, e.g. {"cov_type": "HC3"}

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)

    @property
    def params(self) -> dict:
        return dict(getattr(self.loss, "params", {}))

    @property
    def robust(self) -> bool:
        return self.name in ROBUST

    def __str__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"{self.loss!r}{opts}"
