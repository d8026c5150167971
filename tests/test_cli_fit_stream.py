"""``l2kit fit --stream``: the streamed (batches, bounded memory) and in-memory paths treat a file the same way.

Same columns chosen, same numeric typing, rows with missing values dropped listwise and counted per column the
same way, the same coefficients and standard errors; the file falls back to memory with a note when the fit
needs the whole table (a text column, a formula).
"""

import json

import numpy as np
import pytest

from l2kit import tableinput
from l2kit.cli import main

pytest.importorskip("pyarrow")


def _frame(n=3000, seed=1):
    rng = np.random.default_rng(seed)
    x1, x2, noise = rng.normal(size=(3, n))
    y = 1 + 2 * x1 - x2 + rng.standard_t(3, size=n)
    w = rng.uniform(0.5, 2, size=n)
    cols = {"rownames": np.arange(1, n + 1), "x1": x1, "skip": noise, "x2": x2, "w": w, "y": y}
    miss = {"x1": [3, 10, n - 1], "x2": [10, 40], "y": [50, 51]}
    return cols, miss


def _write(tmp_path, fmt, cols, miss):
    import pyarrow as pa
    import pyarrow.csv as pc
    import pyarrow.parquet as pq

    arrays = {}
    for c, a in cols.items():
        mask = np.zeros(len(a), bool)
        mask[miss.get(c, [])] = True
        arrays[c] = pa.array(a, mask=mask)
    table = pa.table(arrays)
    path = tmp_path / f"d.{fmt}"
    (pc.write_csv if fmt == "csv" else pq.write_table)(table, str(path))
    return str(path)


def _run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return out, err


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("loss", ["squared", "huber"])
def test_streamed_and_in_memory_fits_agree(tmp_path, capsys, fmt, loss):
    path = _write(tmp_path, fmt, *_frame())
    opts = [path, "--exclude", "skip", "--weights", "w", "--loss", loss, "--json"]
    got = {}
    for mode in ("always", "never"):
        out, err = _run(capsys, "fit", *opts, "--stream", mode)
        got[mode] = json.loads(out)
        assert ("streaming" in err) == (mode == "always"), err
    s, m = got["always"], got["never"]
    assert s["streamed"] and not m["streamed"]
    # same columns: target = last column, row labels = rownames, --exclude and --weights left out
    for key in ("target", "formula", "label", "rows", "n_obs", "n_dropped", "missing_by_column", "excluded"):
        assert s[key] == m[key], (key, s[key], m[key])
    assert m["formula"] == "y ~ x1 + x2" and m["n_dropped"] == 6 and m["rows"] == 3000
    assert m["missing_by_column"] == {"x1": 3, "x2": 2, "y": 2}
    np.testing.assert_allclose(list(s["named_params"].values()), list(m["named_params"].values()), rtol=1e-8)
    for key in ("stderr", "intercept_stderr", "scale", "df_resid"):
        np.testing.assert_allclose(s[key], m[key], rtol=1e-6, err_msg=key)


def test_printed_summary_names_the_same_counts(tmp_path, capsys):
    path = _write(tmp_path, "csv", *_frame())
    lines = {}
    for mode in ("always", "never"):
        out, _ = _run(capsys, "fit", path, "--exclude", "skip", "--stream", mode)
        lines[mode] = out.splitlines()
    for mode in lines:   # header, row labels, left-out column, dropped rows: the same lines
        assert lines[mode][:4] == lines["never"][:4]
    assert "6 row(s) with missing values dropped" in lines["never"][3]   # y ~ x1 + x2 + w


@pytest.mark.parametrize("mode", ["always", "never"])
def test_both_paths_refuse_a_missing_weight(tmp_path, capsys, mode):
    cols, miss = _frame(300)
    path = _write(tmp_path, "parquet", cols, {**miss, "w": [7]})
    assert main(["fit", path, "--weights", "w", "--stream", mode]) == 2
    err = capsys.readouterr().err
    assert "'w'" in err and "Fix:" in err and "Traceback" not in err, err
    if mode == "always":   # the streamed path names the file's row (the in-memory one counts after the drop)
        assert "row 8" in err, err


@pytest.mark.parametrize("extra, why", [(["--formula", "y ~ x1 + log(w)"], "--formula"),
                                        (["--target", "y", "--features", "x1", "g"], "column 'g' is not numeric")])
def test_whole_table_fits_fall_back_to_memory_with_a_note(tmp_path, capsys, extra, why):
    cols, miss = _frame(200)
    cols["g"] = np.array(["a", "b"] * 100)
    path = _write(tmp_path, "csv", cols, miss)
    out, err = _run(capsys, "fit", path, *extra, "--stream", "always", "--json")
    assert "in memory" in err and why in err, err
    assert not json.loads(out)["streamed"]


def test_auto_streams_above_the_threshold(tmp_path, capsys, monkeypatch):
    path = _write(tmp_path, "parquet", *_frame(500))
    out, _ = _run(capsys, "fit", path, "--exclude", "skip", "--json")
    assert not json.loads(out)["streamed"]   # 500 rows: far below STREAM_ABOVE
    monkeypatch.setattr(tableinput, "STREAM_ABOVE", 500 * 8 * 2)
    out, _ = _run(capsys, "fit", path, "--exclude", "skip", "--json")
    assert json.loads(out)["streamed"]


def test_streamed_missing_raise_and_bad_cells_exit_2(tmp_path, capsys):
    path = _write(tmp_path, "csv", *_frame(300))
    assert main(["fit", path, "--exclude", "skip", "--stream", "always", "--missing", "raise"]) == 2
    err = capsys.readouterr().err
    assert "missing" in err and "Fix:" in err and "Traceback" not in err
    text = open(path).read().splitlines()
    fields = text[-2].split(",")
    text[-2] = ",".join([fields[0], '"oops"', *fields[2:]])   # x1 on the second-to-last row
    (tmp_path / "bad.csv").write_text("\n".join(text) + "\n")
    assert main(["fit", str(tmp_path / "bad.csv"), "--exclude", "skip", "--stream", "always"]) == 2
    err = capsys.readouterr().err
    assert "'oops'" in err and "'x1'" in err and "row 299" in err and "Traceback" not in err, err
