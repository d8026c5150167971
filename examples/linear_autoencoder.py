"""Autoencoder: a tied linear autoencoder trained by gradient descent lands on PCA.

Trained under squared error, a linear autoencoder x -> W W^T x has no bad
local minima: every critical point but the principal subspace is a saddle
(Baldi & Hornik 1989). l2.LinearAutoencoder fits it in closed form (truncated
SVD) or by full-batch gradient descent on l2.Squared; both reach the
Eckart-Young optimum sum_{i>k} s_i^2 / (n d). Data: scikit-learn's bundled
8x8 handwritten digits.

Run: python examples/linear_autoencoder.py [--small] [--out DIR]
"""

import numpy as np
from _gallery import figure, key, parse_args, save

import l2kit as l2


def main():
    args = parse_args(__doc__)
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    X = load_digits().data
    if args.small:
        X = X[:400]
    k = 8 if args.small else 12
    closed = l2.LinearAutoencoder(k).fit(X)
    grad = l2.LinearAutoencoder(k, method="gradient", random_state=0, max_iter=20000).fit(X)
    pca = PCA(n_components=k).fit(X)
    pca_err = float(np.mean((X - pca.inverse_transform(pca.transform(X))) ** 2))
    key("n_samples", X.shape[0])
    key("n_components", k)
    key("pca_optimum", closed.optimal_error_)
    key("sklearn_pca_error", pca_err)
    key("closed_form_error", closed.reconstruction_error_)
    key("gradient_error", grad.reconstruction_error_)
    key("gradient_relative_gap", (grad.reconstruction_error_ - closed.optimal_error_) / closed.optimal_error_)
    key("gradient_iterations", grad.n_iter_)
    key("gradient_converged", grad.converged_)

    fig = figure(figsize=(11, 3.2))[0]
    fig.clf()
    gs = fig.add_gridspec(2, 6)
    ax = fig.add_subplot(gs[:, :3])
    ax.semilogy(np.array(grad.loss_curve_) - closed.optimal_error_ + 1e-16, lw=1.2)
    ax.set(title="gradient descent: excess error over the PCA optimum", xlabel="iteration",
           ylabel="MSE - PCA optimum")
    rows = X[[0, 7, 42]]
    for j, (img, title) in enumerate(((rows, "input"), (closed.reconstruct(rows), "closed form"),
                                      (grad.reconstruct(rows), "gradient"))):
        a = fig.add_subplot(gs[0, 3 + j])
        a.imshow(np.hstack([r.reshape(8, 8) for r in img]), cmap="gray_r")
        a.set_title(title, fontsize=8)
        a.axis("off")
    a = fig.add_subplot(gs[1, 3:])
    s2 = closed.singular_values_ ** 2
    a.plot(np.arange(1, len(s2) + 1), 1 - np.cumsum(s2) / s2.sum(), lw=1.2)
    a.axvline(k, color="r", ls=":", lw=1)
    a.set(xlabel="components k", ylabel="fraction of variance lost", title=f"k = {k}")
    save(fig, args.out, "autoencoder.png")


if __name__ == "__main__":
    main()
