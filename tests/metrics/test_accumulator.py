"""Accumulator: chunk/merge invariance against exact two-pass sums, JSON, torch, distributed."""

import json
import socket

import numpy as np
import pytest
from _metrics_ref import exact_metrics
from hypothesis import given, settings
from hypothesis import strategies as st

import l2kit as l2
from l2kit import InputError
from l2kit.metrics import Accumulator

METRICS = ("mse", "rmse", "mae", "r2", "explained_variance")


def _check_against_exact(res, y, p, w=None, rtol=1e-9):
    ref = exact_metrics(y, p, w)
    for m in ("mse", "rmse", "mae"):
        np.testing.assert_allclose(res[m], ref[m], rtol=rtol)
    # 1 - R^2 is the quantity with relative meaning (R^2 may be ~1 or ~0)
    np.testing.assert_allclose(1 - res["r2"], ref["one_minus_r2"], rtol=rtol)
    np.testing.assert_allclose(1 - res["explained_variance"], ref["one_minus_ev"], rtol=rtol)


@st.composite
def chunked_problem(draw):
    n = draw(st.integers(4, 400))
    seed = draw(st.integers(0, 2**32 - 1))
    offset = draw(st.sampled_from([0.0, 1e6, 1e9, -3e8]))
    cuts = sorted(set(draw(st.lists(st.integers(1, n - 1), max_size=12))))
    weighted = draw(st.booleans())
    k = draw(st.sampled_from([None, 2]))
    order = draw(st.permutations(range(len(cuts) + 1)))
    tree = draw(st.booleans())
    return n, seed, offset, cuts, weighted, k, order, tree


@settings(max_examples=60, deadline=None)
@given(chunked_problem())
def test_any_chunking_and_merge_order_matches_exact_two_pass(prob):
    n, seed, offset, cuts, weighted, k, order, tree = prob
    rng = np.random.default_rng(seed)
    shape = (n,) if k is None else (n, k)
    y = offset + rng.normal(scale=rng.choice([1e-2, 1.0, 30.0]), size=shape)
    p = y + rng.normal(scale=0.3, size=shape) + 0.1
    w = rng.uniform(0.0, 3.0, size=n) if weighted else None
    bounds = [0, *cuts, n]
    parts = []
    for i in range(len(bounds) - 1):
        a, b = bounds[i], bounds[i + 1]
        parts.append(Accumulator().update(y[a:b], p[a:b], None if w is None else w[a:b]))
    parts = [parts[i] for i in order]
    if tree:
        while len(parts) > 1:
            parts = [parts[i].merge(parts[i + 1]) if i + 1 < len(parts) else parts[i] for i in range(0, len(parts), 2)]
        acc = parts[0]
    else:
        acc = Accumulator()
        for part in parts:
            acc = acc.merge(part)
    res = acc.result()
    assert res["n"] == n
    _check_against_exact(res, y, p, w)


def test_single_pass_updates_large_offset_float32_and_torch():
    rng = np.random.default_rng(3)
    y = 1e9 + rng.normal(size=20_000)
    p = y + rng.normal(scale=0.25, size=y.size)
    acc = Accumulator()
    for s in range(0, y.size, 7919):
        acc.update(y[s:s + 7919], p[s:s + 7919])
    _check_against_exact(acc.result(), y, p)
    # float32 input is reduced in float64: same as the float64 reference on the float32 values
    y32 = rng.normal(loc=1000.0, size=12_000).astype(np.float32)
    p32 = (y32 + rng.normal(scale=0.1, size=y32.size)).astype(np.float32)
    acc32 = Accumulator()
    for s in range(0, y32.size, 5_000):
        acc32.update(y32[s:s + 5_000], p32[s:s + 5_000])
    _check_against_exact(acc32.result(), y32.astype(np.float64), p32.astype(np.float64))
    torch = pytest.importorskip("torch")
    acct = Accumulator().update(torch.tensor(y32), torch.tensor(p32, requires_grad=True))
    assert acct.result() == Accumulator().update(y32, p32).result()


