r"""Generalised linear models by Newton's method: counts, binomial, Gamma and Tweedie from one solver.

The loss object decides the model (``fit_family = "glm"``, hooks of
:class:`l2kit.losses.GLMLoss`):

* ``PoissonNLL()``: :math:`\log\mu = X\beta` (+ offset); Newton = IRLS for the
  canonical link, with step halving.
* ``NegativeBinomialNLL()``: the mean as above and the dispersion
  :math:`\theta` estimated *jointly* (Newton on :math:`(\beta, \log\theta)` with
  the exact observed Hessian, digamma/trigamma terms included). statsmodels'
  ``alpha`` is :math:`1/\theta`.
* ``ZINB()``: a logit-link inflation probability :math:`\pi = \sigma(Z\gamma)`,
  :math:`Z` a column of ones (intercept-only) or its own design
  ``inflation_X=``; Newton on :math:`(\beta, \gamma, \log\theta)` with the
  analytic gradient and Hessian (log-sum-exp form for the zeros), started
  from the NB fit.
* ``Binomial()``: logistic regression (0/1 outcomes, proportions, or
  successes with ``trials=``); ``GammaNLL()`` and ``Tweedie(power)``: log-link
  models whose dispersion is estimated after the fit (Pearson, as R).

The solver is generic: the loss declares the linear predictors of its model
(``glm_blocks``), their per-row derivatives (``glm_terms``), the simpler
model whose fit starts it (``glm_start``: Poisson for NB, NB for ZINB) and the
starting values of the blocks it adds (``glm_start_values``); see
:mod:`l2kit.losses._glm`. Each stage is fitted by :func:`.newton.newton`.

Every step is safeguarded (step halving on the log-likelihood, a Levenberg
shift when the Hessian is not negative definite). Convergence is declared
only when the Newton decrement :math:`g^\top(-H)^{-1}g` falls below ``tol``
*and* the last Newton step is below 1e-10 relative to the coefficients; a
parameter that runs to the boundary of its space (NB :math:`\theta\to\infty`,
ZINB :math:`\pi\to 0`, a separated logistic fit) ends the fit with
:attr:`~l2kit.Status.BOUNDARY`, a warning, and a message naming the simpler
model. Inference: see :mod:`._statistics`.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np

from ..._array import to_numpy
from ..._errors import BoundaryWarning, InputError
from ..._status import Status
from ...losses.links import get_link
from .._covariance import COV_KINDS, read_cov_options
from .._design import Design
from .._linalg import WithOnes, gram_rank, single_blas_thread
from .._options import check_common, iteration_options
from .._result import Fit, build_design_fit
from ._statistics import glm_estimates
from .newton import XTOL, newton

__all__ = ["fit_glm"]

_OPTIONS = ("max_iter", "tol", "offset", "exposure", "trials", "inflation_X", "estimate_theta", "cov_type", "groups",
            "maxlags", "small_sample", "information", "dispersion")


def fit_glm(design: Design, loss: Any, **options: Any) -> Fit:
    r"""Fit a GLM for a loss with the GLM hooks (counts, binomial, Gamma, Tweedie).

    Parameters
    ----------
    design : Design
        ``y`` in the loss's domain: counts, 0/1 outcomes or proportions
        (or successes with ``trials=``), positive values (Gamma), values
        >= 0 (Tweedie).
    loss : PoissonNLL, NegativeBinomialNLL, ZINB, Binomial, GammaNLL or Tweedie
    fit_intercept : bool, default True
    method : {"auto", "newton"}
    offset : array of shape (n,), optional
        Added to the linear predictor (e.g. log exposure).
    exposure : array of shape (n,), optional
        Positive; adds ``log(exposure)`` to the offset (statsmodels' name).
    trials : array of shape (n,), optional
        Binomial only: numbers of trials; ``y`` then counts the successes.
    inflation_X : array of shape (n, q), optional
        ZINB only: design of the inflation logit (an intercept is added when
        ``fit_intercept``). Default: intercept-only inflation.
    estimate_theta : bool, default True
        NB/ZINB: estimate theta jointly; False keeps ``loss.theta`` fixed.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster", "HAC"}
        See :mod:`l2kit.linear._covariance`. The sandwiches use the per-row
        scores of every estimated block and the inverse information as the
        bread (R's ``sandwich`` with ``estfun.glm`` and ``bread.glm``);
        HC2/HC3 use the GLM leverage (not for ZINB, a mixture).
    groups, maxlags, small_sample
        Options of "cluster" and "HAC".
    information : {"observed", "expected"}, optional
        The information behind "nonrobust" and the bread: the Newton Hessian,
        or Fisher's expected information of the mean block with the other
        blocks fixed (R's ``glm`` and ``glm.nb``). Default: the loss's
        ``glm_information`` ("expected" for Gamma and Tweedie, as R;
        "observed" otherwise, statsmodels' for NB and ZINB; the two agree for
        the canonical links of Poisson and binomial).
    dispersion : {"pearson", "ml"} or float, optional
        Gamma and Tweedie: how the dispersion is estimated (default
        "pearson", R's ``summary.glm``; "ml" the Gamma maximum likelihood of
        ``MASS::gamma.shape``; a number fixes it). For Poisson and binomial,
        "pearson" gives the quasi-likelihood standard errors of R's
        ``quasipoisson`` / ``quasibinomial``.
    max_iter : int, default 100
    tol : float, default 1e-10
        Newton decrement :math:`g^\top(-H)^{-1}g` at which to stop (the step
        must also be below 1e-10 relative).

    Returns
    -------
    Fit
        ``link`` the loss's link (``predict`` returns the mean: a rate, a
        probability...), ``loglike`` the exact log-likelihood (Gamma: R's
        convention, see :class:`~l2kit.losses.GammaNLL`; Tweedie: None),
        ``scale`` the dispersion (1 unless estimated), ``deviance``,
        ``null_deviance``, ``aic`` and ``bic`` as R's ``glm``. ``extra``:
        ``theta``, ``alpha`` (= 1/theta, statsmodels'), ``theta_stderr``; for
        ZINB ``inflation_coef`` (intercept first), ``inflation_stderr``,
        ``inflation_names``; ``pearson_chi2`` and ``pearson_dispersion``
        (Pearson chi^2 / df, >> 1 means overdispersion) where defined.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 1)); y = rng.poisson(np.exp(0.5 + 0.3 * X[:, 0]))
    >>> f = l2.fit(X, y, loss=l2.PoissonNLL())
    >>> f.converged, bool(abs(f.coef[0] - 0.3) < 0.1)
    (True, True)
    >>> b = l2.fit(X, (y > 1).astype(float), loss="logistic")
    >>> b.link, b.converged
    ('logit', True)
    """
    return _fit_glm(design, loss, options)


# single-threaded BLAS throughout: the k x k factorisations and row-block products are too small for
# OpenBLAS's busy-waiting threads (1e5 x 201 Poisson on a loaded 2-core machine: each 201 x 201 Cholesky
# took 0.6 s with 2 threads); the weighted Gram runs its row parts on threads of its own
@single_blas_thread
def _fit_glm(design: Design, loss: Any, options: dict) -> Fit:
    """The body of :func:`fit_glm`."""
    opts = check_common(options, "GLM", _OPTIONS, penalty="l2")
    fit_intercept = bool(opts.get("fit_intercept", True))
    if opts.get("method", "auto") not in ("auto", "newton", "irls"):
        raise InputError("method", "'auto' or 'newton' for GLMs", repr(opts.get("method")), "pass method='newton'")
    max_iter, tol = iteration_options(opts, max_iter=100, tol=1e-10)
    design.require_real("a GLM")
    n = design.y.shape[0]
    y, data = loss.glm_prepare(design.y, _row_data(loss, opts, n))
    cw = design.case_weights
    Xa = WithOnes(design.X, fit_intercept)   # the intercept column implicit: no copy of X
    k = Xa.shape[1]
    spec = read_cov_options(opts, solver="GLM", supported=COV_KINDS, default="nonrobust", n=n)
    offset = _offset(opts, n)
    model = _Model(loss, y, cw, offset, _designs(loss, Xa, opts, fit_intercept),
                   {"dispersion": bool(opts.get("estimate_theta", True))}, data)
    sub = _subsample(model)
    # a ridge penalty makes the Newton system positive definite at any rank; a subset of the rows of full
    # column rank proves X's (a rank cannot grow by dropping rows), and saves a Gram over all of them
    if not opts["alpha"] > 0 and (sub is None or not sub.full_rank()):
        design.full_rank(design.X, "a GLM", ones=fit_intercept)
    stages = [loss]
    while stages[0].glm_start() is not None:
        stages.insert(0, stages[0].glm_start())
    coefs, H0 = _subsample_start(sub, stages, fit_intercept, max_iter) if sub is not None else (None, None)
    start_iterations = None
    if coefs is not None:   # started at the subsample's optimum: the final model's Newton steps only
        start_iterations, stages = ("subsample", len(stages)), stages[-1:]
        H0 = None if opts["alpha"] > 0 else H0 * (float(cw.sum()) / float(sub.cw.sum()))   # all rows' scale
    else:
        coefs = {"mean": model.mean_start(fit_intercept)}
    for i, stage in enumerate(stages):
        coefs.update(model.start_values(stage, coefs))
        final = i == len(stages) - 1
        # a simpler model is only a start: a loose tolerance saves iterations (its fit refines the next)
        # ridge: (1/sum c)(-loglike) + alpha/2 |beta_mean|^2 (sklearn's PoissonRegressor(alpha) scaling)
        fgh = _ridge(model.fgh(stage), opts["alpha"] * float(cw.sum()), k, fit_intercept)
        res = newton(fgh, model.pack(stage, coefs), max_iter, tol if final or i else 1e-3,
                     xtol=XTOL if final else np.inf, stop=model.boundary(stage) if final else None,
                     H0=H0 if final else None)
        coefs.update(model.unpack(stage, res.x))
        if not final:
            start_iterations = (stage.name, res.n_iter)
    if res.status is Status.BOUNDARY:
        warnings.warn(res.message, BoundaryWarning, stacklevel=3)
    est = glm_estimates(model, loss, coefs, res, k, spec=spec, information=opts.get("information"),
                        dispersion=opts.get("dispersion"), fit_intercept=fit_intercept, design=design,
                        start_iterations=start_iterations)
    if opts["alpha"] > 0:
        est = replace(est, cov=None, message=est.message + f"; ridge penalty alpha={opts['alpha']:g}: no standard "
                      "errors (the penalty biases the estimates)")
    return build_design_fit(est, design, loss, fit_intercept)


#: a GLM of more than 4x this many rows starts at the fit of an evenly spaced subsample of about this many,
#: and takes chord steps with the subsample's Hessian (newton's H0: a gradient pass each, no Gram) before
#: one or two Newton steps (each one weighted Gram) instead of 4-6; the full-data Newton iterations still
#: decide convergence, so the estimate is the same
SUBSAMPLE_ROWS = 50_000


def _subsample(model) -> _Model | None:
    """The model of every m-th row, about ``SUBSAMPLE_ROWS`` of them; None for a model of fewer than 4x that."""
    m = model.y.shape[0] // SUBSAMPLE_ROWS
    return model.rows(slice(None, None, m)) if m >= 4 else None


def _subsample_start(sub, stages, fit_intercept: bool, max_iter: int) -> tuple[dict | None, np.ndarray | None]:
    """Coefficients of every block fitted on the subsample ``sub`` and the last stage's Hessian there
    (None, None when that fit does not converge)."""
    try:
        coefs = {"mean": sub.mean_start(fit_intercept)}
    except InputError:    # e.g. no y > 0 among the subsample's rows
        return None, None
    for stage in stages:
        coefs.update(sub.start_values(stage, coefs))
        res = newton(sub.fgh(stage), sub.pack(stage, coefs), max_iter, 1e-6, xtol=np.inf)
        if res.status is not Status.SUCCESS:
            return None, None
        coefs.update(sub.unpack(stage, res.x))
    return coefs, res.H


def _ridge(fgh, lam: float, k: int, fit_intercept: bool):
    r"""``fgh`` of the log-likelihood minus :math:`\tfrac{\lambda}{2}\|\beta\|^2` over the mean block's slopes
    (its first ``k`` parameters; the intercept and dispersion parameters are free)."""
    if lam <= 0:
        return fgh

    def penalised(x, need, f=None):
        m = np.zeros_like(x)
        m[int(fit_intercept):k] = lam
        half = 0.5 * float(x @ (m * x))
        ll, g, H = fgh(x, need, None if f is None else f + half)
        if not np.isfinite(ll) or g is None:
            return ll - half, g, H
        return ll - half, g - m * x, H - np.diag(m)

    return penalised


def _row_data(loss: Any, opts: dict, n: int) -> dict:
    """The per-row data the loss declares (``glm_data``), validated; refused for a loss that takes none."""
    out = {}
    for name in ("trials",):
        v = opts.get(name)
        if v is None:
            continue
        if name not in loss.glm_data:
            raise InputError(name, f"None for {type(loss).__name__}", f"{name}=", "use loss=l2kit.Binomial() for "
                             "success counts out of trials")
        a = np.asarray(to_numpy(v) if hasattr(v, "shape") else v, dtype=float).reshape(-1)
        if a.shape != (n,) or not np.all(np.isfinite(a)):
            raise InputError(name, f"{n} finite values, one per row", f"shape {a.shape}", f"pass one {name} per row")
        out[name] = a
    return out


def _offset(opts: dict, n: int) -> np.ndarray:
    offset = np.zeros(n)
    for name in ("offset", "exposure"):
        v = opts.get(name)
        if v is None:
            continue
        a = np.asarray(to_numpy(v) if hasattr(v, "shape") else v, dtype=float).reshape(-1)
        if a.shape != (n,) or not np.all(np.isfinite(a)) or (name == "exposure" and not np.all(a > 0)):
            raise InputError(name, f"{n} finite values" + (" > 0" if name == "exposure" else ""),
                             f"shape {a.shape}" if a.shape != (n,) else "non-finite" +
                             (" or non-positive" if name == "exposure" else "") + " values",
                             f"pass one {name} per row")
        offset = offset + (np.log(a) if name == "exposure" else a)
    return offset


def _designs(loss: Any, Xa: WithOnes, opts: dict, fit_intercept: bool) -> dict:
    """The design of each block: ``(WithOnes, has a constant first column, column names)``."""
    n = Xa.shape[0]
    ones = WithOnes(np.empty((n, 0)), True)
    designs = {"mean": (Xa, fit_intercept, ()), "dispersion": (ones, True, ("log_theta",))}
    Zin = opts.get("inflation_X")
    if "inflation" not in loss.glm_blocks:
        if Zin is not None:
            raise InputError("inflation_X", f"None for {type(loss).__name__} (no zero-inflation part)",
                             "an inflation design", "use loss=l2kit.ZINB() for a zero-inflated model")
        return designs
    if Zin is None:
        designs["inflation"] = (ones, True, ("intercept",))
        return designs
    Zr = np.asarray(to_numpy(Zin), dtype=float)
    Zr = Zr.reshape(-1, 1) if Zr.ndim == 1 else Zr
    if Zr.ndim != 2 or Zr.shape[0] != n:
        raise InputError("inflation_X", f"a 2-D array with {n} rows", f"shape {Zr.shape}",
                         "pass one row per observation")
    if not np.all(np.isfinite(Zr)):
        raise InputError("inflation_X", "finite values", "NaN or inf", "drop or impute those rows")
    names = (("intercept",) if fit_intercept else ()) + tuple(f"z{j}" for j in range(Zr.shape[1]))
    designs["inflation"] = (WithOnes(Zr, fit_intercept), fit_intercept, names)
    return designs


class _Model:
    """The data of a GLM fit and the map between a stage's parameter vector and its blocks' coefficients."""

    def __init__(self, loss, y, cw, offset, designs, estimate, data):
        self.loss, self.y, self.cw, self.offset = loss, y, cw, offset
        self.designs, self.estimate, self.data = designs, estimate, data
        self.has_offset = bool(np.any(offset != 0))

    def rows(self, sl: slice) -> _Model:
        """The model of the rows ``sl`` (contiguous copies)."""
        designs = {b: (D.rows(sl), c, names) for b, (D, c, names) in self.designs.items()}
        return _Model(self.loss, self.y[sl].copy(), self.cw[sl].copy(), self.offset[sl].copy(), designs,
                      self.estimate, {k: v[sl].copy() for k, v in self.data.items()})

    def full_rank(self) -> bool:
        """Whether the mean design, weighted by the case weights, has full column rank."""
        D = self.designs["mean"][0]
        return gram_rank(D.gram(self.cw)) == D.shape[1]

    def blocks(self, stage) -> list[str]:
        """The estimated blocks of ``stage`` (a block held fixed, e.g. theta, is not a parameter)."""
        return [b for b in stage.glm_blocks if self.estimate.get(b, True)]

    def mean_start(self, fit_intercept: bool) -> np.ndarray:
        """The intercept-only start: the link of the loss's starting mean, less the mean offset."""
        Xa = self.designs["mean"][0]
        b = np.zeros(Xa.shape[1])
        link = get_link(self.loss.default_link)
        ybar = self.loss.glm_mean_start(self.y, self.cw, self.data)
        lo, hi = link.mean_range
        if not lo < ybar < hi:
            raise InputError("y", f"a weighted mean inside ({lo:g}, {hi:g}) for the {link.name} link",
                             f"mean {ybar:g}", "a log-link model needs some y > 0; a logistic one both outcomes")
        if fit_intercept:
            b[0] = float(link.link(np, np.float64(ybar))) - float(self.cw @ self.offset) / float(self.cw.sum())
        return b

    def start_values(self, stage, coefs: dict) -> dict:
        """Coefficients for the blocks ``stage`` adds, from its constant starting linear predictors."""
        new = [b for b in self.blocks(stage) if b not in coefs]
        if not new:
            return {}
        values = stage.glm_start_values(self.y, self.cw, self.linear(stage, coefs), self.estimate)
        out = {}
        for b in new:
            D, constant, _ = self.designs[b]
            c = np.zeros(D.shape[1])
            if constant:
                c[0] = values[b]
            out[b] = c
        return out

    def linear(self, stage, coefs: dict) -> dict:
        """The linear predictors of ``stage``'s blocks (fixed blocks at the loss's value)."""
        lin = dict(stage.glm_fixed())
        for b, c in coefs.items():
            if b == "dispersion":
                lin[b] = float(c[0])
            elif b in stage.glm_blocks:
                eta = self.designs[b][0].dot(c)
                if b == "mean" and self.has_offset:
                    eta += self.offset
                lin[b] = eta
        return lin

    def pack(self, stage, coefs: dict) -> np.ndarray:
        return np.concatenate([coefs[b] for b in self.blocks(stage)])

    def unpack(self, stage, x: np.ndarray) -> dict:
        out, i = {}, 0
        for b in self.blocks(stage):
            m = self.designs[b][0].shape[1]
            out[b] = x[i:i + m]
            i += m
        return out

    def fgh(self, stage):
        """``fgh(x, need, ll=None)`` for :func:`.newton.newton`: log-likelihood, gradient and Hessian of ``stage``.

        The value is the loss's kernel (``value="kernel"``: the log-likelihood
        up to a term free of the parameters, all a line search needs); the
        linear predictors of the last value call are kept, so the derivatives
        of an accepted step cost no second product with ``X``.
        """
        blocks, cw = self.blocks(stage), self.cw
        order = stage.glm_blocks
        last: list = [None, None]

        def fgh(x, need, ll=None):
            if last[0] is not None and np.array_equal(last[0], x):
                lin = last[1]
            else:
                lin = self.linear(stage, self.unpack(stage, x))
                last[0], last[1] = x.copy(), lin
            # need: the estimated blocks (a loss may skip the derivatives of a block held fixed)
            terms = stage.glm_terms(self.y, lin, need=tuple(blocks) if need else False,
                                    value="kernel" if ll is None else False, **self.data)
            if terms is None:
                return -np.inf, None, None
            rows, grads, hess = terms
            if ll is None:
                ll = float(cw @ rows)
            if not need:
                return ll, None, None
            D = [self.designs[b][0] for b in blocks]
            g = np.concatenate([Db.tdot(cw * grads[b]) for b, Db in zip(blocks, D)])
            if need == "gradient":   # a chord step (newton's H0): no Hessian
                return ll, g, None
            H = np.block([[self._cross(D[i], D[j], hess, order, a, b) for j, b in enumerate(blocks)]
                          for i, a in enumerate(blocks)])
            return ll, g, H

        return fgh

    def boundary(self, stage):
        """``stop(x)`` for :func:`.newton.newton`: the loss's boundary sentence at ``x``, or None."""
        return lambda x: stage.glm_boundary(self.linear(stage, self.unpack(stage, x)))

    def _cross(self, Da, Db, hess, order, a, b):
        key = (a, b) if order.index(a) <= order.index(b) else (b, a)
        h = hess.get(key)
        if h is None:
            return np.zeros((Da.shape[1], Db.shape[1]))
        if Da is Db:
            return Da.gram(self.cw * h)
        return Da.cross(self.cw * h, Db)
