r"""The one covariance vocabulary of ``l2kit.fit``: reading ``cov_type`` and its options, and the sandwich meats.

Every solver accepts ``cov_type=`` from one list and refuses, with the list
of what it can do, a kind it cannot compute:

============== ==========================================================================================
``cov_type``   covariance of the estimates
============== ==========================================================================================
"nonrobust"    the model-based one: :math:`\hat\sigma^2 (X^\top X)^{-1}` (least squares), the inverse
               information times the dispersion (GLMs), Huber's H1 (IRLS, see :mod:`.robust.irls`)
"HC0"          the sandwich :math:`B\,M\,B` with :math:`M = \sum_i s_i s_i^\top`, :math:`s_i` row
               :math:`i`'s score (estimating function) and :math:`B` the inverse of the Hessian
"HC1"          HC0 times :math:`n / (n - k)`
"HC2", "HC3"   the scores divided by :math:`\sqrt{1-h_i}` or :math:`1-h_i` (:math:`h_i` the leverage)
"cluster"      :math:`M = \sum_g S_g S_g^\top`, :math:`S_g` the sum of the scores of group :math:`g`
               (``groups=``), times :math:`\frac{G}{G-1}\,\frac{n-1}{n-k}` (``small_sample=False``
               drops the second factor)
"HAC"          Newey-West: :math:`M = \Gamma_0 + \sum_{j=1}^{L} (1 - \tfrac{j}{L+1})(\Gamma_j + \Gamma_j^\top)`,
               :math:`\Gamma_j = \sum_t s_t s_{t-j}^\top`, rows in time order, ``maxlags=`` :math:`L`;
               ``small_sample=True`` multiplies by :math:`n/(n-k)`
============== ==========================================================================================

These are the definitions of R's ``sandwich`` package (``vcovHC``,
``vcovCL(type="HC1")``, ``NeweyWest(lag=L, prewhite=FALSE)``; ``adjust=TRUE``
is ``small_sample=True``) and of statsmodels (``cov_type="HC0"`` ...,
``"cluster"``, ``"HAC"``). R's ``vcovCL`` on a ``glm`` defaults to
``type="HC0"``, which is ``small_sample=False`` here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._array import to_numpy
from .._errors import InputError

__all__ = ["COV_KINDS", "CovSpec", "apply_leverage", "meat", "read_cov_options", "sandwich", "small_sample_factor"]

#: the shared vocabulary; a solver may add its own model-based kinds (IRLS: H1-H3; quantile: iid, nid, ker)
COV_KINDS = ("nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster", "HAC")
_OPTION_NAMES = ("cov_type", "groups", "maxlags", "small_sample")


@dataclass(frozen=True)
class CovSpec:
    """A validated ``cov_type`` with its options: group codes (0..G-1) for "cluster", the lag for "HAC"."""

    kind: str
    groups: np.ndarray | None = None
    n_groups: int = 0
    maxlags: int = 0
    small_sample: bool = False

    @property
    def robust(self) -> bool:
        """A sandwich kind of the shared vocabulary (not a model-based covariance)."""
        return self.kind in COV_KINDS[1:]

    def describe(self) -> str:
        """The kind with its options, for messages and ``Fit.extra``."""
        if self.kind == "cluster":
            return f"cluster ({self.n_groups} groups)"
        if self.kind == "HAC":
            return f"HAC (Newey-West, maxlags={self.maxlags})"
        return self.kind


def _canonical(kind, supported: tuple[str, ...]) -> str | None:
    if not isinstance(kind, str):
        return None
    for s in supported:
        if kind.lower() == s.lower():
            return s
    return None


def read_cov_options(opts: dict, *, solver: str, supported: tuple[str, ...], default: str, n: int,
                     keep: np.ndarray | None = None) -> CovSpec:
    """Read ``cov_type``, ``groups``, ``maxlags`` and ``small_sample`` from ``opts`` for a solver.

    ``supported`` lists every kind the solver computes; anything else is
    refused with that list. ``n`` is the number of rows of ``X``; ``keep``
    (optional boolean mask) the rows the solver uses (least squares drops
    zero-weight rows), to which ``groups`` is then restricted.

    Examples
    --------
    >>> spec = read_cov_options({"cov_type": "cluster", "groups": ["a", "b", "a"]}, solver="least-squares",
    ...                         supported=COV_KINDS, default="nonrobust", n=3)
    >>> spec.kind, spec.groups.tolist(), spec.n_groups, spec.small_sample
    ('cluster', [0, 1, 0], 2, True)
    >>> read_cov_options({"cov_type": "HC9"}, solver="GLM", supported=("nonrobust", "HC0"), default="nonrobust", n=3)
    Traceback (most recent call last):
    ...
    l2kit._errors.InputError: cov_type: expected one the GLM solver computes ('nonrobust', 'HC0'), got 'HC9'. Fix: ...
    """
    raw = opts.get("cov_type", default)
    kind = _canonical(raw, supported)
    if kind is None:
        raise InputError("cov_type", f"one the {solver} solver computes (" + ", ".join(map(repr, supported)) + ")",
                         repr(raw), "pick one of those; see the covariance table in help(l2kit.fit)")
    groups, maxlags = opts.get("groups"), opts.get("maxlags")
    if groups is not None and kind != "cluster":
        raise InputError("groups", "None unless cov_type='cluster'", f"groups with cov_type={kind!r}",
                         "pass cov_type='cluster' to use the groups, or drop groups=")
    if maxlags is not None and kind != "HAC":
        raise InputError("maxlags", "None unless cov_type='HAC'", f"maxlags with cov_type={kind!r}",
                         "pass cov_type='HAC' to use maxlags, or drop maxlags=")
    small = opts.get("small_sample")
    if small is not None and not isinstance(small, (bool, np.bool_)):
        raise InputError("small_sample", "True or False", repr(small), "pass small_sample=True")
    if kind == "cluster":
        codes, n_groups = _group_codes(groups, n, keep)
        return CovSpec(kind, codes, n_groups, small_sample=True if small is None else bool(small))
    if kind == "HAC":
        return CovSpec(kind, maxlags=_lags(maxlags, n), small_sample=bool(small))
    if small is not None:
        raise InputError("small_sample", "None unless cov_type is 'cluster' or 'HAC'", repr(small),
                         "drop small_sample= (HC1 is HC0 with the n/(n-k) correction)")
    return CovSpec(kind)


def _group_codes(groups, n: int, keep: np.ndarray | None) -> tuple[np.ndarray, int]:
    if groups is None:
        raise InputError("groups", "one group label per row for cov_type='cluster'", "None",
                         "pass groups=firm_id (any labels: integers, strings)")
    g = np.asarray(to_numpy(groups) if hasattr(groups, "shape") else groups)
    if g.shape != (n,):
        raise InputError("groups", f"shape ({n},), one label per row of X", f"shape {g.shape}",
                         "pass one group label per row (two-way clustering is not supported)")
    if g.dtype.kind in "fc" and not np.all(np.isfinite(g)):
        raise InputError("groups", "labels without NaN", f"{int((~np.isfinite(g)).sum())} NaN/inf label(s)",
                         "give every row a group, or drop those rows before fitting")
    if g.dtype == object and any(v is None for v in g):
        raise InputError("groups", "labels without None", "None label(s)", "give every row a group")
    if keep is not None:
        g = g[keep]
    _, codes = np.unique(g, return_inverse=True)
    n_groups = int(codes.max()) + 1 if codes.size else 0
    if n_groups < 2:
        raise InputError("groups", "at least 2 distinct groups", f"{n_groups} group(s)",
                         "cluster-robust covariances need several clusters; use cov_type='HC1'")
    return codes.reshape(-1), n_groups


def _lags(maxlags, n: int) -> int:
    if maxlags is None:
        rule = int(math.floor(4 * (n / 100) ** (2 / 9)))
        raise InputError("maxlags", "the Newey-West lag truncation L (an integer >= 0) for cov_type='HAC'",
                         "None", f"pass e.g. maxlags={rule} (the rule of thumb floor(4 (n/100)^(2/9)) for n={n})")
    if not (isinstance(maxlags, (int, np.integer)) and not isinstance(maxlags, bool) and 0 <= maxlags < n):
        raise InputError("maxlags", f"an integer in [0, {n - 1}]", repr(maxlags), "pass e.g. maxlags=4")
    return int(maxlags)


def apply_leverage(scores: np.ndarray, kind: str, h: np.ndarray) -> np.ndarray:
    """HC2 and HC3 scores: divided by :math:`\\sqrt{1-h}` or :math:`1-h`; NaN rows where :math:`h \\ge 1`."""
    one_minus = 1.0 - h
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(one_minus > 1e-12, 1.0 / (np.sqrt(one_minus) if kind == "HC2" else one_minus), np.nan)
    return scores * f[:, None]


def meat(scores: np.ndarray, spec: CovSpec, *, freq: np.ndarray | None = None) -> np.ndarray:
    r"""The middle of the sandwich from per-row scores ``(n, k)`` (before any small-sample factor).

    ``freq``: frequency (case) weights: HC meats are :math:`\sum_i c_i s_i s_i^\top` and cluster sums
    :math:`\sum_{i\in g} c_i s_i`, so integer weights equal repeated rows.

    Examples
    --------
    >>> s = np.array([[1.0], [2.0], [3.0]])
    >>> float(meat(s, CovSpec("HC0"))[0, 0]), float(meat(s, CovSpec("HAC", maxlags=1))[0, 0])
    (14.0, 22.0)
    """
    if spec.kind == "cluster":
        u = scores if freq is None else scores * freq[:, None]
        sums = np.zeros((spec.n_groups, scores.shape[1]), dtype=scores.dtype)
        np.add.at(sums, spec.groups, u)
        return sums.conj().T @ sums
    if spec.kind == "HAC":
        u = scores if freq is None else scores * freq[:, None]
        out = u.conj().T @ u
        for j in range(1, spec.maxlags + 1):
            gamma = u[j:].conj().T @ u[:-j]
            out += (1.0 - j / (spec.maxlags + 1.0)) * (gamma + gamma.conj().T)
        return out
    if freq is None:
        return scores.conj().T @ scores
    return scores.conj().T @ (scores * freq[:, None])


def small_sample_factor(spec: CovSpec, n: float, k: int) -> float:
    """HC1's :math:`n/(n-k)`, cluster's :math:`\\frac{G}{G-1}\\frac{n-1}{n-k}`, HAC's optional :math:`n/(n-k)`."""
    if spec.kind == "HC1" or (spec.kind == "HAC" and spec.small_sample):
        return n / (n - k) if n > k else math.nan
    if spec.kind == "cluster":
        g = spec.n_groups / (spec.n_groups - 1.0)
        return g * ((n - 1.0) / (n - k) if n > k else math.nan) if spec.small_sample else g
    return 1.0