def test_matches_functional_multioutput_and_weights():
    rng = np.random.default_rng(5)
    y = rng.normal(size=(500, 3)) * [1, 10, 100]
    p = y + rng.normal(size=(500, 3))
    w = rng.uniform(size=500)
    acc = Accumulator()
    for s in range(0, 500, 77):
        acc.update(y[s:s + 77], p[s:s + 77], weights=w[s:s + 77])
    for mo in ("raw_values", "uniform_average", "variance_weighted"):
        res = acc.result(multioutput=mo)
        for m in METRICS:
            mo_m = mo if mo != "variance_weighted" or m in ("r2", "explained_variance") else "uniform_average"
            np.testing.assert_allclose(res[m], getattr(l2, m)(y, p, weights=w, multioutput=mo_m), rtol=1e-12)
    assert res["sum_weights"] == pytest.approx(w.sum())
    # per-element weights
    we = rng.uniform(size=(500, 3))
    acc = Accumulator().update(y[:200], p[:200], we[:200]).merge(Accumulator().update(y[200:], p[200:], we[200:]))
    np.testing.assert_allclose(acc.result(multioutput="raw_values")["r2"],
                               l2.r2(y, p, weights=we, multioutput="raw_values"), rtol=1e-12)


def test_zero_weight_chunks_and_empty_accumulators():
    y = np.arange(10.0)
    p = y + 1.0
    acc = Accumulator().update(y[:3], p[:3], np.zeros(3)).merge(Accumulator())
    acc.update(y[3:], p[3:])
    assert acc.n == 10
    np.testing.assert_allclose(acc.result()["r2"], float(l2.r2(y[3:], p[3:])), rtol=1e-13)
    with pytest.raises(InputError, match="empty accumulator"):
        Accumulator().result()


def test_json_round_trip_is_exact():
    rng = np.random.default_rng(1)
    y = 1e9 + rng.normal(size=(300, 2))
    p = y + rng.normal(size=(300, 2))
    acc = Accumulator().update(y, p)
    text = json.dumps(acc.to_dict())
    back = Accumulator.from_dict(json.loads(text))
    assert back.to_dict() == acc.to_dict()
    np.testing.assert_equal(back.result(multioutput="raw_values"), acc.result(multioutput="raw_values"))
    assert Accumulator.from_dict(text).result() == acc.result()
    with pytest.raises(InputError, match="to_dict"):
        Accumulator.from_dict({"foo": 1})


def test_nonfinite_raise_reports_row_and_leaves_state():
    acc = Accumulator().update(np.arange(5.0), np.zeros(5))
    y = np.arange(4.0)
    y[2] = np.nan
    with pytest.raises(InputError, match="y_true holds 1 non-finite") as exc:
        acc.update(y, np.zeros(4))
    assert exc.value.row == 7
    assert acc.n == 5


def test_nonfinite_omit_counts():
    y = np.arange(20.0)
    p = y + 0.5
    y[[3, 4]] = np.inf
    p[10] = np.nan
    acc = Accumulator(nonfinite="omit").update(y[:8], p[:8]).update(y[8:], p[8:])
    res = acc.result()
    assert res["n"] == 17 and res["n_omitted"] == 3
    keep = np.isfinite(y) & np.isfinite(p)
    assert res["mse"] == pytest.approx(float(l2.mse(y[keep], p[keep])))


def test_shape_errors():
    acc = Accumulator().update(np.zeros(3), np.ones(3))
    with pytest.raises(InputError, match="output columns"):
        acc.update(np.zeros((3, 2)), np.ones((3, 2)))
    with pytest.raises(InputError, match="broadcast"):
        Accumulator().update(np.zeros(3), np.ones((3, 1)))
    with pytest.raises(InputError, match="nonfinite"):
        Accumulator(nonfinite="skip")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_reduce_distributed_single_process_gloo(tmp_path):
    torch = pytest.importorskip("torch")
    dist = torch.distributed
    if not dist.is_available():
        pytest.skip("torch.distributed unavailable")
    with pytest.raises(InputError, match="process group"):
        Accumulator().reduce_distributed()
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        acc = Accumulator().update(np.arange(10.0), np.arange(10.0) * 1.1)
        out = acc.reduce_distributed()
        assert out.result() == acc.result() and out is not acc
    finally:
        dist.destroy_process_group()


