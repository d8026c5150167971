"""Geometry: fit a smooth path of unit vectors to noisy unit-vector measurements, three ways.

A direction (a wind bearing, a satellite's pointing axis) drifts smoothly
over the sphere; we observe it with angular noise. We fit a path p_1..p_n
that stays close to the measurements t_i and varies smoothly:

* plain L2: sum |p_i - t_i|^2 + lam sum |p_i - p_{i+1}|^2, solved as one
  linear least-squares problem with l2.fit. Averaging unit vectors shrinks
  them, so the fit leaves the sphere;
* L2 with a penalty mu sum (|p_i|^2 - 1)^2 (L-BFGS): closer, never exact;
* Riemannian gradient steps on the sphere's own L2 loss, l2.Geodesic
  (squared angle): its grad is tangent to the sphere and l2.sphere.retract
  brings each step back, so every iterate is a unit vector.

Run: python examples/sphere_geometry.py [--small] [--out DIR]
"""

import numpy as np
from _gallery import figure, key, parse_args, save
from scipy.optimize import minimize

import l2kit as l2


def truth_path(n):
    s = np.linspace(0, 1, n)
    az, el = 2.5 * np.pi * s, 0.9 * np.sin(2 * np.pi * s)
    return np.column_stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def plain_l2(t, lam):
    n = len(t)
    D = np.diff(np.eye(n), axis=0)  # (n-1, n) first differences
    A = np.vstack([np.eye(n), np.sqrt(lam) * D])
    return np.column_stack([l2.fit(A, np.concatenate([t[:, j], np.zeros(n - 1)]), fit_intercept=False).coef
                            for j in range(3)])


def penalised(t, lam, mu, p0):
    n = len(t)

    def f(v):
        p = v.reshape(n, 3)
        d = np.diff(p, axis=0)
        q = np.sum(p * p, axis=1) - 1
        g = 2 * (p - t) + 4 * mu * q[:, None] * p
        g[:-1] -= 2 * lam * d
        g[1:] += 2 * lam * d
        return np.sum((p - t) ** 2) + lam * np.sum(d * d) + mu * np.sum(q * q), g.ravel()

    res = minimize(f, p0.ravel(), jac=True, method="L-BFGS-B", options={"maxiter": 5000, "gtol": 1e-10})
    return res.x.reshape(n, 3)


def riemannian(t, lam, steps, lr):
    geo = l2.Geodesic()
    p = t.copy()
    history = []
    for _ in range(steps):
        g = geo.grad(t, p)  # data term: Riemannian gradient, tangent at p
        g[:-1] += lam * geo.grad(p[1:], p[:-1])  # smoothness term, both neighbours
        g[1:] += lam * geo.grad(p[:-1], p[1:])
        p = l2.sphere.retract(p, -lr * g)
        history.append(float(geo(t, p, reduction="sum") + lam * geo(p[1:], p[:-1], reduction="sum")))
    return p, history


def mean_angle(a, b):
    return float(np.mean(l2.sphere.distance(l2.sphere.project(a), b)))


def main():
    args = parse_args(__doc__)
    rng = np.random.default_rng(3)
    n = 80 if args.small else 240
    lam = 8.0
    true = truth_path(n)
    t = l2.sphere.project(true + 0.3 * rng.normal(size=true.shape))

    p_plain = plain_l2(t, lam)
    p_pen = penalised(t, lam, mu=5.0, p0=p_plain)
    p_rie, hist = riemannian(t, lam, steps=300 if args.small else 1500, lr=0.5 / (1 + 4 * lam))

    dev = {k: float(np.mean(np.abs(np.linalg.norm(p, axis=1) - 1)))
           for k, p in (("plain", p_plain), ("penalty", p_pen), ("riemannian", p_rie))}
    err = {"measurements": mean_angle(t, true), "plain": mean_angle(p_plain, true),
           "penalty": mean_angle(p_pen, true), "riemannian": mean_angle(p_rie, true)}
    for k, v in dev.items():
        key(f"norm_deviation_{k}", v)
    for k, v in err.items():
        key(f"angle_error_{k}_rad", v)
    key("riemannian_loss_first_last", f"{hist[0]:.4g} -> {hist[-1]:.4g}")
    key("riemannian_last_step_relative_change", abs(hist[-1] - hist[-2]) / hist[-1])

    fig, ax = figure(1, 3, figsize=(11, 3.2))
    for p, lab in ((p_plain, "plain L2"), (p_pen, "L2 + penalty"), (p_rie, "Riemannian (Geodesic)")):
        ax[0].plot(np.linalg.norm(p, axis=1), label=lab, lw=1.2)
    ax[0].axhline(1, color="k", lw=0.8, ls=":")
    ax[0].set(title="|p_i|: who stays on the sphere?", xlabel="i", ylabel="norm")
    ax[0].legend(fontsize=7)

    def azel(p):
        p = l2.sphere.project(p)
        return np.unwrap(np.arctan2(p[:, 1], p[:, 0])), np.arcsin(np.clip(p[:, 2], -1, 1))

    ax[1].scatter(*azel(t), s=5, c="0.6", label="measurements")
    ax[1].plot(*azel(true), "k", lw=2, label="truth")
    ax[1].plot(*azel(p_plain), "C0", lw=1, label="plain L2 (projected)")
    ax[1].plot(*azel(p_rie), "C2", lw=1, label="Riemannian")
    ax[1].set(title="path on the sphere", xlabel="azimuth (rad)", ylabel="elevation (rad)")
    ax[1].legend(fontsize=6)
    names = ["measure-\nments", "plain L2\n(projected)", "L2 +\npenalty", "Riemannian"]
    ax[2].bar(names, [err["measurements"], err["plain"], err["penalty"], err["riemannian"]],
              color=["0.6", "C0", "C1", "C2"])
    ax[2].set(title="mean angle to the true path", ylabel="radians")
    save(fig, args.out, "sphere.png")


if __name__ == "__main__":
    main()
