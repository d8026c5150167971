"""Likelihood losses against scipy.stats log-pmfs, torch, mpmath (extremes) and autograd."""

import math

import mpmath as mp
import numpy as np
import pytest
from scipy import stats

import l2kit as l2
from l2kit import InputError


def nll(loss, y, mu, **kw):
    return np.asarray(loss(np.asarray(y, float), np.asarray(mu, float), reduction="none", **kw))


# -- exact against scipy ------------------------------------------------------
def test_poisson_matches_scipy(rng):
    y = rng.poisson(6.0, size=3000).astype(float)
    mu = rng.uniform(1e-3, 30, size=3000)
    ref = -stats.poisson.logpmf(y, mu)
    np.testing.assert_allclose(nll(l2.PoissonNLL(), y, mu), ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(nll(l2.PoissonNLL(log_input=True), y, np.log(mu)), ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("theta", [0.01, 0.5, 3.0, 9.99, 10.0, 50.0, 1e3])
def test_negative_binomial_matches_scipy(rng, theta):
    y = rng.poisson(5.0, size=2000).astype(float)
    mu = rng.uniform(1e-3, 40, size=2000)
    ref = -stats.nbinom.logpmf(y, theta, theta / (theta + mu))
    np.testing.assert_allclose(nll(l2.NegativeBinomialNLL(theta=theta), y, mu), ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("theta,logit", [(0.7, -2.0), (3.0, 0.5), (40.0, 6.0)])
def test_zinb_matches_scipy_mixture(rng, theta, logit):
    y = rng.poisson(3.0, size=1000).astype(float)
    y[::4] = 0
    mu = rng.uniform(0.01, 15, size=1000)
    pi = 1 / (1 + math.exp(-logit))
    lp = stats.nbinom.logpmf(y, theta, theta / (theta + mu))
    ref = -np.where(y == 0, np.log(pi + (1 - pi) * np.exp(lp)), np.log1p(-pi) + lp)
    np.testing.assert_allclose(nll(l2.ZINB(theta=theta, pi_logit=logit), y, mu), ref, rtol=1e-9, atol=1e-12)
    # per-element call keywords override the constructor values
    logits = np.full(y.shape, logit)
    np.testing.assert_allclose(nll(l2.ZINB(), y, mu, theta=np.full(y.shape, theta), pi_logit=logits), ref,
                               rtol=1e-9, atol=1e-12)


def test_zinb_extreme_logits_finite():
    y = np.array([0.0, 0.0, 3.0, 3.0])
    mu = np.array([2.0, 2.0, 2.0, 2.0])
    out = nll(l2.ZINB(theta=2.0), y, mu, pi_logit=np.array([800.0, -800.0, 800.0, -800.0]))
    nb = -stats.nbinom.logpmf(y, 2.0, 0.5)
    np.testing.assert_allclose(out[[0, 1, 3]], [0.0, nb[1], nb[3]], atol=1e-12)
    assert out[2] == pytest.approx(800.0 + nb[2], rel=1e-12)


# -- extremes against mpmath ----------------------------------------------------
def _mp_nb(y, mu, th):
    y, mu, th = mp.mpf(y), mp.mpf(mu), mp.mpf(th)
    return -(mp.loggamma(y + th) - mp.loggamma(th) - mp.loggamma(y + 1) + th * mp.log(th / (th + mu))
             + y * mp.log(mu / (th + mu)))


def _mp_pois(y, mu):
    y, mu = mp.mpf(y), mp.mpf(mu)
    return mu - y * mp.log(mu) + mp.loggamma(y + 1)


CASES = [(y, mu) for y in (0, 1, 7, 1000, 10 ** 6) for mu in (1e-12, 1e-3, 1.0, 950.0, 1e6, 1.3e6)]


def test_extremes_against_mpmath():
    mp.mp.dps = 40
    ys = np.array([c[0] for c in CASES], float)
    mus = np.array([c[1] for c in CASES], float)
    pois = nll(l2.PoissonNLL(), ys, mus)
    for i, (y, mu) in enumerate(CASES):
        ref = float(_mp_pois(y, mu))
        assert abs(pois[i] - ref) <= 1e-9 * max(1.0, abs(ref)), (y, mu, pois[i], ref)
    for theta in (1e-3, 0.5, 10.0, 1e3, 1e6, 1e8):
        nb = nll(l2.NegativeBinomialNLL(theta=theta), ys, mus)
        assert np.all(np.isfinite(nb))
        for i, (y, mu) in enumerate(CASES):
            ref = float(_mp_nb(y, mu, theta))
            assert abs(nb[i] - ref) <= 1e-9 * max(1.0, abs(ref)), (y, mu, theta, nb[i], ref)


def test_large_theta_tends_to_poisson(rng):
    y = rng.poisson(20.0, size=500).astype(float)
    mu = rng.uniform(1.0, 40.0, size=500)
    pois = nll(l2.PoissonNLL(), y, mu)
    prev = np.inf
    for theta in (1e4, 1e6, 1e8):
        gap = np.max(np.abs(nll(l2.NegativeBinomialNLL(theta=theta), y, mu) - pois))
        assert gap < prev and gap < 1e4 / theta   # the O(mu^2/theta) approach, no loss of digits
        prev = gap
    # the naive lgamma formula loses everything at theta = 1e8; ours stays within 1e-6 of the Poisson
    assert prev < 1e-5


# -- torch reference and gradients ------------------------------------------------
def test_gaussian_nll_matches_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    y, p = rng.normal(size=50), rng.normal(size=50)
    var = rng.uniform(0, 2, size=50)
    var[:5] = [0.0, 1e-9, 1e-7, 1e-6, 2e-6]         # below / at the eps clamp
    for full in (False, True):
        for eps in (1e-6, 1e-3):
            ref = F.gaussian_nll_loss(torch.tensor(p), torch.tensor(y), torch.tensor(var), full=full, eps=eps,
                                      reduction="none").numpy()
            got = np.asarray(l2.GaussianNLL(full=full, eps=eps)(y, p, var=var, reduction="none"))
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    assert float(l2.GaussianNLL()(y, p, var=1.0)) == pytest.approx(
        float(F.gaussian_nll_loss(torch.tensor(p), torch.tensor(y), torch.ones(50))), rel=1e-12)


def test_poisson_partial_matches_torch(rng):
    torch = pytest.importorskip("torch")
    y = rng.poisson(4.0, size=100).astype(float)
    eta = rng.normal(size=100)
    ref = torch.nn.functional.poisson_nll_loss(torch.tensor(eta), torch.tensor(y), log_input=True, full=False)
    got = l2.PoissonNLL(log_input=True, full=False)(y, eta)
    assert float(got) == pytest.approx(float(ref), rel=1e-12)


@pytest.mark.parametrize("loss,kw", [
    (l2.PoissonNLL(), {}), (l2.PoissonNLL(log_input=True), {}), (l2.NegativeBinomialNLL(theta=2.5), {}),
    (l2.NegativeBinomialNLL(theta=1e7), {}), (l2.ZINB(theta=1.5, pi_logit=-0.5), {}),
    (l2.GaussianNLL(), {"var": "v"}),
])
def test_analytic_grad_matches_torch_autograd(rng, loss, kw):
    torch = pytest.importorskip("torch")
    y = rng.poisson(3.0, size=40).astype(float)
    y[::5] = 0
    mu = rng.uniform(0.2, 6.0, size=40)
    if getattr(loss, "log_input", False):
        mu = np.log(mu)
    kwargs = {"var": rng.uniform(0.5, 2.0, size=40)} if kw else {}
    t = torch.tensor(mu, requires_grad=True)
    tk = {k: torch.tensor(v) for k, v in kwargs.items()}
    out = loss(torch.tensor(y), t, reduction="sum", **tk)   # the kernels run on torch tensors
    out.backward()
    np.testing.assert_allclose(t.grad.numpy(), np.asarray(loss.grad(y, mu, **kwargs)), rtol=1e-9, atol=1e-12)
    assert float(out.detach()) == pytest.approx(float(loss(y, mu, reduction="sum", **kwargs)), rel=1e-12)


def test_grad_finite_difference_in_extremes():
    y = np.array([0.0, 5.0, 10 ** 6, 3.0])
    mu = np.array([1e-6, 4.0, 1.1e6, 1e-3])
    for loss in (l2.PoissonNLL(), l2.NegativeBinomialNLL(theta=1e8), l2.NegativeBinomialNLL(theta=0.3)):
        g = np.asarray(loss.grad(y, mu))
        h = 1e-6 * mu
        fd = (nll(loss, y, mu + h) - nll(loss, y, mu - h)) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6)


def test_weighted_mean_and_jax(rng):
    y = rng.poisson(2.0, size=20).astype(float)
    mu = rng.uniform(0.5, 4, size=20)
    w = rng.integers(0, 4, size=20).astype(float)
    loss = l2.NegativeBinomialNLL(theta=2.0)
    rep = np.repeat(np.arange(20), w.astype(int))
    assert float(loss(y, mu, weights=w)) == pytest.approx(float(loss(y[rep], mu[rep])), rel=1e-12)
    jnp = pytest.importorskip("jax.numpy")
    import jax

    jax.config.update("jax_enable_x64", True)
    g = jax.grad(lambda m: loss(jnp.asarray(y), m, reduction="sum"))(jnp.asarray(mu))
    np.testing.assert_allclose(np.asarray(g), loss.grad(y, mu), rtol=1e-9)


# -- bad input ---------------------------------------------------------------------
@pytest.mark.parametrize("loss", [l2.PoissonNLL(), l2.NegativeBinomialNLL(), l2.ZINB()])
def test_bad_counts_and_means(loss):
    with pytest.raises(InputError, match="non-negative counts"):
        loss(np.array([1.0, -1.0]), np.array([1.0, 1.0]))
    with pytest.raises(InputError, match="integer counts"):
        loss(np.array([1.5, 1.0]), np.array([1.0, 1.0]))
    with pytest.raises(InputError, match="mu > 0"):
        loss(np.array([1.0, 1.0]), np.array([1.0, 0.0]))
    with pytest.raises(InputError, match="mu > 0"):
        loss(np.array([1.0, 1.0]), np.array([1.0, -2.0]))
    frac = type(loss)(allow_fractional=True)
    assert np.isfinite(float(frac(np.array([1.5, 0.25]), np.array([1.0, 2.0]))))


def test_bad_theta_var_logit():
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(InputError, match="theta"):
            l2.NegativeBinomialNLL(theta=bad)
        with pytest.raises(InputError, match="theta"):
            l2.ZINB(theta=bad)
    with pytest.raises(InputError, match="theta"):
        l2.NegativeBinomialNLL()(np.array([1.0]), np.array([1.0]), theta=np.array([0.0]))
    with pytest.raises(InputError, match="pi_logit"):
        l2.ZINB(pi_logit=float("nan"))
    with pytest.raises(InputError, match="var"):
        l2.GaussianNLL()(np.zeros(2), np.zeros(2), var=np.array([1.0, -1.0]))
    with pytest.raises(InputError, match="var"):
        l2.GaussianNLL()(np.zeros(2), np.zeros(2))
    with pytest.raises(InputError, match="never broadcasts"):
        l2.GaussianNLL()(np.zeros(3), np.zeros(3), var=np.ones((3, 1)))
    with pytest.raises(InputError, match="keyword"):
        l2.PoissonNLL()(np.zeros(2), np.ones(2), theta=1.0)


def test_registry_names():
    assert l2.get_loss("poisson") == l2.PoissonNLL()
    assert l2.get_loss("nb", theta=2.0) == l2.NegativeBinomialNLL(theta=2.0)
    assert l2.get_loss("zinb").fit_family == "glm"
    assert l2.GaussianNLL.fit_family == "gradient"
    assert repr(l2.NegativeBinomialNLL(theta=2.0)) == "NegativeBinomialNLL(theta=2.0, allow_fractional=False)"


def test_gaussian_nll_fit_needs_its_variances():
    # fitted by the generic gradient solver (tests/beyond/test_gradient_fit.py); var= is required
    with pytest.raises(InputError, match="var"):
        l2.fit(np.ones((3, 1)), np.arange(3.0), loss=l2.GaussianNLL())


def test_nb_glm_kernel_is_the_log_likelihood_less_log_y_factorial_across_arrays(rng):
    """The GLM kernel of the NB (its theta terms kept between calls for one y and theta) stays the exact
    log-likelihood (scipy) less log(y!), for a new array at the same theta and a new theta on the same array."""
    from scipy.special import gammaln

    loss = l2.NegativeBinomialNLL(theta=2.0)
    for theta in (2.0, 2.0, 7.5, 7.5):
        y = rng.negative_binomial(theta, 0.4, size=50).astype(float)
        for eta in (rng.normal(size=50), rng.normal(size=50)):
            ll = loss.glm_terms(y, {"mean": eta, "dispersion": math.log(theta)}, need=False, value="kernel")[0]
            mu = np.exp(eta)
            exact = stats.nbinom.logpmf(y, theta, theta / (theta + mu))
            np.testing.assert_allclose(ll - gammaln(y + 1), exact, rtol=1e-12, atol=1e-12)
