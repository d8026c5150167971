"""A short tour of l2kit that prints real numbers (used by README's API tour and `make tour`).

Run: python examples/tour.py
"""

import numpy as np

import l2kit as l2


def main() -> None:
    rng = np.random.default_rng(0)

    # 1. One loss object, every use.
    huber = l2.Huber(delta=1.345)
    r = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    print("Huber(1.345) rho   :", np.round(huber.rho(r), 4))
    print("Huber(1.345) psi   :", np.round(huber.psi(r), 4))
    print("Huber(1.345) weight:", np.round(huber.weight(r), 4))

    # 2. Metrics with sklearn semantics, weights and honest errors.
    y = np.array([3.0, -0.5, 2.0, 7.0])
    p = np.array([2.5, 0.0, 2.0, 8.0])
    print(f"mse={l2.mse(y, p):.4f} rmse={l2.rmse(y, p):.4f} mae={l2.mae(y, p):.4f} r2={l2.r2(y, p):.4f}")
    try:
        l2.mse(y, p.reshape(-1, 1))
    except l2.InputError as exc:
        print("refused:", exc)

    # 3. L2 against Huber on a line with one gross outlier.
    x = np.linspace(0, 10, 50)
    yy = 1.0 + 2.0 * x + rng.normal(scale=0.5, size=x.size)
    yy[45] += 60.0
    X = x.reshape(-1, 1)
    ols = l2.fit(X, yy)
    rob = l2.fit(X, yy, loss=l2.Huber(delta=1.345))
    print("truth      : intercept 1.000, slope 2.000")
    print(f"L2 fit     : intercept {ols.intercept:.3f}, slope {ols.coef[0]:.3f} (se {ols.stderr[0]:.3f})")
    print(f"Huber fit  : intercept {rob.intercept:.3f}, slope {rob.coef[0]:.3f} (se {rob.stderr[0]:.3f}), "
          f"converged={rob.converged} in {rob.n_iter} iterations")


if __name__ == "__main__":
    main()
