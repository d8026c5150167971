"""GramState: exact Chan merging of centred TSQR factors, checked against two-pass NumPy."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from l2kit.linear.least_squares import GramState, solve_state


def _two_pass(X, y, w=None):
    Z = np.column_stack([X, y])
    w = np.ones(len(y)) if w is None else w
    m = (w @ Z) / w.sum()
    Zc = Z - m
    return m, (Zc * w[:, None]).T @ Zc


def _states(X, y, w, cuts):
    edges = [0, *sorted(cuts), len(y)]
    return [GramState.from_chunk(X[a:b], y[a:b], None if w is None else w[a:b]) for a, b in zip(edges, edges[1:])]


@given(cuts=st.lists(st.integers(0, 120), max_size=6), weighted=st.booleans(), seed=st.integers(0, 2**16))
def test_merge_equals_two_pass(cuts, weighted, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 3)) + 1e4  # large offset: naive one-pass sums would cancel
    y = rng.normal(size=120) - 3e4
    w = rng.uniform(0, 2, 120) if weighted else None
    s = GramState.merge_all(_states(X, y, w, cuts))
    m, G = _two_pass(X, y, w)
    np.testing.assert_allclose(s.mean, m, rtol=1e-14)
    np.testing.assert_allclose(s.gram, G, rtol=1e-10, atol=1e-10 * np.abs(G).max())
    assert s.n_rows == 120


def test_merge_order_and_pairwise_agree(rng):
    X, y = rng.normal(size=(200, 4)), rng.normal(size=200)
    parts = _states(X, y, None, [10, 50, 51, 120])
    a = GramState.merge_all(parts)
    b = parts[0]
    for q in reversed(parts[1:]):
        b = b.merge(q)
    np.testing.assert_allclose(a.gram, b.gram, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-14)


def test_ill_conditioned_chunk_falls_back_to_householder(rng):
    X = rng.normal(size=(500, 3))
    X[:, 2] = X[:, 0] + 1e-7 * rng.normal(size=500)  # cond ~1e7: CholeskyQR2 would lose digits
    y = X @ [1.0, 2.0, 3.0] + rng.normal(size=500)
    s = GramState.from_chunk(X, y)
    Zc = np.column_stack([X, y]) - np.column_stack([X, y]).mean(0)
    np.testing.assert_allclose(s.gram, Zc.T @ Zc, rtol=0, atol=1e-12 * np.abs(Zc.T @ Zc).max())
    ref = np.linalg.lstsq(Zc[:, :3], Zc[:, 3], rcond=None)[0]
    # accuracy ~ cond * eps (a squared-condition Gram solve would give ~1e-2 here)
    np.testing.assert_allclose(solve_state(s).coef, ref, rtol=1e-6)


def test_json_round_trip(rng):
    X, y, w = rng.normal(size=(50, 2)), rng.normal(size=50), rng.uniform(size=50)
    s = GramState.from_chunk(X, y, w)
    t = GramState.from_dict(json.loads(json.dumps(s.to_dict())))
    np.testing.assert_array_equal(t.R, s.R)
    np.testing.assert_array_equal(t.mean, s.mean)
    assert (t.sw, t.n_rows, t.n_pos, t.sum_log_w) == (s.sw, s.n_rows, s.n_pos, s.sum_log_w)


def test_empty_and_zero_weight_chunks_are_neutral(rng):
    X, y = rng.normal(size=(40, 2)), rng.normal(size=40)
    base = GramState.from_chunk(X, y)
    merged = GramState.merge_all([GramState.from_chunk(X[:0], y[:0]), base,
                                  GramState.from_chunk(X[:5], y[:5], np.zeros(5))])
    np.testing.assert_allclose(merged.gram, base.gram, rtol=1e-13)
    assert merged.n_rows == 45 and merged.n_pos == 40


def test_solve_state_refuses_no_weight():
    from l2kit import InputError

    s = GramState.from_chunk(np.ones((3, 1)), np.ones(3), np.zeros(3))
    with pytest.raises(InputError, match="positive weight"):
        solve_state(s)


@pytest.mark.parametrize("eps_col, path", [(1e-1, "cholesky"), (1e-4, "cholesky-qr2"), (1e-8, "householder")])
def test_every_factor_path_matches_lstsq(rng, eps_col, path):
    X = rng.normal(size=(2000, 3))
    X[:, 2] = X[:, 0] + eps_col * rng.normal(size=2000)   # condition ~ 1/eps_col picks the path
    y = X @ [1.0, 2.0, 3.0] + 0.1 * rng.normal(size=2000)
    s = GramState.merge_all([GramState.from_chunk(X[i:i + 500], y[i:i + 500]) for i in range(0, 2000, 500)])
    Xc, yc = X - X.mean(0), y - y.mean()
    ref = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    kappa = np.linalg.cond(Xc / np.linalg.norm(Xc, axis=0))
    np.testing.assert_allclose(solve_state(s).coef, ref, rtol=max(1e-12, 50 * kappa**2 * 2.2e-16) if
                               path == "cholesky" else 1e-12 * max(1.0, kappa))


@given(m=st.integers(1, 3000), p=st.integers(1, 6), seed=st.integers(0, 2**16), y_stride=st.sampled_from([1, 2]))
def test_column_major_chunks_centre_while_copying_to_the_same_bits(m, p, seed, y_stride):
    # the column-major path (l2kit fit's batches) takes the means on X and y before the copy; the state must be
    # bit for bit the one of the copy-then-centre path (which row-major and weighted chunks still take)
    from l2kit.linear.least_squares.state import _r_factor

    r = np.random.default_rng(seed)
    X = np.asfortranarray(r.normal(size=(m, p)) * r.uniform(0.1, 1e3, size=p) + r.normal(size=p) * 1e4)
    y = (r.normal(size=m * y_stride) * 7 - 3e5)[::y_stride]
    got = GramState.from_chunk(X, y)
    # what the copy-then-centre path did with this chunk (a one-column X is also row-major: it stays on that path)
    Z = np.empty((m, p + 1), order="F" if X.flags.f_contiguous and not X.flags.c_contiguous else "C")
    Z[:, :p], Z[:, p] = X, y
    mean = Z.mean(axis=0)
    Z -= mean
    assert np.array_equal(got.mean, mean) and np.array_equal(got.R, _r_factor(Z))
    assert (got.sw, got.n_rows, got.n_pos) == (float(m), m, m)


# --- from_columns: a chunk reduced from its columns (the streamed `l2kit fit` path)

@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_from_columns_equals_from_chunk(rng, offset):
    X = rng.normal(size=(500, 3)) + offset
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=500)
    cols = [X[:, j].copy() for j in range(3)] + [y]
    scratch = np.full(2000 * 4, np.nan)   # reused and larger than the chunk: only its first m * (p + 1) values count
    a = GramState.from_columns(cols, scratch=scratch)
    b = GramState.from_chunk(np.asfortranarray(X), y)
    c = GramState.from_chunk(np.ascontiguousarray(X), y)   # the row-major path: copy, then centre
    assert a.finite and (a.sw, a.n_rows, a.n_pos) == (500.0, 500, 500)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_allclose(a.gram, c.gram, rtol=1e-12, atol=1e-9 * np.abs(c.gram).max())
    np.testing.assert_array_equal(a.R, b.R)   # the same arithmetic as from_chunk on a column-major X


@pytest.mark.parametrize("bad", [np.nan, np.inf, 1e308])
def test_from_columns_flags_a_non_finite_chunk_without_factoring(bad):
    x, y = np.arange(6.0), np.arange(6.0) * 2
    y[4] = bad
    extra = [np.full(6, 1e308)] if bad == 1e308 else []   # sums that overflow on finite values are flagged too
    s = GramState.from_columns([x, *extra, y])
    assert not s.finite and s.n_rows == 6
    empty = GramState.from_columns([np.empty(0), np.empty(0)])
    assert (empty.sw, empty.n_rows, empty.p) == (0.0, 0, 1) and empty.finite
