"""The ``l2kit`` command line: argument parsing and I/O only; all logic lives in the library.

Exit codes: 0 success, 2 bad input (one paragraph naming file, column, row and
fix; no traceback). Heavy imports happen inside the command handlers so that
``l2kit --help`` answers fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="l2kit",
        description="Squared error and its whole family: score predictions, fit models, and find out "
                    "when L2 is the wrong lens for your data.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser(
        "report", help="fit DATA under L2 and its alternatives; write an HTML report (main job)",
        description="Fit DATA under squared error and its credible alternatives (Huber, Tukey, L1; Poisson, "
                    "negative binomial and ZINB for counts), test the Gaussian story, cross-validate every "
                    "candidate, recommend a loss with reasons, and write one self-contained HTML report.")
    r.add_argument("data", nargs="?", help="CSV or Parquet file, or the name of an embedded dataset "
                   "(default: the embedded stackloss dataset; see `l2kit datasets`)")
    r.add_argument("--target", help="target column (default: the last column)")
    r.add_argument("--features", nargs="+", metavar="COL", help="feature columns (default: every other column)")
    r.add_argument("--out", default="l2kit-report.html", help="HTML file to write (default: %(default)s)")
    r.add_argument("--folds", type=int, default=5, help="cross-validation folds (default: %(default)s)")
    r.set_defaults(handler=_cmd_report)

    f = sub.add_parser("fit", help="fit a linear model to a CSV/Parquet file (streams large files)")
    f.add_argument("data", help="CSV or Parquet file")
    f.add_argument("--target", required=True, help="target column")
    f.add_argument("--loss", default="squared", help="loss name from the registry (default: %(default)s)")
    f.add_argument("--weights", help="case-weight column")
    f.add_argument("--features", nargs="*", help="feature columns (default: every other numeric column)")
    f.add_argument("--json", action="store_true", help="print JSON instead of a table")
    f.set_defaults(handler=_cmd_fit)

    s = sub.add_parser("score", help="stream a CSV/Parquet file of any size and print n, mse, rmse, mae, r2")
    s.add_argument("data", help="CSV or Parquet file")
    s.add_argument("--true", required=True, dest="true_col", help="column of true values")
    s.add_argument("--pred", required=True, dest="pred_col", help="column of predictions")
    s.add_argument("--weights", help="case-weight column")
    s.add_argument("--skip-invalid", action="store_true", help="skip rows with missing/non-finite values "
                   "(their count is reported) instead of refusing the file")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(handler=_cmd_score)

    a = sub.add_parser("align", help="find the shift between two signals that minimises the L2 error")
    a.add_argument("a", help="reference signal: CSV, NPY or WAV")
    a.add_argument("b", help="shifted signal: CSV, NPY or WAV")
    a.add_argument("--max-shift", type=float, help="largest |shift| in samples to consider")
    a.add_argument("--rate", type=float, help="sample rate in Hz (WAV files carry their own)")
    a.add_argument("--json", action="store_true", help="print JSON")
    a.set_defaults(handler=_cmd_align)

    d = sub.add_parser("datasets", help="list the embedded datasets with provenance")
    d.add_argument("--json", action="store_true", help="print JSON")
    d.set_defaults(handler=_cmd_datasets)
    return p


# -- command handlers (thin: parse, call the library, print) --------------
def _cmd_report(args) -> int:
    """Diagnose DATA (default: embedded stackloss), print a summary, write the HTML report atomically."""
    import os

    from ._errors import InputError
    from .io.errors import DataError

    out = os.path.abspath(args.out)
    if os.path.isdir(out):
        raise DataError("--out is a directory", file=args.out, fix="pass a file name such as report.html")
    if not os.path.isdir(os.path.dirname(out)):
        raise DataError("the folder of --out does not exist", file=args.out,
                        fix="create the folder first or pick another path")
    X, y, features, target, source = _report_data(args)
    from .diagnosis import diagnose

    print(f"l2kit report: {source}: {y.size} rows, target {target!r}, features {', '.join(features)}",
          file=sys.stderr)
    try:
        d = diagnose(X, y, feature_names=features, target=target, folds=args.folds, progress=None)
    except InputError as exc:   # name the file and the column the library's error is about
        raise DataError(f"expected {exc.expected}, got {exc.got}", file=args.data,
                        column=target if exc.argument == "y" else None, fix=exc.fix) from None
    except ArithmeticError as exc:   # a degenerate design the diagnosis cannot handle yet (issue 17)
        raise DataError(f"the diagnosis cannot be computed on this data ({type(exc).__name__}: {exc})",
                        file=args.data, fix="check for constant or duplicated columns and for columns on very "
                        "different scales (standardise them)") from None
    title = f"l2kit report: {target} in {os.path.basename(source)}" if os.path.exists(source) else \
        f"l2kit report: {target} ({source})"
    d.to_html(args.out, title=title)
    print(d.summary())   # the verdict first; every reason is in the HTML report
    print(f"report written to {out}")
    return EXIT_OK


def _report_data(args):
    """``(X, y, features, target, source)`` from DATA, an embedded dataset name, or the default dataset."""
    import os

    import numpy as np

    from . import datasets
    from .io.errors import DataError

    data = args.data
    names = [i.name for i in datasets.list_datasets()]
    if data is None or (not os.path.exists(data) and data in names):
        ds = datasets.load(data or datasets.DEFAULT)
        if args.target not in (None, ds.target):
            columns = ", ".join((*ds.column_names, ds.target))
            raise DataError(f"the embedded dataset {ds.name!r} has target {ds.target!r}", column=args.target,
                            fix=f"omit --target, or export it with the columns: {columns}")
        return np.asarray(ds.X), np.asarray(ds.y), list(ds.column_names), ds.target, f"embedded dataset {ds.name!r}"
    from .io.tables import column_names, read_columns

    if not os.path.exists(data):
        hint = f" or an embedded dataset ({', '.join(names)})" if os.sep not in data and "." not in data else ""
        raise DataError("no such file", file=data, fix=f"check the path{hint}")
    cols = column_names(data)
    if not cols:
        raise DataError("the table has no columns", file=data, fix="write a header line and data rows")
    target = args.target
    if target is None:
        target = cols[-1]
        print(f"l2kit report: no --target given; using the last column {target!r} of {data}", file=sys.stderr)
    elif target not in cols:
        raise DataError(f"no such column; the file has columns: {', '.join(cols)}", file=data, column=target,
                        fix="pass one of those names to --target (names are case-sensitive)")
    features = list(args.features) if args.features else [c for c in cols if c != target]
    for c in features:
        if c not in cols:
            raise DataError(f"no such column; the file has columns: {', '.join(cols)}", file=data, column=c,
                            fix="pass existing names to --features (names are case-sensitive)")
    if target in features:
        raise DataError("the target is also listed as a feature", file=data, column=target,
                        fix="remove it from --features")
    if not features:
        raise DataError("no feature columns besides the target", file=data, column=target,
                        fix="add feature columns to the table")
    _, table = read_columns(data, [*features, target])
    n = table[target].size
    for c in [target, *features]:
        bad = ~np.isfinite(table[c])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"missing or non-finite value ({int(bad.sum())} such row(s) in this column; rows are "
                            "numbered from 1 after the header)", file=data, column=c, row=i + 1,
                            fix="fill or drop those rows first; l2kit never drops rows silently")
    p = len(features)
    if n < p + 3:
        raise DataError(f"only {n} data rows for {p} features", file=data,
                        fix=f"a diagnosis needs at least {p + 3} rows; add rows or pass fewer --features")
    if not 2 <= args.folds <= n:
        raise DataError(f"--folds {args.folds} is outside 2..{n} (the number of rows)", file=data,
                        fix="pass e.g. --folds 5")
    X = np.column_stack([table[c] for c in features])
    return X, table[target], features, target, data


def _cmd_fit(args) -> int:
    """Fit ``--target`` on the features; Squared streams the file in bounded memory."""
    import json
    import warnings

    from .workflows import fit_file, json_safe

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_file(args.data, args.target, loss=args.loss, weights=args.weights, features=args.features)
    notes = [str(w.message) for w in caught]
    if args.json:
        out = fit.to_dict()
        out.update(file=args.data, target=args.target, weights=args.weights,
                   rows=int(fit.extra.get("n_rows", fit.n_obs)), warnings=notes)
        print(json.dumps(json_safe(out), indent=2))
    else:
        print(f"{args.data}: {args.target} ~ {' + '.join(fit.feature_names)}"
              + (f"  (weights: {args.weights})" if args.weights else ""))
        print(fit.summary())
        for n in notes:
            print(f"warning: {n}", file=sys.stderr)
    return EXIT_OK


def _cmd_score(args) -> int:
    """Stream the file into a metrics accumulator and print n, mse, rmse, mae, r2, explained variance."""
    import json

    from .workflows import json_safe, score_file

    res = score_file(args.data, args.true_col, args.pred_col, args.weights, skip_invalid=args.skip_invalid)
    if args.json:
        print(json.dumps(json_safe({"file": args.data, **res.to_dict()}), indent=2))
        return EXIT_OK
    m = res.metrics
    print(f"{args.data}: {args.pred_col} against {args.true_col}"
          + (f" (weights: {args.weights})" if args.weights else ""))
    rows = [("n", m["n"])] + [(k, m[k]) for k in ("mse", "rmse", "mae", "r2", "explained_variance") if k in m]
    for k, v in rows:
        text = f"{v:,}" if isinstance(v, int) else (f"{v:.10g}" if isinstance(v, float) else str(v))
        print(f"  {k:<20}{text:>22}")
    print(f"  {'rows read':<20}{res.rows_read:>22,}")
    if args.skip_invalid:
        print(f"  {'rows skipped':<20}{res.rows_skipped:>22,}  (missing or non-finite values)")
    return EXIT_OK


def _cmd_align(args) -> int:
    """Find the shift between two signals (CSV, NPY or WAV) and print it in samples and seconds."""
    import json
    import math

    from .io.errors import DataError
    from .signal import align, read_signal

    a, rate_a = read_signal(args.a)
    b, rate_b = read_signal(args.b)
    if a.ndim != b.ndim or (a.ndim == 2 and a.shape[1] != b.shape[1]):
        ch = lambda x: 1 if x.ndim == 1 else x.shape[1]  # noqa: E731
        raise DataError(f"has {ch(b)} channel(s) but {args.a} has {ch(a)}", file=args.b,
                        fix="pass two signals with the same channels (columns)")
    if rate_a is not None and rate_b is not None and rate_a != rate_b:
        raise DataError(f"sample rate {rate_b:g} Hz differs from {args.a} ({rate_a:g} Hz)", file=args.b,
                        fix="resample one file so both share a rate")
    rate = args.rate
    if rate is not None:
        if not (math.isfinite(rate) and rate > 0):
            raise DataError(f"--rate {rate:g} is not a positive sample rate", fix="pass e.g. --rate 44100")
        for path, r in ((args.a, rate_a), (args.b, rate_b)):
            if r is not None and r != rate:
                raise DataError(f"the WAV header says {r:g} Hz but --rate is {rate:g}", file=path,
                                fix="drop --rate for WAV files, or make it match")
    else:
        rate = rate_a if rate_a is not None else rate_b
    if args.max_shift is not None and not (math.isfinite(args.max_shift) and args.max_shift >= 0):
        raise DataError(f"--max-shift {args.max_shift:g} is not a non-negative number of samples",
                        fix="pass e.g. --max-shift 1000")
    res = align(a, b, max_shift=args.max_shift)
    seconds = res.seconds(rate) if rate else None
    if args.json:
        print(json.dumps({"shift_samples": res.shift, "shift_seconds": seconds, "rate": rate,
                          "integer_shift": res.integer_shift, "coefficient": res.coefficient,
                          "overlap": res.overlap, "lags_searched": [int(res.lags[0]), int(res.lags[-1])],
                          "a": args.a, "b": args.b}))
        return EXIT_OK
    when = f"{seconds:.9g} s at {rate:g} Hz" if seconds is not None else "pass --rate HZ for seconds"
    print(f"shift: {res.shift:.6f} samples ({when})")
    print(f"  positive: {args.b} lags {args.a}; integer lag {res.integer_shift}, "
          f"overlap {res.overlap} samples, correlation coefficient {res.coefficient:.4f}")
    return EXIT_OK


def _cmd_datasets(args) -> int:
    """List the embedded datasets with their provenance and licence."""
    from . import datasets

    rows = []
    for info in datasets.list_datasets():
        ds = datasets.load(info.name)
        rows.append({"name": info.name, "rows": int(ds.y.size), "features": list(ds.column_names),
                     "target": info.target, "kind": info.kind, "title": info.title, "source": info.source,
                     "licence": info.licence, "notes": info.notes, "path": ds.path})
    if getattr(args, "json", False):
        import json

        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for r in rows:
        default = "  (default of `l2kit report`)" if r["name"] == datasets.DEFAULT else ""
        print(f"{r['name']}{default}\n  {r['title']}\n  {r['rows']} rows; target {r['target']!r} ({r['kind']}); "
              f"features: {', '.join(r['features'])}\n  source:  {r['source']}\n  licence: {r['licence']}")
        if r["notes"]:
            print(f"  note:    {r['notes']}")
        print()
    print("Run `l2kit report NAME` on one of them, or `l2kit report FILE.csv --target COL` on your data.")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``l2kit`` console script."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_OK
    from ._errors import InputError
    from .io.errors import DataError

    try:
        return int(args.handler(args) or EXIT_OK)
    except (DataError, InputError) as exc:
        print(_paragraph(f"l2kit {args.command}: error: {exc}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # e.g. --out in a read-only folder: bad input, not a bug
        if isinstance(exc, BrokenPipeError):  # `l2kit ... | head`: the reader left; exit quietly
            sys.stderr.close()
            return EXIT_OK
        where = exc.filename or "the file"
        print(_paragraph(f"l2kit {args.command}: error: {where}: {exc.strerror or exc}. Fix: check the path "
                         "and its permissions."), file=sys.stderr)
        return EXIT_BAD_INPUT
    except ImportError as exc:  # an optional dependency is missing
        print(_paragraph(f"l2kit {args.command}: error: this command needs the optional package "
                         f"{exc.name or exc!s}. Fix: pip install 'l2kit[all]' (or the extra that provides it)."),
              file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("l2kit: interrupted", file=sys.stderr)
        return 130


def _paragraph(text: str) -> str:
    """One paragraph: collapse internal newlines so the message reads as one block."""
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
