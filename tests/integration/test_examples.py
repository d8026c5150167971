"""Smoke test of the gallery: every example runs at CI size, writes its PNG and prints its key numbers."""

import math
import os
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib")
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def _num(s: str) -> float:
    return float(s.split()[0])


# script -> (png name, checks on the printed key numbers)
CASES = {
    "align_signals.py": ("align.png", lambda k: (
        _num(k["max_abs_error_align"]) < 0.05,
        _num(k["max_abs_error_parabolic"]) > _num(k["max_abs_error_align"]))),
    "sphere_geometry.py": ("sphere.png", lambda k: (
        _num(k["norm_deviation_plain"]) > 0.01,
        _num(k["norm_deviation_penalty"]) < _num(k["norm_deviation_plain"]),
        _num(k["norm_deviation_riemannian"]) < 1e-12,
        _num(k["angle_error_riemannian_rad"]) < _num(k["angle_error_measurements_rad"]))),
    "linear_autoencoder.py": ("autoencoder.png", lambda k: (
        abs(_num(k["closed_form_error"]) - _num(k["sklearn_pca_error"])) < 1e-9 * _num(k["sklearn_pca_error"]),
        _num(k["gradient_relative_gap"]) < 1e-6,
        k["gradient_converged"] == "True")),
    "chemistry_weighted.py": ("chemistry.png", lambda k: (
        _num(k["plain_mae_per_atom_small_mHa"]) > 3 * _num(k["weighted_mae_per_atom_small_mHa"]),
        _num(k["weighted_mae_per_atom_all_mHa"]) < _num(k["plain_mae_per_atom_all_mHa"]),
        _num(k["plain_rmse_total_energy_Ha"]) < _num(k["weighted_rmse_total_energy_Ha"]))),
    "lqr_imitation.py": ("lqr_imitation.png", lambda k: (
        _num(k["closed_loop_cost_expert"]) < _num(k["closed_loop_cost_r_weighted"]) < _num(k["closed_loop_cost_plain"]),
        _num(k["imitation_mse_plain"]) < _num(k["imitation_mse_r_weighted"]),
        _num(k["outside_demo_region_plain"]) > 3 * _num(k["outside_demo_region_expert"]))),
    "bias_variance.py": ("bias_variance.png", lambda k: (
        _num(k["max_abs_z_sum_vs_direct_mse"]) < 4,
        k["best_degree"] in {"2", "3", "4", "5"})),
    "pitfall_sigmoid_mse.py": ("pitfall_sigmoid.png", lambda k: (
        _num(k["ratio_bce_over_mse_at_-10"]) > 1000,
        _num(k["steps_to_fix_logit_-8_mse"]) > 50 * _num(k["steps_to_fix_logit_-8_bce"]))),
    "three_frameworks.py": ("three_frameworks.png", lambda k: (
        max(_num(k[f"final_loss_{f}"]) for f in ("keras", "torch", "jax"))
        - min(_num(k[f"final_loss_{f}"]) for f in ("keras", "torch", "jax")) < 1e-5,
        _num(k["max_param_gap_vs_keras"]) < 1e-6,
        _num(k["max_param_gap_torch_vs_jax"]) < 1e-12)),
    "pitfall_heatmap.py": ("pitfall_heatmap.png", lambda k: (
        math.isclose(_num(k["grad_ratio_peak255_over_peak1"]), 255, rel_tol=1e-9),
        _num(k["grad_ratio_sum1_over_peak1"]) < 0.1,
        _num(k["loss_all_zero_pred_sum1"]) < 1e-2 * _num(k["loss_all_zero_pred_peak1"]))),
}


def test_every_example_is_covered():
    scripts = {f for f in os.listdir(EXAMPLES) if f.endswith(".py") and not f.startswith("_")}
    assert set(CASES) <= scripts
    assert not (scripts - set(CASES) - {"tour.py"}), "add new gallery scripts to CASES"


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs_small(script, tmp_path):
    png, check = CASES[script]
    env = {**os.environ, "MPLBACKEND": "Agg", "L2KIT_EXAMPLES_SMALL": "1", "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), "--out", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    keys = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    path = tmp_path / png
    assert path.exists() and path.stat().st_size > 5000
    assert keys["png"] == str(path)
    results = check(keys)
    assert all(results), (results, out.stdout)
