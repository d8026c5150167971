"""Pitfall: MSE after a sigmoid starves confident mistakes of gradient; cross-entropy does not.

For a logit z and p = sigmoid(z), the squared error (p - y)^2 has gradient
2 (p - y) p (1 - p) in z: when the model is confidently wrong (y = 1,
z -> -inf) the factor p (1 - p) kills it. Binary cross-entropy (l2.Focal with
gamma=0, alpha=None, on logits) has gradient p - y, which stays near -1.
We plot both against the logit, and train a one-weight logistic model out
of a confident mistake with each loss.

Run: python examples/pitfall_sigmoid_mse.py [--small] [--out DIR]
"""

import numpy as np
from _gallery import figure, key, parse_args, save

import l2kit as l2


def sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def grad_mse_logit(z, y):
    p = sigmoid(z)
    return l2.Squared().grad(y, p) * p * (1 - p)  # chain rule through the sigmoid


def grad_bce_logit(z, y):
    return l2.Focal(gamma=0.0, alpha=None).grad(y, z)  # BCE on logits: p - y


def train(grad_fn, z0, lr, max_steps):
    """Gradient steps on the logit itself, starting from a confident mistake (target 1)."""
    z = np.array([z0])
    for step in range(1, max_steps + 1):
        z = z - lr * grad_fn(z, np.ones(1))
        if sigmoid(z[0]) > 0.5:
            return step, z[0]
    return max_steps, z[0]


def main():
    args = parse_args(__doc__)
    z = np.linspace(-12, 12, 481 if not args.small else 121)
    ones = np.ones_like(z)
    gm, gc = np.abs(grad_mse_logit(z, ones)), np.abs(grad_bce_logit(z, ones))
    at = np.array([-10.0])
    g_mse, g_bce = float(abs(grad_mse_logit(at, np.ones(1))[0])), float(abs(grad_bce_logit(at, np.ones(1))[0]))
    key("grad_mse_at_logit_-10", g_mse)
    key("grad_bce_at_logit_-10", g_bce)
    key("ratio_bce_over_mse_at_-10", g_bce / g_mse)
    cap = 20000 if args.small else 200000
    s_mse, _ = train(grad_mse_logit, -8.0, 1.0, cap)
    s_bce, _ = train(grad_bce_logit, -8.0, 1.0, cap)
    key("steps_to_fix_logit_-8_mse", s_mse)
    key("steps_to_fix_logit_-8_bce", s_bce)

    fig, ax = figure(1, 2, figsize=(10, 3.2))
    ax[0].semilogy(z, gm, label="MSE after sigmoid: 2(p-1)p(1-p)")
    ax[0].semilogy(z, gc, label="cross-entropy: p - 1")
    ax[0].axvspan(-12, -4, color="r", alpha=0.08, label="confident mistakes")
    ax[0].set(xlabel="logit z (true label 1)", ylabel="|dLoss/dz|", title="gradient reaching the logit")
    ax[0].legend(fontsize=7)
    traj = {}
    for name, fn in (("MSE", grad_mse_logit), ("BCE", grad_bce_logit)):
        zz, hist = np.array([-8.0]), []
        for _ in range(2000):
            hist.append(sigmoid(zz[0]))
            zz = zz - 1.0 * fn(zz, np.ones(1))
        traj[name] = hist
    ax[1].plot(traj["BCE"], "C1", label=f"cross-entropy ({s_bce} steps to p > 0.5)")
    ax[1].plot(traj["MSE"], "C0", label=f"MSE after sigmoid ({s_mse} steps)")
    ax[1].set(xlabel="gradient step (lr = 1)", ylabel="p(true class)", xscale="log",
              title="escaping a confident mistake (z0 = -8)")
    ax[1].legend(fontsize=7)
    save(fig, args.out, "pitfall_sigmoid.png")


if __name__ == "__main__":
    main()
