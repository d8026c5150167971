"""Peak RSS of a command, measured as the only child of a fresh helper process (shared by the memory tests)."""

import os
import subprocess
import sys

BIN = os.path.join(os.path.dirname(sys.executable), "l2kit")
_PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
         "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); "
         "print(r.stdout + r.stderr[-2000:], file=sys.stderr)")


def peak_mb(cmd):
    """Peak RSS (MiB) of ``cmd`` and its output (stdout, then the end of stderr); fails if it fails."""
    out = subprocess.run([sys.executable, "-c", _PEAK, *map(str, cmd)], capture_output=True, text=True, check=True)
    rc, mb = out.stdout.split()
    assert rc == "0", out.stderr
    return float(mb), out.stderr
