"""``python -m cpppo.history plot``: draw a history's tags, one subplot each, into a PNG or SVG.

    python -m cpppo.history plot FILE.hst [TAG ...] -o out.png [-z ZONE] [-s START] [-e END|-d DUR]

Each recorded name (or each ``TAG`` given) gets a subplot, one line per element recorded
(``Counts[3]``), over real timestamps shown in ``-z`` (default UTC; ``local`` or a zone name:
the axis follows daylight saving changes). A pause in the records longer than three times the
usual interval, or a failed read, is a gap in the line, not a straight segment across it. BOOLs
(by the type header, or values that are all true/false) are drawn as steps. Text values are not
drawn.

matplotlib is the optional extra ``plot`` (``pip install 'cpppo[plot]'``); without it the
command says so in one line. It draws without a display (the Agg canvas).
"""

from __future__ import annotations

import bisect
import itertools
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

from ..misc import log_setup
from .arguments import Parser, add_window, window
from .files import opener
from .header import read_types
from .reading import history_files, reader
from .times import timestamp
from .zones import get_zone

__all__ = ["Series", "collect", "main", "render"]

#: A pause longer than this many usual intervals is a gap.
GAP_FACTOR = 3.0
#: Most element lines drawn per tag.
MAX_LINES = 16


class Series:
    """One name's samples: ``times`` (UTC timestamps in seconds) and, per element, its values
    (None where it was not recorded); ``failures`` are the times of failed reads."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.times: list[float] = []
        self.elements: dict[int, list[Any]] = {}
        self.failures: list[float] = []

    def add(self, when: float, first: int, values: list) -> None:
        """A record at ``when`` of elements ``first`` on."""
        row = len(self.times)
        self.times.append(when)
        for index, value in enumerate(values, first):
            column = self.elements.get(index)
            if column is None:
                if len(self.elements) >= MAX_LINES:
                    continue
                column = self.elements[index] = [None] * row
            column.append(value)
        for column in self.elements.values():
            if len(column) <= row:
                column.append(None)

    def is_bool(self, kind: str | None) -> bool:
        """True for a BOOL (by its type name, else by its values)."""
        if kind is not None:
            return kind.upper() == "BOOL"
        values = [v for column in self.elements.values() for v in column if v is not None]
        return bool(values) and all(isinstance(v, bool) for v in values)


def collect(path: str, start: Any = None, end: Any = None) -> dict[str, Series]:
    """The numeric series of history ``path`` by name (in the window ``start``..``end``)."""
    series: dict[str, Series] = {}
    for when, key, payload in reader(path, start, end):
        if not (isinstance(key, list) and len(key) == 2 and isinstance(key[0], str)):
            continue
        span = key[1]
        values = payload.get("read", payload.get("write")) if isinstance(payload, dict) else None
        if not (isinstance(span, list) and span and type(span[0]) is int and values):
            continue
        if not isinstance(values, list) or not any(isinstance(v, (int, float)) for v in values):
            continue
        found = series.get(key[0])
        if found is None:
            found = series[key[0]] = Series(key[0])
        found.add(when.value, span[0], values)
    return series


def failures(path: str, series: dict[str, Series]) -> None:
    """Note the failed reads (``PLC I/O Read Tag NAME`` comments) of each series."""
    names = {name.casefold(): s for name, s in series.items()}
    for _, name in history_files(path):
        with opener(name, "rt") as f:
            for line in f:
                if not line.startswith("# ") or "PLC I/O Read" not in line:
                    continue
                stamp, _, text = line[2:].partition(": ")
                words = text.split()
                tag = words[words.index("Tag") + 1].rstrip(":") if "Tag" in words else ""
                target = names.get(tag.split("[")[0].casefold())
                if target is not None:
                    try:
                        target.failures.append(timestamp(stamp).value)
                    except ValueError:
                        continue


def _gaps(times: list[float], failed: list[float]) -> list[int]:
    """Indices after which the line breaks: long pauses, and failed reads between samples."""
    pairs = list(itertools.pairwise(times))
    steps = sorted(b - a for a, b in pairs if b > a)
    if not steps:
        return []
    usual = steps[len(steps) // 2]
    breaks = {i for i, (a, b) in enumerate(pairs) if b - a > GAP_FACTOR * usual}
    for when in failed:
        after = bisect.bisect_left(times, when)  # the failure falls between after-1 and after
        if 0 < after < len(times) and times[after - 1] < when:
            breaks.add(after - 1)
    return sorted(breaks)


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    return math.nan


def render(
    series: Sequence[Series], types: dict[str, Any], output: str, zone: Any, title: str
) -> None:
    """Draw ``series`` (one subplot each) into ``output`` (its suffix picks the format)."""
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 1.0 + 2.0 * len(series)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(series), 1, sharex=True, squeeze=False)[:, 0]
    utc = get_zone("UTC")
    for ax, one in zip(axes, series):
        kind = types.get(one.name)
        steps = one.is_bool(getattr(kind, "type", None))
        breaks = _gaps(one.times, one.failures)
        stamps: list[Any] = []
        rows: list[int | None] = []
        last = 0
        for cut in [*breaks, len(one.times) - 1]:
            stamps += [timestamp(t).datetime(utc) for t in one.times[last : cut + 1]]
            rows += list(range(last, cut + 1))
            if cut < len(one.times) - 1:  # a gap: a point of no value
                stamps.append(timestamp(one.times[cut]).datetime(utc))
                rows.append(None)
            last = cut + 1
        for index, column in sorted(one.elements.items()):
            values = [math.nan if r is None else _number(column[r]) for r in rows]
            label = f"{one.name}[{index}]" if len(one.elements) > 1 or index else one.name
            ax.plot(stamps, values, label=label, drawstyle="steps-post" if steps else "default")
        ax.set_ylabel(one.name if kind is None else f"{one.name}\n{kind}", fontsize=8)
        if steps:
            ax.set_yticks([0, 1], ["0", "1"])
        if len(one.elements) > 1:
            ax.legend(fontsize=7, loc="upper right", ncols=min(len(one.elements), 4))
        ax.grid(True, alpha=0.3)
    locator = mdates.AutoDateLocator(tz=zone)
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=zone))
    axes[-1].set_xlabel(f"time ({getattr(zone, 'key', None) or zone})")
    figure.suptitle(title, fontsize=10)
    figure.savefig(output, dpi=100)


def build_parser() -> Parser:
    """The command line of ``python -m cpppo.history plot``."""
    parser = Parser(
        prog="python -m cpppo.history plot",
        description="Plot the tags of a history file (one subplot each) into a PNG or SVG.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("-o", "--output", required=True, help="the image: out.png or out.svg")
    add_window(parser, "draw")
    parser.add_argument("--title", help="the figure's title (default: the file's name)")
    parser.add_argument("path", help="history file, e.g. plant.hst")
    parser.add_argument("tags", nargs="*", metavar="TAG", help="names to draw (default: all)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``plot``; the exit status (1 without matplotlib, 2 for a bad argument)."""
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)  # TAGs may follow options
    log_setup(args.verbose)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(f"{parser.prog}: needs matplotlib: pip install 'cpppo[plot]'", file=sys.stderr)
        return 1
    if os.path.splitext(args.output)[1].lower() not in (".png", ".svg", ".pdf"):
        parser.error(f"--output {args.output!r}: name a .png or .svg file")
    try:
        zone, start, end = window(args)
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    if not history_files(args.path):
        parser.error(f"no history records at {args.path}")
    series = collect(args.path, start, end)
    failures(args.path, series)
    chosen = list(series.values())
    if args.tags:
        folded = {name.casefold(): s for name, s in series.items()}
        missing = [tag for tag in args.tags if tag.casefold() not in folded]
        if missing:
            parser.error(f"{args.path} has no numbers recorded for {', '.join(missing)}")
        chosen = [folded[tag.casefold()] for tag in args.tags]
    if not chosen:
        parser.error(f"{args.path} has no numbers recorded in that window")
    title = args.title or os.path.basename(args.path)
    render(chosen, read_types(args.path), args.output, zone, title)
    print(f"{args.output}: {len(chosen)} tags from {args.path}", file=sys.stderr)
    return 0
