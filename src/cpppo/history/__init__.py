"""History: trustworthy timestamps, recorded time series (tag I/O) and their playback.

>>> from cpppo.history import timestamp, duration, logger, reader, playback
>>> with logger("tags.hst") as out:                       # doctest: +SKIP
...     out.comment("Started recording Tag: Tag_Name")
...     out.write(["Tag_Name", [0, 3]], {"write": [0, 1, 2, 3]})
>>> for when, key, payload in reader("tags.hst"):          # doctest: +SKIP
...     print(when.render("local"), key, payload)

Time zones use the standard library's ``zoneinfo``; ``tzlocal`` and ``tzdata`` (the ``history``
extra) are imported only when needed.
"""

from .files import COMPRESSORS, format_record, logger, opener, parse_record, rotations
from .reading import history_files, playback, reader
from .times import duration, parse_datetime, parse_seconds, timestamp
from .zones import (
    TimeZoneError,
    format_offset,
    get_zone,
    local_zone,
    parse_offset,
    resolve_abbreviation,
)

__all__ = [
    "COMPRESSORS",
    "TimeZoneError",
    "duration",
    "format_offset",
    "format_record",
    "get_zone",
    "history_files",
    "local_zone",
    "logger",
    "opener",
    "parse_datetime",
    "parse_offset",
    "parse_record",
    "parse_seconds",
    "playback",
    "reader",
    "resolve_abbreviation",
    "rotations",
    "timestamp",
]
