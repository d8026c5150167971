"""Statistics: the bias-variance decomposition of squared error, measured by repeated sampling.

Polynomials of growing degree are fitted by least squares (l2.fit) to 25
noisy samples of sin(pi x). l2.bias_variance refits on many independent
training sets and splits the expected test error into bias^2 (what the
average model misses), variance (how much the model moves between training
sets) and noise (irreducible). Only squared error decomposes this cleanly:
the three terms add up exactly to the expected MSE, which we also measure
directly against fresh targets.

Run: python examples/bias_variance.py [--small] [--out DIR]
"""

import numpy as np
from _gallery import figure, key, parse_args, save

import l2kit as l2

SIGMA, N_TRAIN = 0.3, 25


def truth(x):
    return np.sin(np.pi * x)


def sample(rng):
    x = rng.uniform(-1, 1, N_TRAIN)
    return x, truth(x) + rng.normal(0, SIGMA, N_TRAIN)


def sample_y(rng, x):
    return truth(x) + rng.normal(0, SIGMA, len(x))


def poly_fit(degree):
    def features(x):
        return np.column_stack([x ** p for p in range(1, degree + 1)]) if degree else np.zeros((len(x), 0))

    def fit(x, y):
        if degree == 0:
            mean = float(np.mean(y))
            return lambda xt: np.full(len(xt), mean)
        f = l2.fit(features(x), y)
        return lambda xt: f.predict(features(xt))

    return fit


def main():
    args = parse_args(__doc__)
    degrees = list(range(0, 7 if args.small else 9))
    rounds = 80 if args.small else 500
    x_test = np.linspace(-0.95, 0.95, 39)
    rows = []
    for d in degrees:
        bv = l2.bias_variance(poly_fit(d), sample, x_test, n_rounds=rounds, truth=truth, noise_var=SIGMA ** 2,
                              sample_y=sample_y, rng=d)
        rows.append(bv)
    z = max(abs(b.expected_mse - b.mse) / b.mse_se for b in rows)
    best = int(np.argmin([b.expected_mse for b in rows]))
    key("n_rounds", rounds)
    for d in (1, 3, degrees[-1]):
        b = rows[degrees.index(d)]
        key(f"degree_{d}", f"bias2={b.bias2:.4f} variance={b.variance:.4f} noise={b.noise:.4f} "
                           f"sum={b.expected_mse:.4f} direct_mse={b.mse:.4f}+-{b.mse_se:.4f}")
    key("best_degree", degrees[best])
    key("max_abs_z_sum_vs_direct_mse", float(z))

    fig, ax = figure(1, 2, figsize=(10, 3.3))
    ax[0].plot(degrees, [max(b.bias2, 1e-4) for b in rows], "o-", label="bias² (floored at 1e-4 for the log axis)")
    ax[0].plot(degrees, [b.variance for b in rows], "o-", label="variance")
    ax[0].plot(degrees, [b.noise for b in rows], "--", label="noise σ²")
    ax[0].plot(degrees, [b.expected_mse for b in rows], "k-", lw=2, label="bias² + variance + noise")
    ax[0].errorbar(degrees, [b.mse for b in rows], yerr=[2 * b.mse_se for b in rows], fmt="s", ms=3,
                   color="r", label="direct MSE (±2 SE)")
    ax[0].set(yscale="log", xlabel="polynomial degree", ylabel="squared error",
              title=f"decomposition over {rounds} training sets")
    ax[0].legend(fontsize=7)
    for d, c in ((1, "C0"), (degrees[best], "C2"), (degrees[-1], "C3")):
        b = rows[degrees.index(d)]
        for p in b.predictions[:15]:
            ax[1].plot(x_test, p, color=c, lw=0.5, alpha=0.35)
        ax[1].plot(x_test, b.pointwise["mean_prediction"], color=c, lw=2, label=f"degree {d} (mean fit)")
    ax[1].plot(x_test, truth(x_test), "k--", lw=1.5, label="truth sin(πx)")
    ax[1].set(ylim=(-2, 2), xlabel="x", title="15 fits each: bias (offset) vs variance (spread)")
    ax[1].legend(fontsize=7)
    save(fig, args.out, "bias_variance.png")


if __name__ == "__main__":
    main()
