"""The command lines of ``python -m cpppo.history`` (print, record, plot): their argument parser
and the time window and zone options they share."""

from __future__ import annotations

import argparse
from typing import Any

from ..misc import OneLineParser
from .times import duration, timestamp
from .zones import get_zone

__all__ = ["Parser", "add_window", "window"]


#: The history command lines' parser: a bad argument is one line, exit status 2.
Parser = OneLineParser


def add_window(parser: argparse.ArgumentParser, verb: str = "print") -> None:
    """Add ``-s/--start``, ``-e/--end`` or ``-d/--duration``, and ``-z/--zone``."""
    parser.add_argument("-s", "--start", help=f"first time to {verb} (e.g. '2014-07-15 16:00 MDT')")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-e", "--end", help="stop before this time")
    group.add_argument("-d", "--duration", help="stop this long after --start (e.g. 1h30m)")
    parser.add_argument(
        "-z",
        "--zone",
        default="UTC",
        help="zone to show times in, and of --start/--end without one: UTC (default), local, "
        "or a name like America/Edmonton",
    )


def window(args: Any) -> tuple[Any, timestamp | None, timestamp | None]:
    """The zone, start and end the options of :func:`add_window` give (ValueError if bad)."""
    zone = get_zone(args.zone)
    start = None if args.start is None else timestamp(args.start, zone)
    end = None if args.end is None else timestamp(args.end, zone)
    if args.duration is not None:
        if start is None:
            raise ValueError("--duration needs --start")
        end = start + duration(args.duration)
    return zone, start, end
