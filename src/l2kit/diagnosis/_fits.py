"""The candidate losses of a diagnosis and how to read count-model parameters off a Fit."""

from __future__ import annotations

import numpy as np

# display name -> (registry name, parameters); the robust constants give 95% efficiency at the
# Gaussian in units of the solver's robust scale (Huber 1981; Beaton & Tukey 1974)
CONTINUOUS = {
    "squared": ("squared", {}),
    "huber": ("huber", {"delta": 1.345}),
    "tukey": ("tukey", {"c": 4.685}),
    "absolute": ("absolute", {}),
}
COUNTS = {
    "poisson": ("PoissonNLL", {}),
    "negative_binomial": ("NegativeBinomialNLL", {}),
    "zinb": ("ZINB", {}),
}
ROBUST = ("huber", "tukey", "absolute")
COUNT_MODELS = tuple(COUNTS)
LABELS = {"squared": "Squared (OLS)", "huber": "Huber", "tukey": "Tukey", "absolute": "L1 (Absolute)",
          "poisson": "Poisson", "negative_binomial": "Neg. binomial", "zinb": "ZINB"}


def build_candidates(is_count: bool) -> tuple[dict, dict]:
    """Return ``(losses, errors)``: candidate name -> loss object, and name -> why it is unavailable."""
    import l2kit

    losses, errors = {}, {}
    specs = dict(CONTINUOUS)
    if is_count:
        specs.update(COUNTS)
    for key, (ident, params) in specs.items():
        try:
            if ident[0].isupper():   # a class exported by l2kit (likelihood losses)
                losses[key] = getattr(l2kit, ident)(**params)
            else:
                losses[key] = l2kit.get_loss(ident, **params)
        except Exception as exc:  # the loss is not available in this build
            errors[key] = f"the loss is unavailable ({type(exc).__name__}: {exc})"
    return losses, errors


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
    """"poisson", "negative_binomial", "zinb" or None for a fit's loss."""
    name = type(fit.loss).__name__.lower()
    if "zinb" in name or "zeroinflated" in name:
        return "zinb"
    if "negativebinomial" in name or name.startswith("nb"):
        return "negative_binomial"
    if "poisson" in name:
        return "poisson"
    return None


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
    zero-inflation probability (None without inflation).
    """
    kind = kind_of(fit)
    if kind is None:
        return None
    mu = None
    if kind == "zinb" and hasattr(fit, "predict_count_mean"):
        mu = np.asarray(fit.predict_count_mean(X), dtype=np.float64)
    if mu is None:
        eta = np.asarray(X, dtype=np.float64) @ np.asarray(fit.coef, dtype=np.float64) + float(fit.intercept)
        mu = np.exp(eta) if fit.link == "log" else eta
    theta = _get(fit, "theta", "alpha_inv") if kind != "poisson" else None
    if theta is None and kind != "poisson":
        alpha = _get(fit, "nb_alpha")
        theta = None if alpha is None else 1.0 / alpha
    if kind != "poisson" and theta is None:
        return None
    pi = None
    if kind == "zinb":
        logit = None
        gamma = fit.extra.get("inflation_coef")
        if gamma is not None:   # l2kit's GLM solver: the inflation logit's coefficients, intercept first
            gamma = np.atleast_1d(np.asarray(gamma, dtype=np.float64))
            if gamma.size != 1:  # an inflation design we were not given: no per-row pi here
                return None
            logit = float(gamma[0])
        pi = _get(fit, "pi") if logit is None else None
        if pi is None:
            if logit is None:
                logit = _get(fit, "pi_logit")
            if logit is None:
                return None
            pi = 1.0 / (1.0 + np.exp(-np.asarray(logit, dtype=np.float64)))
            pi = float(pi) if np.ndim(pi) == 0 else pi
        if np.ndim(pi) == 1 and np.size(pi) != mu.size:  # per-row pi only valid on the training rows
            return None
    return mu, theta, pi
