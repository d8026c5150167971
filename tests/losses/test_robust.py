"""Robust losses against independent references.

torch.nn.functional (l1/huber/smooth_l1/mse), scipy.special.huber and
pseudo_huber, statsmodels.robust.norms (HuberT, TukeyBiweight, StudentT(df=1)
for Cauchy, LeastSquares), sklearn.metrics (pinball, MAE) and mpmath.
"""

from __future__ import annotations

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError
from l2kit.losses import Absolute, Cauchy, Huber, LogCosh, PseudoHuber, Quantile, SmoothL1, Squared, Tukey

R = np.array([-1e3, -25.0, -4.9, -3.0, -1.2, -0.999, -0.4, -1e-9, 0.0, 2e-8, 0.3, 0.8, 1.0001, 2.5, 4.7, 7.0, 1e4])


def rng_pair(seed=0, n=200, scale=3.0):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_t(3, size=n), rng.normal(size=n)


# ------------------------------------------------------------ torch values
torch = pytest.importorskip("torch")
F = torch.nn.functional


def torch_ref(fn, y_true, y_pred, **kw):
    """Elementwise torch loss and its autograd gradient with respect to y_pred."""
    p = torch.tensor(y_pred, dtype=torch.float64, requires_grad=True)
    out = fn(p, torch.tensor(y_true, dtype=torch.float64), reduction="none", **kw)
    (g,) = torch.autograd.grad(out.sum(), p)
    return out.detach().numpy(), g.numpy()


