"""l2kit.keras under each Keras backend (torch, JAX, TensorFlow), one fresh process per backend.

The script (_keras_backend_check.py) trains the same network with l2kit losses and with Keras' own
MeanSquaredError, Huber, LogCosh and Poisson (sample weights, float64), calls them with weights, a mask
and inside tf.function, saves and reloads a compiled model without custom_objects, and compares the
l2kit Keras metrics with l2kit's metrics; it prints the measured differences and this test bounds them.
"""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "_keras_backend_check.py")
NEEDS = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}


@pytest.mark.parametrize("backend", ["torch", "jax", "tensorflow"])
def test_keras_backend(backend):
    pytest.importorskip("keras", reason="pip install 'l2kit[keras]'")
    pytest.importorskip(NEEDS[backend], reason=f"the {backend} backend is not installed "
                        "(pip install 'l2kit[tensorflow]' for TensorFlow's CPU build)")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, SCRIPT, backend], capture_output=True, text=True, env=env, timeout=600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    res = json.loads(lines[-1][len("RESULT "):])
    assert res["backend"] == backend
    # every registry loss: the same per-sample values as l2kit on NumPy (float64)
    assert len(res["per_loss"]) >= 21
    assert {k: v for k, v in res["per_loss"].items() if not v < 1e-12} == {}
    # training with sample weights: epoch losses and final weights equal Keras' own losses
    assert set(res["fit"]) == {"mse", "huber", "log_cosh", "poisson"}
    assert {k: v for k, v in res["fit"].items() if not v < 1e-6} == {}
    assert res["weighted_call"] < 1e-6 and res["masked_call"] < 1e-6
    if backend == "tensorflow":
        assert res["tf_function"] < 1e-6
    assert res["loaded_loss"] == "Loss(Huber(delta=0.7), reduction='sum_over_batch_size')"
    assert res["save_load"] < 1e-7
    # float32 metric state against l2kit's float64 metrics of the whole epoch
    assert res["metric_r2"] < 1e-5 and res["metric_rmse"] < 1e-5
