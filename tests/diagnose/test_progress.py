"""The cross-validation progress display: silent off a terminal, drawn on stderr when enabled."""

import io

from l2kit.diagnose._progress import progress_bar


def test_silent_when_not_a_tty():
    s = io.StringIO()
    bar = progress_bar(5, "cv", stream=s)
    for _ in range(5):
        bar.update(1, "note")
    bar.close()
    assert s.getvalue() == ""


def test_drawn_when_enabled():
    s = io.StringIO()
    bar = progress_bar(3, "cross-validation", enabled=True, stream=s)
    for _ in range(3):
        bar.update(1, "huber fold 1/3")
    bar.close()
    assert "cross-validation" in s.getvalue()