def _worker(rank, world, port, q):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        y = np.arange(100.0) + 1e9
        p = y + np.sin(np.arange(100.0))
        part = slice(rank * 50, (rank + 1) * 50)
        q.put((rank, Accumulator().update(y[part], p[part]).reduce_distributed().to_dict()))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_reduce_distributed_two_processes():
    torch = pytest.importorskip("torch")
    mp = torch.multiprocessing.get_context("spawn")
    q = mp.Queue()
    port = _free_port()
    procs = [mp.Process(target=_worker, args=(r, 2, port, q)) for r in range(2)]
    for pr in procs:
        pr.start()
    got = dict(q.get(timeout=100) for _ in range(2))
    for pr in procs:
        pr.join(30)
    assert got[0] == got[1]
    y = np.arange(100.0) + 1e9
    p = y + np.sin(np.arange(100.0))
    res = Accumulator.from_dict(got[0]).result()
    _check_against_exact(res, y, p)


def test_plus_returns_new_and_leaves_operands():
    a = Accumulator().update(np.arange(5.0), np.zeros(5))
    b = Accumulator().update(np.arange(5.0, 9.0), np.ones(4))
    da, db = a.to_dict(), b.to_dict()
    c = a + b
    assert c is not a and c is not b
    assert a.to_dict() == da and b.to_dict() == db
    assert c.result()["n"] == 9
    np.testing.assert_allclose(c.result()["mse"], float(l2.mse(np.arange(9.0), np.r_[np.zeros(5), np.ones(4)])))


def test_merge_is_in_place_and_returns_self():
    # as torchmetrics' and datasketch's merge: `a.merge(b)` written as a statement must not drop b
    y, p = np.arange(9.0), np.r_[np.zeros(5), np.ones(4)]
    a = Accumulator().update(y[:5], p[:5])
    b = Accumulator(nonfinite="omit").update(np.r_[y[5:], np.nan], np.r_[p[5:], 0.0])
    db = b.to_dict()
    assert a.merge(b) is a
    assert b.to_dict() == db                          # the argument is unchanged
    assert (a.n, a.n_omitted) == (9, 1)
    assert a.result()["mse"] == pytest.approx(float(l2.mse(y, p)), rel=1e-15)
    empty = Accumulator()
    assert empty.merge(b) is empty and empty.n == 4   # into an empty accumulator: a copy of b's state
    empty.update(np.zeros(2), np.ones(2))
    assert b.to_dict() == db                          # ... not shared with b
    twice = Accumulator().update(y, p)
    twice.merge(twice)
    assert twice.n == 18 and twice.result()["mse"] == pytest.approx(float(l2.mse(y, p)), rel=1e-15)


def test_refused_merge_leaves_the_receiver_unchanged():
    a = Accumulator().update(np.arange(5.0), np.zeros(5))
    before = a.to_dict()
    with pytest.raises(InputError, match="same targets"):
        a.merge(Accumulator().update(np.zeros((3, 2)), np.ones((3, 2))))
    with pytest.raises(InputError, match="an Accumulator"):
        a.merge(a.to_dict())
    assert a.to_dict() == before


def _valid_dict():
    return Accumulator().update(np.arange(6.0), np.arange(6.0) + 0.5).to_dict()


def _with(path, value):
    d = json.loads(json.dumps(_valid_dict()))
    target = d
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return d


