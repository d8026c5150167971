"""Focal losses against torchvision's formula (in torch), hand-computed CornerNet, and mmpose's heatmap MSE."""

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError


def torchvision_sigmoid_focal(torch, x, t, alpha, gamma):
    """The formula of torchvision.ops.sigmoid_focal_loss (reduction='none')."""
    F = torch.nn.functional
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss


@pytest.mark.parametrize("gamma,alpha", [(2.0, 0.25), (0.0, -1), (1.5, 0.5), (3.0, 0.9)])
def test_focal_logits_match_torchvision_formula_and_autograd(rng, gamma, alpha):
    torch = pytest.importorskip("torch")
    x = rng.normal(scale=3, size=200)
    t = (rng.uniform(size=200) < 0.3).astype(float)
    t[:20] = rng.uniform(size=20)                       # soft labels too
    xt = torch.tensor(x, requires_grad=True)
    ref = torchvision_sigmoid_focal(torch, xt, torch.tensor(t), alpha, gamma)
    ref.sum().backward()
    loss = l2.Focal(gamma=gamma, alpha=None if alpha < 0 else alpha)
    np.testing.assert_allclose(loss(t, x, reduction="none"), ref.detach().numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(loss.grad(t, x), xt.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_focal_probabilities_match_logits(rng):
    x = rng.normal(size=100)
    t = (rng.uniform(size=100) < 0.5).astype(float)
    p = 1 / (1 + np.exp(-x))
    a, b = l2.Focal(logits=True), l2.Focal(logits=False)
    np.testing.assert_allclose(b(t, p, reduction="none"), a(t, x, reduction="none"), rtol=1e-10)
    # chain rule: d/dx = d/dp * p (1 - p)
    np.testing.assert_allclose(b.grad(t, p) * p * (1 - p), a.grad(t, x), rtol=1e-8, atol=1e-14)


def test_focal_stable_for_huge_logits():
    x = np.array([-800.0, 800.0, -800.0, 800.0, 40.0])
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    v = l2.Focal(gamma=2.0, alpha=0.25)(t, x, reduction="none")
    g = l2.Focal(gamma=2.0, alpha=0.25).grad(t, x)
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(g))
    assert v[0] == pytest.approx(0.25 * 800.0) and v[1] == pytest.approx(0.75 * 800.0)   # confident mistakes
    assert v[2] == 0.0 and v[3] == 0.0
    # gradient of a confident mistake does not vanish (unlike MSE after a sigmoid)
    assert abs(g[0]) == pytest.approx(0.25) and abs(g[1]) == pytest.approx(0.75)
    p = 1 / (1 + np.exp(-np.array([-30.0])))
    mse_grad = 2 * (p - 1) * p * (1 - p)   # d/dx (sigmoid(x) - 1)^2
    assert abs(mse_grad[0]) < 1e-12


def cornernet_by_hand(y, p, a=2.0, b=4.0):
    total, npos = 0.0, 0
    for yy, pp in zip(y.ravel(), p.ravel()):
        if yy == 1.0:
            total += -((1 - pp) ** a) * np.log(pp)
            npos += 1
        else:
            total += -((1 - yy) ** b) * (pp ** a) * np.log(1 - pp)
    return total / max(npos, 1)


def gaussian_heatmap(rng, shape=(2, 3, 16, 16)):
    B, K, H, W = shape
    yy, xx = np.mgrid[0:H, 0:W]
    y = np.zeros(shape)
    for b in range(B):
        for k in range(K):
            cy, cx = rng.integers(2, H - 2), rng.integers(2, W - 2)
            y[b, k] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 2.0 ** 2))
            y[b, k, cy, cx] = 1.0
    return y


