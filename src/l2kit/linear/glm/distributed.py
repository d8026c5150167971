r"""GLMs on chunks and Dask: the Newton iterations of :mod:`.solver`, each one pass over mergeable Gram states.

Every quantity of a Newton step is a sum over rows: the log-likelihood, the
gradient :math:`\sum_i c_i g_i x_i` and the Hessian
:math:`\sum_i c_i h_i x_i x_i^\top`. Each chunk computes its
:class:`~l2kit.linear._chunked.WeightedGramState` with the in-memory solver's
own per-chunk model (:class:`.solver._Model`), and the states are added. One
pass per Newton iteration (value, gradient and Hessian at the trial point
together; a halved step costs one more pass), two passes before (the start)
and one after (deviance, Pearson statistic and, for R's expected-information
families, Fisher's information), so the estimates and standard errors are the
in-memory ones to rounding.

Available: PoissonNLL, NegativeBinomialNLL (theta estimated jointly or
fixed), Binomial (0/1 or proportions; no ``trials=``), GammaNLL and Tweedie,
with case weights and the "nonrobust" covariance. Not available (refused):
ZINB, offsets, sandwich covariances, the Gamma log-likelihood (it needs the
dispersion before a second pass; reported as undefined).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._errors import InputError
from ..._status import Status
from ...losses.links import get_link
from .._chunked import ChunkSource, WeightedGramState
from .._linalg import WithOnes, inverse
from .._options import iteration_options
from .._result import Estimates, Fit, build_fit
from .newton import XTOL, inverse_negative, newton
from .solver import _Model

__all__ = ["fit_glm_source"]

_OPTIONS = {"max_iter", "tol", "estimate_theta", "cov_type"}


def _model(loss, X, y, w, fit_intercept, estimate):
    n = X.shape[0]
    Xa = np.empty((n, X.shape[1] + fit_intercept))
    if fit_intercept:
        Xa[:, 0] = 1.0
    Xa[:, fit_intercept:] = X
    y, data = loss.glm_prepare(y, {})
    cw = np.ones(n) if w is None else w
    # a chunk's dense [1, X]: the Gram state below takes the matrix itself
    designs = {"mean": (WithOnes(Xa, False), fit_intercept, ()),
               "dispersion": (WithOnes(np.empty((n, 0)), True), True, ("log_theta",))}
    return _Model(loss, y, cw, np.zeros(n), designs, {"dispersion": estimate}, data), Xa


def _sums_chunk(X, y, w, loss):
    """Rows, case weight and weighted sum of y (the intercept-only start)."""
    c = np.ones(y.size) if w is None else w
    loss.glm_prepare(y, {})    # the target's domain, refused per chunk
    return WeightedGramState(int(y.size), float(c.sum()), 0.0, None, None, {"wy": float(c @ y)})


def _newton_chunk(X, y, w, loss, stage, x, fit_intercept, estimate):
    """Log-likelihood kernel, gradient and Hessian of ``stage`` at ``x`` over one chunk."""
    model, _ = _model(loss, X, y, w, fit_intercept, estimate)
    f, g, H = model.fgh(stage)(x, True)
    if not np.isfinite(f):
        return WeightedGramState(int(y.size), 0.0, -math.inf, None, None, {})
    return WeightedGramState(int(y.size), float(model.cw.sum()), f, g, H, {})


def _moments_chunk(X, y, w, loss, stage, coefs, fit_intercept, estimate):
    """The sums of the moment start of an added dispersion block (Var = mu + mu^2/theta)."""
    model, _ = _model(loss, X, y, w, fit_intercept, estimate)
    mu = np.exp(model.linear(stage, coefs)["mean"])
    return WeightedGramState(sums={"excess": float(model.cw @ ((model.y - mu) ** 2 - mu)),
                                   "mu2": float(model.cw @ (mu * mu))})


def _stats_chunk(X, y, w, loss, coefs, fit_intercept, estimate, ybar, expected):
    """Exact log-likelihood, deviance, Pearson chi^2, null deviance at ``ybar`` and Fisher's information."""
    model, Xa = _model(loss, X, y, w, fit_intercept, estimate)
    lin = model.linear(loss, coefs)
    mu = loss.glm_mean(lin)
    cw, yy = model.cw, model.y
    sums = {}
    if loss.glm_dispersion != "estimated":
        sums["loglike"] = float(cw @ loss.glm_terms(yy, lin, need=False, value=True, **model.data)[0])
    variance = loss.glm_variance(mu, lin, **model.data)
    sums["pearson"] = float(cw @ ((yy - mu) ** 2 / variance))
    sums["deviance"] = float(cw @ loss.glm_unit_deviance(yy, mu, lin, **model.data))
    if ybar is not None:
        m0 = np.full(yy.shape, ybar)
        sums["null_deviance"] = float(cw @ loss.glm_unit_deviance(yy, m0, lin, **model.data))
    if not expected:
        return WeightedGramState(int(y.size), float(cw.sum()), 0.0, None, None, sums)
    hw = get_link(loss.default_link).mu_eta(np, lin["mean"]) ** 2 / variance
    return WeightedGramState.of_rows(Xa, cw * hw, weights=cw, sums=sums)


