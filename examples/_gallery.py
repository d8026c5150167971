"""Shared plumbing of the gallery scripts: ``--small`` / ``--out`` flags, key-number printing, PNG saving.

Every gallery script accepts ``--small`` (or the environment variable
``L2KIT_EXAMPLES_SMALL=1``) for the CI-sized run, and ``--out DIR`` for where
its PNG goes. Key numbers are printed as ``name: value`` lines, which the
smoke test in ``tests/apps/test_examples.py`` reads back.
"""

from __future__ import annotations

import argparse
import os


def parse_args(description: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--small", action="store_true",
                    help="CI-sized run (also set by L2KIT_EXAMPLES_SMALL=1)")
    ap.add_argument("--out", default=".", help="directory for the PNG (default: current directory)")
    args = ap.parse_args()
    args.small = args.small or os.environ.get("L2KIT_EXAMPLES_SMALL", "") not in ("", "0")
    os.makedirs(args.out, exist_ok=True)
    return args


def key(name: str, value) -> None:
    """Print one key number as ``name: value`` (floats with 6 significant digits)."""
    if isinstance(value, float):
        value = f"{value:.6g}"
    print(f"{name}: {value}", flush=True)


def figure(*args, **kwargs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "figure.dpi": 80})
    return plt.subplots(*args, **kwargs)


def save(fig, out: str, name: str) -> str:
    path = os.path.join(out, name)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    key("png", path)
    return path
