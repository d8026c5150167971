"""`make bench` must keep working: every benchmark module runs in quick mode and reports its targets.

Quick mode uses tiny sizes, so its ratios mean nothing and are not asserted (no timing asserts in
tests); what is checked is that each module runs, writes its sections, and records its checks.
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.mark.slow
def test_every_benchmark_module_runs_in_quick_mode(tmp_path):
    out = tmp_path / "BENCH.md"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = out.read_text()
    assert "QUICK mode" in text and "## Targets" in text
    modules = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "benchmarks")) if f.startswith("bench_"))
    assert modules, "no benchmark modules found"
    for name in modules:
        assert f"=== {name}" in proc.stdout
    # every module records at least one target row: "| what | target | measured | met |"
    rows = [line for line in text.splitlines()
            if line.startswith("| ") and line.rstrip().endswith(("| yes |", "| **no** |"))]
    assert len(rows) >= len(modules)
