"""linear._linalg: edge shapes of the shared kernels."""

import numpy as np


def test_weighted_gram_of_an_empty_design():
    # an intercept-only robust fit passes a design of 0 columns (dsyrk raised "unexpected array size")
    from l2kit.linear._linalg import weighted_gram

    assert weighted_gram(np.zeros((3, 0)), np.ones(3)).shape == (0, 0)
    assert weighted_gram(np.zeros((0, 2)), np.ones(0)).tolist() == [[0.0, 0.0], [0.0, 0.0]]
