"""The row-blocked weighted Gram against a direct product: every sign pattern, one part and several."""

import numpy as np
import pytest

from l2kit.linear import _linalg
from l2kit.linear._linalg import block_rows, weighted_gram


def _reference(X, w):
    return (X * w[:, None]).T @ X


@pytest.mark.parametrize("signs", ["positive", "negative", "mixed", "zero"])
@pytest.mark.parametrize("shape", [(300, 4), (40_000, 37)])
def test_weighted_gram_matches_direct_product(signs, shape):
    rng = np.random.default_rng(1)
    X = rng.normal(size=shape)
    w = {"positive": rng.random(shape[0]), "negative": -rng.random(shape[0]), "mixed": rng.normal(size=shape[0]),
         "zero": np.zeros(shape[0])}[signs]
    G, R = weighted_gram(X, w), _reference(X, w)
    assert np.allclose(G, G.T, rtol=0, atol=0)
    assert np.max(np.abs(G - R)) <= 1e-12 * max(1.0, np.max(np.abs(R)))


def test_weighted_gram_parts_merge_to_the_same_sum(monkeypatch):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30 * block_rows(np.empty((1, 30))), 30))
    w = rng.normal(size=X.shape[0])
    monkeypatch.setattr(_linalg, "gram_workers", lambda: 1)
    one = weighted_gram(X, w)
    monkeypatch.setattr(_linalg, "gram_workers", lambda: 3)   # 30 blocks: three parts
    three = weighted_gram(X, w)
    assert np.max(np.abs(one - three)) <= 1e-12 * np.max(np.abs(one))
    assert np.max(np.abs(three - _reference(X, w))) <= 1e-12 * np.max(np.abs(one))


def test_weighted_gram_adds_to_out():
    rng = np.random.default_rng(3)
    X, w = rng.normal(size=(500, 5)), rng.normal(size=500)
    out = _reference(X[:100], w[:100])
    res = weighted_gram(X[100:], w[100:], out=out)
    assert res is out
    assert np.allclose(out, _reference(X, w), rtol=1e-12, atol=1e-10)


def test_weighted_gram_of_an_empty_design():
    # an intercept-only robust fit passes a design of 0 columns (dsyrk raised "unexpected array size")
    assert weighted_gram(np.zeros((3, 0)), np.ones(3)).shape == (0, 0)
    assert weighted_gram(np.zeros((0, 2)), np.ones(0)).tolist() == [[0.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("signs", ["positive", "negative", "mixed"])
@pytest.mark.parametrize("shape", [(300, 4), (40_000, 37), (500, 0)])
def test_implicit_column_of_ones_matches_the_copied_design(signs, shape):
    """WithOnes (no copy of X) gives the products, Gram and cross products of [1, X] built explicitly."""
    from l2kit.linear._linalg import WithOnes

    rng = np.random.default_rng(2)
    X = rng.normal(size=shape)
    Xa = np.column_stack([np.ones(shape[0]), X])
    w = {"positive": rng.random(shape[0]), "negative": -rng.random(shape[0]), "mixed": rng.normal(size=shape[0])}[signs]
    D = WithOnes(X, True)
    b = rng.normal(size=Xa.shape[1])
    scale = np.abs(_reference(Xa, w)).max()
    assert D.shape == Xa.shape and D.constant_only == (shape[1] == 0)
    np.testing.assert_allclose(D.gram(w), _reference(Xa, w), rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(D.dot(b), Xa @ b, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(D.tdot(w), Xa.T @ w, rtol=1e-12, atol=1e-10)
    np.testing.assert_array_equal(D.dense(), Xa)
    np.testing.assert_array_equal(D.rows(slice(None, None, 7)).dense(), Xa[::7])
    ones = WithOnes(np.empty((shape[0], 0)), True)
    np.testing.assert_allclose(D.cross(w, ones), Xa.T @ w[:, None], rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(ones.cross(w, D), w[None, :] @ Xa, rtol=1e-12, atol=1e-10)
    Z = WithOnes(X[:, :2], False)
    np.testing.assert_allclose(D.cross(w, Z), (Xa * w[:, None]).T @ X[:, :2], rtol=1e-12, atol=1e-10)
    assert WithOnes(X, False).dense() is X
