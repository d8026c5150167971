"""A tiny progress display for cross-validation: on stderr, and only on a terminal.

Uses tqdm (which can name the candidate and fold being fitted), else
:mod:`l2kit.io.progress` (rich or a plain counter). Nothing is printed when
stderr is not a TTY (pipes, CI logs, tests), so output stays clean.
"""

from __future__ import annotations

import sys
from typing import Callable


class _Line:
    def __init__(self, total: int, desc: str, stream):
        self.total, self.desc, self.stream, self.n = total, desc, stream, 0

    def update(self, k: int = 1, note: str = "") -> None:
        self.n += k
        width = 24
        done = int(width * self.n / max(self.total, 1))
        self.stream.write(f"\r{self.desc} [{'#' * done}{'.' * (width - done)}] {self.n}/{self.total} {note:<24}")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r" + " " * (len(self.desc) + 60) + "\r")
        self.stream.flush()


class _Null:
    def update(self, k: int = 1, note: str = "") -> None:
        pass

    def close(self) -> None:
        pass


class _Adapter:
    def __init__(self, bar):
        self.bar = bar

    def update(self, k: int = 1, note: str = "") -> None:
        self.bar.update(k)

    def close(self) -> None:
        self.bar.close()


class _Tqdm:
    def __init__(self, bar):
        self.bar = bar

    def update(self, k: int = 1, note: str = "") -> None:
        if note:
            self.bar.set_postfix_str(note, refresh=False)
        self.bar.update(k)

    def close(self) -> None:
        self.bar.close()


def progress_bar(total: int, desc: str, enabled: bool | None = None, stream=None):
    """Return an object with ``update(k, note)`` and ``close()``.

    ``enabled=None`` shows the bar only when ``stream`` (stderr) is a TTY.
    """
    stream = sys.stderr if stream is None else stream
    if enabled is None:
        enabled = _is_tty(stream)
    if not enabled:
        return _Null()
    try:  # tqdm directly: it can show which candidate and fold is running
        from tqdm import tqdm

        return _Tqdm(tqdm(total=total, desc=desc, unit=" fits", file=stream, leave=False, dynamic_ncols=True))
    except ImportError:
        pass
    try:  # the CLI's progress helper (rich or a plain counter)
        from ..io.progress import Progress

        return _Adapter(Progress(total, desc, "fits", stream, True))
    except ImportError:  # pragma: no cover - the I/O layer is part of l2kit
        return _Line(total, desc, stream)


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


ProgressFactory = Callable[[int, str], object]
