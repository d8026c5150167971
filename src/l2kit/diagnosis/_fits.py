"""The candidate losses of a diagnosis and how to read count-model parameters off a Fit."""

from __future__ import annotations

import dataclasses

import numpy as np

# display name -> (registry name, parameters); the robust constants give 95% efficiency at the
# Gaussian in units of the solver's robust scale (Huber 1981; Beaton & Tukey 1974)
CONTINUOUS = {
    "squared": ("squared", {}),
    "huber": ("huber", {"delta": 1.345}),
    "tukey": ("tukey", {"c": 4.685}),
    "absolute": ("absolute", {}),
}
BINARY = {"binomial": ("binomial", {})}
POSITIVE = {"gamma": ("gamma_nll", {})}
COUNTS = {
    "poisson": ("poisson_nll", {}),
    "negative_binomial": ("negative_binomial_nll", {}),
    "zinb": ("zinb", {}),
}
#: above this many rows the MM candidate's S search runs on a subsample of this size
MM_SUBSAMPLE = 5000
#: the robust candidates from the simplest (convex, monotone) to the most specialised; the one-SE rule
#: of the cross-validation walks this order
ROBUST = ("huber", "tukey", "absolute")
COUNT_MODELS = tuple(COUNTS)
LABELS = {"squared": "Squared (OLS)", "huber": "Huber", "tukey": "Tukey MM", "absolute": "L1 (Absolute)",
          "poisson": "Poisson", "negative_binomial": "Neg. binomial", "zinb": "ZINB",
          "binomial": "Logistic (Binomial)", "gamma": "Gamma (log link)"}


def build_candidates(kind: str) -> dict:
    """Candidate name -> loss object for a target of ``kind`` ("continuous", "positive", "binary", "counts")."""
    from ..losses import get_loss

    specs = dict(CONTINUOUS)
    specs.update({"counts": COUNTS, "binary": BINARY, "positive": POSITIVE}.get(kind, {}))
    return {key: get_loss(ident, **params) for key, (ident, params) in specs.items()}


def fit_candidate(name: str, loss, X: np.ndarray, y: np.ndarray, *, seed: int = 0, **options):
    """Fit one candidate through :func:`l2kit.fit`; the Tukey candidate is the MM-estimator.

    The MM fit (``method="mm"``, 50%-breakdown S start, 95% efficiency) is the
    high-breakdown candidate: an M-estimator started from OLS or L1 is dragged
    by outliers at high leverage. Above ``MM_SUBSAMPLE`` rows the S search
    runs on a random subsample of that size (seeded; its 50% breakdown and
    consistency do not need every row) and the M-step on every row from the
    subsample's S-estimate at its S-scale; ``extra["mm_subsample"]`` says so.
    Where the installed solver has no MM method, Tukey IRLS from an L1 start
    stands in (robust to outliers in ``y`` only).
    """
    from .._errors import InputError
    from ..linear import fit as l2fit

    if name != "tukey":
        return l2fit(X, y, loss=loss, **options)
    n = y.size
    if n > MM_SUBSAMPLE:   # the S search on a random subsample, the M-step on every row
        idx = np.sort(np.random.default_rng([seed, 5]).choice(n, MM_SUBSAMPLE, replace=False))
        sub = l2fit(X[idx], y[idx], loss=loss, method="mm", seed=seed)
        start = np.asarray(sub.extra["s_params"], dtype=float)
        full = l2fit(X, y, loss=loss, start=start, scale=float(sub.scale), **options)
        return dataclasses.replace(full, extra={**full.extra, "s_params": start, "mm_subsample": MM_SUBSAMPLE})
    try:
        return l2fit(X, y, loss=loss, method="mm", seed=seed, **options)
    except InputError as exc:
        if "seed" not in str(exc) and "method" not in str(exc):
            raise
    return l2fit(X, y, loss=loss, start="l1", **options)


def _scalar(v):
    if v is None:
        return None
    a = np.asarray(v, dtype=np.float64)
    return a if a.ndim else float(a)


def _get(fit, *names):
    for n in names:
        if n in fit.extra and fit.extra[n] is not None:
            return _scalar(fit.extra[n])
    for n in names:
        v = getattr(fit.loss, n, None)
        if v is not None:
            return _scalar(v)
    return None


def kind_of(fit) -> str | None:
    """"poisson", "negative_binomial", "zinb" or None, from the blocks the fit's loss declares."""
    blocks = getattr(fit.loss, "glm_blocks", None) if fit.loss.fit_family == "glm" else None
    if blocks is None:
        return None
    if "inflation" in blocks:
        return "zinb"
    return "negative_binomial" if "dispersion" in blocks else "poisson"


def point_prediction(fit, X: np.ndarray) -> np.ndarray:
    """The mean prediction of a fit; for ZINB the mixture mean (1 - pi) mu, not the NB part's mu."""
    if kind_of(fit) == "zinb":
        parts = count_parts(fit, X)
        if parts is not None and parts[2] is not None:
            return (1.0 - parts[2]) * parts[0]
    return np.asarray(fit.predict(X), dtype=np.float64)


def count_parts(fit, X: np.ndarray):
    """``(mu, theta, pi)`` of a fitted count model on rows ``X``, or None for other fits.

    ``mu`` is the mean of the count component (Poisson or NB), ``theta`` the
    NB dispersion (None for Poisson: variance mu + mu^2/theta), ``pi`` the
    zero-inflation probability (None without inflation). Parameters come from
    the fit (``extra``) or, when it did not estimate them, from its loss.
    """
    kind = kind_of(fit)
    if kind is None:
        return None
    eta = np.asarray(X, dtype=np.float64) @ np.asarray(fit.coef, dtype=np.float64) + float(fit.intercept)
    mu = np.exp(eta)
    theta = None if kind == "poisson" else _get(fit, "theta")
    pi = None
    if kind == "zinb":
        gamma = fit.extra.get("inflation_coef")
        if gamma is None:    # the loss's own (fixed) inflation logit
            logit = float(fit.loss.pi_logit)
        else:                # l2kit's GLM solver: the inflation logit's coefficients, intercept first
            gamma = np.atleast_1d(np.asarray(gamma, dtype=np.float64))
            if gamma.size != 1:  # an inflation design we were not given: no per-row pi here
                return None
            logit = float(gamma[0])
        pi = float(1.0 / (1.0 + np.exp(-logit)))
    return mu, theta, pi


def quantile_residuals(y: np.ndarray, mu: np.ndarray, theta=None, pi=None, *, rng) -> np.ndarray:
    r"""Randomised quantile residuals :math:`u_i \sim U(F(y_i - 1), F(y_i))` of a count model (Dunn & Smyth 1996).

    ``F`` is Poisson(``mu``), or negative binomial (variance :math:`\mu + \mu^2/\theta`) with ``theta``, mixed
    with a point mass ``pi`` at zero; under the model the ``u_i`` are uniform on (0, 1), as DHARMa's residuals.
    """
    from scipy import stats

    if theta is None:
        lo, hi = stats.poisson.cdf(y - 1, mu), stats.poisson.cdf(y, mu)
    else:
        pr = theta / (theta + mu)
        lo, hi = stats.nbinom.cdf(y - 1, theta, pr), stats.nbinom.cdf(y, theta, pr)
    if pi is not None:   # zero inflation: F = pi + (1 - pi) F_count on y >= 0
        lo = np.where(y > 0, pi + (1 - pi) * lo, 0.0)
        hi = pi + (1 - pi) * hi
    return lo + rng.uniform(size=y.size) * (hi - lo)
