"""The README's API tour runs and makes its point: Huber recovers the line that one outlier ruins for L2."""

import os
import re
import subprocess
import sys

TOUR = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "tour.py")


def test_tour_runs_and_huber_beats_l2_on_the_outlier():
    out = subprocess.run([sys.executable, TOUR], capture_output=True, text=True, check=True, timeout=300).stdout
    assert "refused: y_pred: expected shape (4,)" in out
    slopes = dict(re.findall(r"^(L2|Huber) fit\s*: intercept \S+, slope (\S+)", out, flags=re.M))
    assert set(slopes) == {"L2", "Huber"}
    assert abs(float(slopes["Huber"]) - 2.0) < 0.1 < abs(float(slopes["L2"]) - 2.0)
    assert "converged=True" in out
