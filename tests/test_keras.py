"""l2kit.keras in-process (the suite's backend: torch, set in conftest); every backend runs in
tests/integration/test_keras_backends.py."""

import subprocess
import sys

import numpy as np
import pytest

import l2kit as l2
from l2kit import InputError

keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":  # pragma: no cover - another test imported keras first
    pytest.skip("these tests expect KERAS_BACKEND=torch", allow_module_level=True)
lk = pytest.importorskip("l2kit.keras")


def test_import_l2kit_does_not_import_keras():
    code = "import sys, l2kit; l2kit.Huber(); print('keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_per_sample_values_are_the_mean_over_the_last_axis():
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    got = keras.ops.convert_to_numpy(lk.Loss("huber", reduction="none", dtype="float64")(y, p))
    np.testing.assert_allclose(got, np.asarray(l2.Huber()(y, p, reduction="none")).mean(axis=1), rtol=1e-14)
    assert got.shape == (5,)


def test_keras_weighted_reduction_differs_from_l2kits_on_purpose():
    y, p, w = np.zeros((2, 1)), np.array([[1.0], [3.0]]), np.array([1.0, 0.0])
    loss = lk.Loss("squared", dtype="float64")
    assert float(loss(y, p, sample_weight=w)) == pytest.approx(0.5)      # Keras: sum(w l) / N
    assert float(l2.Squared()(y, p, weights=w)) == pytest.approx(1.0)    # l2kit: sum(w l) / sum(w)


def test_call_keyword_constants_are_validated_and_floored():
    loss = lk.Loss(l2.GaussianNLL(eps=0.5), var=0.1, dtype="float64")   # var floored at eps, as l2kit does
    y, p = np.zeros((3, 1)), np.ones((3, 1))
    # Keras returns the reduced loss in floatx (float32) whatever the loss dtype
    assert float(loss(y, p)) == pytest.approx(float(l2.GaussianNLL(eps=0.5)(y, p, var=0.1)), rel=1e-6)
    with pytest.raises(InputError, match="var"):
        lk.Loss(l2.GaussianNLL())                       # required keyword missing
    with pytest.raises(InputError, match="finite number"):
        lk.Loss(l2.GaussianNLL(), var=np.ones(3))       # Keras passes no per-element keywords
    with pytest.raises(InputError, match="theta"):
        lk.Loss(l2.NegativeBinomialNLL(), theta=-1.0)   # l2kit's own check, once at construction
    with pytest.raises(InputError, match="registry name"):
        lk.Loss(object())


def test_config_round_trip_keeps_parameters_and_constants():
    loss = lk.Loss(l2.Tukey(c=3.0), name="t", reduction="sum")
    again = lk.Loss.from_config(loss.get_config())
    assert again.loss == l2.Tukey(c=3.0) and again.name == "t" and again.reduction == "sum"
    g = lk.Loss.from_config(lk.Loss(l2.GaussianNLL(), var=2.0).get_config())
    assert g.call_kwargs == {"var": 2.0}
    assert keras.saving.get_registered_object("l2kit>Loss") is lk.Loss
    assert keras.saving.get_registered_object("l2kit>Metric") is lk.Metric


@pytest.mark.parametrize("metric", ["mse", "rmse", "mae", "r2", "explained_variance"])
def test_metric_merges_batches_into_the_metric_of_all_data(metric):
    rng = np.random.default_rng(3)
    y = 1e3 + rng.normal(size=(50, 2))                  # an offset: Chan's update keeps the digits
    p, w = y + rng.normal(size=(50, 2)), rng.uniform(size=50)
    m = lk.Metric(metric, outputs=2, dtype="float64")
    for i in range(0, 50, 13):
        m.update_state(y[i:i + 13], p[i:i + 13], w[i:i + 13])
    ref = getattr(l2, metric)(y, p, weights=w)
    assert float(m.result()) == pytest.approx(float(ref), rel=1e-10)
    m.reset_state()
    m.update_state(y, y)
    assert float(m.result()) == pytest.approx(1.0 if metric in ("r2", "explained_variance") else 0.0)


def test_metric_refuses_unknown_names():
    with pytest.raises(InputError, match="one of mse"):
        lk.Metric("mape")
    with pytest.raises(InputError, match="positive integer"):
        lk.Metric("mse", outputs=0)
