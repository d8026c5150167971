"""Run by tests/integration/test_keras_backends.py in a fresh process per Keras backend (argv[1]).

Prints one JSON object of measured differences; the test asserts on them. Keras fixes its backend at
import, hence the subprocess.
"""

import json
import os
import sys
import tempfile


def main(backend: str) -> None:
    """Every check below, in this process (Keras' backend is fixed at its import)."""
    os.environ["KERAS_BACKEND"] = backend
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 training below
    import keras
    import numpy as np

    import l2kit as l2
    from l2kit.keras import Loss, Metric
    from l2kit.losses._registry import loss_classes

    out: dict = {"backend": keras.backend.backend()}


    def rel(a, b) -> float:
        a, b = np.asarray(a, float), np.asarray(b, float)
        return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


    # 1. every registry loss: Keras per-sample values = l2kit's NumPy values (constants for call keywords)
    rng = np.random.default_rng(0)
    per_loss = {}
    for cls in loss_classes():
        loss, yt, yp, kw = cls._example(rng, n=6)
        # constants for the call keywords (max: trials >= successes); per-keypoint weights have no scalar form
        kw = {k: float(np.max(v)) for k, v in kw.items() if k != "target_weight"}
        ref = np.asarray(loss(yt, yp, reduction="none", **kw), float)
        if ref.ndim >= 2 and not loss.reduces_last_axis:
            ref = ref.mean(axis=-1)
        got = Loss(loss, reduction="none", dtype="float64", **kw)(yt, yp)
        per_loss[cls.name] = rel(keras.ops.convert_to_numpy(got), ref)
    out["per_loss"] = per_loss

    # 2. the same network trained with l2kit losses and Keras' own, with sample weights, in float64
    keras.config.set_floatx("float64")
    x = rng.normal(size=(96, 3))
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.3 + rng.standard_t(3, size=96))[:, None]
    ycount = rng.poisson(np.exp(0.3 * x[:, :1]))
    sw = rng.uniform(0.0, 2.0, size=96)
    pairs = {"mse": (l2.Squared(), keras.losses.MeanSquaredError(), y, None),
             "huber": (l2.Huber(delta=0.7), keras.losses.Huber(delta=0.7), y, None),
             "log_cosh": (l2.LogCosh(), keras.losses.LogCosh(), y, None),
             "poisson": (l2.PoissonNLL(full=False), keras.losses.Poisson(), ycount, "softplus")}


    def train(loss, target, activation):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                                  keras.layers.Dense(1, activation=activation)])
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss=loss)
        hist = model.fit(x, target, sample_weight=sw, batch_size=32, epochs=3, shuffle=False, verbose=0)
        return hist.history["loss"], [keras.ops.convert_to_numpy(w) for w in model.weights]


    fit_diff = {}
    for key, (ours, theirs, target, act) in pairs.items():
        h1, w1 = train(Loss(ours), target, act)
        h2, w2 = train(theirs, target, act)
        fit_diff[key] = max(rel(h1, h2), max(rel(a, b) for a, b in zip(w1, w2)))
    out["fit"] = fit_diff

    # 3. direct calls with weights and a mask (float32, the default policy), and inside a compiled function
    keras.config.set_floatx("float32")
    yt32, yp32 = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 3)).astype("float32")
    w32 = rng.uniform(size=8).astype("float32")
    ours, theirs = Loss(l2.Huber(delta=0.5)), keras.losses.Huber(delta=0.5)
    out["weighted_call"] = rel(ours(yt32, yp32, sample_weight=w32), theirs(yt32, yp32, sample_weight=w32))
    seq_t, seq_p = rng.normal(size=(4, 5, 2)).astype("float32"), rng.normal(size=(4, 5, 2)).astype("float32")
    mask = np.arange(5)[None, :] < np.array([5, 3, 1, 4])[:, None]
    masked = []
    for loss in (Loss("squared"), keras.losses.MeanSquaredError()):
        pred = keras.ops.convert_to_tensor(seq_p)
        keras.src.backend.set_keras_mask(pred, keras.ops.convert_to_tensor(mask))
        masked.append(float(loss(seq_t, pred)))
    out["masked_call"] = rel(masked[0], masked[1])
    if backend == "tensorflow":
        import tensorflow as tf

        graph = tf.function(lambda a, b, w: ours(a, b, sample_weight=w))
        out["tf_function"] = rel(graph(yt32, yp32, w32), theirs(yt32, yp32, sample_weight=w32))

    # 4. save + load without custom_objects; the metric equals l2kit's metric over the whole epoch
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=Loss(l2.Huber(delta=0.7)),
                  weighted_metrics=[Metric("r2"), Metric("rmse")])  # Keras gives sample_weight to these only
    model.fit(x, y, epochs=1, verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
    ev1 = model.evaluate(x, y, sample_weight=sw, batch_size=17, verbose=0, return_dict=True)
    ev2 = loaded.evaluate(x, y, sample_weight=sw, batch_size=17, verbose=0, return_dict=True)
    out["loaded_loss"] = repr(loaded.loss)
    out["save_load"] = max(rel(ev1[k], ev2[k]) for k in ev1)
    pred = np.asarray(keras.ops.convert_to_numpy(model.predict(x, verbose=0)), float)
    out["metric_r2"] = rel(ev1["r2"], l2.r2(y[:, 0], pred[:, 0], weights=sw))
    out["metric_rmse"] = rel(ev1["rmse"], l2.rmse(y[:, 0], pred[:, 0], weights=sw))
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":   # pytest's --doctest-modules imports this file: run nothing then
    main(sys.argv[1])