def sandwich(bread: np.ndarray, scores: np.ndarray, spec: CovSpec, *, freq: np.ndarray | None = None,
             leverage: np.ndarray | None = None, n: float | None = None) -> np.ndarray:
    r"""The sandwich :math:`B\,M\,B^\top` times the kind's small-sample factor.

    ``bread`` :math:`B` is the inverse of the Hessian of the summed
    objective (for a likelihood, the inverse observed or expected
    information), ``scores`` the per-row gradients of the objective, in the
    same parameters. ``leverage`` is needed for HC2 and HC3; ``n`` (default:
    the number of rows, or the sum of ``freq``) enters HC1 and the cluster
    factor.

    Examples
    --------
    >>> X = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 4.0]]); r = np.array([0.5, -1.0, 0.2, 0.3])
    >>> B = np.linalg.inv(X.T @ X)
    >>> bool(np.allclose(sandwich(B, X * r[:, None], CovSpec("HC0")), B @ (X.T * r**2) @ X @ B))
    True
    """
    if spec.kind in ("HC2", "HC3"):
        if leverage is None:
            raise ValueError("HC2/HC3 need the leverage")   # a solver bug, not user input
        scores = apply_leverage(scores, spec.kind, leverage)
    if n is None:
        n = float(scores.shape[0] if freq is None else freq.sum())
    M = meat(scores, spec, freq=freq)
    cov = bread @ M @ bread.conj().T
    cov = 0.5 * (cov + cov.conj().T)
    return cov * small_sample_factor(spec, n, bread.shape[0])
