"""The ``l2kit`` command line: argument parsing and I/O only; all logic lives in the library.

Exit codes: 0 success, 2 bad input (one paragraph naming file, column, row and
fix; no traceback). Heavy imports happen inside the command handlers so that
``l2kit --help`` answers fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2
#: set it to see the traceback of an internal error instead of its one-paragraph summary
DEBUG_ENV = "L2KIT_DEBUG"


def _table_options(p: argparse.ArgumentParser) -> None:
    """The options ``fit`` and ``report`` share: they read and code a table the same way."""
    p.add_argument("--formula", help="Wilkinson formula, e.g. \"y ~ x1 + C(g) + log(x2) + x1:x3\" (formulaic); "
                   "instead of --target/--features")
    p.add_argument("--target", help="target column (default: the last column); every other column is a feature")
    p.add_argument("--features", nargs="+", metavar="COL", help="feature columns (default: every other column)")
    p.add_argument("--exclude", nargs="+", default=[], metavar="COL", help="columns to leave out")
    p.add_argument("--id", metavar="COL", help="row-label column (default: R's unnamed row-name column, or the "
                   "first text column with a distinct value on every row)")
    p.add_argument("--factor", nargs="+", default=[], metavar="COL", help="integer-coded columns to treat as "
                   "factors (text, bool and categorical columns already are)")
    p.add_argument("--weights", help="case-weight column")
    p.add_argument("--missing", choices=("drop", "raise"), default="drop", help="rows with missing values in the "
                   "columns used: drop them listwise and say how many (default), or refuse the file")
    p.add_argument("--sep", help="CSV delimiter (default: sniffed among comma, semicolon, tab, pipe)")
    p.add_argument("--decimal", choices=(".", ","), help="decimal mark (default: '.', or ',' when sniffed in a "
                   "semicolon file)")
    p.add_argument("--encoding", help="text encoding of a CSV file (default: utf-8; e.g. latin-1)")


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
    _table_options(r)
    r.add_argument("--out", default="l2kit-report.html", help="HTML file to write (default: %(default)s)")
    r.add_argument("--folds", type=int, default=5, help="cross-validation folds (default: %(default)s)")
    r.add_argument("--seed", type=int, default=0, help="seed of the cross-validation folds and of --sample "
                   "(default: %(default)s)")
    r.add_argument("--sample", type=int, metavar="N", help="diagnose a random sample of N rows (seeded, stated in "
                   "the report); the recommended loss is then refitted on every row. Default: every row up to "
                   "50,000, else a sample of 20,000 (ample for residual diagnostics and cross-validation)")
    r.add_argument("--family", choices=("auto", "counts", "continuous"), default="auto", help="the candidates: "
                   "counts forces the count models (Poisson, negative binomial, ZINB) beside squared error and the "
                   "robust losses; continuous leaves them out; auto (default) treats a target of non-negative "
                   "integers with zeros as counts")
    r.add_argument("--ordered", action="store_true", help="the rows are in time (or another meaningful) order: run "
                   "the serial-correlation check (Durbin-Watson, Breusch-Godfrey); default: rows are exchangeable "
                   "and the check is skipped")
    r.set_defaults(handler=_cmd_report)

    f = sub.add_parser("fit", help="fit a linear model to a CSV/Parquet file (formulas, factors, missing values)")
    f.add_argument("data", help="CSV (optionally .gz/.bz2/.zst) or Parquet file")
    _table_options(f)
    f.add_argument("--loss", default="squared", help="loss name from the registry, with parameters if any: "
                   "e.g. \"huber(delta=1.345)\", negative_binomial_nll, binomial (default: %(default)s)")
    f.add_argument("--method", default="auto", help="solver: auto, or mm with a Tukey loss (the high-breakdown "
                   "MM-estimator of robustbase's lmrob) (default: %(default)s)")
    f.add_argument("--seed", type=int, help="seed of the MM fit's random subsamples (with --method mm; default 0)")
    f.add_argument("--cov-type", choices=("nonrobust", "HC0", "HC1", "HC2", "HC3", "HAC"),
                   help="standard errors: HC3 under heteroscedasticity, HAC (Newey-West) under serial correlation "
                   "(default: the solver's own)")
    f.add_argument("--maxlags", type=int, help="with --cov-type HAC: the Newey-West lag truncation L (the report "
                   "suggests floor(4 (n/100)^(2/9)))")
    f.add_argument("--json", action="store_true", help="print JSON instead of a table")
    f.add_argument("--stream", choices=("auto", "always", "never"), default="auto", help="read the file in "
                   "batches in bounded memory: auto (default) when the used columns exceed 16 MB as float64 "
                   "(a CSV: 16 MB on disk) and the fit needs no whole-table view (no --formula/--factor, every "
                   "used column numeric, comma CSV or Parquet); always when possible (else a note says why); "
                   "never. Both paths choose, type and drop rows the same way")
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
    if args.weights:   # the diagnosis is unweighted: its numbers and the reproduce lines would disagree
        raise DataError("l2kit report does not weight the diagnosis, so --weights would be ignored", file=args.data,
                        column=args.weights, fix="run l2kit report without --weights, and l2kit fit --weights "
                        f"{args.weights} for the weighted fit")
    from .diagnosis import diagnose

    prepared = _embedded_or_prepared(args)
    sample_note = full_design = None
    try:
        if isinstance(prepared, tuple):   # an embedded dataset: arrays
            X, y, features, target, source = prepared
            print(f"l2kit report: {source}: {y.size} rows, target {target!r}, features {', '.join(features)}",
                  file=sys.stderr)
            d = diagnose(X, y, feature_names=features, target=target, folds=args.folds, progress=None,
                         random_state=args.seed, ordered=args.ordered, counts=_FAMILY[args.family])
        else:
            source, target = prepared.path, prepared.target
            for line in prepared.describe():
                print(f"l2kit report: {line}", file=sys.stderr)
            from .tableinput import design_prepared, sample_rows

            frame, sample_note = sample_rows(prepared.frame, args.sample, args.seed)
            if sample_note:   # code every row now, then drop the table: the recommended loss is refitted on them
                print(f"l2kit report: {sample_note}", file=sys.stderr)
                full_design = design_prepared(prepared, args.missing, release=True)
            with _warnings_once("l2kit report"):   # one line per distinct warning, not one per CV fold
                d = diagnose(prepared.formula, data=frame, missing=args.missing, folds=args.folds, progress=None,
                             random_state=args.seed, ordered=args.ordered, counts=_FAMILY[args.family])
            _print_missing("l2kit report", d.missing)
    except InputError as exc:   # name the file and the column the library's error is about
        from .tableinput import file_error

        raise file_error(exc, args.data or "the embedded dataset", {"y": target}) from None
    except ArithmeticError as exc:   # a safety net: degenerate designs get an InputError in diagnose
        raise DataError(f"the diagnosis cannot be computed on this data ({type(exc).__name__}: {exc})",
                        file=args.data, fix="check for constant or duplicated columns and for columns on very "
                        "different scales (standardise them)") from None
    title = f"l2kit report: {target} in {os.path.basename(source)}" if os.path.exists(source) else \
        f"l2kit report: {target} ({source})"
    d.to_html(args.out, title=title, provenance=_provenance(args, prepared, sample_note))
    print(d.summary())   # the verdict first; every reason is in the HTML report
    if not isinstance(prepared, tuple) and d.recommendation is not None and d.recommendation.name in d.losses:
        from .tableinput import reproduce

        loss = d.losses[d.recommendation.name]
        if full_design is not None:   # the diagnosis saw a sample: the recommended loss on every row
            from .tableinput import _trim, fit_design

            _trim()   # the diagnosis's and the plots' freed heap, before the largest arrays of the run

            full = fit_design(prepared, full_design, loss, **d.recommendation.options)
            print(f"the recommended loss refitted on all {full.n_obs:,} rows:\n{full.summary()}")
        cmd, py = reproduce(prepared, loss, args.missing, args, options=d.recommendation.options)
        print(f"reproduce the recommended fit:\n  {cmd}\n  {py}")
    print(f"report written to {out}")
    return EXIT_OK


@contextlib.contextmanager
def _warnings_once(who: str):
    """Collect the warnings of a block and print each distinct message once on stderr, with how often it came."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen: dict[str, list] = {}   # the message with its numbers blanked -> [first message, count]
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        entry = seen.setdefault(re.sub(r"\d[\d.e+-]*", "#", text), [text, 0])
        entry[1] += 1
    for text, k in seen.values():
        print(f"{who}: warning: {text}" + (f" (and {k - 1} more like it)" if k > 1 else ""), file=sys.stderr)


