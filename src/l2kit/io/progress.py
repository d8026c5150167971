"""A small progress bar for long CLI jobs: shown on a terminal, silent when piped.

Uses ``tqdm`` when installed, else ``rich``, else a plain one-line counter;
all draw on standard error so standard output stays machine-readable.

Examples
--------
>>> import io
>>> with progress(total=10, desc="scoring", stream=io.StringIO()) as bar:  # not a TTY: silent
...     bar.update(4)
...     bar.update(6)
>>> bar.count
10
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO

__all__ = ["progress", "Progress"]


class Progress:
    """Counter with an optional live display. ``update(n)`` adds ``n`` units; threads may share one bar."""

    def __init__(self, total: int | None, desc: str, unit: str, stream: IO, enabled: bool):
        self.total, self.desc, self.unit, self.stream, self.enabled = total, desc, unit, stream, enabled
        self.count = 0
        self._lock = threading.Lock()   # a table read in parts updates the bar from several threads
        self._impl = None
        self._last = 0.0
        if enabled:
            self._impl = self._open()

    def _open(self):
        try:
            from tqdm import tqdm

            bar = tqdm(total=self.total, desc=self.desc, unit=" " + self.unit, unit_scale=True, file=self.stream,
                       leave=False, dynamic_ncols=True)
            return ("tqdm", bar)
        except ImportError:
            pass
        try:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            cols = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(self.unit),
                    TimeElapsedColumn(), TimeRemainingColumn()]
            rp = RichProgress(*cols, console=Console(file=self.stream), transient=True)
            rp.start()
            return ("rich", (rp, rp.add_task(self.desc, total=self.total)))
        except ImportError:
            return ("plain", None)

    def update(self, n: int = 1, note: str = "") -> None:
        """Advance by ``n`` units; ``note`` (e.g. the step running now) is shown beside the bar."""
        with self._lock:
            self._advance(int(n), note)

    def _advance(self, n: int, note: str) -> None:
        self.count += n
        if self._impl is None:
            return
        kind, obj = self._impl
        if kind == "tqdm":
            if note:
                obj.set_postfix_str(note, refresh=False)
            obj.update(n)
        elif kind == "rich":
            obj[0].update(obj[1], advance=n, **({"description": f"{self.desc} {note}"} if note else {}))
        else:
            now = time.monotonic()
            if now - self._last > 0.2:
                self._last = now
                of = f"/{self.total:,}" if self.total else ""
                self.stream.write(f"\r{self.desc}: {self.count:,}{of} {self.unit} {note:<24}")
                self.stream.flush()

    def close(self) -> None:
        if self._impl is None:
            return
        kind, obj = self._impl
        if kind == "tqdm":
            obj.close()
        elif kind == "rich":
            obj[0].stop()
        else:
            self.stream.write("\r" + " " * (len(self.desc) + 60) + "\r")
            self.stream.flush()
        self._impl = None


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def progress(total: int | None = None, *, desc: str = "", unit: str = "rows", stream: IO | None = None,
             enabled: bool | None = None) -> Iterator[Progress]:
    """Context manager yielding a :class:`Progress`; displayed only when ``stream`` is a terminal.

    Parameters
    ----------
    total : int, optional
        Expected units (rows); None when unknown (CSV).
    desc, unit : str
        Label and unit name.
    stream : file, default sys.stderr
    enabled : bool, optional
        Force the display on or off; default: ``stream.isatty()``.
    """
    stream = sys.stderr if stream is None else stream
    bar = Progress(total, desc, unit, stream, _is_tty(stream) if enabled is None else bool(enabled))
    try:
        yield bar
    finally:
        bar.close()
