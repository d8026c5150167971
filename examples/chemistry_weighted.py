"""Chemistry: per-sample weights turn absolute energy error into error per atom.

Total energies of molecules grow with their size, so a plain L2 fit of
energy on atom counts is dominated by the largest molecules: an error of 0.1
Hartree is nothing for a 300-atom molecule and a disaster for water. Weights
w_i = 1 / n_atoms_i^2 make the weighted L2 objective
sum_i w_i (E_i - E_hat_i)^2 = sum_i ((E_i - E_hat_i) / n_i)^2, the squared
error *per atom*: a relative error that treats every molecule alike.

Synthetic data: atom-type reference energies plus a smooth, non-additive
size effect (like the surface/strain terms additive models miss) and noise.

Run: python examples/chemistry_weighted.py [--small] [--out DIR]
"""

import numpy as np
from _gallery import figure, key, parse_args, save

import l2kit as l2

ATOM_ENERGY = {"C": -37.85, "H": -0.50, "N": -54.59, "O": -75.06}  # Hartree, roughly atomic


def molecules(rng, n):
    size = np.round(np.exp(rng.uniform(np.log(3), np.log(300), n))).astype(int)
    frac = rng.dirichlet([4.0, 8.0, 1.0, 1.5], size=n)
    counts = np.array([rng.multinomial(s, f) for s, f in zip(size, frac)], dtype=float)
    size = counts.sum(axis=1)
    # non-additive part: a size effect no atom-count model captures exactly
    energy = counts @ np.array(list(ATOM_ENERGY.values())) - 0.35 * size ** (2 / 3) \
        + 0.002 * np.sqrt(size) * rng.normal(size=n)
    return counts, energy, size


def main():
    args = parse_args(__doc__)
    rng = np.random.default_rng(11)
    X, E, size = molecules(rng, 300 if args.small else 3000)
    plain = l2.fit(X, E)
    weighted = l2.fit(X, E, weights=1.0 / size ** 2)
    per_atom = {k: (E - f.predict(X)) / size for k, f in (("plain", plain), ("weighted", weighted))}
    small, large = size <= 10, size >= 100
    key("n_molecules", len(E))
    for k, r in per_atom.items():
        key(f"{k}_mae_per_atom_small_mHa", 1000 * float(l2.mae(np.zeros(small.sum()), r[small])))
        key(f"{k}_mae_per_atom_large_mHa", 1000 * float(l2.mae(np.zeros(large.sum()), r[large])))
        key(f"{k}_mae_per_atom_all_mHa", 1000 * float(l2.mae(np.zeros(len(r)), r)))
        key(f"{k}_rmse_total_energy_Ha",
            float(l2.rmse(E, (plain if k == "plain" else weighted).predict(X))))

    fig, ax = figure(1, 2, figsize=(10, 3.3))
    for k, c in (("plain", "C0"), ("weighted", "C1")):
        ax[0].scatter(size, 1000 * per_atom[k], s=6, c=c, alpha=0.6,
                      label="plain L2" if k == "plain" else "weighted L2, w = 1/n_atoms^2")
    ax[0].axhline(0, color="k", lw=0.6)
    ax[0].set(xscale="log", xlabel="atoms per molecule", ylabel="error per atom (mHartree)",
              title="per-atom error vs molecule size")
    ax[0].legend(fontsize=7)
    bins = [(3, 10), (11, 30), (31, 100), (101, 300)]
    w = 0.38
    for j, (k, c) in enumerate((("plain", "C0"), ("weighted", "C1"))):
        vals = [1000 * np.mean(np.abs(per_atom[k][(size >= a) & (size <= b)])) for a, b in bins]
        ax[1].bar(np.arange(len(bins)) + (j - 0.5) * w, vals, w, color=c,
                  label="plain L2" if k == "plain" else "weighted L2")
    ax[1].set_xticks(range(len(bins)), [f"{a}-{b}" for a, b in bins])
    ax[1].set(xlabel="atoms per molecule", ylabel="mean |error| per atom (mHartree)", yscale="log",
              title="the unweighted fit ignores small molecules")
    ax[1].legend(fontsize=7)
    save(fig, args.out, "chemistry.png")


if __name__ == "__main__":
    main()