#: ``--family`` -> ``diagnose(counts=...)``
_FAMILY = {"auto": None, "counts": True, "continuous": False}


def _provenance(args, prepared, sample_note) -> dict:
    """The report's provenance entries: the exact command line, the data file and its SHA-256, seed, sample."""
    import os
    import shlex

    out = {"command line": shlex.join(["l2kit", *getattr(args, "argv", [])])}
    if isinstance(prepared, tuple):
        out["data"] = prepared[4]
    else:
        from .io.frame import file_sha256

        out["data file"] = os.path.abspath(prepared.path)
        out["data file SHA-256"] = file_sha256(prepared.path)
        out["rows in the file"] = f"{prepared.n_rows:,}"
        out["reading"] = "; ".join(prepared.describe()) or "comma-separated, UTF-8"
    out["seed"] = args.seed
    out["rows diagnosed"] = sample_note or "every row"
    return out


def _print_missing(who: str, missing) -> None:
    if missing is not None and missing.n_dropped:
        print(f"{who}: {missing.describe()}", file=sys.stderr)


def _embedded_or_prepared(args):
    """An embedded dataset as ``(X, y, features, target, source)``, or a file as a :class:`Prepared` table."""
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
    if not os.path.exists(data):
        hint = f" or an embedded dataset ({', '.join(names)})" if os.sep not in data and "." not in data else ""
        raise DataError("no such file", file=data, fix=f"check the path{hint}")
    from .tableinput import prepare_args

    p = prepare_args(args)
    if args.target is None and args.formula is None:
        print(f"l2kit report: no --target given; using the last column {p.target!r} of {data}", file=sys.stderr)
    return p


