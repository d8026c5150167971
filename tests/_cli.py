"""Run the ``l2kit`` command line in-process, and the contract every bad-input case must meet."""

from l2kit.cli import main


def run(capsys, *argv):
    """``(exit status, stdout, stderr)`` of ``l2kit ARGV``."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_bad_input(capsys, *argv, needles=()):
    """Exit 2, one paragraph on stderr naming what is wrong and the fix, no traceback; returns that paragraph."""
    rc, out, err = run(capsys, *argv)
    assert rc == 2, (rc, out, err)
    lines = [ln for ln in err.strip().splitlines() if "error:" in ln]
    assert len(lines) == 1 and err.strip().splitlines()[-1] == lines[0], err
    assert "Fix:" in lines[0] and "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]
