"""PyTorch adapter: any l2kit loss as a ``torch.nn.Module``.

l2kit losses already take and return torch tensors, and autograd flows
through them; this module only wraps one in the ``nn.Module`` calling
convention, so it drops into training loops and ``nn.Sequential`` containers
next to ``torch.nn.MSELoss``. torch is imported on first use of
:class:`LossModule`, not when this module is imported.

Examples
--------
>>> import torch, l2kit as l2
>>> from l2kit.torch import LossModule
>>> crit = LossModule(l2.Huber(delta=1.0))
>>> crit
LossModule(Huber(delta=1.0), reduction='mean')
>>> pred = torch.tensor([0.0, 3.0], requires_grad=True)
>>> out = crit(pred, torch.tensor([0.5, 0.0]))  # torch order: (input, target)
>>> out.backward()
>>> out.item(), pred.grad.tolist()
(1.3125, [-0.25, 0.5])
"""

from __future__ import annotations

from typing import Any

__all__ = ["LossModule"]  # noqa: F822  (built on first access by __getattr__: torch loads lazily)

_built: dict[str, type] = {}


def _build_loss_module() -> type:
    import torch

    from ._errors import InputError
    from .losses import Loss, get_loss
    from .losses._reduce import check_reduction

    class LossModule(torch.nn.Module):
        """Wrap an l2kit loss as a ``torch.nn.Module``.

        Parameters
        ----------
        loss : Loss or str
            An l2kit loss object, or its registry name (``"huber"``).
        reduction : {"mean", "sum", "none"}
            As in ``torch.nn.MSELoss``; the weighted mean is
            ``sum(w * l) / sum(w)``.

        Notes
        -----
        ``forward(input, target, weights=None, **kwargs)`` follows torch's
        argument order, prediction first, and calls
        ``loss(target, input, weights=weights, reduction=reduction, **kwargs)``
        (l2kit's order is ``(y_true, y_pred)``); ``kwargs`` are the loss's
        extra call keywords, e.g. ``var=`` for ``GaussianNLL``. Validation
        (no silent broadcasting, one array library) is l2kit's.
        """

        def __init__(self, loss: Any, *, reduction: str = "mean"):
            super().__init__()
            if isinstance(loss, str):
                loss = get_loss(loss)
            elif not isinstance(loss, Loss):
                raise InputError("loss", "an l2kit loss object or a registry name", type(loss).__name__,
                                 "pass e.g. LossModule(l2kit.Huber()) or LossModule('huber')")
            check_reduction(reduction)
            self.loss = loss
            self.reduction = reduction

        def forward(self, input: Any, target: Any, weights: Any = None, **kwargs: Any):  # noqa: A002 - torch's name
            return self.loss(target, input, weights=weights, reduction=self.reduction, **kwargs)

        def extra_repr(self) -> str:
            return f"{self.loss!r}, reduction={self.reduction!r}"

    LossModule.__module__ = __name__
    LossModule.__qualname__ = "LossModule"
    return LossModule


def __getattr__(name: str) -> Any:
    # PEP 562: build the nn.Module subclass (and import torch) on first access only
    if name == "LossModule":
        if name not in _built:
            try:
                _built[name] = _build_loss_module()
            except ImportError as exc:  # pragma: no cover - torch is an optional dependency
                raise ImportError("l2kit.torch needs PyTorch: pip install 'l2kit[torch]'") from exc
        globals()[name] = _built[name]
        return _built[name]
    raise AttributeError(f"module 'l2kit.torch' has no attribute {name!r}")
