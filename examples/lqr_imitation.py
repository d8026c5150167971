"""Control: imitate an LQR expert with plain L2 and with the R-weighted (Mahalanobis) loss.

A discrete linear system x' = A x + B u with cost sum x^T Q x + u^T R u has an
optimal expert u = -K x (scipy.linalg.solve_discrete_are). We record noisy
demonstrations and learn a linear policy from them. The learner has a
single command channel (a rank-1 gain u = -a b^T x, a reduced-rank
regression), so it must choose which action errors to accept, and the loss
decides:

* plain L2 treats an error on every actuator alike;
* the R-weighted Mahalanobis loss (u - u_hat)^T R (u - u_hat) charges errors
  on expensive actuators what they cost (fitted by whitening the actions with
  l2.whiten, scored with l2.Mahalanobis);
* weighting by R + B^T P B, the Hessian of the expert's Q-function in u, is
  the exact second-order price of an action error (shown for reference).

We compare the exact closed-loop costs (discrete Lyapunov equations) and
show distribution shift: the learner's own rollouts visit states the
demonstrations never covered.

Run: python examples/lqr_imitation.py [--small] [--out DIR]
"""

import numpy as np
from _gallery import figure, key, parse_args, save
from scipy import linalg

import l2kit as l2


def system():
    A = np.array([[1.02, 0.10, 0.00, 0.00],
                  [0.00, 0.95, 0.10, 0.00],
                  [0.00, 0.00, 0.90, 0.15],
                  [0.05, 0.00, 0.00, 0.85]])
    B = np.array([[1.0, 0.2, 0.0],
                  [0.0, 1.0, 0.3],
                  [0.5, 0.0, 1.0],
                  [0.0, 0.4, 0.6]]) * 0.5
    Q = np.eye(4)
    R = np.diag([20.0, 1.0, 0.05])  # actuator 1 is expensive, actuator 3 nearly free
    return A, B, Q, R


def closed_loop_cost(A, B, Q, R, K, S0):
    """Expected infinite-horizon cost E[x0^T P_K x0] for x0 ~ N(0, S0); inf if A - BK is unstable."""
    Acl = A - B @ K
    if np.max(np.abs(np.linalg.eigvals(Acl))) >= 1:
        return float("inf")
    P = linalg.solve_discrete_lyapunov(Acl.T, Q + K.T @ R @ K)
    return float(np.trace(P @ S0))


def rollouts(A, B, K, x0s, T, rng=None, act_noise=0.0):
    xs, us = [], []
    for x in x0s:
        for _ in range(T):
            u = -K @ x
            if rng is not None:
                u = u + act_noise * rng.normal(size=u.shape)
            xs.append(x)
            us.append(u)
            x = A @ x + B @ u
    return np.array(xs), np.array(us)


def fit_rank1(X, U, metric):
    """min sum (u - G x)^T M (u - G x) over rank-1 G: whiten u with W (W^T W = M), reduce rank, map back."""
    W = l2.whiten(np.linalg.inv(metric))  # W^T W = metric
    Ut = U @ W.T
    G = np.array([l2.fit(X, Ut[:, j], fit_intercept=False).coef for j in range(Ut.shape[1])])
    fitted = X @ G.T
    v = np.linalg.svd(fitted, full_matrices=False)[2][:1]  # top right singular vector
    return -np.linalg.solve(W, v.T @ v @ G)  # policy gain K (u = -K x)


