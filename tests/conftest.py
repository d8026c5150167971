"""Shared fixtures and hypothesis profile."""

import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Keras fixes its backend at import: the doctests of l2kit.keras use torch (light, already in the suite);
# tests/integration/test_keras_backends.py runs every backend in its own process
os.environ.setdefault("KERAS_BACKEND", "torch")

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# shared reference helpers (exact metrics, statsmodels fits) importable from every test folder
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_support"))

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


def pytest_collection_modifyitems(config, items):
    """Everything under tests/integration/ (CLI subprocesses, a Dask cluster, a browser, the examples,
    the benchmark smoke run) is marked ``integration``; ``make test-fast`` deselects it."""
    root = os.path.join(os.path.dirname(__file__), "integration") + os.sep
    for item in items:
        if str(item.fspath).startswith(root):
            item.add_marker(pytest.mark.integration)
