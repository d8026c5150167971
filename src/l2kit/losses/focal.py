r"""Focal losses for detection and keypoint heatmaps, and a weighted heatmap MSE.

Why not plain L2 here?

* **Heatmaps are mostly background.** A 64x64 keypoint heatmap has one peak
  and ~4000 near-zero pixels. The mean squared error averages over all of
  them, so a network that predicts an all-zero map already reaches a tiny
  loss: the peak contributes one term in 4096 and its gradient is drowned by
  the background. :class:`HeatmapFocal` (CornerNet) down-weights easy
  background pixels by :math:`p^\alpha` and pixels near a peak by
  :math:`(1-y)^\beta`, and normalises by the *number of positives* instead of
  the number of pixels, so each keypoint counts the same whatever the map
  size. :class:`HeatmapMSE` keeps L2 but lets invisible keypoints be masked
  out with per-keypoint target weights (as in HRNet / mmpose).
* **MSE after a sigmoid vanishes on confident mistakes.** With
  :math:`p = \sigma(x)`, :math:`\partial (p-y)^2/\partial x = 2(p-y)\,p(1-p)`:
  when the model is confidently wrong (:math:`p \to 1` for a negative),
  :math:`p(1-p) \to 0` and the gradient vanishes exactly where the model most
  needs correcting. Cross-entropy's gradient is :math:`p - y`, which stays
  near 1; the focal loss keeps that and only damps *easy* examples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import InputError
from ._base import Loss
from ._reduce import check_reduction, check_weight_sum, reduce
from ._registry import register
from ._validate import any_true, check_unit, positive_param
from .links import sigmoid, softplus

__all__ = ["Focal", "HeatmapFocal", "HeatmapMSE"]

_LOG_CLAMP = -100.0  # torch's binary_cross_entropy clamps log at -100


def _clamped_log(xp, p):
    """log(p) clamped below at -100 (torch BCE), safe for p = 0 (no -inf, no NaN gradient branch)."""
    tiny = math.exp(_LOG_CLAMP)
    return xp.maximum(xp.log(xp.maximum(p, xp.full_like(p, tiny))), xp.full_like(p, _LOG_CLAMP))


def _pow(xp, q, g: float):
    """q**g for q >= 0, exact 0**0 = 1, and no NaN/inf for non-integer g."""
    if g == 0:
        return xp.ones_like(q)
    if float(g).is_integer() and g <= 8:
        out = q
        for _ in range(int(g) - 1):
            out = out * q
        return out
    return q ** g


@register
@dataclass(frozen=True)
class Focal(Loss):
    r"""RetinaNet focal loss for binary targets, on probabilities or logits.

    With :math:`p` the predicted probability (``sigmoid(y_pred)`` when
    ``logits=True``), :math:`p_t = p\,y + (1-p)(1-y)` and
    :math:`\alpha_t = \alpha y + (1-\alpha)(1-y)`:

    .. math::
        \ell = -\alpha_t\,(1-p_t)^\gamma\,\bigl[y\log p + (1-y)\log(1-p)\bigr]

    the formula of ``torchvision.ops.sigmoid_focal_loss`` (Lin et al. 2017).
    ``gamma=0, alpha=None`` is binary cross-entropy. Targets may be soft
    labels in [0, 1].

    Stability: with logits, :math:`\log p = -\mathrm{softplus}(-x)` and
    :math:`\log(1-p) = -\mathrm{softplus}(x)` are exact for any logit, and
    :math:`1-p_t` is built from ``sigmoid`` evaluated without overflow. With
    probabilities, logs are clamped at -100 as in
    ``torch.nn.functional.binary_cross_entropy``. See the module docstring for
    why MSE after a sigmoid is a poor substitute.

    Parameters
    ----------
    gamma : float, default 2.0
        Focusing exponent (>= 0).
    alpha : float in [0, 1] or None, default 0.25
        Class balance weight of positives; ``None`` disables it (torchvision's
        ``alpha=-1``).
    logits : bool, default True
        ``y_pred`` holds logits (recommended) rather than probabilities.

    ``grad`` is the derivative with respect to ``y_pred`` (the logit or the
    probability).

    ``l2kit.fit(X, y, loss=Focal(...))`` fits a linear *logit*
    :math:`\eta = \beta_0 + x^\top\beta` (``link="logit"``, the only link:
    predictions stay probabilities); with ``logits=True`` the loss receives
    :math:`\eta` itself (the stable form). ``Focal(gamma=0, alpha=None)`` is
    then logistic regression.

    Examples
    --------
    >>> import numpy as np
    >>> y, x = np.array([1.0, 0.0]), np.array([2.0, -1.0])
    >>> bce = Focal(gamma=0.0, alpha=None)(y, x, reduction="sum")
    >>> ref = np.log1p(np.exp(-2.0)) + np.log1p(np.exp(-1.0))
    >>> bool(np.isclose(bce, ref))
    True
    """

    gamma: float = 2.0
    alpha: float | None = 0.25
    logits: bool = True

    name = "focal"
    aliases = ("sigmoid_focal", "focal_loss")
    convex = False
    smooth = True
    fit_family = "gradient"
    fit_links = ("logit",)

    def __post_init__(self):
        positive_param("Focal", "gamma", self.gamma, allow_zero=True)
        if self.alpha is not None:
            a = self.alpha
            if not (isinstance(a, (int, float, np.floating, np.integer)) and not isinstance(a, bool) and 0 <= a <= 1):
                raise InputError("Focal(alpha=...)", "a number in [0, 1] or None", repr(a),
                                 "pass alpha=0.25, or alpha=None to disable class balancing")

    @property
    def takes_linear_predictor(self) -> bool:
        """With ``logits=True`` a fit passes the linear predictor itself (the stable form)."""
        return bool(self.logits)

    def likelihood_factor(self, y_true):
        """``gamma=0`` on 0/1 labels is the Bernoulli likelihood: factor 1 (``alpha=None``) or 2 (``alpha=0.5``)."""
        if self.gamma != 0 or not np.all((np.asarray(y_true) == 0) | (np.asarray(y_true) == 1)):
            return None
        return {None: 1.0, 0.5: 2.0}.get(self.alpha)

    def _check_domain(self, xp, y_true, y_pred):
        check_unit(xp, y_true, "y_true", "Focal", "targets are (soft) labels in [0, 1]")
        if not self.logits:
            check_unit(xp, y_pred, "y_pred", "Focal(logits=False)",
                        "pass probabilities, or logits with Focal(logits=True)")

    def _parts(self, xp, t, x):
        if self.logits:
            p = sigmoid(xp, x)
            log_p, log_1mp = -softplus(xp, -x), -softplus(xp, x)
            # 1 - p_t = t (1-p) + (1-t) p, with 1-p = sigmoid(-x) computed directly
            q = t * sigmoid(xp, -x) + (1 - t) * p
        else:
            p = x
            log_p, log_1mp = _clamped_log(xp, p), _clamped_log(xp, 1 - p)
            q = t * (1 - p) + (1 - t) * p
        ce = -(t * log_p + (1 - t) * log_1mp)
        at = 1.0 if self.alpha is None else self.alpha * t + (1 - self.alpha) * (1 - t)
        return p, q, ce, at

    def _elementwise(self, xp, y_true, y_pred):
        _, q, ce, at = self._parts(xp, y_true, y_pred)
        return at * _pow(xp, q, self.gamma) * ce

    def _grad(self, xp, y_true, y_pred):
        t, g = y_true, self.gamma
        p, q, ce, at = self._parts(xp, t, y_pred)
        qg = _pow(xp, q, g)
        # d q^g / dq = g q^(g-1); guard q = 0 (the term is multiplied by a factor that vanishes there)
        pos = q > 0
        qs = xp.where(pos, q, xp.ones_like(q))
        dqg = xp.where(pos, g * _pow(xp, qs, g) / qs, xp.zeros_like(q)) if g != 0 else xp.zeros_like(q)
        if self.logits:
            # dq/dx = (1-2t) p (1-p); dce/dx = p - t
            one_m_p = sigmoid(xp, -y_pred)
            return at * (dqg * (1 - 2 * t) * p * one_m_p * ce + qg * (p - t))
        # probabilities: dq/dp = 1 - 2t; dce/dp = -t/p + (1-t)/(1-p) (zero where the clamp is active)
        tiny = math.exp(_LOG_CLAMP)
        ps = xp.maximum(p, xp.full_like(p, tiny))
        qs1 = xp.maximum(1 - p, xp.full_like(p, tiny))
        dce = -t / ps + (1 - t) / qs1
        return at * (dqg * (1 - 2 * t) * ce + qg * dce)

    @classmethod
    def _example(cls, rng, n=7):
        t = (rng.uniform(size=n) < 0.4).astype(float)
        return cls(gamma=2.0, alpha=0.25), t, rng.normal(size=n), {}


@register
@dataclass(frozen=True)
class HeatmapFocal(Loss):
    r"""CornerNet / CenterNet penalty-reduced focal loss for keypoint heatmaps.

    Targets are Gaussian-splatted heatmaps in [0, 1] whose peaks are *exactly*
    1.0 (the positives); predictions are probabilities in [0, 1] (apply the
    sigmoid first). Per pixel,

    .. math::
        \ell = \begin{cases} -(1-p)^\alpha\log p & y = 1 \\
        -(1-y)^\beta\,p^\alpha\log(1-p) & \text{otherwise} \end{cases}

    and ``reduction="mean"`` divides the *sum* by the number of positives
    :math:`N` (by 1 when there are none), as in CornerNet (Law & Deng 2018)
    and CenterNet (Zhou et al. 2019): each keypoint counts once, whatever the
    heatmap size. With case weights the positives are counted with their
    weights. ``reduction="sum"`` and ``"none"`` are unnormalised.

    Naming: ``alpha`` (focusing exponent on :math:`p`, default 2) and ``beta``
    (penalty reduction :math:`(1-y)^\beta` near peaks, default 4) follow the
    CornerNet paper. mmdet's ``GaussianFocalLoss(alpha=2.0, gamma=4.0)`` calls
    the same two numbers ``alpha`` and ``gamma``: mmdet ``gamma`` = l2kit
    ``beta``. Logs are clamped at -100 (torch BCE), so :math:`p = 0` or 1 give
    large finite values rather than inf. ``grad`` is the derivative of the
    elementwise (``"none"``) loss with respect to ``y_pred``.

    See the module docstring for why plain L2 on heatmaps is dominated by the
    background pixels.

    ``l2kit.fit(X, y, loss=HeatmapFocal())`` fits :math:`p = \sigma(\beta_0 +
    x^\top\beta)` per pixel (``link="logit"``, the only link, so predictions
    stay in (0, 1)). It minimises the (weighted) *mean* of the elementwise
    loss; the normalisation by the number of positives is a constant of the
    data and does not move the minimiser.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([1.0, 0.5, 0.0])
    >>> p = np.array([0.8, 0.3, 0.1])
    >>> by_hand = (-(0.2**2) * np.log(0.8) - 0.5**4 * 0.3**2 * np.log(0.7) - 0.1**2 * np.log(0.9)) / 1
    >>> bool(np.isclose(HeatmapFocal()(y, p), by_hand))
    True
    """

    alpha: float = 2.0
    beta: float = 4.0

    name = "heatmap_focal"
    aliases = ("cornernet_focal", "centernet_focal", "gaussian_focal")
    convex = False
    smooth = True
    fit_family = "gradient"
    fit_links = ("logit",)

    def __post_init__(self):
        positive_param("HeatmapFocal", "alpha", self.alpha, allow_zero=True)
        positive_param("HeatmapFocal", "beta", self.beta, allow_zero=True)

    def _check_domain(self, xp, y_true, y_pred):
        check_unit(xp, y_true, "y_true", "HeatmapFocal", "targets are heatmaps in [0, 1] with peaks of exactly 1")
        check_unit(xp, y_pred, "y_pred", "HeatmapFocal",
                    "pass probabilities: apply a sigmoid to the network output first")

    def __call__(self, y_true: Any, y_pred: Any, *, weights: Any = None, reduction: str = "mean", **kwargs: Any):
        check_reduction(reduction)
        v = self._validate(y_true, y_pred, weights, kwargs)
        xp = v.xp
        values = self._elementwise(xp, v.y_true, v.y_pred)
        if reduction != "mean":
            return reduce(xp, values, v.weights, reduction, v.result_dtype)
        pos = xp.astype(v.y_true == 1, values.dtype)
        if v.weights is not None:
            values = values * v.weights
            pos = pos * v.weights
        if v.weights is not None:
            check_weight_sum(xp.sum(v.weights))  # all-zero weights: refused as by every other loss
        n_pos = xp.sum(pos)
        out = xp.sum(values) / xp.maximum(n_pos, xp.ones_like(n_pos))
        return xp.astype(out, v.result_dtype) if out.dtype != v.result_dtype else out

    def _elementwise(self, xp, y_true, y_pred):
        p, y = y_pred, y_true
        positive = y == 1
        pos = -_pow(xp, 1 - p, self.alpha) * _clamped_log(xp, p)
        neg = -_pow(xp, 1 - y, self.beta) * _pow(xp, p, self.alpha) * _clamped_log(xp, 1 - p)
        return xp.where(positive, pos, neg)

    def _grad(self, xp, y_true, y_pred):
        p, y, a = y_pred, y_true, self.alpha
        tiny = math.exp(_LOG_CLAMP)
        ps = xp.maximum(p, xp.full_like(p, tiny))
        qs = xp.maximum(1 - p, xp.full_like(p, tiny))
        zero = xp.zeros_like(p)
        # positives: d/dp [-(1-p)^a log p] = a (1-p)^(a-1) log p - (1-p)^a / p
        da_pos = a * _pow(xp, 1 - p, a - 1) if a >= 1 else xp.where(1 - p > 0, a * (qs ** (a - 1)), zero)
        g_pos = da_pos * _clamped_log(xp, p) - _pow(xp, 1 - p, a) / ps
        # negatives: d/dp [-(1-y)^b p^a log(1-p)] = -(1-y)^b [a p^(a-1) log(1-p) - p^a/(1-p)]
        da_neg = a * _pow(xp, p, a - 1) if a >= 1 else xp.where(p > 0, a * (ps ** (a - 1)), zero)
        g_neg = -_pow(xp, 1 - y, self.beta) * (da_neg * _clamped_log(xp, 1 - p) - _pow(xp, p, a) / qs)
        return xp.where(y == 1, g_pos, g_neg)

    @classmethod
    def _example(cls, rng, n=7):
        y = rng.uniform(0.0, 0.9, size=n)
        y[0] = 1.0
        y[n // 2] = 1.0
        return cls(), y, rng.uniform(0.05, 0.95, size=n), {}


@register
@dataclass(frozen=True)
class HeatmapMSE(Loss):
    r"""Squared error on heatmaps with per-keypoint target weights (HRNet / mmpose ``KeypointMSELoss``).

    For heatmaps of shape ``(..., K, H, W)`` and ``target_weight`` of shape
    ``(..., K)`` (e.g. visibility flags),

    .. math::
        \ell_{kij} = w_k\,(y_{kij} - \hat y_{kij})^2

    and ``reduction="mean"`` averages over every pixel of every heatmap
    (mmpose 1.x: ``(mse * mask).mean()``). ``target_weight`` must have exactly
    the leading shape ``y_true.shape[:-2]``; it is expanded over the two
    spatial axes explicitly. Without ``target_weight`` this is
    :class:`~l2kit.losses.Squared` on the maps.

    Plain L2 on heatmaps is dominated by background pixels (see the module
    docstring): prefer :class:`HeatmapFocal` when peaks are missed.
    ``grad`` is :math:`-2 w_k (y - \hat y)`.

    ``l2kit.fit(X, y, loss=HeatmapMSE())`` regresses pixel values on ``X``
    (one row per pixel, per-row case ``weights`` in place of
    ``target_weight``). The default ``link="identity"`` is least squares
    (convex, unique); ``link="logit"`` keeps predictions in (0, 1) at the
    price of the sigmoid-MSE vanishing gradients described above.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.zeros((1, 2, 2, 2)); y[0, 0, 0, 0] = 1.0
    >>> p = np.full((1, 2, 2, 2), 0.5)
    >>> float(HeatmapMSE()(y, p, target_weight=np.array([[1.0, 0.0]])))  # keypoint 2 invisible
    0.125
    """

    name = "heatmap_mse"
    aliases = ("keypoint_mse", "joints_mse")
    convex = True
    smooth = True
    fit_family = "gradient"
    fit_links = ("identity", "logit")
    call_kwargs = ("target_weight",)

    def _prepare_kwargs(self, v, kwargs):
        tw = kwargs.get("target_weight")
        xp = v.xp
        if tw is None:
            return {"w": None}
        shape = tuple(v.y_true.shape)
        if len(shape) < 3:
            raise InputError("y_true", "heatmaps of shape (..., K, H, W) when target_weight is given",
                             f"shape {shape}", "pass heatmaps with the keypoint axis before the two spatial axes")
        if not hasattr(tw, "shape"):
            tw = xp.asarray(tw, dtype=v.y_true.dtype)
        else:
            from .._array import array_namespace

            array_namespace(v.y_true, tw)
        if tuple(tw.shape) != shape[:-2]:
            raise InputError("target_weight", f"shape {shape[:-2]} (one weight per keypoint)",
                             f"shape {tuple(tw.shape)}", "pass target_weight of shape y_true.shape[:-2]; "
                             "l2kit never broadcasts")
        tw = xp.astype(tw, v.y_true.dtype) if tw.dtype != v.y_true.dtype else tw
        if any_true(xp, ~(tw >= 0)):
            raise InputError("target_weight", "non-negative weights", f"minimum {float(xp.min(tw)):g}",
                             "use 0 for invisible keypoints and 1 for visible ones")
        return {"w": xp.reshape(tw, tuple(tw.shape) + (1, 1))}

    def _elementwise(self, xp, y_true, y_pred, w=None):
        r = y_true - y_pred
        return r * r if w is None else w * (r * r)

    def _grad(self, xp, y_true, y_pred, w=None):
        g = -2 * (y_true - y_pred)
        return g if w is None else w * g

    @classmethod
    def _example(cls, rng, n=7):
        y = rng.uniform(size=(2, 3, 4, 4))
        return cls(), y, rng.uniform(size=y.shape), {"target_weight": (rng.uniform(size=(2, 3)) > 0.3) * 1.0}
