"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from typing import IO


def _raise_exit(signum: int, frame) -> None:
    raise SystemExit(128 + signum)   # the shell's exit status for a process killed by that signal


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """While the block runs, SIGTERM raises ``SystemExit(143)`` instead of ending the process at once.

    Cleanup code (``finally``, ``except BaseException``) then runs on SIGTERM as it does on Ctrl-C. Only
    in the main thread (where Python handles signals), and only while SIGTERM has its default action: a
    handler the application installed is left alone.

    Examples
    --------
    >>> with sigterm_as_exit():
    ...     signal.getsignal(signal.SIGTERM) is _raise_exit
    True
    >>> signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    True
    """
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it over ``path``.

    On any exception, Ctrl-C or SIGTERM (see :func:`sigterm_as_exit`) the
    temporary file is removed, so a failed or killed run leaves nothing behind.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_write(p) as fh:
    ...     _ = fh.write("done")
    >>> open(p).read()
    'done'
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    with sigterm_as_exit():
        yield from _write_replace(path, directory, mode, kwargs)


def _write_replace(path: str, directory: str, mode: str, kwargs: dict) -> Iterator[IO]:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=directory)
    try:
        # mkstemp creates 0600; give the result the mode a plain open() would (or the replaced file's)
        os.chmod(tmp, _target_mode(path))
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _target_mode(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