def fit_glm_source(source: ChunkSource, loss: Any, *, fit_intercept: bool = True,
                   feature_names: Any = None, **opts: Any) -> Fit:
    r"""A GLM fitted by Newton's method over a :class:`~l2kit.linear._chunked.ChunkSource` (called by ``l2.fit``).

    Same model, start, stages (Poisson before NB), convergence rule and
    covariance as the in-memory :func:`.solver.fit_glm`; see the module
    docstring for what is available.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 2)); y = rng.poisson(np.exp(0.3 + X @ [0.2, -0.4])).astype(float)
    >>> class Chunks:
    ...     def __iter__(self):
    ...         return ((X[i:i + 200], y[i:i + 200]) for i in range(0, 600, 200))
    >>> f = l2.fit(Chunks(), loss="poisson")
    >>> g = l2.fit(X, y, loss="poisson")
    >>> bool(np.allclose(f.coef, g.coef, rtol=0, atol=1e-10)), bool(np.allclose(f.stderr, g.stderr, rtol=1e-8))
    (True, True)
    """
    unknown = sorted(set(opts) - _OPTIONS - {"method"})
    if unknown:
        known = ", ".join(sorted(_OPTIONS))
        raise InputError(", ".join(unknown), f"options of GLM fits on {source.where} data ({known})",
                         "unknown or unavailable keyword(s)", "remove them, or load the data to use them "
                         "(offsets, trials, sandwich covariances)")
    if opts.get("method", "auto") not in ("auto", "newton", "irls"):
        raise InputError("method", "'auto' or 'newton' for GLMs", repr(opts.get("method")), "pass method='newton'")
    if opts.get("cov_type", "nonrobust") != "nonrobust":
        raise InputError("cov_type", f"'nonrobust' for GLM fits on {source.where} data", repr(opts["cov_type"]),
                         "load the data for sandwich covariances")
    if "inflation" in loss.glm_blocks:
        raise InputError("loss", f"PoissonNLL, NegativeBinomialNLL, Binomial, GammaNLL or Tweedie on {source.where} "
                         "data", repr(loss), "fit zero-inflated and trials= models in memory")
    max_iter, tol = iteration_options(opts, max_iter=100, tol=1e-10)
    estimate = bool(opts.get("estimate_theta", True))
    fi = bool(fit_intercept)
    k = source.p + fi
    s0 = source.map_reduce(_sums_chunk, loss)
    if s0 is None or s0.n_rows == 0 or not s0.sum_weights > 0:
        raise InputError("X", "rows with positive weight", "none", "pass data")
    ybar = s0.sums["wy"] / s0.sum_weights
    link = get_link(loss.default_link)
    lo, hi = link.mean_range
    if not lo < ybar < hi:
        raise InputError("y", f"a weighted mean inside ({lo:g}, {hi:g}) for the {link.name} link", f"mean {ybar:g}",
                         "a log-link model needs some y > 0; a logistic one both outcomes")
    ybar_start = loss.glm_mean_start(np.array([ybar]), np.array([s0.sum_weights]), {"trials": np.ones(1)})
    coefs = {"mean": np.zeros(k)}
    if fi:
        coefs["mean"][0] = float(link.link(np, np.float64(ybar_start)))
    stages = [loss]
    while stages[0].glm_start() is not None:
        stages.insert(0, stages[0].glm_start())
    res = None
    for i, stage in enumerate(stages):
        blocks = [b for b in stage.glm_blocks if b == "mean" or estimate]
        if "dispersion" in stage.glm_blocks and "dispersion" not in coefs:
            if estimate:
                m = source.map_reduce(_moments_chunk, loss, stage, dict(coefs), fi, estimate)
                excess = m.sums["excess"] / m.sums["mu2"]
                th0 = 1.0 / excess if excess > 1e-8 else 1e8
                coefs["dispersion"] = np.array([math.log(min(max(th0, 1e-4), 1e8))])
        final = i == len(stages) - 1
        fgh = _Passes(source, loss, stage, fi, estimate)
        x0 = np.concatenate([coefs[b] for b in blocks])
        res = newton(fgh, x0, max_iter, tol if final or i else 1e-3, xtol=XTOL if final else np.inf,
                     stop=_boundary(stage, blocks, k) if final else None)
        coefs.update({"mean": res.x[:k]})
        if "dispersion" in blocks:
            coefs["dispersion"] = res.x[k:k + 1]
    return _estimates(source, loss, coefs, res, k, fi, estimate, ybar, feature_names)


