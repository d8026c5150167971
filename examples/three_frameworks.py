"""Adapters: the same small network trained with one l2kit loss under Keras, PyTorch and JAX.

A 1-16-1 tanh network is fitted to noisy samples of sin(2x) with 8% gross outliers, by full-batch
gradient descent from the same initial weights, three times: as a Keras model compiled with
``l2kit.keras.Loss(l2.Huber(delta=0.5))``, as a torch module trained with ``l2kit.torch.LossModule``,
and as a JAX function differentiated through ``l2.Huber(delta=0.5)`` itself. The loss object is the
same in the three frameworks, so the trajectories agree: torch and JAX to 1e-15 (float64), Keras to about
1e-7 (some step of Keras' training loop rounds through float32; its own keras.losses.Huber follows the
same trajectory as ours, see tests/integration/test_keras_backends.py). The same network trained with the
squared loss bends towards the outliers; the Huber fit follows the clean curve.

Run: python examples/three_frameworks.py [--small] [--out DIR]
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")   # Keras fixes its backend at import

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from _gallery import figure, key, parse_args, save  # noqa: E402

import l2kit as l2  # noqa: E402
from l2kit.keras import Loss  # noqa: E402
from l2kit.torch import LossModule  # noqa: E402

HIDDEN, LR = 16, 0.125   # 0.125 is exact in float32: Keras keeps the learning rate as a float32 variable


def data(rng, n):
    x = np.sort(rng.uniform(-2, 2, n))
    y = np.sin(2 * x) + rng.normal(0, 0.1, n)
    bad = rng.choice(n, int(0.08 * n), replace=False)
    y[bad] += rng.choice([-1, 1], bad.size) * rng.uniform(2, 4, bad.size)
    return x[:, None], y[:, None]


def init(rng):
    return [rng.normal(0, 1, (1, HIDDEN)), np.zeros(HIDDEN), rng.normal(0, 1 / HIDDEN ** 0.5, (HIDDEN, 1)),
            np.zeros(1)]


def train_keras(params, x, y, loss, steps):
    keras.config.set_floatx("float64")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(HIDDEN, activation="tanh"), keras.layers.Dense(1)])
    model.set_weights(params)
    model.compile(optimizer=keras.optimizers.SGD(LR), loss=Loss(loss))
    hist = model.fit(x, y, batch_size=len(x), epochs=steps, shuffle=False, verbose=0).history["loss"]
    return [np.asarray(w) for w in model.get_weights()], hist, lambda t: np.asarray(model.predict(t, verbose=0))


def train_torch(params, x, y, loss, steps):
    w = [torch.tensor(p, requires_grad=True) for p in params]
    crit, xt, yt = LossModule(loss), torch.tensor(x), torch.tensor(y)
    opt, hist = torch.optim.SGD(w, lr=LR), []

    def net(a):
        return torch.tanh(a @ w[0] + w[1]) @ w[2] + w[3]

    for _ in range(steps):
        opt.zero_grad()
        value = crit(net(xt), yt)       # torch order: (prediction, target)
        value.backward()
        opt.step()
        hist.append(float(value.detach()))
    return [p.detach().numpy() for p in w], hist, lambda t: net(torch.tensor(t)).detach().numpy()


def train_jax(params, x, y, loss, steps):
    def net(w, a):
        return jnp.tanh(a @ w[0] + w[1]) @ w[2] + w[3]

    value_and_grad = jax.jit(jax.value_and_grad(lambda w: loss(jnp.asarray(y), net(w, jnp.asarray(x)))))
    w, hist = [jnp.asarray(p) for p in params], []
    for _ in range(steps):
        value, g = value_and_grad(w)
        w = [p - LR * gp for p, gp in zip(w, g)]
        hist.append(float(value))
    return [np.asarray(p) for p in w], hist, lambda t: np.asarray(net(w, jnp.asarray(t)))


def main():
    args = parse_args(__doc__)
    rng = np.random.default_rng(0)
    n, steps = (120, 150) if args.small else (400, 1500)
    x, y = data(rng, n)
    params = init(rng)
    huber = l2.Huber(delta=0.5)
    runs = {name: fn(params, x, y, huber, steps) for name, fn in
            (("keras", train_keras), ("torch", train_torch), ("jax", train_jax))}
    squared = train_torch(params, x, y, l2.Squared(), steps)
    grid = np.linspace(-2, 2, 200)[:, None]
    truth = np.sin(2 * grid)
    for name, (_, hist, _) in runs.items():
        key(f"final_loss_{name}", hist[-1])
    def gap_between(a, b):
        return max(float(np.max(np.abs(u - v))) for u, v in zip(runs[a][0], runs[b][0]))

    gap = max(gap_between("keras", "torch"), gap_between("keras", "jax"))
    key("max_param_gap_vs_keras", gap)
    key("max_param_gap_torch_vs_jax", gap_between("torch", "jax"))
    key("rmse_to_truth_huber", float(l2.rmse(truth, runs["torch"][2](grid))))
    key("rmse_to_truth_squared", float(l2.rmse(truth, squared[2](grid))))

    fig, ax = figure(1, 2, figsize=(10, 3.4))
    ax[0].plot(x[:, 0], y[:, 0], ".", color="0.6", ms=4, label="data (8% outliers)")
    ax[0].plot(grid[:, 0], truth[:, 0], "k--", lw=1, label="sin(2x)")
    for (name, (_, _, predict)), style in zip(runs.items(), ("-", "--", ":")):
        ax[0].plot(grid[:, 0], predict(grid)[:, 0], style, lw=2, label=f"Huber(0.5), {name}")
    ax[0].plot(grid[:, 0], squared[2](grid)[:, 0], color="C3", lw=1, label="Squared(), torch")
    ax[0].set(ylim=(-2.5, 2.5), title="one loss object, three frameworks", xlabel="x")
    ax[0].legend(fontsize=7)
    for (name, (_, hist, _)), style in zip(runs.items(), ("-", "--", ":")):
        ax[1].plot(hist, style, lw=2, label=name)
    ax[1].set(yscale="log", xlabel="full-batch step", ylabel="training loss (Huber)",
              title=f"trajectories agree (max parameter gap {gap:.1e})")
    ax[1].legend(fontsize=8)
    save(fig, args.out, "three_frameworks.png")


if __name__ == "__main__":
    main()
