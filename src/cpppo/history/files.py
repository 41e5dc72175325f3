"""History files: the record format; append timestamped records, rotate and compress them
(reading them back in time order, and replaying, is :mod:`.reading`).

A history file (``name.hst``) holds text lines ``<timestamp>\\t<json key>\\t<json payload>\\n``
(the timestamp in UTC, ``YYYY-MM-DD HH:MM:SS.mmm``) and ``# comment`` lines. Rotated files are
``name.hst.1``, ``name.hst.2``, … (``1`` the most recent), each possibly compressed (``.gz``,
``.bz2``, ``.xz``).
"""

from __future__ import annotations

import bz2
import gzip
import json
import logging
import lzma
import os
import re
import shutil
import threading
import time
import zlib
from collections.abc import Callable
from typing import IO, Any

from .times import (
    EPOCH,
    MICROSECOND,
    _digits,
    _round_us,
    parse_seconds,
    timestamp,
)

log = logging.getLogger(__name__)

#: Suffix -> opener of each supported compression.
COMPRESSORS: dict[str, Callable[..., IO[Any]]] = {
    ".gz": gzip.open,
    ".bz2": bz2.open,
    ".xz": lzma.open,
}
#: Default compression level (gzip, bzip2) or preset (xz) of rotated files.
COMPRESS_LEVELS = {".gz": 6, ".bz2": 9, ".xz": 2}  # xz -6 is ~10x slower than -2 here

Record = tuple[timestamp, Any, Any]


def _unserializable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_c_encoder = getattr(json.encoder, "c_make_encoder", None)
_encoder = (
    None
    if _c_encoder is None
    else _c_encoder(
        None,
        _unserializable,
        json.encoder.encode_basestring_ascii,
        None,
        ": ",
        ", ",
        False,
        False,
        True,
    )
)


def encode_json(value: Any) -> str:
    """``json.dumps(value)`` (ASCII, no newlines), faster: the C encoder, made once."""
    if _encoder is None:
        return json.dumps(value)
    try:
        return "".join(_encoder(value, 0))
    except RecursionError:
        raise ValueError("Circular reference (or too deep nesting) in a JSON value") from None


def compression(path: str) -> str:
    """The compression suffix of ``path`` (``.gz``, ``.bz2``, ``.xz``), or ``""``."""
    _, ext = os.path.splitext(path)
    return ext if ext in COMPRESSORS else ""


def opener(path: str | os.PathLike[str], mode: str = "rt", level: int | None = None) -> IO[Any]:
    """Open ``path``, (de)compressing by its suffix; text modes use UTF-8 and ``\\n`` lines."""
    path = os.fspath(path)
    ext = compression(path)
    text: dict[str, Any] = {}
    if "b" not in mode:  # invalid UTF-8 read as \\x.. escapes: such a line is not valid JSON
        text = {"encoding": "utf-8", "newline": "\n"}
        if "r" in mode and "+" not in mode:
            text["errors"] = "backslashreplace"
    if not ext:
        return open(path, mode, **text)
    kwargs: dict[str, Any] = dict(text)
    if level is not None and any(c in mode for c in "wax"):
        kwargs["preset" if ext == ".xz" else "compresslevel"] = level
    return COMPRESSORS[ext](path, mode, **kwargs)


def rotations(path: str | os.PathLike[str]) -> list[tuple[int, str]]:
    """Rotated files of history ``path``: ``[(n, 'path.n[.gz|.bz2|.xz]'), …]`` sorted by n."""
    path = os.fspath(path)
    directory, base = os.path.split(path)
    pattern = re.compile(re.escape(base) + r"\.(\d+)(\.gz|\.bz2|\.xz)?")
    found = []
    try:
        entries = os.listdir(directory or ".")
    except FileNotFoundError:
        return []
    for name in entries:
        match = pattern.fullmatch(name)
        if match:
            found.append((int(match[1]), os.path.join(directory, name)))
    return sorted(found)


def format_record(key: Any, payload: Any, now: timestamp) -> str:
    """One history line (with its newline) for ``key`` and ``payload`` at ``now``."""
    return f"{now}\t{encode_json(key)}\t{encode_json(payload)}\n"


