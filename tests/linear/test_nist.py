"""NIST StRD linear regression: every solver path scored by LRE against the certified values."""

import pytest
from _nist import DATASETS
from _nist import load as _load
from _nist import lre as _lre

import l2kit as l2

METHODS = ["auto", "cholesky", "qr", "svd"]
REQUIRED = {name: 9.0 for name in DATASETS} | {"Filip": 7.5, "Wampler5": 7.5}
# the Gram matrix of Filip's degree-10 polynomial is numerically singular in float64 (cond(X)^2 > 1/eps):
# no normal-equations solver can reach its digits, which is why ``auto`` must move to QR by itself
CHOLESKY_IMPOSSIBLE = {"Filip"}


@pytest.fixture(scope="module")
def table(nist_dir):
    out = {}
    for name in DATASETS:
        X, y, icpt, cert, _ = _load(nist_dir, name)
        for m in METHODS:
            with pytest.warns(l2.CollinearityWarning) if (m == "cholesky" and name in
                                                                           CHOLESKY_IMPOSSIBLE) else _nullctx():
                f = l2.fit(X, y, fit_intercept=icpt, method=m)
            out[name, m] = (_lre(f.params, cert), f.method)
    lines = ["dataset    " + "".join(f"{m:>16}" for m in METHODS)]
    for name in DATASETS:
        lines.append(f"{name:<11}" + "".join(f"{out[name, m][0]:>9.1f} ({out[name, m][1][:4]:>4})" for m in METHODS))
    print("\nNIST StRD min LRE (path used)\n" + "\n".join(lines))
    return out


class _nullctx:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("method", METHODS)
def test_nist_lre(table, name, method):
    if method == "cholesky" and name in CHOLESKY_IMPOSSIBLE:
        pytest.skip("normal equations cannot resolve Filip in float64 (see CHOLESKY_IMPOSSIBLE)")
    lre, used = table[name, method]
    assert lre >= REQUIRED[name], f"{name} via {method} ({used}): LRE {lre:.2f} < {REQUIRED[name]}"


def test_auto_picks_qr_for_filip(table):
    assert table["Filip", "auto"][1] in ("qr", "svd")


def test_best_peer_figures(table):
    """The "aim": at least the best peer measured on this machine."""
    peers = {"Pontius": 12.8, "Longley": 13.6, "Wampler4": 9.1, "Wampler5": 7.6, "Norris": 13.1,
             "Wampler1": 9.6, "Wampler3": 9.6, "Filip": 7.5}
    for name, peer in peers.items():
        assert table[name, "auto"][0] >= peer, (name, table[name, "auto"])


def test_certified_standard_errors(nist_dir):
    for name in ["Longley", "Norris", "Pontius", "Wampler1", "Filip"]:
        X, y, icpt, cert, sd = _load(nist_dir, name)
        if not sd or not all(sd):
            continue
        f = l2.fit(X, y, fit_intercept=icpt)
        need = 7.0 if name == "Filip" else 9.0
        assert _lre(f.bse, sd) >= need, name