def main():
    args = parse_args(__doc__)
    rng = np.random.default_rng(5)
    A, B, Q, R = system()
    P = linalg.solve_discrete_are(A, B, Q, R)
    K = np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
    n_demo, T = (10, 30) if args.small else (40, 40)
    # demonstrations start in a narrow cone of states; the expert's actions are noisy
    S0 = np.diag([1.0, 0.3, 0.3, 0.1])
    x0 = rng.multivariate_normal(np.zeros(4), S0, size=n_demo)
    X, U = rollouts(A, B, K, x0, T, rng, act_noise=0.3)
    H = R + B.T @ P @ B
    gains = {"plain L2": fit_rank1(X, U, np.eye(3)), "R-weighted": fit_rank1(X, U, R),
             "(R + B'PB)-weighted": fit_rank1(X, U, H)}
    costs = {"expert": closed_loop_cost(A, B, Q, R, K, S0)}
    costs.update({k: closed_loop_cost(A, B, Q, R, G, S0) for k, G in gains.items()})
    slug = {"expert": "expert", "plain L2": "plain", "R-weighted": "r_weighted",
            "(R + B'PB)-weighted": "hessian_weighted"}
    key("demo_states", len(X))
    for k, v in costs.items():
        key(f"closed_loop_cost_{slug[k]}", v)
    maha = l2.Mahalanobis(precision=R)
    for k, G in gains.items():  # imitation losses on the demonstrations, both ways of scoring
        key(f"imitation_mse_{slug[k]}", float(l2.Squared()(U, -X @ G.T)))
        key(f"imitation_R_mahalanobis_{slug[k]}", float(maha(U, -X @ G.T)))

    # distribution shift: how often do rollouts leave the region the demonstrations covered?
    cov_demo = np.cov(X.T)
    d_demo = l2.Mahalanobis(cov=cov_demo)(X, np.zeros_like(X), reduction="none")
    radius = np.quantile(d_demo, 0.99)
    x0_new = rng.multivariate_normal(np.zeros(4), S0, size=n_demo)
    Xe, _ = rollouts(A, B, K, x0_new, T)
    Xl, _ = rollouts(A, B, gains["plain L2"], x0_new, T)
    Xr, _ = rollouts(A, B, gains["R-weighted"], x0_new, T)
    frac = {k: float(np.mean(l2.Mahalanobis(cov=cov_demo)(Z, np.zeros_like(Z), reduction="none") > radius))
            for k, Z in (("expert", Xe), ("plain", Xl), ("rweighted", Xr))}
    for k, v in frac.items():
        key(f"outside_demo_region_{k}", v)

    fig, ax = figure(1, 3, figsize=(11.5, 3.3))
    names = list(costs)
    vals = [costs[k] for k in names]
    top = 1.15 * max(v for v in vals if np.isfinite(v))
    ax[0].bar(range(len(names)), [v if np.isfinite(v) else top for v in vals], color=["k", "C0", "C1", "C2"],
              hatch=None)
    for j, v in enumerate(vals):
        ax[0].text(j, min(v, top), "unstable" if not np.isfinite(v) else f"{v:.1f}", ha="center", va="bottom",
                   fontsize=8)
    ax[0].set_xticks(range(len(names)), ["expert", "plain L2", "R-weighted", "(R+B'PB)-\nweighted"])
    ax[0].set(title="closed-loop cost (exact, Lyapunov)", ylabel="E[sum x'Qx + u'Ru]", yscale="log")
    err = {k: np.abs(-(X @ G.T) - (-(X @ K.T))).mean(axis=0) for k, G in gains.items()}
    w = 0.27
    for j, (k, c) in enumerate(zip(gains, ["C0", "C1", "C2"])):
        ax[1].bar(np.arange(3) + (j - 1) * w, err[k], w, color=c, label=k)
    ax[1].set_xticks(range(3), [f"u{j + 1}\n(R={R[j, j]:g})" for j in range(3)])
    ax[1].set(title="mean |action error| vs expert, per actuator", yscale="log")
    ax[1].legend(fontsize=7)
    ax[2].scatter(X[:, 0], X[:, 1], s=4, c="0.6", label="demonstration states")
    ax[2].scatter(Xl[:, 0], Xl[:, 1], s=4, c="C0", alpha=0.6, label="plain-L2 learner rollouts")
    ax[2].set(title=f"distribution shift: {100 * frac['plain']:.0f}% of learner states\noutside the demos' 99% "
                    f"region (expert: {100 * frac['expert']:.0f}%)", xlabel="x1", ylabel="x2")
    lim = 4 * np.abs(X[:, :2]).max(axis=0)
    ax[2].set(xlim=(-lim[0], lim[0]), ylim=(-lim[1], lim[1]))
    ax[2].legend(fontsize=7, markerscale=3, loc="lower right")
    save(fig, args.out, "lqr_imitation.png")


if __name__ == "__main__":
    main()
