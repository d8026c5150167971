"""The ``l2kit`` command line: argument parsing and I/O only; all logic lives in the library.

Exit codes: 0 success, 2 bad input (one paragraph naming file, column, row and
fix; no traceback). Heavy imports happen inside the command handlers so that
``l2kit --help`` answers fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="l2kit",
        description="Squared error and its whole family: score predictions, fit models, and find out "
                    "when L2 is the wrong lens for your data.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("report", help="fit DATA under L2 and its alternatives; write an HTML report (main job)")
    r.add_argument("data", nargs="?", help="CSV or Parquet file (default: the embedded stackloss dataset)")
    r.add_argument("--target", help="target column (default: the last column)")
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
    d.set_defaults(handler=_cmd_datasets)
    return p


# -- command handlers (thin: parse, call the library, print) --------------
def _cmd_report(args) -> int:  # owner: report/diagnose issue
    raise NotImplementedError


def _cmd_fit(args) -> int:  # owner: scale issue (streams via l2kit.io)
    raise NotImplementedError


def _cmd_score(args) -> int:  # owner: scale issue (streams via l2kit.io)
    raise NotImplementedError


def _cmd_align(args) -> int:  # owner: applications issue (l2kit.signal)
    raise NotImplementedError


def _cmd_datasets(args) -> int:  # owner: report/diagnose issue
    raise NotImplementedError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``l2kit`` console script."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_OK
    from ._array import InputError
    from .io.errors import DataError

    try:
        return int(args.handler(args) or EXIT_OK)
    except (DataError, InputError) as exc:
        print(f"l2kit {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("l2kit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
