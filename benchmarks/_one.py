"""Run one benchmark module in this (fresh) process and dump its sections and checks as JSON.

Used by ``python -m benchmarks``: each module gets its own process so that state left behind by
another (a Dask cluster's threads, torch/BLAS thread pools, a grown heap) cannot skew its ratios.
"""

from __future__ import annotations

import argparse
import importlib
import json

from ._harness import Report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks._one")
    ap.add_argument("module")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", required=True)
    args = ap.parse_args(argv)
    report = Report()
    importlib.import_module(f"benchmarks.{args.module}").run(report, args.quick)
    with open(args.json, "w") as fh:
        json.dump({"sections": report.sections, "checks": report.checks}, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
