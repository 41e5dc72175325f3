"""Trustworthy timestamps and durations.

A :class:`timestamp` is an instant held as integer microseconds since the UNIX epoch. It renders in
UTC (``str()``) or any zone with the locally meaningful abbreviation (``MST``/``MDT``), parses
what it renders, and compares at millisecond resolution. A :class:`duration` is a number of
seconds written like ``1w2d3h4m5.678s``.
"""

from __future__ import annotations

import datetime
import math
import re
import time

from .zones import (
    UTC,
    UTC_NAMES,
    TimeZoneError,
    format_offset,
    get_zone,
    local_zone,
    localize,
    parse_offset,
    resolve_abbreviation,
    zone_name,
)

EPOCH = datetime.datetime(1970, 1, 1)  # naive UTC
EPOCH_UTC = EPOCH.replace(tzinfo=UTC)
MICROSECOND = datetime.timedelta(microseconds=1)
MIN_US = (datetime.datetime.min - EPOCH) // MICROSECOND + 86_400_000_000  # a day of headroom
MAX_US = (datetime.datetime.max - EPOCH) // MICROSECOND - 86_400_000_000  # for any zone

#: ``YYYY-MM-DD[ HH[:MM[:SS[.ffffff]]]] [zone]``; 'T' may separate date and time.
DATETIME_RE = re.compile(
    r"""^\s*(?P<Y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})
        (?:(?:\s+|T)(?P<H>\d{1,2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?)?
        \s*(?P<zone>\S.*?)?\s*$""",
    re.VERBOSE,
)

ZoneSpec = str | datetime.tzinfo | None


def _digits(ms: bool | int) -> int:
    """Fractional-second digits for an ``ms`` argument: True -> 3, False -> 0, or 0..6."""
    if ms is True:
        return 3
    if ms is False:
        return 0
    if isinstance(ms, int) and 0 <= ms <= 6:
        return ms
    raise ValueError(f"ms must be True, False or 0..6 digits, not {ms!r}")