@pytest.mark.parametrize(("loss", "fn", "kw"), [
    (Squared(), F.mse_loss, {}),
    (Absolute(), F.l1_loss, {}),
    (Huber(), F.huber_loss, {}),
    (Huber(delta=0.3), F.huber_loss, {"delta": 0.3}),
    (Huber(delta=2.7), F.huber_loss, {"delta": 2.7}),
    (SmoothL1(), F.smooth_l1_loss, {}),
    (SmoothL1(beta=0.25), F.smooth_l1_loss, {"beta": 0.25}),
    (SmoothL1(beta=4.0), F.smooth_l1_loss, {"beta": 4.0}),
], ids=lambda x: repr(x) if not callable(x) or hasattr(x, "params") else x.__name__)
def test_matches_torch_functional(loss, fn, kw):
    yt, yp = rng_pair()
    value, grad = torch_ref(fn, yt, yp, **kw)
    np.testing.assert_allclose(loss(yt, yp, reduction="none"), value, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(loss.grad(yt, yp), grad, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(loss(yt, yp), value.mean(), rtol=1e-13)
    np.testing.assert_allclose(loss(yt, yp, reduction="sum"), value.sum(), rtol=1e-13)


def test_absolute_grad_at_a_tie_is_torchs_zero():
    value, grad = torch_ref(F.l1_loss, np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    np.testing.assert_array_equal(Absolute().grad(np.array([1.0, 2.0]), np.array([1.0, 0.0])), grad)


def test_quantile_psi_at_zero_is_torchs_subgradient_midpoint():
    for q in (0.1, 0.5, 0.85):
        r = torch.tensor([0.0, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
        torch.maximum(q * r, (q - 1) * r).sum().backward()
        np.testing.assert_allclose(Quantile(q=q).psi(np.array([0.0, -1.0, 2.0])), r.grad.numpy(), rtol=1e-15)


# ------------------------------------------------------------ scipy values
def test_huber_and_pseudo_huber_match_scipy_special():
    from scipy.special import huber, pseudo_huber

    for delta in (0.1, 1.0, 1.345, 10.0):
        np.testing.assert_allclose(Huber(delta=delta).rho(R), huber(delta, R), rtol=1e-14, atol=0)
        np.testing.assert_allclose(PseudoHuber(delta=delta).rho(R), pseudo_huber(delta, R), rtol=1e-12, atol=1e-300)


def test_pseudo_huber_is_accurate_from_tiny_to_huge_residuals():
    import mpmath

    loss = PseudoHuber(delta=1.0)
    for r in (1e-12, 1e-6, 0.1, 3.0, 1e8, 1e200):
        with mpmath.workdps(60):
            exact = float(mpmath.sqrt(1 + mpmath.mpf(r) ** 2) - 1)
        assert loss.rho(np.array([r]))[0] == pytest.approx(exact, rel=1e-14)


def test_smooth_l1_is_huber_over_beta():
    for beta in (0.2, 1.0, 3.0):
        np.testing.assert_allclose(SmoothL1(beta=beta).rho(R), Huber(delta=beta).rho(R) / beta, rtol=1e-14)
        np.testing.assert_allclose(SmoothL1(beta=beta).psi(R), Huber(delta=beta).psi(R) / beta, rtol=1e-14)


# ------------------------------------------------------ statsmodels norms
sm_norms = pytest.importorskip("statsmodels.robust.norms")


def _sm_pairs():
    return [
        (Huber(delta=1.345), sm_norms.HuberT(t=1.345), 1.0),
        (Huber(delta=0.5), sm_norms.HuberT(t=0.5), 1.0),
        (Tukey(), sm_norms.TukeyBiweight(c=4.685), 1.0),
        (Tukey(c=2.0), sm_norms.TukeyBiweight(c=2.0), 1.0),
        (Cauchy(), sm_norms.StudentT(c=2.3849, df=1), 1.0),
        (Cauchy(c=0.7), sm_norms.StudentT(c=0.7, df=1), 1.0),
        # statsmodels' LeastSquares is r^2/2; Squared is the MSE convention r^2
        (Squared(), sm_norms.LeastSquares(), 2.0),
    ]


@pytest.mark.parametrize(("loss", "norm", "factor"), _sm_pairs(), ids=lambda x: repr(x))
def test_matches_statsmodels_norms(loss, norm, factor):
    r = R[np.abs(R) < 1e3]  # statsmodels overflows nowhere here, and neither do we
    np.testing.assert_allclose(loss.rho(r), factor * norm.rho(r), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(loss.psi(r), factor * norm.psi(r), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(loss.psi_prime(r), factor * norm.psi_deriv(r), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(loss.weight(r), factor * norm.weights(r), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(("loss", "efficiency"), [(Huber(delta=1.345), 0.95), (Cauchy(), 0.95), (Tukey(), 0.95)])
def test_documented_tuning_constants_give_95_percent_efficiency(loss, efficiency):
    # asymptotic efficiency at the normal: (E psi')^2 / E psi^2
    from scipy import integrate, stats

    def e(f):
        return integrate.quad(lambda z: float(f(np.array([z]))[0]) * stats.norm.pdf(z), -12, 12, limit=200,
                              points=[-4.685, -1.345, 1.345, 4.685])[0]

    assert e(loss.psi_prime) ** 2 / e(lambda z: loss.psi(z) ** 2) == pytest.approx(efficiency, abs=2e-3)


# ---------------------------------------------------------- sklearn values
@pytest.mark.parametrize("q", [0.05, 0.3, 0.5, 0.9])
def test_quantile_matches_sklearn_pinball(q):
    from sklearn.metrics import mean_pinball_loss

    yt, yp = rng_pair(1)
    w = np.random.default_rng(2).uniform(0, 3, size=yt.shape)
    assert float(Quantile(q=q)(yt, yp)) == pytest.approx(mean_pinball_loss(yt, yp, alpha=q), rel=1e-13)
    assert float(Quantile(q=q)(yt, yp, weights=w)) == pytest.approx(
        mean_pinball_loss(yt, yp, alpha=q, sample_weight=w), rel=1e-13)


def test_absolute_matches_sklearn_mae_and_is_twice_median_pinball():
    from sklearn.metrics import mean_absolute_error

    yt, yp = rng_pair(3)
    w = np.random.default_rng(4).integers(0, 4, size=yt.shape)
    assert float(Absolute()(yt, yp, weights=w)) == pytest.approx(mean_absolute_error(yt, yp, sample_weight=w),
                                                                  rel=1e-13)
    np.testing.assert_allclose(Absolute().rho(R), 2 * Quantile(q=0.5).rho(R), rtol=1e-15)


# ------------------------------------------------------- LogCosh stability
def test_log_cosh_matches_mpmath_from_tiny_to_thousands():
    import mpmath

    r = np.array([1e-300, 1e-150, 1e-12, 1e-5, 0.2, 0.999, 1.0, 1.001, 3.0, 17.0, 30.0, 709.0, 711.0, 1e3,
                  5e3, 1e6, 1e300])
    r = np.concatenate([r, -r])
    loss = LogCosh()
    with mpmath.workdps(700):  # cosh(1e-300) - 1 needs ~600 digits
        exact = [float(mpmath.log(mpmath.cosh(mpmath.mpf(x)))) for x in r]
    np.testing.assert_allclose(loss.rho(r), exact, rtol=4e-16 * 4, atol=0)
    np.testing.assert_allclose(loss.psi(r), [float(mpmath.tanh(x)) for x in r], rtol=1e-15)
    np.testing.assert_allclose(loss.psi_prime(r), [float(mpmath.sech(x) ** 2) for x in r], rtol=1e-14, atol=0)
    np.testing.assert_allclose(loss.weight(r), [float(mpmath.tanh(x) / x) for x in r], rtol=1e-15)


def test_log_cosh_is_keras_log_cosh_in_its_safe_range():
    r = np.linspace(-20, 20, 101)
    np.testing.assert_allclose(LogCosh().rho(r), np.log(np.cosh(r)), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss", [Cauchy(), Cauchy(c=0.01), Tukey(), PseudoHuber(), Huber(), SmoothL1()], ids=repr)
def test_huge_residuals_are_exact_not_inf(loss):
    import mpmath

    r = np.array([-1e300, -1e200, 1e160, 1e300])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is harmless
        rho, psi, w = loss.rho(r), loss.psi(r), loss.weight(r)
    if isinstance(loss, Cauchy):
        with mpmath.workdps(30):
            c = mpmath.mpf(loss.c)
            rho_ref = [float(c**2 / 2 * mpmath.log(1 + (mpmath.mpf(x) / c) ** 2)) for x in r]
            psi_ref = [float(mpmath.mpf(x) / (1 + (mpmath.mpf(x) / c) ** 2)) for x in r]
        np.testing.assert_allclose(rho, rho_ref, rtol=1e-14)
        np.testing.assert_allclose(psi, psi_ref, rtol=1e-14)
    assert np.all(np.isfinite(rho)) and np.all(np.isfinite(psi)) and np.all(np.isfinite(w))


# ---------------------------------------------------- properties and params
def test_declared_properties():
    table = {
        Absolute: (True, False, False, "linprog"),
        Huber: (True, True, False, "irls"),
        PseudoHuber: (True, True, False, "irls"),
        SmoothL1: (True, True, False, "irls"),
        LogCosh: (True, True, False, "irls"),
        Cauchy: (False, True, True, "irls"),
        Tukey: (False, True, True, "irls"),
        Quantile: (True, False, False, "linprog"),
    }
    for cls, (convex, smooth, redescending, family) in table.items():
        assert (cls.convex, cls.smooth, cls.redescending, cls.fit_family) == (convex, smooth, redescending, family)


def test_defaults_and_registry_names():
    assert Huber() == Huber(delta=1.0) == l2.get_loss("huber")
    assert Cauchy().c == 2.3849 and Tukey().c == 4.685 and SmoothL1().beta == 1.0 and Quantile().q == 0.5
    assert l2.get_loss("Pseudo-Huber", delta=2) == PseudoHuber(delta=2.0)
    assert l2.get_loss("pinball", q=0.9) == Quantile(q=0.9)
    assert l2.get_loss("bisquare") == Tukey()
    assert l2.get_loss("l1") == Absolute()
    assert repr(Huber(delta=2)) == "Huber(delta=2.0)" and hash(Huber(delta=2)) == hash(Huber(delta=2.0))
    assert repr(Huber(delta=np.float64(1.5))) == "Huber(delta=1.5)"


@pytest.mark.parametrize(("cls", "param"), [(Huber, "delta"), (PseudoHuber, "delta"), (SmoothL1, "beta"),
                                            (Cauchy, "c"), (Tukey, "c")])
@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "1.0", True, None])
def test_bad_tuning_constants_are_refused(cls, param, bad):
    with pytest.raises(InputError, match=rf"{cls.__name__}\({param}=\.\.\.\)") as info:
        cls(**{param: bad})
    assert "Fix:" in str(info.value)


def test_smooth_l1_beta_zero_points_to_absolute():
    with pytest.raises(InputError, match="Absolute"):
        SmoothL1(beta=0.0)


@pytest.mark.parametrize("q", [0, 1, 0.0, 1.0, -0.1, 1.5, float("nan"), "0.5", None, True])
def test_bad_quantile_is_refused(q):
    with pytest.raises(InputError, match="strictly between 0 and 1"):
        Quantile(q=q)


def test_get_loss_refuses_bad_params_and_names():
    with pytest.raises(InputError, match="Huber"):
        l2.get_loss("huber", delta=-1)
    with pytest.raises(InputError, match="its documented parameters"):
        l2.get_loss("huber", c=1.0)
    with pytest.raises(InputError, match="did you mean 'tukey'") as info:
        l2.get_loss("tukee")
    msg = str(info.value)
    for name in ("absolute", "huber", "pseudo_huber", "smooth_l1", "log_cosh", "cauchy", "tukey", "quantile",
                 "mahalanobis", "squared"):
        assert name in msg  # the message lists the registered names


def test_real_losses_refuse_complex_input():
    with pytest.raises(InputError, match="real"):
        Huber()(np.array([1j]), np.array([0j]))


def test_integer_and_bool_targets_promote_to_float():
    yt = np.array([0, 1, 5, -2])
    yp = np.array([0.5, 1.0, 2.0, 0.0])
    got = Huber()(yt, yp, reduction="none")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, Huber()(yt.astype(float), yp, reduction="none"))
    assert Tukey().rho(np.array([True, False])).dtype == np.float64
    assert Absolute()(np.array([1, 2]), np.array([0, 0])).dtype == np.float64
