"""Shared fixtures and hypothesis profile."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")

NIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "nist_strd")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def nist_dir():
    path = os.path.abspath(os.environ.get("L2KIT_NIST_DIR", NIST_DIR))
    if not os.path.isdir(path):
        pytest.skip(f"NIST StRD data not found at {path}; set L2KIT_NIST_DIR")
    return path
