"""Per-call overhead of an l2kit loss against the framework's native loss: torch eager, torch.compile, Keras.

The l2kit losses validate their input (shapes, dtypes, one library) and reduce in Python around the
framework's kernels; this measures what that costs per call, at n = 64 (pure overhead) and n = 1e6
(bandwidth). Keras runs on its torch backend (``KERAS_BACKEND=torch``, this module's own process).
"""

from __future__ import annotations

import os

from ._harness import fmt_time, interleaved, table

os.environ.setdefault("KERAS_BACKEND", "torch")   # Keras fixes its backend at import; this is a fresh process


def _pairs(torch, keras, n: int, compiled: dict):
    import l2kit as l2
    from l2kit.keras import Loss
    from l2kit.torch import LossModule

    g = torch.Generator().manual_seed(0)
    y, p = torch.randn(n, generator=g), torch.randn(n, generator=g)
    ours, theirs = LossModule(l2.Huber(delta=1.0)), torch.nn.HuberLoss(delta=1.0)
    mse_ours, mse_theirs = LossModule(l2.Squared()), torch.nn.MSELoss()
    y2, p2 = y.reshape(-1, 1), p.reshape(-1, 1)
    k_ours, k_theirs = Loss(l2.Huber(delta=1.0)), keras.losses.Huber(delta=1.0)
    c_ours, c_theirs = compiled["ours"], compiled["theirs"]
    return {
        "torch eager": ({"l2kit Huber (LossModule)": lambda: ours(p, y), "torch.nn.HuberLoss": lambda: theirs(p, y)},
                        "torch.nn.HuberLoss"),
        "torch eager MSE": ({"l2kit Squared (LossModule)": lambda: mse_ours(p, y),
                             "torch.nn.MSELoss": lambda: mse_theirs(p, y)}, "torch.nn.MSELoss"),
        "torch.compile": ({"compiled l2kit Huber": lambda: c_ours(p, y),
                           "compiled torch.nn.HuberLoss": lambda: c_theirs(p, y)}, "compiled torch.nn.HuberLoss"),
        "Keras (torch backend)": ({"l2kit.keras.Loss(Huber)": lambda: k_ours(y2, p2),
                                   "keras.losses.Huber": lambda: k_theirs(y2, p2)}, "keras.losses.Huber"),
    }


def run(report, quick: bool) -> None:
    import keras
    import torch

    import l2kit as l2
    from l2kit.torch import LossModule

    torch.set_num_threads(1)   # the machine is shared: one thread for every contender alike
    backend = "eager" if quick else "inductor"   # quick mode: no C++ compile, the numbers mean nothing
    ours, theirs = LossModule(l2.Huber(delta=1.0)), torch.nn.HuberLoss(delta=1.0)
    compiled = {"ours": torch.compile(lambda p, y: ours(p, y), fullgraph=True, dynamic=False, backend=backend),
                "theirs": torch.compile(lambda p, y: theirs(p, y), fullgraph=True, dynamic=False, backend=backend)}
    sizes = (64, 100_000) if quick else (64, 1_000_000)
    for n in sizes:
        groups = _pairs(torch, keras, n, compiled)
        rows = []
        for what, (contenders, base) in groups.items():
            for fn in contenders.values():   # values agree before anything is timed
                fn()
            a, b = (float(fn()) for fn in contenders.values())
            assert abs(a - b) <= 1e-5 * max(1.0, abs(b)), (what, a, b)
            t = interleaved(contenders, repeats=5 if quick else 15, inner=200 if n == 64 else (3 if quick else 20))
            report.section(f"adapters: {what}, n={n}", table(t, baseline=base, title=f"{what}, n = {n}"))
            ours_t = next(v for k, v in t.items() if k != base).median
            rows.append((what, ours_t, t[base].median))
        for what, mine, native in rows:
            if n == 64:
                extra = mine - native
                report.check(f"{what}: extra time per call of an l2kit loss at n=64", "<= 20 µs",
                             f"{fmt_time(max(extra, 0.0))} extra ({fmt_time(mine)} vs {fmt_time(native)})",
                             extra <= 20e-6)
            else:
                ratio = mine / native
                report.check(f"{what}: l2kit loss / native loss at n={n}", "<= 1.5x", f"{ratio:.2f}x",
                             ratio <= 1.5)
    keras_tensorflow(report, quick)


_TF_SCRIPT = r"""
import json, os, sys
import numpy as np, keras, tensorflow as tf
import l2kit as l2
from l2kit.keras import Loss
from benchmarks._harness import interleaved
quick, out = sys.argv[1] == "1", {}
for n in ((64, 100_000) if quick else (64, 1_000_000)):
    rng = np.random.default_rng(0)
    y = tf.constant(rng.normal(size=(n, 1)).astype("float32"))
    p = tf.constant(rng.normal(size=(n, 1)).astype("float32"))
    ours, theirs = Loss(l2.Huber(delta=1.0)), keras.losses.Huber(delta=1.0)
    @tf.autograph.experimental.do_not_convert
    def call_ours(a, b):
        return ours(a, b)
    @tf.autograph.experimental.do_not_convert
    def call_theirs(a, b):
        return theirs(a, b)
    f_ours, f_theirs = tf.function(call_ours), tf.function(call_theirs)
    t = interleaved({"eager ours": lambda: ours(y, p), "eager native": lambda: theirs(y, p),
                     "tf.function ours": lambda: f_ours(y, p), "tf.function native": lambda: f_theirs(y, p)},
                    repeats=5 if quick else 31, inner=20 if n == 64 else 1, warmup=3)
    out[n] = {k: v.median for k, v in t.items()}
print(json.dumps(out))
"""


def keras_tensorflow(report, quick: bool) -> None:
    """Keras on its default TensorFlow backend (fixed per process: a subprocess), eager and in ``tf.function``."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", _TF_SCRIPT, "1" if quick else "0"], capture_output=True,
                          text=True, env=env, cwd=root, timeout=600)
    if proc.returncode != 0:
        report.section("adapters: Keras (TensorFlow backend)", "not measured: " + proc.stderr.strip()[-300:] + "\n")
        return
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = ["| n | mode | l2kit.keras.Loss(Huber) | keras.losses.Huber | ratio |", "|---:|---|---:|---:|---:|"]
    for n, m in res.items():
        for mode in ("eager", "tf.function"):
            mine, native = m[f"{mode} ours"], m[f"{mode} native"]
            rows.append(f"| {n} | {mode} | {fmt_time(mine)} | {fmt_time(native)} | {mine / native:.2f}x |")
            if int(n) == 64:
                report.check(f"Keras (TensorFlow backend, {mode}): extra time per call at n=64", "<= 20 µs",
                             f"{fmt_time(max(mine - native, 0.0))} extra ({fmt_time(mine)} vs {fmt_time(native)})",
                             mine - native <= 20e-6)
            else:
                report.check(f"Keras (TensorFlow backend, {mode}): l2kit loss / native loss at n={n}", "<= 1.5x",
                             f"{mine / native:.2f}x", mine / native <= 1.5)
    report.section("adapters: Keras (TensorFlow backend)", "\n".join(rows) + "\n")
