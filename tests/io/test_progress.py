"""The one progress display (l2kit.io.progress): silent off a terminal, drawn on stderr when enabled;
diagnose passes a note naming the step (shown by tqdm on its next refresh)."""

import io

from l2kit.io.progress import progress


def test_silent_when_not_a_tty():
    s = io.StringIO()
    with progress(5, desc="cv", unit="fits", stream=s) as bar:
        for _ in range(5):
            bar.update(1, "note")
    assert s.getvalue() == ""
    assert bar.count == 5


def test_drawn_when_enabled_with_the_note():
    s = io.StringIO()
    with progress(3, desc="cross-validation", unit="fits", stream=s, enabled=True) as bar:
        for _ in range(3):
            bar.update(1, "huber fold 1/3")
    assert "cross-validation" in s.getvalue()
