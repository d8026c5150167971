"""Pitfall: how you scale a Gaussian heatmap target sets the size of every MSE gradient.

Keypoint networks regress Gaussian heatmaps under MSE. The target's scale is
a free choice, peak = 1 (common), peak = 255 (image units) or sum = 1 (a
probability map), and it silently rescales the gradients: MSE gradients are
linear in the target's amplitude, and a loss that locates the peak by moving
a bump scales with its *square*. A learning rate tuned for one convention
stalls or explodes under another, and with a sum-normalised target an
all-zero prediction already scores a tiny loss.

We measure (1) the MSE gradient at an all-zero prediction, (2) the gradient
that pulls a predicted bump's centre towards the true keypoint, and (3) the
number of fixed-learning-rate steps to locate the keypoint, per convention.

Run: python examples/pitfall_heatmap.py [--small] [--out DIR]
"""

import numpy as np
from _gallery import figure, key, parse_args, save

import l2kit as l2

SIGMA = 2.0


def gaussian(size, mu, amp):
    yy, xx = np.mgrid[0:size, 0:size]
    return amp * np.exp(-((xx - mu[0]) ** 2 + (yy - mu[1]) ** 2) / (2 * SIGMA ** 2))


def centre_grad(size, mu, target, amp):
    """d MSE(target, bump(mu)) / d mu, by the chain rule through l2.Squared().grad."""
    yy, xx = np.mgrid[0:size, 0:size]
    pred = gaussian(size, mu, amp)
    g = l2.Squared().grad(target, pred) / pred.size  # d mean / d pred
    dmu = np.array([np.sum(g * pred * (xx - mu[0])), np.sum(g * pred * (yy - mu[1]))]) / SIGMA ** 2
    return dmu


def main():
    args = parse_args(__doc__)
    size = 32 if args.small else 64
    true = np.array([size * 0.55, size * 0.45])
    conventions = {"peak=1": 1.0, "peak=255": 255.0, "sum=1": 1.0 / (2 * np.pi * SIGMA ** 2)}
    zero_grad, loss_zero, steps = {}, {}, {}
    lr = 2.0 * size * size  # tuned so that the peak=1 convention converges in a few dozen steps
    cap = 2000 if args.small else 5000
    paths = {}
    for name, amp in conventions.items():
        target = gaussian(size, true, amp)
        zero = np.zeros_like(target)
        zero_grad[name] = float(np.linalg.norm(l2.Squared().grad(target, zero) / target.size))
        loss_zero[name] = float(l2.Squared()(target, zero))
        mu, path = true + np.array([3.0, -2.5]), []
        for s in range(1, cap + 1):
            path.append(mu.copy())
            step = lr * centre_grad(size, mu, target, amp)
            if not np.all(np.isfinite(step)) or np.linalg.norm(mu - true) > 10 * size:
                s = None  # diverged
                break
            mu = mu - step
            if np.linalg.norm(mu - true) < 0.1:
                break
        steps[name] = s if s is not None and np.linalg.norm(mu - true) < 0.1 else None
        paths[name] = np.array(path)
    for name in conventions:
        slug = name.replace("=", "")
        key(f"grad_norm_zero_pred_{slug}", zero_grad[name])
        key(f"loss_all_zero_pred_{slug}", loss_zero[name])
        key(f"steps_to_locate_{slug}", steps[name] if steps[name] is not None else "diverged")
    key("grad_ratio_peak255_over_peak1", zero_grad["peak=255"] / zero_grad["peak=1"])
    key("grad_ratio_sum1_over_peak1", zero_grad["sum=1"] / zero_grad["peak=1"])

    fig, ax = figure(1, 3, figsize=(11, 3.2))
    ax[0].imshow(gaussian(size, true, 1.0), cmap="magma")
    ax[0].set(title=f"target heatmap {size}x{size}, sigma = {SIGMA:g}")
    ax[0].axis("off")
    names = list(conventions)
    ax[1].bar(names, [zero_grad[n] for n in names], color=["C0", "C3", "C2"])
    ax[1].set(yscale="log", title="|MSE gradient| at an all-zero prediction", ylabel="L2 norm")
    for name, c in zip(names, ["C0", "C3", "C2"]):
        d = np.linalg.norm(paths[name] - true, axis=1)
        lab = f"{name}: " + (f"{steps[name]} steps" if steps[name] else "diverged")
        ax[2].plot(np.arange(1, len(d) + 1), np.maximum(d, 1e-3), color=c, label=lab)
    ax[2].set(xscale="log", yscale="log", xlabel="step (same learning rate)", ylabel="|centre - keypoint| (px)",
              title="locating the keypoint by gradient steps")
    ax[2].legend(fontsize=7)
    save(fig, args.out, "pitfall_heatmap.png")


if __name__ == "__main__":
    main()
