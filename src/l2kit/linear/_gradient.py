r"""Generic M-estimation for any smooth loss, by quasi-Newton or trust-region minimisation.

This is the solver family ``"gradient"``: losses without a specialised solver
(:class:`~l2kit.losses.GaussianNLL`, :class:`~l2kit.losses.Focal`,
:class:`~l2kit.losses.HeatmapFocal`, :class:`~l2kit.losses.HeatmapMSE`, and
the multi-output :class:`~l2kit.losses.Mahalanobis` and
:class:`~l2kit.losses.Geodesic`) are fitted by minimising the weighted mean
of the loss's own elementwise kernel over a linear predictor,

.. math::
    \hat\beta = \arg\min_\beta \frac{1}{\sum_i w_i}\sum_i w_i\,
    \ell\bigl(y_i,\ g^{-1}(\beta_0 + x_i^\top\beta)\bigr),

with the gradient from the loss's analytic ``_grad`` by the chain rule,
:math:`\nabla_\beta = X^\top (w \odot \partial\ell/\partial\eta) / \sum w`.
The Hessian is :math:`X^\top \mathrm{diag}(w\,h) X / \sum w` with
:math:`h_i = \partial^2\ell_i/\partial\eta_i^2` obtained by central finite
differences of the analytic gradient *per row* (two extra gradient
evaluations, whatever the number of columns; a ``k x k`` block per row for
multi-output losses).

Standard errors: the sandwich :math:`H^{-1} S H^{-1}` with
:math:`H = \sum_i w_i h_i x_i x_i^\top` and
:math:`S = \sum_i w_i g_i^2 x_i x_i^\top` (case weights: integer weights give
the same result as repeated rows), or, for a true likelihood
(``GaussianNLL`` with known variances, ``Focal(gamma=0)`` on 0/1 labels, i.e.
logistic regression), the inverse observed information :math:`H^{-1}` by
default (``cov_type="nonrobust"``), with ``loglike`` reported.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize

from .._array import InputError, to_numpy
from ._design import Design
from ._irls import gram_rank, pinvh
from ._options import check_common, iteration_options
from ._result import Fit

__all__ = ["fit_gradient", "GRADIENT_METHODS"]

#: ``method=`` values that select this solver from :func:`l2kit.fit` for any smooth loss
GRADIENT_METHODS = ("gradient", "lbfgs", "trust")
_OPTIONS = ("max_iter", "tol", "link", "loss_kwargs", "start", "cov_type")
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class _NonFinite(Exception):
    pass


def _np_namespace():
    import array_api_compat.numpy as xp

    return xp


def _sigmoid(x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def _links(loss) -> tuple[str, ...]:
    return tuple(getattr(loss, "fit_links", ("identity",)))


def _likelihood_factor(loss, y: np.ndarray) -> float | None:
    """``c`` such that ``c * loss`` is a negative log-likelihood (up to a known constant), else None."""
    name = type(loss).__name__
    if name == "GaussianNLL":
        return 1.0
    if name == "Focal" and loss.gamma == 0 and np.all((y == 0) | (y == 1)):
        if loss.alpha is None:
            return 1.0
        if loss.alpha == 0.5:
            return 2.0
    if name == "Squared":
        return None  # a likelihood only with an estimated variance: use the least-squares solver for that
    return None


def _loss_kwargs(loss, y, pred0, raw: Any) -> dict:
    """Validate call keywords (``var=``...) with the loss's own checks; per-row arrays must have n rows."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise InputError("loss_kwargs", "a dict of the loss's call keywords", type(raw).__name__,
                         "pass e.g. loss_kwargs={'var': v}")
    unknown = set(raw) - set(loss.call_kwargs)
    if unknown:
        accepted = ", ".join(loss.call_kwargs) or "none"
        raise InputError("loss_kwargs", f"call keywords of {type(loss).__name__} ({accepted})",
                         ", ".join(sorted(unknown)), "remove the unknown keywords")
    kw = {}
    for k, v in raw.items():
        if hasattr(v, "shape") or isinstance(v, (list, tuple)):
            a = np.asarray(to_numpy(v) if hasattr(v, "shape") else v, dtype=float)
            if a.ndim > 0:
                if a.shape != y.shape:
                    raise InputError(f"loss_kwargs[{k!r}]", f"a scalar or one value per row, shape {y.shape}",
                                     f"shape {a.shape}", "pass one value per row of X (l2kit never broadcasts)")
                if not np.all(np.isfinite(a)):
                    raise InputError(f"loss_kwargs[{k!r}]", "finite values", "NaN/inf",
                                     "drop or impute those rows before fitting")
            v = a
        kw[k] = v
    missing = [k for k in loss.call_kwargs if k == "var" and k not in kw]
    if missing:
        raise InputError("loss_kwargs", f"{type(loss).__name__}'s required keyword {missing[0]!r}", "nothing",
                         "pass e.g. loss_kwargs={'var': v} with the known per-row variances")
    # the loss's own validation: domain of y (and of a valid prediction), and the keywords themselves
    v = loss._validate(y, pred0, None, kw)
    return loss._prepare_kwargs(v, kw) if kw or loss.call_kwargs else {}