def _cmd_fit(args) -> int:
    """Fit the file's target on its features (or ``--formula``) in memory; print the coefficient table."""
    import json
    import warnings

    from .io.tables import prefer_jemalloc

    prefer_jemalloc(args.data)   # before pyarrow loads: a flat peak RSS however long the stream
    from .tableinput import fit_options, fit_prepared, parse_loss, prepare_args, stream_plan
    from .workflows import json_safe

    loss = parse_loss(args.loss)
    options = fit_options(args)
    # the streamed fit (fit_file) takes the solver's defaults: --method, --seed and --cov-type need the table
    p, why = (None, "--method, --seed, --cov-type and --maxlags fit in memory") if options else stream_plan(args)
    if why and args.stream == "always":
        print(f"l2kit fit: reading {args.data} in memory: {why}", file=sys.stderr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if p is not None:
            fit = _fit_streamed(args, p, loss)
        else:
            p = prepare_args(args)
            fit = fit_prepared(p, loss, args.missing, release=True, **options)   # the table is then freed
    notes = [str(w.message) for w in caught]
    if args.json:
        out = fit.to_dict()
        out.update(file=args.data, target=p.target, formula=fit.formula, weights=args.weights, label=p.label,
                   streamed=not hasattr(p, "frame"),
                   factors=dict(p.factors), excluded=dict(p.excluded), rows=int(fit.n_obs + fit.n_dropped),
                   n_dropped=fit.n_dropped, missing_by_column=dict(fit.missing.by_column), warnings=notes,
                   named_params=dict(fit.named_params))
        print(json.dumps(json_safe(out), indent=2))
    else:
        print(f"{args.data}: {fit.formula}" + (f"  (weights: {args.weights})" if args.weights else ""))
        for line in p.describe() if hasattr(p, "frame") else _describe_plan(p):
            print(f"  {line}")
        if fit.n_dropped:
            print(f"  {fit.missing.describe()}")
        print(fit.summary())
        for n in notes:
            print(f"warning: {n}", file=sys.stderr)
    return EXIT_OK


def _fit_streamed(args, plan, loss):
    """``fit_file`` over the plan's columns (batches, bounded memory), carrying the formula the in-memory path has."""
    import dataclasses
    import os

    from .workflows import fit_file

    print(f"l2kit fit: streaming {args.data} in batches ({os.path.getsize(args.data) / 2**20:.0f} MB on disk; "
          "--stream never reads it in memory)", file=sys.stderr)
    fit = fit_file(args.data, plan.target, loss=loss, weights=args.weights, features=plan.features,
                   missing=args.missing)
    return dataclasses.replace(fit, formula=plan.formula)


def _describe_plan(plan) -> list[str]:
    """The lines :meth:`Prepared.describe` prints, for a streamed file (no factors: they need the whole table)."""
    out = [f"row labels: column {plan.label!r}"] if plan.label else []
    return out + [f"left out: {c!r} ({why})" for c, why in plan.excluded]


#: rows per batch of `l2kit score`: a fresh process on NumPy's kernels and, for Parquet, jemalloc, where 64k rows
#: keep peak RSS flat and lowest at the same speed (2e7-row Parquet read by two threads: 108 and 114 MB on 2e6 and
#: 2e7 rows; 256k-row batches 127 and 140 MB; 1M-row ones 137 and 183 MB, and slower)
SCORE_BATCH_ROWS = 1 << 16


def _cmd_score(args) -> int:
    """Stream the file into a metrics accumulator and print n, mse, rmse, mae, r2, explained variance."""
    import json
    import os

    # one streamed pass: NumPy's blocked kernels beat importing numba and loading its compiled kernels (2e6-row
    # Parquet, loaded 2-core machine: 219 MB peak RSS and 1.5 s against 361 MB and 3.5 s); export
    # L2KIT_DISABLE_NUMBA= (empty) to use numba anyway
    os.environ.setdefault("L2KIT_DISABLE_NUMBA", "1")
    from .io.tables import prefer_jemalloc

    prefer_jemalloc(args.data)   # before pyarrow loads: a flat peak RSS however long the stream
    from .workflows import json_safe, score_file

    res = score_file(args.data, args.true_col, args.pred_col, args.weights, skip_invalid=args.skip_invalid,
                     batch_rows=SCORE_BATCH_ROWS)
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

    args.argv = list(sys.argv[1:] if argv is None else argv)
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
    except Exception as exc:  # a bug: one paragraph and exit 1, never a traceback (unless asked for)
        if os.environ.get(DEBUG_ENV):
            raise
        print(_paragraph(f"l2kit {args.command}: internal error: {type(exc).__name__}: {exc}. This is a bug in "
                         f"l2kit: please report it with the command line (l2kit {' '.join(args.argv)}); set "
                         f"{DEBUG_ENV}=1 to see the traceback."), file=sys.stderr)
        return EXIT_INTERNAL


def _paragraph(text: str) -> str:
    """One paragraph: collapse internal newlines so the message reads as one block."""
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
