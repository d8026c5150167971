"""Least squares on a real dask.distributed LocalCluster (127.0.0.1, two worker processes), and a killed worker."""

import os
import signal
import threading
import time

import numpy as np
import pytest
from _scale_helpers import assert_same_fit, make_data, sm_fit

import l2kit as l2

da = pytest.importorskip("dask.array")


def _cluster():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=50)
    return cluster, distributed.Client(cluster)


def _problem(seed=7, n=2000, p=3, chunk=100):
    rng = np.random.default_rng(seed)
    X, y, w = make_data(rng, n=n, p=p, offset=5.0, weights=True)
    return X, y, w


@pytest.mark.cluster
@pytest.mark.timeout(120)
def test_local_cluster_two_processes():
    X, y, w = _problem()
    cluster, client = _cluster()
    try:
        assert len(client.scheduler_info()["workers"]) == 2
        f = l2.fit(da.from_array(X, chunks=(100, 3)), da.from_array(y, chunks=100),
                   weights=da.from_array(w, chunks=100))
        # the blocks really ran on the workers
        assert sum(client.run(lambda dask_worker: len(dask_worker.data) >= 0).values()) == 2
    finally:
        client.close()
        cluster.close()
    ref = sm_fit(X, y, w)
    assert_same_fit(f, ref.params, ref.bse)


def _slow(block):                           # module level: cloudpickle ships it by value
    import time as _t

    _t.sleep(0.15)
    return block


def _kill_one_worker_during(compute):
    """Run ``compute()`` on a two-worker cluster, SIGKILL one worker a second in, return the result.

    Asserts that the worker died before the computation finished and that the nanny replaced it.
    """
    cluster, client = _cluster()
    killed = {}
    try:
        pids = client.run(os.getpid)          # {worker address: pid}
        victim = sorted(pids)[0]
        done = threading.Event()

        def killer():
            time.sleep(1.0)                     # ~1/3 of the 20 slow blocks are done by now
            killed["before_end"] = not done.is_set()
            os.kill(pids[victim], signal.SIGKILL)

        t = threading.Thread(target=killer)
        t.start()
        result = compute()
        done.set()
        t.join()
        # the nanny restarted the worker: a different process now serves
        deadline = time.time() + 30
        while time.time() < deadline and len(client.scheduler_info()["workers"]) < 2:
            time.sleep(0.2)
        assert pids[victim] not in client.run(os.getpid).values()
    finally:
        client.close()
        cluster.close()
    assert killed.get("before_end"), "the worker was killed after the computation had finished"
    return result


@pytest.mark.cluster
@pytest.mark.timeout(180)
def test_killed_worker_result_unchanged():
    X, y, w = _problem()
    dX = da.from_array(X, chunks=(100, 3)).map_blocks(_slow, dtype=float)
    f = _kill_one_worker_during(lambda: l2.fit(dX, da.from_array(y, chunks=100), weights=da.from_array(w, chunks=100)))
    ref = sm_fit(X, y, w)
    assert_same_fit(f, ref.params, ref.bse)


@pytest.mark.cluster
@pytest.mark.timeout(180)
def test_killed_worker_leaves_dask_metrics_unchanged():
    # the metrics' tree of Accumulator merges: a task retried after the kill must not count a chunk twice
    rng = np.random.default_rng(3)
    y = 1e6 + rng.normal(size=(2000, 2))
    p = y + rng.normal(scale=0.5, size=(2000, 2))
    w = rng.uniform(0.1, 2.0, 2000)
    dp = da.from_array(p, chunks=(100, 2)).map_blocks(_slow, dtype=float)
    got = _kill_one_worker_during(lambda: l2.r2(da.from_array(y, chunks=(100, 2)), dp,
                                                weights=da.from_array(w, chunks=100), multioutput="raw_values"))
    np.testing.assert_allclose(got, l2.r2(y, p, weights=w, multioutput="raw_values"), rtol=1e-12)