def fit_gradient(design: Design, loss: Any, **options: Any) -> Fit:
    r"""Fit a linear model for any smooth loss by minimising its weighted mean.

    Parameters
    ----------
    design : Design
        ``y`` of shape (n,), or (n, d) for a loss over the last axis
        (:class:`~l2kit.losses.Mahalanobis`; unit vectors for
        :class:`~l2kit.losses.Geodesic`).
    loss : Loss
        Any smooth loss with an analytic ``_grad``.
    fit_intercept : bool, default True
    method : {"auto", "gradient", "trust", "lbfgs"}
        ``"trust"``: trust-region Newton (``scipy.optimize.minimize(method=
        "trust-exact")``) with the finite-difference Hessian described in the
        module docstring; ``"lbfgs"``: L-BFGS-B with the analytic gradient.
        ``"auto"``/``"gradient"``: trust-region up to 400 parameters, else
        L-BFGS-B.
    link : {"identity", "logit", "sphere"}, optional
        Maps the linear predictor :math:`\eta` to the loss's prediction. The
        default is the natural one for the loss (``loss.fit_links[0]``):
        ``"logit"`` (:math:`\sigma(\eta)`, predictions in (0, 1)) for
        ``Focal`` (whose logits mode then receives :math:`\eta` itself, the
        stable form) and ``HeatmapFocal``; ``"sphere"`` for ``Geodesic``
        (the prediction is the direction :math:`\eta/\|\eta\|`, the
        projection onto the unit sphere; since the loss sees directions only,
        the scale of the coefficients is fixed by the weighted mean of
        :math:`\|\eta_i\|^2` being 1, and the covariance is that of this
        normalised estimator, singular along the coefficients themselves);
        ``"identity"`` otherwise (``HeatmapMSE`` also accepts ``"logit"``).
        Links that would let predictions leave the loss's domain are refused.
    loss_kwargs : dict, optional
        The loss's call keywords, e.g. ``{"var": v}`` for ``GaussianNLL``
        (required there): scalars or one value per row, validated by the loss.
    start : array, optional
        Starting parameters, intercept first (shape (p+1,) or (p+1, d)).
        Default: least squares for the identity link, the intercept-only
        logit of the weighted mean otherwise.
    max_iter : int, default 200
    tol : float, default 1e-9
        Gradient tolerance of the optimiser (on standardised columns).
    cov_type : {"auto", "nonrobust", "sandwich"}
        ``"auto"``: inverse information for likelihood losses, the sandwich
        otherwise.

    Returns
    -------
    Fit
        ``converged``, ``n_iter`` and ``status`` come from the optimiser (an
        iteration limit is never ``converged``); ``scale`` is 1 (no
        dispersion is estimated); ``loglike`` for likelihood losses; ``dist``
        is ``"normal"``. ``extra``: ``objective`` (the weighted mean loss at
        the optimum), ``grad_norm``, ``sum_weights``.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 1)); var = rng.uniform(0.5, 2.0, 200)
    >>> y = 1.0 + 2.0 * X[:, 0] + rng.normal(size=200) * np.sqrt(var)
    >>> f = l2.fit(X, y, loss=l2.GaussianNLL(), loss_kwargs={"var": var})
    >>> f.converged, f.method, bool(abs(f.coef[0] - 2.0) < 0.2)
    (True, 'trust', True)
    """
    opts = check_common(options, "gradient", _OPTIONS)
    fit_intercept = bool(opts.get("fit_intercept", True))
    method = opts.get("method", "auto")
    if method not in ("auto",) + GRADIENT_METHODS:
        raise InputError("method", "'auto', 'gradient', 'trust' or 'lbfgs' for the generic solver", repr(method),
                         "pass method='trust' or method='lbfgs'")
    max_iter, tol = iteration_options(opts, max_iter=200, tol=1e-9)
    name = type(loss).__name__
    if not loss.smooth:
        raise InputError("loss", "a smooth loss for the gradient solver", repr(loss),
                         "use its own solver (method='auto'): e.g. linear programming for Absolute/Quantile")
    X, y, c = design.X, design.y, design.weights
    if np.iscomplexobj(X) or np.iscomplexobj(y):
        raise InputError("X, y", "real data for the gradient solver", "complex data",
                         "use loss=Squared() (least squares) for complex data")
    multi = y.ndim == 2
    if multi != bool(loss.reduces_last_axis):
        raise InputError("y", "shape (n, d) (d variables on the last axis)" if loss.reduces_last_axis
                         else "shape (n,)", f"shape {y.shape}", "reshape the target for this loss")
    n, p = X.shape
    Y = y if multi else y[:, None]
    d = Y.shape[1]
    if name == "Mahalanobis":
        loss._check_last_axis(Y)

    link = opts.get("link")
    allowed = _links(loss)
    link = allowed[0] if link is None else link
    if link not in allowed:
        raise InputError("link", f"one of {allowed} for {name}", repr(link),
                         "a link outside these would let predictions leave the loss's domain"
                         if link in ("identity", "logit") else f"pass link={allowed[0]!r}")
    eta_is_input = link == "logit" and getattr(loss, "logits", False)  # Focal(logits=True) takes eta itself
    xp = _np_namespace()

    # -- validate y and the call keywords with the loss's own checks, at an in-domain prediction
    pred0 = np.full(y.shape, 0.5) if link == "logit" and not eta_is_input else (
        np.zeros(y.shape) if link == "logit" else np.array(y, copy=True))
    kw = _loss_kwargs(loss, y, pred0, opts.get("loss_kwargs"))
    kw = {k: (np.asarray(v)[:, None] if (not multi and np.ndim(v) == 1) else v) for k, v in kw.items()}

    w = np.ones(n) if c is None else c
    sw = float(w.sum())
    Xa = np.column_stack([np.ones(n), X]) if fit_intercept else X
    q = Xa.shape[1]
    if q == 0:
        raise InputError("X", "at least one column or fit_intercept=True", "no parameters", "add a column")
    rank = gram_rank((Xa * w[:, None]).T @ Xa)
    if rank < q:
        raise InputError("X", f"a full-rank design for {name}", f"rank {rank} < {q} columns",
                         "drop collinear or constant columns")

    # -- standardised coordinates for the optimiser: Z = [1, (X - m) / s]
    mean = (w @ X) / sw if fit_intercept else np.zeros(p)
    spread = np.sqrt(w @ (X - mean) ** 2 / sw) if p else np.zeros(0)
    spread = np.where(spread > 0, spread, 1.0)
    Z = (X - mean) / spread
    Za = np.column_stack([np.ones(n), Z]) if fit_intercept else Z

    def to_std(B):   # original (q, d) -> standardised
        Bz = B.copy()
        off = 1 if fit_intercept else 0
        Bz[off:] = B[off:] * spread[:, None]
        if fit_intercept:
            Bz[0] = B[0] + mean @ B[1:]
        return Bz

    def from_std(Bz):
        B = Bz.copy()
        off = 1 if fit_intercept else 0
        B[off:] = Bz[off:] / spread[:, None]
        if fit_intercept:
            B[0] = Bz[0] - mean @ B[1:]
        return B

    # -- the loss through the link: value and d/d eta, per row
    def value_grad(eta, need_grad=True):
        if link == "logit" and not eta_is_input:
            mu = _sigmoid(eta)
            dmu = mu * _sigmoid(-eta)
        else:
            mu, dmu = eta, None
        yp = mu
        vals = loss._elementwise(xp, Y, yp, **kw)
        vals = np.asarray(vals)
        if vals.ndim == 2 and not multi:
            vals = vals[:, 0]
        if not need_grad:
            return vals, None
        g = np.asarray(loss._grad(xp, Y, yp, **kw))
        if dmu is not None:
            g = g * dmu
        return vals, g

    def grad_eta(eta):
        return value_grad(eta)[1]

    def objective(theta):
        B = theta.reshape(q, d)
        eta = Za @ B
        vals, g = value_grad(eta)
        f = float(w @ vals) / sw
        if not (math.isfinite(f) and np.all(np.isfinite(g))):
            raise _NonFinite(f)
        grad = Za.T @ (w[:, None] * g) / sw
        if link == "sphere":
            # the loss is flat along the scale of B: pin the scale with (mean |eta|^2 - 1)^2, which is 0 at
            # the reported representative and leaves the minimising directions unchanged
            m = float(w @ np.sum(eta * eta, axis=1)) / sw
            f += (m - 1.0) ** 2
            grad = grad + 2 * (m - 1.0) * (2 * Za.T @ (w[:, None] * eta) / sw)
        return f, grad.reshape(-1)

    def row_hessian(eta):
        """(n, d, d): central differences of the analytic d loss / d eta, one output at a time."""
        H = np.empty((n, d, d))
        step = np.cbrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(eta))
        for j in range(d):
            e = np.zeros_like(eta)
            e[:, j] = step[:, j]
            H[:, :, j] = (grad_eta(eta + e) - grad_eta(eta - e)) / (2 * step[:, j:j + 1])
        return 0.5 * (H + np.swapaxes(H, 1, 2))

    def gram(A, Hrow, wt):
        """sum_i wt_i A_i A_i^T (x) Hrow_i as a (q d, q d) matrix, parameter order (a, j) row-major."""
        out = np.empty((q, d, q, d))
        for j in range(d):
            for m in range(d):
                out[:, j, :, m] = (A * (wt * Hrow[:, j, m])[:, None]).T @ A
        return out.reshape(q * d, q * d)

    def hessian(theta):
        eta = Za @ theta.reshape(q, d)
        H = gram(Za, row_hessian(eta), w / sw)
        if link == "sphere":   # Hessian of the scale pin (see objective)
            m = float(w @ np.sum(eta * eta, axis=1)) / sw
            dm = (2 * Za.T @ (w[:, None] * eta) / sw).reshape(-1)
            G = (Za * (w / sw)[:, None]).T @ Za
            H = H + 2 * np.outer(dm, dm) + 2 * (m - 1.0) * 2 * np.kron(G, np.eye(d))
        return H

    # -- start
    start = opts.get("start")
    if start is not None:
        B0 = np.asarray(to_numpy(start), dtype=float).reshape(-1)
        if B0.size != q * d or not np.all(np.isfinite(B0)):
            raise InputError("start", f"{q * d} finite values (intercept first)", f"{B0.size} values",
                             "pass one starting value per parameter")
        B0 = B0.reshape(q, d)
    elif link in ("identity", "sphere"):
        sq = np.sqrt(w)[:, None]
        if "var" in kw:   # GaussianNLL: weighted least squares with weights 1 / var is the exact answer
            sq = sq / np.sqrt(np.broadcast_to(kw["var"], Y.shape)[:, :1])
        B0 = np.linalg.lstsq(Xa * sq, Y * sq, rcond=None)[0]
    else:
        B0 = np.zeros((q, d))
        if fit_intercept:
            ybar = np.clip((w @ Y) / sw, 1e-3, 1 - 1e-3)
            B0[0] = np.log(ybar / (1 - ybar))
    if link == "sphere":
        B0 = B0 / math.sqrt(max(float(w @ np.sum((Xa @ B0) ** 2, axis=1)) / sw, 1e-300))
    theta0 = to_std(B0).reshape(-1)

    use = method if method in ("trust", "lbfgs") else ("trust" if q * d <= 400 else "lbfgs")
    try:
        if use == "trust":
            res = optimize.minimize(objective, theta0, jac=True, hess=hessian, method="trust-exact",
                                    options={"maxiter": int(max_iter), "gtol": float(tol)})
        else:
            res = optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B",
                                    options={"maxiter": int(max_iter), "gtol": float(tol), "ftol": 0.0,
                                             "maxcor": 20})
    except _NonFinite:
        raise InputError("X, y", f"data on which {name} stays finite", "a NaN/inf loss or gradient during the fit",
                         "scale the columns of X, check the targets are in the loss's domain, or pass start=")
    f_opt, g_opt = objective(res.x)
    gnorm = float(np.max(np.abs(g_opt)))
    # scipy reports success=False at its iteration limit for both optimisers: never converged there
    msg = str(res.message if not isinstance(res.message, bytes) else res.message.decode())
    converged = bool(res.success) and math.isfinite(f_opt)
    if use == "lbfgs" and "PROJECTED GRADIENT" not in msg.upper():
        converged = False   # L-BFGS-B also "succeeds" when f stops decreasing: judged by the decrement below
    at_limit = int(res.nit) >= int(max_iter) or "iteration" in msg.lower()
    floor = False
    if not converged and not at_limit and math.isfinite(f_opt):
        # stopped because f cannot decrease in floating point: accept only when the Newton decrement
        # g' H^-1 g (twice the predicted remaining decrease) is at the rounding level of f
        Hs = hessian(res.x)
        try:
            dec = float(g_opt @ np.linalg.solve(Hs, g_opt))
            floor = 0 <= dec <= 16 * np.finfo(float).eps * max(1.0, abs(f_opt)) and np.all(np.linalg.eigvalsh(Hs) > 0)
        except np.linalg.LinAlgError:
            floor = False
        converged = bool(floor)
    if converged and floor:
        status = (f"converged: the {use} optimiser stopped at the rounding level of the objective "
                  f"(Newton decrement {dec:.2g}; {msg.strip()})")
    elif converged:
        status = f"converged: the {use} optimiser met its gradient tolerance ({msg.strip()})"
    elif at_limit:
        status = (f"not converged: stopped at the iteration limit max_iter={max_iter} with max |gradient| "
                  f"{gnorm:.3g}; raise max_iter or pass start=")
    else:
        status = f"not converged: {msg.strip()} (max |gradient| {gnorm:.3g})"

    B = from_std(res.x.reshape(q, d))
    if link == "sphere":
        # the loss sees directions only: the scale of B is not identified. Report the representative with
        # weighted mean |eta_i|^2 = 1 (predictions on average on the sphere); inference below is for it
        B = B / math.sqrt(float(w @ np.sum((Xa @ B) ** 2, axis=1)) / sw)
    eta = Xa @ B
    vals, g = value_grad(eta)
    f_opt = float(w @ vals) / sw   # the loss alone (without the sphere link's scale pin)
    if link == "sphere":
        norms = np.linalg.norm(eta, axis=1)
        if norms.min() < 1e-3 * math.sqrt(max(float(w @ norms ** 2) / sw, 1e-300)):
            why = (f"a predicted direction is nearly undefined (|eta_i| ~ 0 at row {int(np.argmin(norms))}), "
                   "where Geodesic is not smooth; the directions are not linear in X: see "
                   "examples/sphere_geometry.py for Riemannian fitting")
            status = ("not converged: " + why) if converged else status + "; " + why
            converged = False

    # -- inference in the original coordinates
    Hrow = row_hessian(eta)
    A = gram(Xa, Hrow, w)
    ggt = g[:, :, None] * g[:, None, :]
    S = gram(Xa, ggt, w)
    factor = _likelihood_factor(loss, y)
    cov_type = opts.get("cov_type", "auto")
    if cov_type not in ("auto", "nonrobust", "sandwich", "HC0"):
        raise InputError("cov_type", "'auto', 'nonrobust' or 'sandwich'", repr(cov_type), "pass cov_type='sandwich'")
    if cov_type == "auto":
        cov_type = "nonrobust" if factor is not None else "sandwich"
    if cov_type == "HC0":
        cov_type = "sandwich"
    if cov_type == "nonrobust" and factor is None:
        raise InputError("cov_type", "'sandwich' for a loss that is not a likelihood", "'nonrobust'",
                         "the inverse Hessian is a covariance only for a negative log-likelihood")
    null = None
    if link == "sphere":
        # A vec(B) = 0 (scaling B changes nothing): invert on the complement of that direction, i.e. the
        # covariance of the scale-normalised estimator
        null = B.reshape(-1) / np.linalg.norm(B)
        A = A + np.outer(null, null) * np.trace(A) / A.shape[0]
    ev = np.linalg.eigvalsh(A)
    cov = None
    note = ""
    if ev.min() > ev.max() * 1e-12 * A.shape[0]:
        Ainv = pinvh(A)
        if null is not None:
            proj = np.eye(A.shape[0]) - np.outer(null, null)
            Ainv = proj @ Ainv @ proj
        cov = Ainv / factor if cov_type == "nonrobust" else Ainv @ S @ Ainv
        cov = 0.5 * (cov + cov.T)
    else:
        note = "; standard errors undefined: the Hessian at the estimate is not positive definite"
    se = None if cov is None else np.sqrt(np.clip(np.diag(cov), 0, None)).reshape(q, d)
    loglike = None
    if factor is not None:
        const = _HALF_LOG_2PI if name == "GaussianNLL" and not loss.full else 0.0
        loglike = -float(w @ (factor * vals + const))

    fitted = _sigmoid(eta) if link == "logit" else eta   # the response scale, as Fit.predict
    if link == "sphere":
        fitted = eta / np.linalg.norm(eta, axis=1, keepdims=True)
    resid = Y - fitted
    off = 1 if fit_intercept else 0
    squeeze = (lambda a: a[:, 0]) if not multi else (lambda a: a)
    coef = squeeze(B[off:]) if p else (np.zeros(0) if not multi else np.zeros((0, d)))
    if fit_intercept:
        intercept = float(B[0, 0]) if not multi else B[0].copy()
        intercept_se = None if se is None else (float(se[0, 0]) if not multi else se[0].copy())
    else:
        intercept = 0.0 if not multi else np.zeros(d)
        intercept_se = None if se is None else (0.0 if not multi else np.zeros(d))
    extra = {"objective": f_opt, "grad_norm": gnorm, "sum_weights": sw, "optimizer_message": msg.strip(),
             "n_outputs": d}
    return Fit(
        coef=coef, intercept=intercept, stderr=None if se is None else squeeze(se[off:]),
        intercept_stderr=intercept_se, cov_params=cov, rank=rank, scale=1.0, loglike=loglike,
        converged=converged, n_iter=int(res.nit), status=status + note, residuals=squeeze(resid), n_obs=n,
        df_resid=float(sw - q * d + (1 if link == "sphere" else 0)), loss=loss, method=use,
        fit_intercept=fit_intercept, link=link, dist="normal",
        cov_type=cov_type, feature_names=design.feature_names, backend=design.backend, extra=extra,
        _like=design.backend_like,
    )