@pytest.mark.parametrize("d, key", [
    (_with(("state", "m2y"), [-4.0]), "m2y"),             # gave r2 = 85
    (_with(("state", "m2r"), [-1.0]), "m2r"),             # gave a negative mse
    (_with(("state", "W"), [-6.0]), "W"),
    (_with(("state", "mabs"), [-0.5]), "mabs"),
    (_with(("n",), -5), "'n'"),
    (_with(("n",), 3.7), "'n'"),                            # was truncated to 3
    (_with(("n",), 5), "'n'"),                              # inconsistent with the weight sum 6
    (_with(("n",), "6"), "'n'"),
    (_with(("n",), True), "'n'"),
    (_with(("n",), KeyError), "'n'"),
    (_with(("n_omitted",), -1), "n_omitted"),
    (_with(("ndim",), 3), "ndim"),
    (_with(("ndim",), None), "ndim"),
    (_with(("l2kit_accumulator",), True), "l2kit_accumulator"),
    (_with(("l2kit_accumulator",), 2), "l2kit_accumulator"),
    (_with(("weighted",), "no"), "weighted"),
    (_with(("state",), [1, 2]), "state"),
    (_with(("state",), None), "state"),                    # n = 6 rows but no state
    (_with(("state", "my"), KeyError), "my"),
    (_with(("state", "my"), [0.1, 0.2]), "equal length"),
    (_with(("state", "my"), []), "my"),
    (_with(("state", "my"), ["x"]), "my"),
    (_with(("state", "my"), [float("nan")]), "my"),
    (_with(("state", "my"), 0.1), "my"),
    (_with(("state", "u"), [0.0]), "['u']"),
    (_with(("state", "u"), [2.0]), "'n'"),                 # an unweighted state has unit 1
    ("{not json", "JSON"),
    ([1, 2], "list"),
    (None, "NoneType"),
])
def test_from_dict_refuses_impossible_or_malformed_states(d, key):
    with pytest.raises(InputError, match="Fix: pass the output of to_dict") as exc:
        Accumulator.from_dict(d)
    assert key in str(exc.value)


def test_from_dict_still_reads_states_written_without_unit_or_weighted_flag():
    d = _valid_dict()
    old = {**d, "state": {k: v for k, v in d["state"].items() if k != "u"}}
    del old["weighted"]
    assert Accumulator.from_dict(old).result() == Accumulator.from_dict(d).result()
    empty = Accumulator(nonfinite="omit").update(np.array([np.nan]), np.array([1.0]))
    back = Accumulator.from_dict(empty.to_dict())
    assert (back.n, back.n_omitted, back.nonfinite) == (0, 1, "omit")


def test_result_refuses_overflow_like_mse():
    # finite values whose squared errors overflow: mse was inf with no error
    y, p = np.full(3, 1e200), np.zeros(3)
    acc = Accumulator().update(y, p)
    with pytest.raises(InputError, match="overflow") as exc:
        acc.result()
    with pytest.raises(InputError, match="overflow") as ref:
        l2.mse(y, p)
    assert exc.value.fix == ref.value.fix


@pytest.mark.parametrize("chunks", [1, 3])
def test_extreme_weights_are_exact(chunks):
    # weights 1e-300..1e300: r2 was -2e29 against an exact -4.7e82; all-equal 5e-324: a wrong mse
    from _metrics_ref import fraction_metrics

    rng = np.random.default_rng(11)
    y = rng.integers(0, 3, 12).astype(float)
    p = rng.integers(0, 3, 12).astype(float)
    for w in (np.logspace(-300, 300, 12)[rng.permutation(12)], np.full(12, 5e-324), np.full(12, 1e300)):
        ref = fraction_metrics(y, p, w)
        parts = [Accumulator().update(y[s], p[s], w[s]) for s in np.array_split(np.arange(12), chunks)]
        acc = parts[0]
        for part in parts[1:]:
            acc.merge(part)
        res = acc.result()
        for m in METRICS:
            assert res[m] == pytest.approx(ref[m], rel=1e-12), (m, w[:2])
            assert float(getattr(l2, m)(y, p, weights=w)) == pytest.approx(ref[m], rel=1e-12), (m, w[:2])
        assert res["sum_weights"] == pytest.approx(float(sum(map(float, w))), rel=1e-12)


def test_jax_and_integer_inputs():
    y = np.arange(10)
    p = y * 2
    want = float(l2.r2(y.astype(float), p.astype(float)))
    assert Accumulator().update(y, p).result()["r2"] == pytest.approx(want, rel=1e-14)
    jnp = pytest.importorskip("jax.numpy")
    assert Accumulator().update(jnp.asarray(y), jnp.asarray(p)).result()["r2"] == pytest.approx(want, rel=1e-6)