def parse_record(line: str) -> Record | None:
    """Parse one history line: ``(timestamp, key, payload)``, or None for a comment or blank line.

    Raises ValueError for a malformed line (including one missing its newline, i.e. torn).
    """
    if not line.endswith("\n"):
        raise ValueError("incomplete line (no newline)")
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    fields = line.split("\t", 2)
    if len(fields) != 3:
        raise ValueError("expected <timestamp>\\t<json key>\\t<json payload>")
    try:
        return timestamp(fields[0]), json.loads(fields[1]), json.loads(fields[2])
    except (TypeError, RecursionError) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from None


class logger:
    """Append records to a history file; thread-safe.

    ``logger(path)``; ``.write(key, payload, now=None)`` appends one record (JSON-serializable key
    and payload) and returns its timestamp; ``.comment(text)``; ``.close()``; a context manager.

    Each record is written to the OS with a single ``write()`` as it arrives (``O_APPEND``, so
    processes may share a file). ``fsync``: False (never), True (after every record) or seconds
    (at the first record that many seconds after the last sync, and at rotation/close).
    ``rotate_bytes``/``rotate_age`` (seconds or a duration like ``"1d"``, measured from the
    file's first record) rotate ``path`` to ``path.1`` (shifting older ones up, keeping ``keep``
    of them if given) and compress it (``compress``: ``"gz"``, ``"bz2"``, ``"xz"`` or None) in a
    background thread, so writers are not held up; ``close()`` waits for it.
    ``ms``: timestamp fractional digits (True: 3; up to 6).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: bool | float = False,
        rotate_bytes: int | None = None,
        rotate_age: float | str | None = None,
        keep: int | None = None,
        compress: str | None = "gz",
        compress_level: int | None = None,
        ms: bool | int = True,
    ) -> None:
        self.path = os.fspath(path)
        if compression(self.path):
            raise ValueError(f"a history being written cannot be compressed: {self.path}")
        if compress is not None and "." + compress.lstrip(".") not in COMPRESSORS:
            raise ValueError(f"compress must be one of gz, bz2, xz or None, not {compress!r}")
        self.compress = None if compress is None else "." + compress.lstrip(".")
        self.compress_level = compress_level
        if rotate_bytes is not None and rotate_bytes <= 0:
            raise ValueError("rotate_bytes must be positive")
        self.rotate_bytes = rotate_bytes
        self.rotate_age = None if rotate_age is None else parse_seconds(rotate_age)
        if self.rotate_age is not None and self.rotate_age <= 0:
            raise ValueError("rotate_age must be positive")
        if keep is not None and keep < 0:
            raise ValueError("keep must be >= 0")
        self.keep = keep
        self._rotating = rotate_bytes is not None or self.rotate_age is not None
        if fsync is True:
            self._fsync_every: float | None = 0.0
        elif fsync is False or fsync is None:
            self._fsync_every = None
        elif fsync > 0:
            self._fsync_every = float(fsync)
        else:
            raise ValueError("fsync must be True, False or a positive number of seconds")
        self._digits = _digits(ms)
        self._lock = threading.Lock()
        self._compressor: threading.Thread | None = None  # compressing the last rotated file
        self._file: IO[bytes] | None = None
        self._size = 0
        self._first_us: int | None = None  # first record of the current file, for rotate_age
        self._unsynced = False
        self._synced_at = time.monotonic()
        self._torn = False  # a failed write may have left a partial line
        self._second: int | None = None  # cache: rendered 'YYYY-MM-DD HH:MM:SS' of this second
        self._prefix = ""
        self._open()

    # --- file handling (call with the lock held) ------------------------------------------------
    def _open(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        self._file = open(fd, "ab", buffering=0)  # noqa: SIM115 (lives as long as the logger)
        self._size = os.fstat(fd).st_size
        self._first_us = None
        self._torn = False
        if self._size:
            with open(self.path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    log.warning("%s: ends in an incomplete line; it will be skipped", self.path)
                    self._torn = True
            if self.rotate_age is not None:
                self._first_us = first_record_us(self.path)

    def _write(self, data: bytes, done: int = 0) -> None:
        """Write ``data[done:]`` (after a newline, if a failed write may have torn a line)."""
        assert self._file is not None
        if self._torn and not done:
            data = b"\n" + data
        view = memoryview(data)[done:]
        self._torn = True  # until all of it is written
        while view:
            written = self._file.write(view)
            if not written:
                raise OSError(f"{self.path}: write made no progress")
            view = view[written:]
        self._torn = False
        self._size += len(data)
        self._unsynced = True

    def _sync(self) -> None:
        if self._file is not None and self._unsynced:
            os.fsync(self._file.fileno())
        self._unsynced = False
        self._synced_at = time.monotonic()

    def _maybe_sync(self) -> None:
        every = self._fsync_every
        if every is not None and (every == 0 or time.monotonic() - self._synced_at >= every):
            self._sync()

    def _rotate(self) -> str | None:
        """Move the current file to ``path.1`` (older ones up) and start afresh; start compressing
        ``path.1`` in the background. The rotated file's final name, or None if nothing to rotate.
        """
        assert self._file is not None
        if not self._size:
            return None
        self._settle()  # a previous compression must finish before its file is renamed
        if self._fsync_every is not None:
            self._sync()
        self._file.close()
        self._file = None
        try:
            rotated = None
            for number, name in reversed(rotations(self.path)):
                if self.keep is not None and number >= self.keep:
                    os.remove(name)
                    continue
                os.replace(name, f"{self.path}.{number + 1}{compression(name)}")
            if self.keep == 0:
                os.remove(self.path)
            else:
                rotated = f"{self.path}.1"
                os.replace(self.path, rotated)
                if self.compress:
                    self._compressor = threading.Thread(
                        target=self._compress,
                        args=(rotated,),
                        name=f"compress {os.path.basename(rotated)}",
                        daemon=False,
                    )
                    self._compressor.start()
                    rotated += self.compress
        finally:
            self._open()
        return rotated

    def _settle(self) -> None:
        """Wait for a background compression to finish."""
        compressor, self._compressor = self._compressor, None
        if compressor is not None:
            compressor.join()

    def _compress(self, name: str) -> None:
        """Compress ``name`` to ``name.<ext>`` atomically (via a temporary file), then remove it.

        Runs in its own thread; on failure ``name`` stays, uncompressed (and readable).
        """
        assert self.compress is not None
        target = name + self.compress
        temporary = target + ".tmp"
        level = self.compress_level
        if level is None:
            level = COMPRESS_LEVELS[self.compress]
        try:
            with open(name, "rb") as src:
                kwargs = {"preset" if self.compress == ".xz" else "compresslevel": level}
                with COMPRESSORS[self.compress](temporary, "wb", **kwargs) as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            os.replace(temporary, target)
            os.remove(name)
        except Exception as exc:
            log.error("%s: compression failed; left uncompressed: %s", name, exc)
            try:
                os.remove(temporary)
            except OSError:
                pass

    def _stamp(self, us: int) -> str:
        """``us`` rendered in UTC at this logger's precision (caching the whole-second part)."""
        digits = self._digits
        if digits != 3:
            us = _round_us(us, digits)
        else:
            us = (us + 500) // 1000 * 1000
        second, fraction = divmod(us, 1_000_000)
        if second != self._second:
            self._prefix = (EPOCH + second * 1_000_000 * MICROSECOND).isoformat(" ")
            self._second = second
        if digits == 3:
            return f"{self._prefix}.{fraction // 1000:03d}"
        if not digits:
            return self._prefix
        return f"{self._prefix}.{fraction:06d}"[: 20 + digits]

    def _due(self, us: int, size: int) -> bool:
        if not self._size:
            return False
        if self.rotate_bytes is not None and self._size + size > self.rotate_bytes:
            return True
        age = self.rotate_age
        return age is not None and self._first_us is not None and us - self._first_us >= age * 1e6

    def _append(self, now: Any, prefix: str | None, body: str, record: bool) -> timestamp:
        """Write ``prefix + <time> + body`` (just ``body`` if ``prefix`` is None) at ``now``.

        The current time is taken under the lock, so records without ``now`` are in time order.
        """
        when = None if now is None else now if isinstance(now, timestamp) else timestamp(now)
        with self._lock:
            if self._file is None:
                raise ValueError(f"history logger {self.path} is closed")
            if when is None:
                when = timestamp.from_us(time.time_ns() // 1000)
            us = when.us
            text = body if prefix is None else f"{prefix}{self._stamp(us)}{body}"
            data = text.encode()
            if self._due(us, len(data)):
                self._rotate()
            self._write(data)
            if record and self._first_us is None:
                self._first_us = us
            self._maybe_sync()
        return when

    # --- public API -----------------------------------------------------------------------------
    def write(self, key: Any, payload: Any, now: timestamp | float | None = None) -> timestamp:
        """Append the record ``key``, ``payload`` at ``now`` (default: the current time); its
        timestamp. Raises TypeError/ValueError (writing nothing) if either isn't JSON-able."""
        body = f"\t{encode_json(key)}\t{encode_json(payload)}\n"
        if now is not None and not isinstance(now, timestamp):
            now = timestamp(now)
        with self._lock:
            file = self._file
            if file is None:
                raise ValueError(f"history logger {self.path} is closed")
            if now is None:  # taken under the lock, so records are in time order
                now = timestamp.from_us(time.time_ns() // 1000)
            us = now._us
            data = (self._stamp(us) + body).encode()
            size = len(data)
            if self._rotating and self._due(us, size):
                self._rotate()
                file = self._file
            if self._torn:
                self._write(data)
            else:
                try:
                    written = file.write(data)  # type: ignore[union-attr]
                except BaseException:
                    self._torn = True
                    raise
                if written != size:
                    self._write(data, written or 0)  # the rest of a short write
                else:
                    self._size += size
                    self._unsynced = True
            if self._first_us is None:
                self._first_us = us
            if self._fsync_every is not None:
                self._maybe_sync()
        return now

    def comment(self, text: str, now: timestamp | float | None = None, stamp: bool = True) -> None:
        """Append ``# <timestamp>: text`` (each further line of ``text`` as ``# …``)."""
        lines = str(text).splitlines() or [""]
        if stamp:
            rest = "".join(f"# {line}\n" for line in lines[1:])
            self._append(now, "# ", f": {lines[0]}\n{rest}", False)
        else:
            self._append(now, None, "".join(f"# {line}\n" for line in lines), False)

    def rotate(self) -> str | None:
        """Rotate now and wait for the compression; the rotated file's name, or None if there was
        nothing to rotate."""
        with self._lock:
            if self._file is None:
                raise ValueError(f"history logger {self.path} is closed")
            rotated = self._rotate()
            compressor = self._compressor
        if compressor is not None:
            compressor.join()
        return rotated

    def sync(self) -> None:
        """``fsync`` the file now."""
        with self._lock:
            self._sync()

    @property
    def closed(self) -> bool:
        """True once closed."""
        return self._file is None

    def close(self) -> None:
        """Sync (if fsync was asked for) and close; idempotent."""
        with self._lock:
            if self._file is None:
                return
            try:
                if self._fsync_every is not None:
                    self._sync()
            finally:
                self._file.close()
                self._file = None
                self._settle()

    def __enter__(self) -> logger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self._size} bytes"
        return f"<logger {self.path!r} {state}>"


def first_record_us(path: str) -> int | None:
    """Microseconds of the first valid record of ``path``, or None if it has none."""
    try:
        with opener(path, "rt") as f:
            for line in f:
                try:
                    record = parse_record(line)
                except ValueError:
                    continue
                if record is not None:
                    return record[0].us
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        log.warning("%s: unreadable: %s", path, exc)
    return None


__all__ = [
    "COMPRESSORS",
    "compression",
    "encode_json",
    "first_record_us",
    "format_record",
    "logger",
    "opener",
    "parse_record",
    "rotations",
]
