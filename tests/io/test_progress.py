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


def test_threads_share_one_bar_without_losing_counts():
    # a table read in parts updates one bar from two threads
    import threading

    s = io.StringIO()
    with progress(None, desc="rows", stream=s, enabled=True) as bar:
        threads = [threading.Thread(target=lambda: [bar.update(1) for _ in range(20_000)]) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert bar.count == 40_000
