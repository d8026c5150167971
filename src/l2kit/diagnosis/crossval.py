"""K-fold cross-validation of each candidate loss, through the public ``l2kit.fit``.

Every candidate is fitted on the same folds (fixed by ``random_state``) and
scored out of sample by RMSE, MAE and median absolute error; count models are
also scored by the mean out-of-sample negative log-likelihood (the log score,
with every constant, so Poisson, NB and ZINB compare on one scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CVScore", "cross_validate", "kfold_indices"]


@dataclass(frozen=True)
class CVScore:
    """Out-of-sample errors of one candidate; ``error`` says why it failed, if it did."""

    rmse: float = float("nan")
    mae: float = float("nan")
    medae: float = float("nan")
    log_score: float = float("nan")   # mean NLL per row (count models only)
    folds: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def kfold_indices(n: int, folds: int, random_state: int = 0) -> list[np.ndarray]:
    """Shuffled, near-equal test folds of ``range(n)``.

    Examples
    --------
    >>> [len(f) for f in kfold_indices(10, 3)]
    [4, 3, 3]
    """
    perm = np.random.default_rng(random_state).permutation(n)
    return [np.sort(f) for f in np.array_split(perm, folds)]


def count_logpmf(fit, X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Log-probability of counts ``y`` under a fitted Poisson / NB / ZINB model, or None."""
    from scipy import stats

    from ._fits import count_parts

    parts = count_parts(fit, X)
    if parts is None:
        return None
    mu, theta, pi = parts
    if theta is None:
        lp = stats.poisson.logpmf(y, mu)
    else:
        lp = stats.nbinom.logpmf(y, theta, theta / (theta + mu))
    if pi is not None:
        p0 = np.where(y == 0, 1.0, 0.0)
        lp = np.logaddexp(np.log(pi) + np.log(np.maximum(p0, 1e-300)), np.log1p(-pi) + lp)
    return lp


def cross_validate(X: np.ndarray, y: np.ndarray, candidates: dict, *, folds: int = 5, random_state: int = 0,
                   progress=None, fit_options: dict | None = None) -> dict[str, CVScore]:
    """Cross-validate each ``name -> loss`` in ``candidates`` on the same K folds.

    ``progress`` is an object with ``update(k, note)`` (see :class:`l2kit.io.progress.Progress`).
    A candidate whose fit raises on some fold gets a :class:`CVScore` whose
    ``error`` names the fold and the message; the others carry on.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> X = np.arange(20.0)[:, None]; y = 2 * X[:, 0] + np.sin(np.arange(20.0))
    >>> s = cross_validate(X, y, {"squared": l2.Squared()}, folds=4)
    >>> s["squared"].ok, s["squared"].rmse < 1
    (True, True)
    """
    from ..linear import fit as l2fit
    from ._fits import point_prediction

    fit_options = fit_options or {}
    test_folds = kfold_indices(y.size, folds, random_state)
    out: dict[str, CVScore] = {}
    for name, loss in candidates.items():
        err = np.full(y.size, np.nan)
        logp = np.full(y.size, np.nan)
        failure = None
        for k, te in enumerate(test_folds):
            if failure is None:
                tr = np.setdiff1d(np.arange(y.size), te, assume_unique=True)
                try:
                    f = l2fit(X[tr], y[tr], loss=loss, **fit_options.get(name, {}))
                    pred = point_prediction(f, X[te])
                    err[te] = y[te] - pred
                    lp = count_logpmf(f, X[te], y[te])
                    if lp is not None:
                        logp[te] = lp
                except Exception as exc:  # a failing candidate must not sink the diagnosis
                    failure = f"fold {k + 1} of {folds}: {type(exc).__name__}: {exc}"
            if progress is not None:
                progress.update(1, f"{name} fold {k + 1}/{folds}")
        if failure is not None:
            out[name] = CVScore(folds=folds, error=failure)
            continue
        a = np.abs(err)
        out[name] = CVScore(float(np.sqrt(np.mean(err ** 2))), float(a.mean()), float(np.median(a)),
                            float(-np.mean(logp)) if np.isfinite(logp).all() else float("nan"), folds)
    return out
