"""Reading histories: the files of a history in time order, their records from a start to an
end, and playback at a pace (the format and the writing are :mod:`.files`)."""

from __future__ import annotations

import datetime
import json
import logging
import lzma
import os
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from json import scanner
from typing import IO, Any

from .files import Record, compression, first_record_us, opener, parse_record, rotations
from .times import EPOCH, MICROSECOND, ZoneSpec, timestamp

__all__ = ["history_files", "playback", "reader"]

log = logging.getLogger(__name__)


def history_files(path: str | os.PathLike[str]) -> list[tuple[timestamp, str]]:
    """The files of history ``path`` with records, in time order: ``[(first timestamp, name)]``.

    ``path`` and its rotations ``path.N[.gz|.bz2|.xz]``; where both ``path.N`` and a compressed
    ``path.N.gz`` exist (compression interrupted), the uncompressed one is used.
    """
    path = os.fspath(path)
    chosen: dict[int, str] = {}
    for number, name in rotations(path):
        if number not in chosen or compression(chosen[number]):
            chosen[number] = name
    candidates = [(0, path)] if os.path.exists(path) else []
    candidates += sorted(chosen.items())
    ordered = []
    for number, name in candidates:
        us = first_record_us(name)
        if us is not None:
            ordered.append((us, -number, name))
    ordered.sort()
    return [(timestamp.from_us(us), name) for us, _, name in ordered]


class reader:
    """Iterate the records of a history and its rotations in time order: ``(timestamp, key,
    payload)``, from ``start`` (inclusive) to ``end`` (exclusive).

    ``start``/``end``: anything :class:`timestamp` accepts (strings are in ``tzinfo``, default
    UTC). Malformed lines and a torn last line are skipped with a warning (counted in ``.skipped``)
    unless ``strict``, which raises ValueError. Iterating again re-reads the files.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        start: Any = None,
        end: Any = None,
        *,
        tzinfo: ZoneSpec = None,
        strict: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.start = None if start is None else timestamp(start, tzinfo)
        self.end = None if end is None else timestamp(end, tzinfo)
        self.strict = strict
        self.skipped = 0

    def files(self) -> list[str]:
        """The files to read, oldest first, beginning with the one holding ``start``."""
        return [name for _, _, name, _ in self._entries()]

    def _entries(self) -> list[tuple[int, int, str, tuple[int, int]]]:
        """``(first us, rotation number, name, (device, inode))`` of the files to read."""
        found = []
        for first, name in history_files(self.path):
            try:
                info = os.stat(name)
            except FileNotFoundError:
                continue  # rotated away since listed
            found.append((first.us, 0, name, (info.st_dev, info.st_ino)))
        if self.start is not None:
            later = [i for i, entry in enumerate(found) if entry[0] > self.start.us]
            begin = (later[0] if later else len(found)) - 1
            found = found[max(begin, 0) :]
        return found

    def _locate(
        self, first_us: int, name: str, identity: tuple[int, int]
    ) -> tuple[str, tuple[int, int]] | None:
        """Where the file listed as ``name`` is now, and its identity (device, inode).

        The history may have rotated since it was listed, renaming the file (same inode) and
        compressing it (a new file); either way its first record is the same. An inode alone is
        not enough: a removed file's inode is soon reused.
        """
        try:
            info = os.stat(name)
        except FileNotFoundError:
            pass
        else:  # most likely it is still there
            if (info.st_dev, info.st_ino) == identity and first_record_us(name) == first_us:
                return name, identity
        names = [self.path] + [rotated for _, rotated in rotations(self.path)]
        found = []
        for candidate in names:
            try:
                info = os.stat(candidate)
            except FileNotFoundError:
                continue
            found.append((candidate, (info.st_dev, info.st_ino)))
        found.sort(key=lambda item: item[1] != identity)  # the same inode first
        for candidate, where in found:
            if first_record_us(candidate) == first_us:
                return candidate, where
        return None

    def _open(self, first_us: int, name: str, identity: tuple[int, int]) -> IO[str] | None:
        """Open a listed file wherever it is now, or None (with a warning) if it is gone."""
        for _ in range(3):  # a rotation may move it between locating and opening
            located = self._locate(first_us, name, identity)
            if located is None:
                break
            try:
                f = opener(located[0], "rt")
            except FileNotFoundError:
                continue
            info = os.fstat(f.fileno())
            if (info.st_dev, info.st_ino) == located[1]:
                return f
            f.close()
        log.warning("%s: removed while reading the history", name)
        return None

    def _bad(self, name: str, lineno: int, line: str, problem: str) -> None:
        if self.strict:
            raise ValueError(f"{name}:{lineno}: {problem}: {line[:80]!r}")
        self.skipped += 1
        log.warning("%s:%d: skipped %s: %.80r", name, lineno, problem, line)

    def __iter__(self) -> Iterator[Record]:
        self.skipped = 0
        start_us = -(1 << 62) if self.start is None else self.start.us  # beyond any datetime
        end_us = 1 << 62 if self.end is None else self.end.us
        for first_us, _, name, identity in self._entries():
            f = self._open(first_us, name, identity)
            if f is None:
                continue
            with f:
                try:
                    for stamp, key, payload in self._records(f, name):
                        us = stamp._us
                        if us < start_us:
                            continue
                        if us >= end_us:
                            return
                        yield stamp, key, payload
                except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
                    if self.strict:
                        raise ValueError(f"{name}: unreadable: {exc}") from None
                    self.skipped += 1
                    log.warning("%s: skipped the rest, unreadable: %s", name, exc)

    def _records(self, f: IO[str], name: str) -> Iterator[Record]:
        """Yield the records of one open file (skipping, or in strict mode failing, bad lines)."""
        decoder: Any = json.JSONDecoder()  # typeshed types make_scanner's context as itself
        scan = scanner.make_scanner(decoder)
        fromisoformat = datetime.datetime.fromisoformat
        new = object.__new__
        cls = timestamp
        for lineno, line in enumerate(f, 1):
            first = line[0]
            if first == "#" or first == "\n":
                continue
            try:  # the fast path, for lines as the logger writes them
                tab = line.index("\t")
                text = line[:tab]
                us = (fromisoformat(text) - EPOCH) // MICROSECOND
                key, at = scan(line, tab + 1)
                if line[at] != "\t":
                    raise ValueError
                payload, at = scan(line, at + 1)
                if at != len(line) - 1:  # anything but the newline after the payload
                    raise ValueError
                stamp = new(cls)
                stamp._us = us
                stamp._str = text if tab == 23 and text[10] == " " else None
            except (ValueError, TypeError, IndexError, StopIteration, RecursionError):
                try:
                    record = parse_record(line)
                except ValueError as exc:
                    self._bad(name, lineno, line, str(exc))
                    continue
                if record is None:
                    continue
                stamp, key, payload = record
            yield stamp, key, payload


def playback(
    records: Iterable[Record],
    factor: float = 1.0,
    *,
    start: Any = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Record]:
    """Yield ``records`` as their time comes, at ``factor`` times real speed.

    ``factor=10`` replays an hour in six minutes; ``factor=0`` yields as fast as possible. Time
    runs from ``start`` (default: the first record's time), which is "now" when iteration begins.
    """
    if factor < 0 or factor != factor:
        raise ValueError(f"playback factor must be >= 0, not {factor!r}")
    if factor == 0:
        yield from records
        return
    basis = None if start is None else timestamp(start)
    began = None
    for record in records:
        if began is None:
            began = clock()
            if basis is None:
                basis = record[0]
        due = began + (record[0] - basis) / factor
        delay = due - clock()
        if delay > 0:
            sleep(delay)
        yield record