def _round_us(us: int, digits: int) -> int:
    """``us`` rounded (half up) to ``digits`` fractional-second digits."""
    unit = 10 ** (6 - digits)
    return (us + unit // 2) // unit * unit


def parse_datetime(text: str, tzinfo: ZoneSpec = None) -> datetime.datetime:
    """Parse ``YYYY-MM-DD HH:MM:SS.ffffff [zone]`` into an aware datetime (to the nearest µs).

    The optional zone designation may be an abbreviation (``MDT``), a numeric offset
    (``-06:00``), an IANA name (``America/Edmonton``), or an abbreviation followed by an IANA
    name (``MDT America/Edmonton``, what ``tzdetail=True`` renders). Abbreviations are resolved
    against the named zone, else ``tzinfo``, else the local zone. A time with no designation is in
    ``tzinfo`` (default UTC). See :func:`resolve_abbreviation` for what is rejected.
    """
    match = DATETIME_RE.match(text)
    if not match:
        raise ValueError(f"not a date/time (YYYY-MM-DD HH:MM:SS.fff [zone]): {text!r}")
    nanoseconds = int((match["f"] or "").ljust(9, "0"))
    try:
        naive = datetime.datetime(
            int(match["Y"]),
            int(match["mo"]),
            int(match["d"]),
            int(match["H"] or 0),
            int(match["M"] or 0),
            int(match["S"] or 0),
        ) + datetime.timedelta(microseconds=(nanoseconds + 500) // 1000)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"invalid date/time {text!r}: {exc}") from None
    designation = match["zone"]
    if not designation:
        fixed = get_zone(tzinfo)
        return naive.replace(tzinfo=UTC) if fixed is UTC else localize(naive, fixed)
    words = designation.split()
    if len(words) > 2:
        raise ValueError(f"unrecognized time zone designation {designation!r} in {text!r}")
    if len(words) == 2:  # 'MDT America/Edmonton' or '+04:00 Europe/Moscow'
        zone = get_zone(words[1])
        offset = parse_offset(words[0])
        if offset is None:
            return resolve_abbreviation(naive, words[0], zone)
        aware = naive.replace(tzinfo=datetime.timezone(offset))
        if aware.astimezone(zone).utcoffset() != offset:
            raise TimeZoneError(f"{naive} {words[0]} is not a time in zone {zone_name(zone)}")
        return aware
    word = words[0]
    offset = parse_offset(word)
    if offset is not None:
        return naive.replace(tzinfo=datetime.timezone(offset))
    if word.upper() in UTC_NAMES:
        return naive.replace(tzinfo=UTC)
    if "/" in word:
        return localize(naive, get_zone(word))
    given = get_zone(tzinfo) if tzinfo is not None else None
    return resolve_abbreviation(naive, word, local_zone() if given in (None, UTC) else given)


class timestamp:
    """An instant with microsecond resolution; compared and hashed at millisecond resolution.

    ``timestamp()`` is now; ``timestamp(1405461824.186)`` seconds since the epoch;
    ``timestamp(datetime)`` (a naive one is in ``tzinfo``, default UTC); ``timestamp(other)``;
    ``timestamp("2014-07-15 16:03:44.186 MDT")`` (see :func:`parse_datetime`; ``tzinfo`` names the
    zone of undesignated times and abbreviations). Immutable.
    """

    __slots__ = ("_str", "_us")

    #: Comparison resolution in microseconds (1000: times equal to the millisecond are equal).
    RESOLUTION = 1000

    def __init__(
        self,
        value: timestamp | float | int | str | datetime.datetime | None = None,
        tzinfo: ZoneSpec = None,
    ) -> None:
        self._str: str | None = None
        if value is None:
            self._us = time.time_ns() // 1000
        elif isinstance(value, timestamp):
            self._us = value._us
            self._str = value._str
        elif isinstance(value, datetime.datetime):
            if value.tzinfo is None:
                zone = get_zone(tzinfo)
                value = value.replace(tzinfo=zone)
            self._us = (value - EPOCH_UTC) // MICROSECOND
        elif isinstance(value, str):
            self._us = (parse_datetime(value, tzinfo) - EPOCH_UTC) // MICROSECOND
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"a timestamp must be finite, not {value!r}")
            us = round(value * 1_000_000) if isinstance(value, float) else value * 1_000_000
            if not MIN_US <= us <= MAX_US:
                raise ValueError(f"timestamp {value!r} out of range (years 1 to 9999)")
            self._us = us
        else:
            raise TypeError(f"cannot make a timestamp from {type(value).__name__}")

    @classmethod
    def from_us(cls, us: int) -> timestamp:
        """A timestamp from integer microseconds since the epoch."""
        self = cls.__new__(cls)
        self._us = us
        self._str = None
        return self

    # --- values ---------------------------------------------------------------------------------
    @property
    def us(self) -> int:
        """Microseconds since the epoch (exact)."""
        return self._us

    @property
    def value(self) -> float:
        """Seconds since the epoch."""
        return self._us / 1_000_000

    def __float__(self) -> float:
        return self._us / 1_000_000

    def datetime(self, tzinfo: ZoneSpec = None) -> datetime.datetime:
        """This instant as an aware datetime in ``tzinfo`` (default UTC)."""
        return (EPOCH_UTC + self._us * MICROSECOND).astimezone(get_zone(tzinfo))

    # --- rendering ------------------------------------------------------------------------------
    def render(self, tzinfo: ZoneSpec = None, ms: bool | int = True, tzdetail: bool | None = None):
        """Render as ``YYYY-MM-DD HH:MM:SS.mmm`` in ``tzinfo`` (default UTC; ``"local"``, a name).

        ``ms``: True for milliseconds, False for whole seconds, or 0..6 fractional digits (the
        time is rounded, not truncated). ``tzdetail``: None appends the zone's abbreviation
        (nothing in UTC); False the numeric offset (``-06:00``); True the abbreviation and the
        zone's name (``MDT America/Edmonton``). Where the abbreviation would be ambiguous (in the
        repeated hour of a zone that changed offset but not abbreviation) the offset replaces it.
        All of these parse back to the same instant.
        """
        digits = _digits(ms)
        zone = get_zone(tzinfo)
        moment = EPOCH_UTC + _round_us(self._us, digits) * MICROSECOND
        if zone is not UTC:
            moment = moment.astimezone(zone)
        text = (
            f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} "
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
        )
        if digits:
            text += f".{moment.microsecond:06d}"[: digits + 1]
        if tzdetail is False:
            return f"{text} {format_offset(moment.utcoffset() or datetime.timedelta(0))}"
        abbreviation = moment.tzname() or ""
        if abbreviation.startswith(("UTC+", "UTC-")):  # a fixed-offset zone
            abbreviation = abbreviation[3:]
        elif zone is not UTC:
            other = moment.replace(fold=1 - moment.fold)
            if other.utcoffset() != moment.utcoffset() and other.tzname() == abbreviation:
                # The zone changed offset but not abbreviation; only the offset is unambiguous.
                abbreviation = format_offset(moment.utcoffset() or datetime.timedelta(0))
        if tzdetail is None:
            return text if zone is UTC else f"{text} {abbreviation}"
        name = zone_name(zone)
        return f"{text} {abbreviation}" if name == abbreviation else f"{text} {abbreviation} {name}"

    def __str__(self) -> str:
        if self._str is None:
            us = _round_us(self._us, 3)
            text = (EPOCH + us * MICROSECOND).isoformat(" ", "milliseconds")
            self._str = text
        return self._str

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.render(ms=6)!r})"

    @property
    def utc(self) -> str:
        """Rendered in UTC, milliseconds."""
        return str(self)

    @property
    def local(self) -> str:
        """Rendered in the local zone with its abbreviation, milliseconds."""
        return self.render(tzinfo=local_zone())

    # --- comparison and arithmetic --------------------------------------------------------------
    @classmethod
    def _key_of(cls, other: object) -> int | None:
        """``other``'s microseconds rounded to the comparison resolution, or None."""
        if isinstance(other, timestamp):
            us = other._us
        elif isinstance(other, (int, float)) and not isinstance(other, bool):
            us = round(other * 1_000_000)
        else:
            return None
        resolution = cls.RESOLUTION
        return (us + resolution // 2) // resolution

    def _key(self) -> int:
        resolution = self.RESOLUTION
        return (self._us + resolution // 2) // resolution

    def __eq__(self, other: object) -> bool:
        key = self._key_of(other)
        return NotImplemented if key is None else self._key() == key

    def __ne__(self, other: object) -> bool:
        key = self._key_of(other)
        return NotImplemented if key is None else self._key() != key

    def __lt__(self, other: object) -> bool:
        key = self._key_of(other)
        return NotImplemented if key is None else self._key() < key

    def __le__(self, other: object) -> bool:
        key = self._key_of(other)
        return NotImplemented if key is None else self._key() <= key

    def __gt__(self, other: object) -> bool:
        key = self._key_of(other)
        return NotImplemented if key is None else self._key() > key

    def __ge__(self, other: object) -> bool:
        key = self._key_of(other)
        return NotImplemented if key is None else self._key() >= key

    def __hash__(self) -> int:
        return hash(self._key())

    @staticmethod
    def _seconds_us(delta: object) -> int | None:
        """Microseconds in a number of seconds or a timedelta, or None."""
        if isinstance(delta, datetime.timedelta):
            return delta // MICROSECOND
        if isinstance(delta, (int, float)) and not isinstance(delta, bool):
            if isinstance(delta, float) and not math.isfinite(delta):
                raise ValueError(f"cannot shift a timestamp by {delta!r}")
            return round(delta * 1_000_000)
        return None

    def _shifted(self, us: int) -> timestamp:
        if not MIN_US <= us <= MAX_US:
            raise ValueError("timestamp out of range (years 1 to 9999)")
        return type(self).from_us(us)

    def __add__(self, delta: object) -> timestamp:
        us = self._seconds_us(delta)
        return NotImplemented if us is None else self._shifted(self._us + us)

    __radd__ = __add__

    def __sub__(self, other: object):
        """``ts - seconds`` is a timestamp; ``ts2 - ts1`` is float seconds (exact to the µs)."""
        if isinstance(other, timestamp):
            return (self._us - other._us) / 1_000_000
        us = self._seconds_us(other)
        return NotImplemented if us is None else self._shifted(self._us - us)


#: Seconds in each duration unit, largest first.
DURATION_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
DURATION_RE = re.compile(
    r"^\s*(?P<sign>[+-])?\s*(?:(?P<w>\d+(?:\.\d*)?|\.\d+)\s*w\s*)?"
    r"(?:(?P<d>\d+(?:\.\d*)?|\.\d+)\s*d\s*)?(?:(?P<h>\d+(?:\.\d*)?|\.\d+)\s*h\s*)?"
    r"(?:(?P<m>\d+(?:\.\d*)?|\.\d+)\s*m\s*)?(?:(?P<s>\d+(?:\.\d*)?|\.\d+)\s*s\s*)?$",
    re.IGNORECASE,
)


class duration(float):
    """A number of seconds, parsed from and rendered as ``1w2d3h4m5.678s`` (units w d h m s, in
    that order, each optional; or a bare number of seconds).

    A float: ``timestamp + duration("1h")`` works. ``str()`` renders to milliseconds.
    """

    def __new__(cls, value: str | float | int | datetime.timedelta = 0.0) -> duration:
        if isinstance(value, str):
            return super().__new__(cls, parse_seconds(value))
        if isinstance(value, datetime.timedelta):
            return super().__new__(cls, value.total_seconds())
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"cannot make a duration from {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"a duration must be finite, not {value!r}")
        return super().__new__(cls, value)

    def render(self, ms: bool | int = True) -> str:
        """Render as ``1w2d3h4m5.678s`` rounded to ``ms`` fractional digits (True: 3)."""
        digits = _digits(ms)
        scale = 10**digits
        units = math.floor(abs(float(self)) * scale + 0.5)  # half up, like timestamps
        if units == 0:
            return "0s"
        parts = ["-"] if self < 0 else []
        for name, seconds in DURATION_UNITS[:-1]:
            count, units = divmod(units, seconds * scale)
            if count:
                parts.append(f"{count}{name}")
        if units:
            whole, fraction = divmod(units, scale)
            text = str(whole)
            if fraction:
                text += "." + f"{fraction:0{digits}d}".rstrip("0")
            parts.append(text + "s")
        return "".join(parts)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"duration({self.render(ms=6)!r})"


def parse_seconds(text: str | float | int) -> float:
    """Seconds in a duration such as ``1h30m``, ``1w2d3h4m5.678s``, ``-5m`` or ``2.5``."""
    if not isinstance(text, str):
        return float(duration(text))
    try:
        seconds = float(text)  # a bare number of seconds
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise ValueError(f"a duration must be finite, not {text!r}")
        return seconds
    match = DURATION_RE.match(text)
    if not match or not text.strip() or not any(match[name] for name, _ in DURATION_UNITS):
        raise ValueError(f"not a duration (like 1w2d3h4m5.678s): {text!r}")
    total = sum(float(match[name]) * seconds for name, seconds in DURATION_UNITS if match[name])
    return -total if match["sign"] == "-" else total


__all__ = [
    "TimeZoneError",
    "duration",
    "parse_datetime",
    "parse_seconds",
    "timestamp",
]
