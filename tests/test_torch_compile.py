"""torch.compile(fullgraph=True) and torch.func.vmap through losses and metrics: no host sync, no graph break.

Value checks (weights >= 0, count domains, finiteness) read numbers, which would be a host sync and a
graph break; they run in eager mode and are skipped while torch traces (``l2kit._array.is_traced``).
"""

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError

torch = pytest.importorskip("torch")

HUBER, GAUSS, POISSON = l2.Huber(delta=0.5), l2.GaussianNLL(), l2.PoissonNLL()


def everything(y, p, w, var, counts):
    """Each hot path at once: weighted losses, var=, Poisson, the LossModule and every metric."""
    from l2kit.torch import LossModule

    return torch.stack([
        l2.Squared()(y, p, weights=w), HUBER(y, p, weights=w, reduction="sum"), GAUSS(y, p, var=var, weights=w),
        POISSON(counts, p, weights=w), LossModule(HUBER)(p, y, weights=w),
        l2.mse(y, p, weights=w), l2.rmse(y, p), l2.mae(y, p, weights=w), l2.r2(y, p, weights=w),
        l2.explained_variance(y, p)])


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(0)
    y = torch.rand(48, dtype=torch.float64, generator=g) * 3
    p = torch.rand(48, dtype=torch.float64, generator=g) + 0.5
    return (y, p, torch.rand(48, dtype=torch.float64, generator=g),
            torch.rand(48, dtype=torch.float64, generator=g) + 0.1, torch.poisson(p, generator=g))


def test_no_graph_break(data):
    torch._dynamo.reset()
    explained = torch._dynamo.explain(everything)(*data)
    assert explained.graph_break_count == 0, [str(b.reason) for b in explained.break_reasons]
    assert explained.graph_count == 1


def test_fullgraph_compile_equals_eager_values_and_gradients(data):
    torch._dynamo.reset()
    compiled = torch.compile(everything, fullgraph=True, backend="aot_eager")
    y, p, w, var, counts = data
    p1, p2 = p.clone().requires_grad_(True), p.clone().requires_grad_(True)
    eager, comp = everything(y, p1, w, var, counts), compiled(y, p2, w, var, counts)
    torch.testing.assert_close(comp, eager, rtol=1e-12, atol=0)
    eager.sum().backward()
    comp.sum().backward()
    torch.testing.assert_close(p2.grad, p1.grad, rtol=1e-12, atol=1e-15)


def test_vmap_equals_a_loop_over_rows(data):
    y, p, w, var, counts = (a.reshape(4, 12) for a in data)
    batched = torch.func.vmap(everything)(y, p, w, var, counts)
    looped = torch.stack([everything(*(a[i] for a in (y, p, w, var, counts))) for i in range(4)])
    torch.testing.assert_close(batched, looped, rtol=1e-12, atol=1e-15)


def test_eager_calls_still_check_values(data):
    y, p, w, var, counts = data
    with pytest.raises(InputError, match="non-negative weights"):
        l2.Squared()(y, p, weights=-w)
    with pytest.raises(InputError, match="positive sum"):
        l2.mse(y, p, weights=torch.zeros_like(w))
    with pytest.raises(InputError, match="counts"):
        POISSON(-counts - 1, p)


def test_tensors_on_two_devices_are_refused_with_the_fix():
    meta = torch.zeros(3, device="meta")
    with pytest.raises(InputError, match="one device"):
        l2.Squared()(torch.zeros(3), meta)
    assert np.isclose(float(l2.Squared()(torch.zeros(3), torch.ones(3))), 1.0)
