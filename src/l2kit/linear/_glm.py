r"""Log-link count regression: Poisson, negative binomial (NB2) and zero-inflated NB, by Newton's method.

The loss object decides the model (``fit_family = "glm"``):

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

Every step is safeguarded (step halving on the log-likelihood, a Levenberg
shift when the Hessian is not negative definite). Convergence is declared
only when the Newton decrement :math:`g^\top(-H)^{-1}g` falls below ``tol``;
standard errors come from the inverse observed information.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from scipy import linalg
from scipy.special import digamma, expit, polygamma

from .._array import InputError, to_numpy
from ._design import Design
from ._irls import gram_rank
from ._options import check_common, iteration_options
from ._result import Fit

__all__ = ["fit_glm"]

_OPTIONS = ("max_iter", "tol", "offset", "inflation_X", "estimate_theta", "cov_type")


def _nb_ll(y, mu, theta):
    """Elementwise NB log-likelihood (the loss's exact, stable kernel)."""
    import array_api_compat.numpy as xp

    from ..losses.likelihood import _nb_nll

    return -_nb_nll(xp, y, mu, np.broadcast_to(theta, y.shape).astype(float))


def _pois_ll(y, mu, eta):
    import array_api_compat.numpy as xp

    from ..losses.likelihood import _poisson_nll

    return -_poisson_nll(xp, y, mu, eta)


def _newton(fgh: Callable, x0: np.ndarray, max_iter: int, tol: float):
    """Maximise ``f`` by safeguarded Newton. ``fgh(x, need, f=None)`` -> (f, g, H), or (f, None, None)."""
    x = np.asarray(x0, dtype=float).copy()
    f, g, H = fgh(x, True)
    dec = math.inf
    for it in range(1, max_iter + 1):
        negH = -H
        shift = 0.0
        scale = max(1e-12, float(np.max(np.abs(np.diag(negH)))))
        for _ in range(40):
            try:
                cf = linalg.cho_factor(negH + shift * np.eye(x.size), check_finite=False)
                break
            except (linalg.LinAlgError, ValueError):
                shift = max(2 * shift, 1e-8 * scale)
        else:
            return x, f, g, H, it, False, "stopped: the Hessian is not finite; check the data for extreme values"
        step = linalg.cho_solve(cf, g, check_finite=False)
        dec = float(g @ step)
        if shift == 0.0 and dec <= tol:
            return x, f, g, H, it - 1, True, ""
        t = 1.0
        accepted = False
        for _ in range(50):
            xn = x + t * step
            fn = fgh(xn, False)[0]   # value only; derivatives once a step is accepted
            if np.isfinite(fn) and fn >= f - 1e-12 * abs(f):
                accepted = True
                fn, gn, Hn = fgh(xn, True, fn)   # the value is known: derivatives only
                break
            t *= 0.5
        if not accepted:
            return x, f, g, H, it, dec <= 10 * tol, (
                f"stopped: no step along the Newton direction increases the log-likelihood (decrement {dec:.3g})")
        x, f, g, H = xn, fn, gn, Hn
    # one last check at the final point
    try:
        step = linalg.cho_solve(linalg.cho_factor(-H, check_finite=False), g, check_finite=False)
        dec = float(g @ step)
        if dec <= tol:
            return x, f, g, H, max_iter, True, ""
    except (linalg.LinAlgError, ValueError):
        pass
    return x, f, g, H, max_iter, False, (
        f"not converged: stopped at the iteration limit max_iter={max_iter} with Newton decrement {dec:.3g} "
        f"(tol={tol:g}); raise max_iter")


def _column(design_X, n, name):
    Z = np.asarray(to_numpy(design_X), dtype=float)
    if Z.ndim == 1:
        Z = Z.reshape(-1, 1)
    if Z.ndim != 2 or Z.shape[0] != n:
        raise InputError(name, f"a 2-D array with {n} rows", f"shape {Z.shape}", "pass one row per observation")
    if not np.all(np.isfinite(Z)):
        raise InputError(name, "finite values", "NaN or inf", "drop or impute those rows")
    return Z


def fit_glm(design: Design, loss: Any, **options: Any) -> Fit:
    r"""Fit a log-link count model for ``PoissonNLL``, ``NegativeBinomialNLL`` or ``ZINB``.

    Parameters
    ----------
    design : Design
        ``y`` must hold non-negative counts (integers unless the loss has
        ``allow_fractional=True``).
    loss : PoissonNLL, NegativeBinomialNLL or ZINB
    fit_intercept : bool, default True
    method : {"auto", "newton"}
    offset : array of shape (n,), optional
        Added to the linear predictor (e.g. log exposure).
    inflation_X : array of shape (n, q), optional
        ZINB only: design of the inflation logit (an intercept is added when
        ``fit_intercept``). Default: intercept-only inflation.
    estimate_theta : bool, default True
        NB/ZINB: estimate theta jointly; False keeps ``loss.theta`` fixed.
    max_iter : int, default 100
    tol : float, default 1e-10
        Newton decrement :math:`g^\top(-H)^{-1}g` at which to stop.

    Returns
    -------
    Fit
        ``link="log"`` (``predict`` returns the count-model mean),
        ``loglike`` the exact log-likelihood, ``stderr`` from the inverse
        observed information, ``scale`` 1 (no extra dispersion factor).
        ``extra``: ``theta``, ``alpha`` (= 1/theta, statsmodels'),
        ``theta_stderr``; for ZINB ``inflation_coef`` (intercept first),
        ``inflation_stderr``, ``inflation_names``; for Poisson
        ``pearson_dispersion`` (Pearson chi^2 / df, >> 1 means
        overdispersion).

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 1)); y = rng.poisson(np.exp(0.5 + 0.3 * X[:, 0]))
    >>> f = l2.fit(X, y, loss=l2.PoissonNLL())
    >>> f.converged, bool(abs(f.coef[0] - 0.3) < 0.1)
    (True, True)
    """
    opts = check_common(options, "GLM", _OPTIONS)
    fit_intercept = bool(opts.get("fit_intercept", True))
    method = opts.get("method", "auto")
    if method not in ("auto", "newton", "irls"):
        raise InputError("method", "'auto' or 'newton' for count models", repr(method), "pass method='newton'")
    max_iter, tol = iteration_options(opts, max_iter=100, tol=1e-10)
    kind = type(loss).__name__
    X, y, c = design.X, design.y, design.weights
    if np.iscomplexobj(X) or np.iscomplexobj(y):
        raise InputError("X, y", "real data for a count model", "complex data", "pass real data")
    n = y.size
    if (y < 0).any():
        i = int(np.flatnonzero(y < 0)[0])
        raise InputError("y", f"non-negative counts for {kind}", f"{int((y < 0).sum())} negative value(s), first at "
                         f"row {i} ({y[i]:g})", "counts cannot be negative; check the target column")
    if not getattr(loss, "allow_fractional", False) and (y != np.floor(y)).any():
        i = int(np.flatnonzero(y != np.floor(y))[0])
        raise InputError("y", f"integer counts for {kind}", f"{int((y != np.floor(y)).sum())} non-integer value(s), "
                         f"first at row {i} ({y[i]:g})", f"round the counts or pass {kind}(allow_fractional=True)")
    cw = np.ones(n) if c is None else c
    offset = opts.get("offset")
    if offset is not None:
        offset = np.asarray(to_numpy(offset), dtype=float).reshape(-1)
        if offset.shape != (n,) or not np.all(np.isfinite(offset)):
            raise InputError("offset", f"{n} finite values", f"shape {offset.shape}", "pass one offset per row")
    else:
        offset = np.zeros(n)
    Xa = np.column_stack([np.ones(n), X]) if fit_intercept else X
    k = Xa.shape[1]
    rank = gram_rank((Xa * cw[:, None]).T @ Xa)
    if rank < k:
        raise InputError("X", "a full-rank design for a count model", f"rank {rank} < {k} columns",
                         "drop collinear or constant columns")
    sw = float(cw.sum())
    estimate_theta = bool(opts.get("estimate_theta", True))

    # -- Poisson ------------------------------------------------------------
    ybar = float(cw @ y) / sw
    if ybar <= 0:
        raise InputError("y", "at least one positive count", "all zeros", "a log-link model needs some counts > 0")
    b_start = np.zeros(k)
    if fit_intercept:
        b_start[0] = math.log(ybar) - float(cw @ offset) / sw

    def pois_fgh(b, need, ll=None):
        eta = Xa @ b + offset
        if np.max(eta) > 700:
            return -np.inf, None, None
        mu = np.exp(eta)
        if ll is None:
            ll = float(cw @ _pois_ll(y, mu, eta))
        if not need:
            return ll, None, None
        g = Xa.T @ (cw * (y - mu))
        H = -(Xa * (cw * mu)[:, None]).T @ Xa
        return ll, g, H

    # for NB / ZINB the Poisson fit is only a start: a loose tolerance saves iterations
    b, ll, g, H, it_p, conv_p, why_p = _newton(pois_fgh, b_start, max_iter, tol if kind == "PoissonNLL" else 1e-3)
    if kind == "PoissonNLL":
        mu = np.exp(Xa @ b + offset)
        cov = _inv_neg(H)
        pearson = float(cw @ ((y - mu) ** 2 / mu)) / max(sw - k, 1.0)
        return _result(design, loss, Xa, b, cov, ll, conv_p, it_p, why_p, fit_intercept, y - mu, sw, k,
                       {"pearson_dispersion": pearson, "sum_weights": sw}, "newton")

    theta_fixed = float(getattr(loss, "theta", 1.0))

    # -- negative binomial: (beta, tau = log theta) -----------------------------
    def nb_fgh(x, need, ll=None):
        bb, tau = x[:k], x[k]
        if tau > 40 or tau < -40:
            return -np.inf, None, None
        th = math.exp(tau)
        eta = Xa @ bb + offset
        if np.max(eta) > 700:
            return -np.inf, None, None
        mu = np.exp(eta)
        if ll is None:
            ll = float(cw @ _nb_ll(y, mu, th))
        if not need:
            return ll, None, None
        tm = th + mu
        g_eta = th * (y - mu) / tm
        d_th = digamma(y + th) - digamma(th) - np.log1p(mu / th) + (mu - y) / tm
        g = np.concatenate([Xa.T @ (cw * g_eta), [th * float(cw @ d_th)]])
        h_ee = -th * mu * (th + y) / tm ** 2
        h_tt = polygamma(1, y + th) - polygamma(1, th) + 1 / th - 1 / tm - (mu - y) / tm ** 2
        h_et = (y - mu) * mu / tm ** 2
        Hm = np.empty((k + 1, k + 1))
        Hm[:k, :k] = (Xa * (cw * h_ee)[:, None]).T @ Xa
        Hm[:k, k] = Hm[k, :k] = th * (Xa.T @ (cw * h_et))
        Hm[k, k] = th * th * float(cw @ h_tt) + th * float(cw @ d_th)
        if not estimate_theta:
            Hm[:k, k] = Hm[k, :k] = 0.0
            Hm[k, k] = -1.0
            g[k] = 0.0
        return ll, g, Hm

    mu_p = np.exp(Xa @ b + offset)
    if estimate_theta:
        # moment start for theta from the Poisson fit: Var = mu + mu^2 / theta
        excess = float(cw @ ((y - mu_p) ** 2 - mu_p)) / float(cw @ (mu_p ** 2))
        th0 = 1.0 / excess if excess > 1e-8 else 1e8
        th0 = min(max(th0, 1e-4), 1e8)
    else:
        th0 = theta_fixed
    x, ll, g, H, it_nb, conv_nb, why_nb = _newton(nb_fgh, np.concatenate([b, [math.log(th0)]]), max_iter, tol)
    if kind == "NegativeBinomialNLL":
        bb, th = x[:k], math.exp(x[k])
        mu = np.exp(Xa @ bb + offset)
        cov_full = _inv_neg(H)
        theta_se = th * math.sqrt(cov_full[k, k]) if (cov_full is not None and estimate_theta) else None
        extra = {"theta": th, "alpha": 1 / th, "theta_stderr": theta_se,
                 "alpha_stderr": None if theta_se is None else theta_se / th ** 2,
                 "theta_estimated": estimate_theta, "sum_weights": sw,
                 "poisson_start_iterations": it_p}
        return _result(design, loss, Xa, bb, None if cov_full is None else cov_full[:k, :k], ll, conv_nb,
                       it_nb, why_nb, fit_intercept, y - mu, sw, k, extra, "newton")

    # -- ZINB: (beta, gamma, tau) ---------------------------------------------
    Zin = opts.get("inflation_X")
    if Zin is None:
        Z = np.ones((n, 1))
        znames = ("intercept",)
    else:
        Zr = _column(Zin, n, "inflation_X")
        Z = np.column_stack([np.ones(n), Zr]) if fit_intercept else Zr
        znames = (("intercept",) if fit_intercept else ()) + tuple(f"z{j}" for j in range(Zr.shape[1]))
    m = Z.shape[1]
    zero = y == 0

    def zinb_parts(x):
        bb, gg, tau = x[:k], x[k:k + m], x[k + m]
        th = math.exp(tau)
        eta = Xa @ bb + offset
        mu = np.exp(eta)
        zeta = Z @ gg
        log_pi = -np.logaddexp(0, -zeta)
        log_1mpi = -np.logaddexp(0, zeta)
        log_p0 = -th * np.log1p(mu / th)
        log_mix0 = np.logaddexp(log_pi, log_1mpi + log_p0)
        return bb, gg, th, eta, mu, zeta, log_pi, log_1mpi, log_p0, log_mix0

    def zinb_ll(x):
        if abs(x[k + m]) > 40:
            return -np.inf
        bb, gg, th, eta, mu, zeta, log_pi, log_1mpi, log_p0, log_mix0 = zinb_parts(x)
        if not np.all(np.isfinite(mu)):
            return -np.inf
        ll = np.where(zero, log_mix0, log_1mpi + _nb_ll(y, mu, th))
        return float(cw @ ll)

    def zinb_fgh(x, need, ll=None):
        ll = zinb_ll(x) if ll is None else ll
        if not np.isfinite(ll) or not need:
            return ll, None, None
        bb, gg, th, eta, mu, zeta, log_pi, log_1mpi, log_p0, log_mix0 = zinb_parts(x)
        pi = expit(zeta)
        ppi = pi * (1 - pi)
        tm = th + mu
        # y > 0: log(1 - pi) + NB log-likelihood
        g_eta = th * (y - mu) / tm
        d_th = digamma(y + th) - digamma(th) - np.log1p(mu / th) + (mu - y) / tm
        h_ee = -th * mu * (th + y) / tm ** 2
        h_et = th * (y - mu) * mu / tm ** 2
        h_tt = th * th * (polygamma(1, y + th) - polygamma(1, th) + 1 / th - 1 / tm - (mu - y) / tm ** 2) + th * d_th
        # y == 0: log(pi + (1-pi) p0) = logaddexp(a, b), a = log pi, b = log(1-pi) + L, L = log p0
        s0 = np.exp(log_pi - log_mix0)            # inflation share of the zero
        r0 = np.exp(log_1mpi + log_p0 - log_mix0)  # NB share of the zero
        L_e = -th * mu / tm
        L_t = th * (-np.log1p(mu / th) + mu / tm)
        L_ee = -th * th * mu / tm ** 2
        L_et = -th * mu * mu / tm ** 2
        L_tt = th * th * (1 / th - 1 / tm - mu / tm ** 2) + L_t
        sr = s0 * r0
        ge = np.where(zero, r0 * L_e, g_eta)
        gz = np.where(zero, s0 * (1 - pi) - r0 * pi, -pi)
        gt = np.where(zero, r0 * L_t, th * d_th)
        Hee = np.where(zero, r0 * L_ee + sr * L_e * L_e, h_ee)
        Hez = np.where(zero, -sr * L_e, 0.0)
        Het = np.where(zero, r0 * L_et + sr * L_e * L_t, h_et)
        Hzz = np.where(zero, -ppi + sr, -ppi)
        Hzt = np.where(zero, -sr * L_t, 0.0)
        Htt = np.where(zero, r0 * L_tt + sr * L_t * L_t, h_tt)
        gr = np.concatenate([Xa.T @ (cw * ge), Z.T @ (cw * gz), [float(cw @ gt)]])
        K = k + m + 1
        Hm = np.empty((K, K))
        Hm[:k, :k] = (Xa * (cw * Hee)[:, None]).T @ Xa
        Hm[:k, k:k + m] = (Xa * (cw * Hez)[:, None]).T @ Z
        Hm[k:k + m, :k] = Hm[:k, k:k + m].T
        Hm[k:k + m, k:k + m] = (Z * (cw * Hzz)[:, None]).T @ Z
        Hm[:k, -1] = Hm[-1, :k] = Xa.T @ (cw * Het)
        Hm[k:k + m, -1] = Hm[-1, k:k + m] = Z.T @ (cw * Hzt)
        Hm[-1, -1] = float(cw @ Htt)
        if not estimate_theta:
            gr[-1] = 0.0
            Hm[-1, :] = Hm[:, -1] = 0.0
            Hm[-1, -1] = -1.0
        return ll, gr, Hm

    th_nb = math.exp(x[k]) if estimate_theta else theta_fixed
    mu_nb = np.exp(Xa @ x[:k] + offset)
    p0_nb = np.exp(-th_nb * np.log1p(mu_nb / th_nb))
    extra0 = (float(cw @ zero) - float(cw @ p0_nb)) / sw
    pi0 = min(max(extra0, 0.02), 0.9)
    g0 = np.zeros(m)
    if fit_intercept or Zin is None:
        g0[0] = math.log(pi0 / (1 - pi0))
    start = np.concatenate([x[:k], g0, [math.log(th_nb)]])
    xz, ll, g, H, it_z, conv_z, why_z = _newton(zinb_fgh, start, max_iter, tol)
    bb, gg, th = xz[:k], xz[k:k + m], math.exp(xz[k + m])
    mu = np.exp(Xa @ bb + offset)
    cov_full = _inv_neg(H)
    se_full = None if cov_full is None else np.sqrt(np.clip(np.diag(cov_full), 0, None))
    theta_se = th * se_full[-1] if (se_full is not None and estimate_theta) else None
    extra = {"theta": th, "alpha": 1 / th, "theta_stderr": theta_se,
             "alpha_stderr": None if theta_se is None else theta_se / th ** 2,
             "inflation_coef": gg, "inflation_stderr": None if se_full is None else se_full[k:k + m],
             "inflation_names": znames, "theta_estimated": estimate_theta, "sum_weights": sw,
             "nb_start_iterations": it_nb}
    return _result(design, loss, Xa, bb, None if cov_full is None else cov_full[:k, :k], ll, conv_z, it_z, why_z,
                   fit_intercept, y - (1 - expit(Z @ gg)) * mu, sw, k, extra, "newton")


def _inv_neg(H):
    try:
        return linalg.cho_solve(linalg.cho_factor(-H, check_finite=False), np.eye(H.shape[0]), check_finite=False)
    except (linalg.LinAlgError, ValueError):
        return None


def _result(design, loss, Xa, b, cov, ll, converged, n_iter, why, fit_intercept, resid, sw, k, extra, method):
    se = None if cov is None else np.sqrt(np.clip(np.diag(cov), 0, None))
    status = (f"converged in {n_iter} Newton iterations (Newton decrement below tol)" if converged else why)
    return Fit(
        coef=b[1:] if fit_intercept else b, intercept=float(b[0]) if fit_intercept else 0.0,
        stderr=None if se is None else (se[1:] if fit_intercept else se),
        intercept_stderr=float(se[0]) if (fit_intercept and se is not None) else None,
        cov_params=cov, rank=k, scale=1.0, loglike=float(ll), converged=bool(converged), n_iter=int(n_iter),
        status=status, residuals=resid, n_obs=int(design.y.size), df_resid=float(sw - k), loss=loss,
        method=method, fit_intercept=fit_intercept, link="log", dist="normal", cov_type="nonrobust",
        feature_names=design.feature_names, backend=design.backend, extra=extra, _like=design.backend_like,
    )