@pytest.mark.parametrize("alpha,beta", [(2.0, 4.0), (1.0, 2.0), (2.5, 3.0)])
def test_heatmap_focal_matches_cornernet_by_hand(rng, alpha, beta):
    y = gaussian_heatmap(rng)
    p = rng.uniform(0.01, 0.99, size=y.shape)
    loss = l2.HeatmapFocal(alpha=alpha, beta=beta)
    assert float(loss(y, p)) == pytest.approx(cornernet_by_hand(y, p, alpha, beta), rel=1e-12)
    # normalised by the number of positives, not the number of pixels
    assert float(loss(y, p)) == pytest.approx(float(loss(y, p, reduction="sum")) / 6, rel=1e-12)
    # no positives: divide by 1
    y0 = np.minimum(y, 0.9)
    assert float(loss(y0, p)) == pytest.approx(float(loss(y0, p, reduction="sum")), rel=1e-12)


def test_heatmap_focal_grad_matches_autograd(rng):
    torch = pytest.importorskip("torch")
    y = gaussian_heatmap(rng, (1, 2, 8, 8))
    p = rng.uniform(0.02, 0.98, size=y.shape)
    pt = torch.tensor(p, requires_grad=True)
    l2.HeatmapFocal()(torch.tensor(y), pt, reduction="sum").backward()
    np.testing.assert_allclose(l2.HeatmapFocal().grad(y, p), pt.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_heatmap_focal_weights_count_positives():
    y = np.array([1.0, 0.3, 1.0, 0.0])
    p = np.array([0.7, 0.2, 0.4, 0.1])
    w = np.array([2.0, 1.0, 0.0, 3.0])
    loss = l2.HeatmapFocal()
    rep = np.repeat(np.arange(4), w.astype(int))
    assert float(loss(y, p, weights=w)) == pytest.approx(float(loss(y[rep], p[rep])), rel=1e-12)


def test_heatmap_mse_matches_mmpose_formula(rng):
    y = gaussian_heatmap(rng)
    p = rng.uniform(size=y.shape)
    tw = np.array([[1.0, 0.0, 1.0], [0.5, 1.0, 0.0]])
    ref = np.mean((p - y) ** 2 * tw[:, :, None, None])            # mmpose 1.x KeypointMSELoss
    loss = l2.HeatmapMSE()
    assert float(loss(y, p, target_weight=tw)) == pytest.approx(ref, rel=1e-12)
    assert float(loss(y, p)) == pytest.approx(np.mean((p - y) ** 2), rel=1e-12)
    np.testing.assert_allclose(loss.grad(y, p, target_weight=tw), -2 * (y - p) * tw[:, :, None, None])


def test_background_dominates_plain_l2(rng):
    """The docstring's claim: an all-zero prediction scores well under MSE but badly under CornerNet focal."""
    y = gaussian_heatmap(rng, (1, 1, 64, 64))
    zeros = np.full(y.shape, 1e-4)
    assert float(l2.HeatmapMSE()(y, zeros)) < 5e-3
    assert float(l2.HeatmapFocal()(y, zeros)) > 5.0


def test_bad_input():
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        l2.HeatmapFocal()(np.array([1.0, 0.0]), np.array([1.2, 0.1]))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        l2.HeatmapFocal()(np.array([1.0, 0.0]), np.array([-0.1, 0.1]))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        l2.HeatmapFocal()(np.array([2.0, 0.0]), np.array([0.5, 0.1]))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        l2.Focal(logits=False)(np.array([1.0]), np.array([1.5]))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        l2.Focal()(np.array([2.0]), np.array([1.5]))
    with pytest.raises(InputError, match="alpha"):
        l2.Focal(alpha=1.5)
    with pytest.raises(InputError, match="gamma"):
        l2.Focal(gamma=-1.0)
    with pytest.raises(InputError, match="target_weight"):
        l2.HeatmapMSE()(np.zeros((1, 2, 4, 4)), np.zeros((1, 2, 4, 4)), target_weight=np.ones((1, 2, 1, 1)))


@pytest.mark.parametrize("alpha", [True, False, "0.25", float("nan"), 1.5, -0.1])
def test_focal_alpha_refuses_booleans_and_non_numbers(alpha):
    # alpha=True was accepted (as 1) while every other tuning constant refuses booleans
    with pytest.raises(l2.InputError, match=r"Focal\(alpha=\.\.\.\)"):
        l2.Focal(alpha=alpha)
