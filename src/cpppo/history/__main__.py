"""``python -m cpppo.history``: print a history (in a time window and zone), or replay it;
record one from a controller (``record``, :mod:`.record`); plot one (``plot``, :mod:`.plot`).

python -m cpppo.history some_file.hst
python -m cpppo.history -z local -s "2014-07-15 16:00 MDT" -d 1h some_file.hst
python -m cpppo.history --replay 10 some_file.hst     # an hour of records in six minutes
python -m cpppo.history record -a 127.0.0.1 -i 1 -n 60 -o plant.hst Tank.Level Pump.Running
python -m cpppo.history plot plant.hst Tank.Level -z local -o plant.png
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence

from ..misc import log_setup
from .arguments import Parser, add_window, window
from .reading import history_files, playback, reader

log = logging.getLogger("cpppo.history")


def build_parser() -> Parser:
    """The command line of ``python -m cpppo.history``."""
    parser = Parser(
        prog="python -m cpppo.history",
        description="Print or replay a history file (and its rotations) in time order;"
        " 'record ...' records one, 'plot ...' plots one (see their --help).",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    add_window(parser)
    parser.add_argument(
        "-p", "--precision", type=int, default=3, help="fractional second digits, 0-6 (default 3)"
    )
    parser.add_argument(
        "-r",
        "--replay",
        type=float,
        nargs="?",
        const=1.0,
        metavar="FACTOR",
        help="replay at FACTOR times real speed (default 1; 0 = as fast as possible)",
    )
    parser.add_argument("--strict", action="store_true", help="fail on a malformed line")
    parser.add_argument("path", help="history file, e.g. some_file.hst")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status. ``record ...`` and ``plot ...`` are subcommands
    (a history file named like one is given as ``./record``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "record":
        from .record import main as record

        return record(argv[1:])
    if argv and argv[0] == "plot":
        from .plot import main as plot

        return plot(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    log_setup(args.verbose)
    try:
        zone, start, end = window(args)
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    if not 0 <= args.precision <= 6:
        parser.error("--precision must be 0 to 6")
    if args.replay is not None and not args.replay >= 0:
        parser.error("--replay FACTOR must be >= 0")
    if not history_files(args.path):
        parser.error(
            f"no history records at {args.path}"
            if os.path.exists(args.path)
            else f"no such history: {args.path}"
        )

    records = reader(args.path, start, end, strict=args.strict)
    stream = iter(records) if args.replay is None else playback(records, args.replay, start=start)
    count = 0
    out = sys.stdout
    try:
        for when, key, payload in stream:
            out.write(f"{when.render(zone, ms=args.precision)}\t")
            out.write(f"{json.dumps(key)}\t{json.dumps(payload)}\n")
            count += 1
            if args.replay:
                out.flush()
        out.flush()
    except ValueError as exc:  # a malformed line, with --strict
        print(f"{parser.prog}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Quietly stop when the reader of our output goes away (e.g. `| head`).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        return 0
    log.info("%d records; %d lines skipped", count, records.skipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