class _Passes:
    """``fgh`` for :func:`.newton.newton`: value, gradient and Hessian in one pass, kept for the next call."""

    def __init__(self, source, loss, stage, fi, estimate):
        self.args = (loss, stage)
        self.source, self.fi, self.estimate = source, fi, estimate
        self.x, self.out = None, None

    def __call__(self, x, need, ll=None):
        if self.x is None or not np.array_equal(self.x, x):
            s = self.source.map_reduce(_newton_chunk, *self.args, np.array(x), self.fi, self.estimate)
            self.x, self.out = np.array(x), (s.value, s.gradient, s.gram)
        f, g, H = self.out
        return (f, g, H) if need else (f, None, None)


def _boundary(stage, blocks, k):
    def stop(x):
        if "dispersion" not in blocks:
            return None
        # the loss's boundary test reads the largest mean; theta -> inf is what it detects
        return stage.glm_boundary({"mean": np.array([0.0]), "dispersion": float(x[k])}) if x[k] > 15 else None
    return stop


def _estimates(source, loss, coefs, res, k, fi, estimate, ybar, feature_names) -> Fit:
    expected = loss.glm_information == "expected"
    lin_coefs = {b: c for b, c in coefs.items()}
    if "dispersion" in loss.glm_blocks and "dispersion" not in lin_coefs:
        lin_coefs["dispersion"] = np.array([loss.glm_fixed()["dispersion"]])
    st = source.map_reduce(_stats_chunk, loss, lin_coefs, fi, estimate, ybar if fi else None, expected)
    sw = st.sum_weights
    df_resid = sw - k
    estimated = loss.glm_dispersion == "estimated"
    phi = st.sums["pearson"] / df_resid if estimated and df_resid > 0 else (math.nan if estimated else 1.0)
    bread = inverse(st.gram, True) if expected else inverse_negative(res.H)
    cov_full = None if bread is None else phi * bread
    undefined = {}
    loglike = st.sums.get("loglike")
    if estimated:
        undefined["loglike"] = (f"the log-likelihood of {type(loss).__name__} is not computed on {source.where} data "
                                "(it needs the dispersion before one more pass); fit in memory for it")
    if not fi:
        undefined["null_deviance"] = "not computed on chunked data without an intercept"
    extra: dict[str, Any] = {"sum_weights": sw, "n_passes": source.n_passes, "information":
                             "expected" if expected else "observed",
                             "dispersion_method": "pearson" if estimated else "fixed",
                             "pearson_chi2": st.sums["pearson"],
                             "pearson_dispersion": st.sums["pearson"] / max(df_resid, 1.0)}
    if "dispersion" in loss.glm_blocks:
        th = math.exp(float(lin_coefs["dispersion"][0]))
        se = None
        if estimate and cov_full is not None and cov_full.shape[0] > k:
            se = th * math.sqrt(max(float(cov_full[k, k]), 0.0))
        extra.update({"theta": th, "alpha": 1 / th, "theta_stderr": se,
                      "alpha_stderr": None if se is None else se / th ** 2, "theta_estimated": estimate})
    status, message = res.status, res.message
    if status is Status.SUCCESS:
        message = (f"converged in {res.n_iter} Newton iterations on {source.where} data ({source.n_passes} passes "
                   "over the rows)")
    n_params = k + (1 if "dispersion" in loss.glm_blocks and estimate else 0) + (1 if estimated else 0)
    est = Estimates(
        params=coefs["mean"], cov=None if cov_full is None else cov_full[:k, :k], status=status, message=message,
        method="newton", rank=k, scale=phi, loglike=loglike, residuals=None, n_obs=int(st.n_rows),
        df_resid=float(df_resid), n_iter=int(res.n_iter), link=loss.default_link, cov_type="nonrobust",
        dist="t" if estimated else "normal", extra=extra, deviance=st.sums["deviance"],
        null_deviance=st.sums.get("null_deviance", math.nan), df_model=float(k - fi), n_params=float(n_params),
        n_ic=sw, undefined=undefined)
    names = tuple(str(v) for v in feature_names) if feature_names is not None else (source.names or ())
    return build_fit(est, loss=loss, fit_intercept=fi, feature_names=names)
