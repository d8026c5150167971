"""Interleaved timing harness shared by every benchmark module.

Contenders are timed round-robin in one process, so machine noise hits all of
them alike; the order within each round is shuffled (fixed seed), so no
contender always runs right after the same neighbour (a BLAS call's spinning
threads, or a big free, would otherwise bias the one that follows). We report
medians and ratios, never absolute claims.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Timing:
    name: str
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        s = sorted(self.times)
        n = len(s)
        return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def interleaved(contenders: dict[str, Callable[[], object]], *, repeats: int = 7, inner: int = 1,
                warmup: int = 1, seed: int = 0) -> dict[str, Timing]:
    """Time each callable ``repeats`` times, interleaved in a shuffled order per round.

    ``inner`` calls per sample (for tiny inputs); ``seed`` fixes the shuffles.
    """
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    out = {k: Timing(k) for k in contenders}
    gc_was = gc.isenabled()
    gc.disable()
    order = list(contenders)
    shuffle = random.Random(seed).shuffle
    try:
        for _ in range(repeats):
            shuffle(order)
            for k in order:
                fn = contenders[k]
                t0 = time.perf_counter()
                for _ in range(inner):
                    fn()
                out[k].times.append((time.perf_counter() - t0) / inner)
    finally:
        if gc_was:
            gc.enable()
    return out


def fmt_time(t: float) -> str:
    if t < 1e-3:
        return f"{t * 1e6:.1f} µs"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def table(timings: dict[str, Timing], *, baseline: str, title: str = "") -> str:
    """Markdown table of medians and ratios to ``baseline`` (ratio = time / baseline's time)."""
    base = timings[baseline].median
    rows = [f"| contender | median | ratio to {baseline} |", "|---|---:|---:|"]
    for k, t in timings.items():
        rows.append(f"| {k} | {fmt_time(t.median)} | {t.median / base:.2f}x |")
    return (f"**{title}**\n\n" if title else "") + "\n".join(rows) + "\n"


class Report:
    """Collects markdown sections and (target, measured, pass) checks for BENCHMARKS.md."""

    def __init__(self) -> None:
        self.sections: list[tuple[str, str]] = []
        self.checks: list[tuple[str, str, str, bool]] = []

    def section(self, title: str, body: str) -> None:
        self.sections.append((title, body))
        print(f"\n## {title}\n\n{body}", flush=True)

    def check(self, what: str, target: str, measured: str, ok: bool) -> None:
        self.checks.append((what, target, measured, bool(ok)))
        print(f"[{'PASS' if ok else 'MISS'}] {what}: target {target}, measured {measured}", flush=True)
