"""The ``l2kit`` command line in-process: bad files exit 2 with one paragraph naming file, column, row and fix.

The subprocess end-to-end tests live in tests/integration; these call :func:`l2kit.cli.main` directly, so each
case costs milliseconds.
"""

import gzip
import json
import os
from fractions import Fraction

import numpy as np
import pytest

from _cli import assert_bad_input, run
from l2kit.io import tables

pytest.importorskip("pyarrow")


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _table(rows=40, seed=0, scale=(1.0, 1.0), target="y"):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 2)) * scale
    y = (X / scale) @ [1.0, -2.0] + rng.normal(size=rows) if target == "y" else np.full(rows, 3.0)
    return "a,b,y\n" + "".join(f"{a!r},{b!r},{t!r}\n" for (a, b), t in zip(X.tolist(), np.asarray(y).tolist()))


COMMANDS = {
    "score": lambda p, out: ("score", p, "--true", "y", "--pred", "b"),
    "fit": lambda p, out: ("fit", p, "--target", "y"),
    "report": lambda p, out: ("report", p, "--target", "y", "--out", out),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("name, data, needles", [
    # score used the first of two 'y' columns, report raised KeyError, fit blamed the features
    ("dup.csv", "a,b,y,y\n1,2,3,4\n2,1,4,3\n3,3,2,1\n4,5,6,6\n5,4,1,2\n6,6,6,5\n", ("column 'y'", "appears 2 times")),
    # UnicodeDecodeError / ArrowInvalid tracebacks
    ("hdr.csv", b"a,b\xff,y\n1,2,3\n", ("hdr.csv", "header line", "not UTF-8")),
    ("cell.csv", b"a,b,y\n1,2,3\n2,\xff1,4\n", ("cell.csv", "column 'b'", "row 2", "not UTF-8")),
    # a traceback in score; "the file is empty" for gzip bytes
    ("fake.parquet", "a,b,y\n1,2,3\n", ("fake.parquet", "cannot read this PARQUET file")),
    ("gz.csv", gzip.compress(b"a,b,y\n1,2,3\n", mtime=0), ("gz.csv", "gzip-compressed", "gunzip")),
])
def test_unreadable_files_exit_2(tmp_path, capsys, command, name, data, needles):
    path = _write(tmp_path, name, data)
    out = tmp_path / "r.html"
    if command == "fit" and name == "cell.csv":   # fit picks numeric features from the header: name one
        argv = ("fit", path, "--target", "y", "--features", "a", "b")
    else:
        argv = COMMANDS[command](path, out)
    assert_bad_input(capsys, *argv, needles=needles)
    assert sorted(os.listdir(tmp_path)) == [name]   # nothing written, no .tmp-* left


@pytest.mark.parametrize("name, text, needles", [
    ("const.csv", _table(target="const"), ("const.csv", "column 'y'", "constant target")),   # ZeroDivisionError
])
def test_report_on_degenerate_data_exits_2(tmp_path, capsys, name, text, needles):
    path = _write(tmp_path, name, text)
    assert_bad_input(capsys, "report", path, "--target", "y", "--out", tmp_path / "r.html", needles=needles)
    assert os.listdir(tmp_path) == [name]


def test_score_refuses_overflow_like_mse(tmp_path, capsys):
    # mse = inf with exit 0 for finite values near 1e200
    path = _write(tmp_path, "big.csv", "y,p\n" + "1e200,-1e200\n" * 5)
    assert_bad_input(capsys, "score", path, "--true", "y", "--pred", "p", needles=("big.csv", "overflow", "rescale"))


def test_score_with_extreme_weights_is_exact(tmp_path, capsys):
    # r2 came out -3.4e32 against an exact -8.7e40, explained variance 1.0 against -18.4
    rng = np.random.default_rng(2)
    y = 1e9 + rng.normal(size=16)
    p = y + rng.normal(size=16)
    w = np.logspace(-300, 300, 16)[rng.permutation(16)]
    path = _write(tmp_path, "w.csv", "y,p,w\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in
                                                       zip(y.tolist(), p.tolist(), w.tolist())))
    rc, out, err = run(capsys, "score", path, "--true", "y", "--pred", "p", "--weights", "w", "--json")
    assert rc == 0, err
    res = json.loads(out)
    y, p, w = ([Fraction(v) for v in a.tolist()] for a in (y, p, w))
    W = sum(w)
    my = sum(a * b for a, b in zip(w, y)) / W
    sse = sum(c * (a - b) ** 2 for a, b, c in zip(y, p, w))
    sst = sum(c * (a - my) ** 2 for a, c in zip(y, w))
    r = [a - b for a, b in zip(y, p)]
    mr = sum(a * b for a, b in zip(w, r)) / W
    ssr = sum(c * (a - mr) ** 2 for a, c in zip(r, w))
    assert res["mse"] == pytest.approx(float(sse / W), rel=1e-12)
    assert res["r2"] == pytest.approx(float(1 - sse / sst), rel=1e-12)
    assert res["explained_variance"] == pytest.approx(float(1 - ssr / sst), rel=1e-12)


def test_fit_blames_the_weights_column(tmp_path, capsys):
    text = _table()
    rows = text.splitlines()
    path = _write(tmp_path, "w.csv", "\n".join([rows[0] + ",w"] + [r + ",1e300" for r in rows[1:]]) + "\n")
    for loss in ("squared", "huber"):
        assert_bad_input(capsys, "fit", path, "--target", "y", "--weights", "w", "--loss", loss,
                         needles=("w.csv", "column 'w'", "largest weight", "divide the weights"))


@pytest.mark.parametrize("command", ["score"])   # fit reads the whole table first since issue 18
def test_a_file_truncated_during_the_run_exits_2(tmp_path, capsys, monkeypatch, command):
    # the part that was read was scored and the run exited 0
    path = _write(tmp_path, "t.csv", _table(rows=2000))
    real = tables.iter_batches

    def truncating(*args, **kwargs):
        it = real(*args, **kwargs)
        first = next(it)
        os.truncate(path, os.path.getsize(path) // 2)
        yield first
        yield from it

    monkeypatch.setattr(tables, "iter_batches", truncating)   # what score's map_parts reads with
    assert_bad_input(capsys, *COMMANDS[command](path, None), needles=("t.csv", "changed while it was being read"))
