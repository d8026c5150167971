"""A process killed by SIGTERM or SIGINT in the middle of an atomic write leaves no ``.tmp-*`` file behind."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

WRITER = textwrap.dedent("""
    import sys, time
    from l2kit.io import atomic_write
    with atomic_write(sys.argv[1]) as fh:
        fh.write("partial")
        fh.flush()
        print("writing", flush=True)
        time.sleep(60)
""")


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, -signal.SIGINT)])
def test_signal_during_atomic_write_leaves_nothing(tmp_path, sig, status):
    # SIGTERM ended the process at once and left .tmp-out.html* behind; it must clean up as Ctrl-C does
    target = tmp_path / "out.html"
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "writing", p.stderr.read()
        assert [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]   # the temporary file exists now
        p.send_signal(sig)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == status, p.stderr.read()
    assert os.listdir(tmp_path) == []
