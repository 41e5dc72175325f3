"""Record every read, write and failure of every tag in a history file (docs/poll.md).

    python -m cpppo.server.enip.historize FILE [simulator options] TAG=TYPE[n] ...

runs the simulator of ``python -m cpppo.server.enip`` (same options and tags after FILE) with
:class:`Attribute_historize` for every tag, appending to FILE (a :mod:`cpppo.history` file)::

    # 2014-07-15 22:03:35.945: Started recording Tag: Tag_Name
    # types: {"Tag_Name": {"type": "INT", "dims": [100]}}
    2014-07-15 22:03:44.186	["Tag_Name", [0, 3]]	{"write": [0, 1, 2, 3]}
    2014-07-15 22:03:45.002	["Tag_Name", [2, 2]]	{"read": [2]}

Each record's key is the tag name and the first and last element accessed; its payload the
values read or written. A failed access is recorded as a comment. The ``# types:`` comment is
the history's type header (:mod:`cpppo.history.header`): a simulator replaying the file
(``--replay FILE``) creates the tags it names. ``cpppo.history.reader(FILE)`` reads the records
back. This is also the template for your own customisation: override
``__getitem__`` / ``__setitem__`` of :class:`~.device.Attribute`. Each client's requests may be
served in its own thread, so guard any shared state with a lock (as done here, so the records
come in the order the accesses were applied).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, ClassVar

from cpppo.history import logger
from cpppo.history.header import write_types

from ..main import main as enip_main
from ..main import make_parser
from ..sim.device import Attribute

__all__ = ["Attribute_historize", "historize_class", "main"]

USAGE = "usage: python -m cpppo.server.enip.historize FILE [simulator options] TAG=TYPE[n] ..."
DESCRIPTION = (
    "Simulate a ControlLogix (python -m cpppo.server.enip, same options and tags after FILE) "
    "recording every read, write and failure of every tag in the history FILE (a cpppo.history "
    "file: read it back with python -m cpppo.history FILE, or replay it with --replay FILE)."
)


class Attribute_historize(Attribute):
    """An Attribute that records its reads, writes and failures in ``history`` (a
    :class:`cpppo.history.logger`); use :func:`historize_class` to bind one."""

    history: ClassVar[logger | None] = None

    def __init__(self, *args: Any, **kwds: Any) -> None:
        super().__init__(*args, **kwds)
        if self.history is not None:
            self.history.comment(f"Started recording Tag: {self.name}")
            write_types(self.history, {self.name: (self.parser.name, self.dims)})

    def _span(self, key: int | slice) -> list[int]:
        """``[first, last]`` element indices of ``key`` (an int or a slice)."""
        if isinstance(key, slice):
            start, stop, _ = key.indices(len(self))
            return [start, stop - 1]
        return [key, key]

    def _failed(self, history: logger, kind: str, key: int | slice, exc: BaseException) -> None:
        first: object = key
        last: object = key
        if isinstance(key, slice):  # as asked for (unclipped): it may be what was wrong
            first = key.start or 0
            last = (len(self) if key.stop is None else key.stop) - 1
        history.comment(
            f"PLC I/O {kind:<5} Tag {self.name:>20}[{first!s:>5}-{last!s:<5}] Exception: {exc}"
        )

    def __getitem__(self, key: int | slice) -> Any:
        history = self.history
        if history is None:
            return super().__getitem__(key)
        with self._lock:
            try:
                value = super().__getitem__(key)
            except Exception as exc:
                self._failed(history, "Read", key, exc)
                raise
            values = value if isinstance(key, slice) else [value]
            history.write([self.name, self._span(key)], {"read": list(values)})
        return value

    def __setitem__(self, key: int | slice, value: Any) -> None:
        history = self.history
        if history is None:
            super().__setitem__(key, value)
            return
        with self._lock:
            try:
                super().__setitem__(key, value)
            except Exception as exc:
                self._failed(history, "Write", key, exc)
                raise
            values = list(value) if isinstance(key, slice) else [value]
            history.write([self.name, self._span(key)], {"write": values})


def historize_class(history: logger) -> type[Attribute_historize]:
    """An :class:`Attribute_historize` subclass recording into ``history`` (a logger)."""
    return type("Attribute_historize", (Attribute_historize,), {"history": history})


def main(argv: Sequence[str] | None = None, **kwds: Any) -> int:
    """Run the simulator recording all tag I/O to the FILE given first; see the module doc."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        make_parser(
            "python -m cpppo.server.enip.historize",
            DESCRIPTION,
            usage=USAGE.removeprefix("usage: "),
        ).print_help()
        return 0
    if not args or args[0].startswith("-"):
        print(f"historize: error: the history FILE must come first\n{USAGE}", file=sys.stderr)
        return 2
    path, rest = args[0], args[1:]
    try:
        history = logger(path)
    except (OSError, ValueError) as exc:
        print(f"historize: error: cannot record to {path}: {exc}", file=sys.stderr)
        return 2
    with history:
        return enip_main(rest, attribute_class=historize_class(history), **kwds)


if __name__ == "__main__":
    sys.exit(main())
