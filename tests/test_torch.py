"""``l2kit.torch.LossModule``: an l2kit loss as a torch.nn.Module, checked against torch's own modules."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError

torch = pytest.importorskip("torch")


def test_importing_the_adapter_does_not_import_torch():
    code = "import sys, l2kit.torch; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(("loss", "module"), [
    (l2.Squared(), torch.nn.MSELoss),
    (l2.Absolute(), torch.nn.L1Loss),
    (l2.Huber(delta=0.7), lambda reduction: torch.nn.HuberLoss(reduction=reduction, delta=0.7)),
    (l2.SmoothL1(beta=0.4), lambda reduction: torch.nn.SmoothL1Loss(reduction=reduction, beta=0.4)),
], ids=["mse", "l1", "huber", "smooth_l1"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_torch_modules_values_and_gradients(loss, module, reduction):
    from l2kit.torch import LossModule

    rng = np.random.default_rng(0)
    target = torch.tensor(rng.normal(size=(6, 3)))
    x = torch.tensor(rng.normal(size=(6, 3)))
    ours, theirs = LossModule(loss, reduction=reduction), module(reduction=reduction)
    p1, p2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    a, b = ours(p1, target), theirs(p2, target)
    torch.testing.assert_close(a, b)
    a.sum().backward()
    b.sum().backward()
    torch.testing.assert_close(p1.grad, p2.grad)


def test_trains_a_linear_layer_like_torch_does():
    from l2kit.torch import LossModule

    torch.manual_seed(0)
    x = torch.randn(64, 3, dtype=torch.float64)
    y = x @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + 0.3
    results = []
    for crit in (LossModule("huber"), torch.nn.HuberLoss()):
        torch.manual_seed(1)
        model = torch.nn.Linear(3, 1).double()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(50):
            opt.zero_grad()
            crit(model(x)[:, 0], y).backward()
            opt.step()
        results.append(model.weight.detach().clone())
    torch.testing.assert_close(results[0], results[1])


def test_weights_and_extra_keywords_pass_through():
    from l2kit.torch import LossModule

    target, pred = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    w = torch.tensor([1.0, 0.0, 3.0])
    assert LossModule(l2.Squared())(pred, target, weights=w).item() == pytest.approx((1 + 12) / 4)
    if "gaussian_nll" in l2.available_losses():
        got = LossModule("gaussian_nll")(pred, target, var=torch.ones(3))
        ref = torch.nn.functional.gaussian_nll_loss(pred, target, torch.ones(3))
        torch.testing.assert_close(got, ref)


def test_module_behaviour_and_bad_input():
    from l2kit.torch import LossModule

    m = LossModule(l2.Tukey(), reduction="sum")
    assert isinstance(m, torch.nn.Module) and list(m.parameters()) == []
    assert repr(m) == "LossModule(Tukey(c=4.685), reduction='sum')"
    assert LossModule("bisquare").loss == l2.Tukey()
    seq = torch.nn.Sequential(torch.nn.Identity())
    seq.add_module("crit", m)  # a module among modules
    with pytest.raises(InputError, match="reduction"):
        LossModule(l2.Huber(), reduction="batchmean")
    with pytest.raises(InputError, match="loss"):
        LossModule(torch.nn.MSELoss())
    with pytest.raises(InputError, match="did you mean"):
        LossModule("hubr")
    with pytest.raises(InputError, match="broadcast"):
        LossModule(l2.Huber())(torch.zeros(4, 1), torch.zeros(4))
    with pytest.raises(AttributeError):
        import l2kit.torch as adapter

        adapter.NoSuchThing  # noqa: B018
