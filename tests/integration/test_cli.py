"""The ``l2kit`` command line end to end, through subprocess: report, datasets, help, bad input."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

L2KIT = os.path.join(os.path.dirname(sys.executable), "l2kit")
HEAVY = ("numpy", "scipy", "matplotlib", "pyarrow", "pandas", "torch", "jax", "jinja2", "statsmodels", "dask")


def run(*args, cwd=None, check=None):
    p = subprocess.run([L2KIT, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p


def assert_bad_input(p, *needles):
    """Exit 2, one paragraph on stderr naming what is wrong and the fix, no traceback."""
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    err = p.stderr.strip()
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(lines) == 1 and err.splitlines()[-1] == lines[0], err   # one paragraph, the last thing said
    assert "Fix:" in lines[0], err
    for n in needles:
        assert n in lines[0], (n, err)
    return lines[0]


@pytest.fixture
def stack_csv(tmp_path):
    from l2kit import datasets

    X, y, names = datasets.load("stackloss")
    path = tmp_path / "stack.csv"
    rows = [",".join([*names, "loss"])] + [",".join(f"{v:g}" for v in (*x, t)) for x, t in zip(X, y)]
    path.write_text("\n".join(rows) + "\n")
    return path


def _no_leftovers(folder, allowed=()):
    left = sorted(set(os.listdir(folder)) - set(allowed))
    assert left == [], left


# -- help is fast because nothing heavy is imported ---------------------------
@pytest.mark.parametrize("argv", [["--help"], ["fit", "--help"], ["report", "--help"], []])
def test_help_imports_nothing_heavy(argv):
    code = (f"import sys\nfrom l2kit.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "usage: l2kit" in p.stdout
    assert p.stdout.strip().splitlines()[-1] == "HEAVY=", p.stdout


def test_help_through_the_console_script():
    for argv in (["--help"], ["fit", "--help"]):
        p = run(*argv, check=0)
        assert "usage: l2kit" in p.stdout
    assert "--target" in run("report", "--help", check=0).stdout


# -- report -----------------------------------------------------------------
def test_report_default_dataset(tmp_path):
    p = run("report", cwd=tmp_path, check=0)
    out = tmp_path / "l2kit-report.html"
    assert out.is_file()
    assert f"report written to {out}" in p.stdout
    # stackloss at a calibrated family-wise 5%: the outlier evidence is p = 0.30, squared error stays (issue 17)
    assert "recommendation: Squared()" in p.stdout and "squared error is fine here" in p.stdout
    assert "outliers           pass      p = 0.302" in p.stdout
    assert "CV tRMSE" in p.stdout and "Squared (OLS)" in p.stdout
    assert "embedded dataset 'stackloss'" in p.stderr
    assert "\r" not in p.stderr            # stderr is not a terminal here: no progress display
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text
    _no_leftovers(tmp_path, ["l2kit-report.html"])


def test_report_csv_without_target_uses_last_column_and_says_so(tmp_path, stack_csv):
    out = tmp_path / "r.html"
    p = run("report", stack_csv, "--out", out, "--folds", 3, check=0)
    assert "no --target given; using the last column 'loss'" in p.stderr
    assert out.is_file() and "target 'loss'" in p.stdout + p.stderr


def test_report_parquet_with_target(tmp_path, stack_csv):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pcsv.read_csv(stack_csv)
    path = tmp_path / "stack.parquet"
    pq.write_table(table.select(["loss", "airflow", "watertemp", "acidconc"]), path)
    out = tmp_path / "p.html"
    p = run("report", path, "--target", "loss", "--out", out, "--folds", 3, check=0)
    assert out.is_file()
    assert "no --target given" not in p.stderr
    assert "recommendation: Squared()" in p.stdout and "checks:" in p.stdout
    assert pa is not None


def test_report_embedded_count_dataset_by_name(tmp_path):
    out = tmp_path / "randhie.html"
    p = run("report", "randhie", "--out", out, "--folds", 3, check=0)
    assert "embedded dataset 'randhie'" in p.stderr
    assert "recommendation: NegativeBinomialNLL" in p.stdout or "recommendation: ZINB" in p.stdout
    assert "log score" in p.stdout
    text = out.read_text()
    assert 'id="fig-counts"' in text and "not drawn" not in text


# -- bad input: exit 2, one paragraph, no traceback, no output file --------------
def test_missing_file(tmp_path):
    msg = assert_bad_input(run("report", tmp_path / "nope.csv", "--out", tmp_path / "r.html"), "nope.csv",
                           "no such file")
    assert "check the path" in msg
    _no_leftovers(tmp_path)


def test_unknown_column_lists_the_columns(tmp_path, stack_csv):
    out = tmp_path / "r.html"
    msg = assert_bad_input(run("report", stack_csv, "--target", "Loss", "--out", out), "stack.csv",
                           "column 'Loss'", "airflow, watertemp, acidconc, loss")
    assert not out.exists()
    assert "did you mean 'loss'" in msg or "case-sensitive" in msg
    assert_bad_input(run("report", stack_csv, "--features", "airflow", "acid", "--out", out), "column 'acid'",
                     "airflow, watertemp, acidconc, loss")
    _no_leftovers(tmp_path, ["stack.csv"])


def test_non_numeric_cell_names_row_and_value(tmp_path, stack_csv):
    lines = stack_csv.read_text().splitlines()
    cells = lines[7].split(",")
    cells[1] = "n/a?"
    lines[7] = ",".join(cells)
    stack_csv.write_text("\n".join(lines) + "\n")
    out = tmp_path / "r.html"
    assert_bad_input(run("report", stack_csv, "--out", out), "stack.csv", "column 'watertemp'", "row 7",
                     "'n/a?'")
    _no_leftovers(tmp_path, ["stack.csv"])


def test_missing_cell_names_row(tmp_path, stack_csv):
    lines = stack_csv.read_text().splitlines()
    cells = lines[3].split(",")
    cells[3] = ""
    lines[3] = ",".join(cells)
    stack_csv.write_text("\n".join(lines) + "\n")
    # issue 18: missing values are dropped listwise by default, and said so; --missing raise refuses
    assert_bad_input(run("report", stack_csv, "--missing", "raise", "--out", tmp_path / "r.html"), "column 'loss'",
                     "row 3")
    _no_leftovers(tmp_path, ["stack.csv"])
    p = run("report", stack_csv, "--out", tmp_path / "r.html")
    assert p.returncode == 0 and "1 row(s) with missing values dropped" in p.stderr and "loss (1)" in p.stderr


@pytest.mark.parametrize("content", ["airflow,loss\n", ""], ids=["header-only", "zero-bytes"])
def test_empty_table(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    assert_bad_input(run("report", path, "--out", tmp_path / "r.html"), "empty.csv")
    _no_leftovers(tmp_path, ["empty.csv"])


def test_unknown_loss_lists_the_names(tmp_path, stack_csv):
    p = run("fit", stack_csv, "--target", "loss", "--loss", "hubre")
    msg = assert_bad_input(p, "hubre", "huber", "squared", "tukey")
    assert "did you mean 'huber'" in msg


def test_bad_folds_and_out_folder(tmp_path, stack_csv):
    assert_bad_input(run("report", stack_csv, "--folds", 1, "--out", tmp_path / "r.html"), "--folds 1")
    assert_bad_input(run("report", "--out", tmp_path / "no" / "such" / "r.html"), "folder of --out")
    assert_bad_input(run("report", "--out", tmp_path), "directory")
    _no_leftovers(tmp_path, ["stack.csv"])


def test_too_few_rows(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text("a,b,c,y\n1,2,3,4\n2,3,4,5\n3,4,5,7\n")
    assert_bad_input(run("report", path, "--out", tmp_path / "r.html"), "tiny.csv", "got 3 rows")


def test_argparse_errors_exit_2():
    p = run("report", "--folds", "many")
    assert p.returncode == 2 and "Traceback" not in p.stderr


# -- datasets ---------------------------------------------------------------
def test_datasets_lists_provenance():
    p = run("datasets", check=0)
    for name in ("stackloss", "longley", "randhie"):
        assert name in p.stdout
    assert p.stdout.count("licence:") == 3 and p.stdout.count("source:") == 3
    assert "Brownlee" in p.stdout and "public domain" in p.stdout
    rows = json.loads(run("datasets", "--json", check=0).stdout)
    assert [r["name"] for r in rows] == ["stackloss", "longley", "randhie"]
    assert {r["rows"] for r in rows} == {21, 16, 1000}
    assert all(os.path.isfile(r["path"]) for r in rows)


def test_fit_json_gives_coefficients_stderr_and_status(stack_csv):
    import statsmodels.api as sm

    p = run("fit", stack_csv, "--target", "loss", "--json", check=0)
    out = json.loads(p.stdout)
    data = np.loadtxt(stack_csv, delimiter=",", skiprows=1)
    ref = sm.OLS(data[:, 3], sm.add_constant(data[:, :3])).fit()
    np.testing.assert_allclose(out["coef"], ref.params[1:], rtol=1e-8)
    np.testing.assert_allclose(out["stderr"], ref.bse[1:], rtol=1e-8)
    assert out["converged"] is True and isinstance(out["status"], str)


def test_progress_is_shown_on_a_terminal_only(tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))   # a 100-column terminal
    proc = subprocess.Popen([L2KIT, "report", "--out", str(tmp_path / "r.html"), "--folds", "2"],
                            stdout=subprocess.PIPE, stderr=slave, cwd=tmp_path)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO once the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    out = proc.stdout.read().decode()
    assert proc.wait(timeout=300) == 0
    os.close(master)
    tty = b"".join(chunks).decode(errors="replace")
    assert "l2kit diagnose" in tty            # the cross-validation progress display, on stderr
    assert "l2kit diagnose" not in out.replace("l2kit diagnose:", "")   # stdout carries the summary only
