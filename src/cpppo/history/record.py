"""``python -m cpppo.history record``: poll tags of a controller into one history file.

    python -m cpppo.history record -a HOST[:PORT] -i SECONDS -o FILE.hst TAG [TAG ...]

Every ``-i`` seconds (on a fixed grid; polls that would start late are skipped, not bunched)
the tags are read with cpppo's EtherNet/IP client, pipelined, and each value read is appended
as a record ``[name, [first, last]]  {"read": [values]}`` -- the shape ``historize`` writes, so
``--replay`` and ``plot`` take either. ``TAG`` is any path the client reads (``Tank.Level``,
``Counts[0-9]``, ``Flags[3]``): the name is the path without a trailing ``[i]``/``[i-j]``, which
gives the first element. A tag's type, from its first successful reply, goes into the history's
type header (:mod:`.header`). A failed read is a comment; a lost connection is a comment, and the
next poll connects again.

``-n COUNT`` polls, or ``-d DURATION`` (``30s``, ``1h``), bound the recording; without either
it runs until interrupted. Exit status 0, 1 if no poll succeeded, 2 for a bad argument.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from collections.abc import Sequence
from typing import Any

from ..misc import log_setup, parse_address
from ..server.enip.client import DEFAULT_PORT, ClientError, connector, parse_operations
from ..server.enip.codec.types import STRING_HANDLE, STRUCT_CODE, TYPES_BY_CODE
from .arguments import Parser
from .files import logger
from .header import TagType, write_types
from .times import duration

__all__ = ["main", "record_name", "reply_type"]

log = logging.getLogger("cpppo.history")

_INDEXED = re.compile(r"^(.*?)\[(\d+)(?:-(\d+))?\]$")
#: CIP type codes whose name the tag database knows by another name.
_RENAMED = {0xD0: "CIP_STRING"}


def record_name(tag: str) -> tuple[str, int]:
    """The record name of path ``tag`` and its first element: ``Counts[3-5]`` -> ``("Counts",
    3)``; a path without a trailing single index is its own name, element 0."""
    found = _INDEXED.match(tag.strip())
    if found:
        return found[1], int(found[2])
    return tag.strip(), 0


def reply_type(data: Any) -> str | None:
    """The type name of a Read Tag reply's data (its type code first), or None for a structure
    other than STRING (its layout is not in the reply)."""
    if len(data) < 2:
        return None
    code = data[0] | data[1] << 8
    if code == STRUCT_CODE:
        handle = data[2] | data[3] << 8 if len(data) >= 4 else None
        return "STRING" if handle == STRING_HANDLE else None
    kind = TYPES_BY_CODE.get(code)
    return None if kind is None else _RENAMED.get(code, kind.name)


def _jsonable(values: Any) -> Any:
    if isinstance(values, (bytes, bytearray, memoryview)):
        return bytes(values).hex()
    if isinstance(values, (list, tuple)):
        return [_jsonable(v) for v in values]
    return values


class Recorder:
    """Poll ``tags`` of the controller at ``address`` into ``history`` (a logger)."""

    def __init__(
        self, history: Any, address: tuple[str, int], tags: Sequence[str], timeout: float
    ) -> None:
        self.history = history
        self.address = address
        self.tags = list(tags)
        self.timeout = timeout
        self.operations = list(parse_operations(self.tags))
        self.names = [record_name(tag) for tag in self.tags]
        self.typed: set[int] = set()
        self.connection: Any = None
        self.records = self.failures = 0

    def poll(self) -> bool:
        """One poll of every tag; True when every read succeeded."""
        try:
            if self.connection is None:
                self.connection = connector(*self.address, timeout=self.timeout)
            results = list(self.connection.pipeline(self.operations, depth=len(self.operations)))
        except (ClientError, OSError) as exc:
            self.close()
            self.failures += 1
            self.history.comment(f"Poll of {self.address[0]}:{self.address[1]} failed: {exc}")
            return False
        ok = True
        types: dict[str, TagType] = {}
        for index, (_, _, _, reply, status, values) in enumerate(results):
            name, first = self.names[index]
            if status or values is None:
                ok = False
                self.failures += 1
                self.history.comment(f"PLC I/O Read Tag {self.tags[index]}: status {status}")
                continue
            if index not in self.typed:
                kind = reply_type(reply.data)
                if kind is not None:
                    count = len(values) if isinstance(values, list) else 1
                    last = first + count - 1
                    types[name] = TagType(kind, (last + 1,) if last else ())
                self.typed.add(index)
            values = _jsonable(values if isinstance(values, list) else [values])
            self.history.write([name, [first, first + len(values) - 1]], {"read": values})
            self.records += 1
        write_types(self.history, types)
        if any(isinstance(r[4], BaseException) for r in results):
            self.close()
        return ok

    def close(self) -> None:
        """Drop the connection (the next poll connects again)."""
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except OSError:
                pass


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m cpppo.history record``."""
    parser = Parser(
        prog="python -m cpppo.history record",
        description="Poll tags of an EtherNet/IP controller into a history file.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("-a", "--address", required=True, help="HOST[:PORT] of the controller")
    parser.add_argument(
        "-i", "--interval", type=float, default=1.0, help="seconds between polls (default 1)"
    )
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="history to write")
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument("-n", "--count", type=int, help="stop after this many polls")
    bound.add_argument("-d", "--duration", help="stop after this long (e.g. 30s, 1h)")
    parser.add_argument(
        "-t", "--timeout", type=float, default=5.0, help="seconds to wait for a reply (default 5)"
    )
    parser.add_argument("tags", nargs="+", metavar="TAG", help="tag paths, e.g. Tank.Level")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the recorder; the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    log_setup(args.verbose)
    try:
        address = parse_address(args.address, DEFAULT_PORT)
        seconds = None if args.duration is None else duration(args.duration)
        if not args.interval > 0:
            raise ValueError("--interval must be > 0 seconds")
        if args.count is not None and args.count < 1:
            raise ValueError("--count must be at least 1")
        history = logger(args.output)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    try:
        with history:
            recorder = Recorder(
                history, (address[0] or "localhost", address[1]), args.tags, args.timeout
            )
            history.comment(f"Recording {' '.join(args.tags)} from {args.address}")
            polls = good = 0
            began = time.monotonic()
            due = began
            try:
                while args.count is None or polls < args.count:
                    if seconds is not None and time.monotonic() - began >= seconds:
                        break
                    good += recorder.poll()
                    polls += 1
                    due += args.interval
                    now = time.monotonic()
                    if now > due:  # late: skip to the next grid point
                        due += (now - due) // args.interval * args.interval + args.interval
                    if args.count is None or polls < args.count:
                        time.sleep(max(0.0, due - now))
            except KeyboardInterrupt:
                pass
            finally:
                recorder.close()
    except ValueError as exc:  # a tag path the client cannot parse
        parser.error(str(exc))
    print(
        f"{args.output}: {polls} polls, {recorder.records} records, {recorder.failures} failures",
        file=sys.stderr,
    )
    return 0 if good else 1
