"""Time zones: the local zone, zone look-up by name, and time zone abbreviation resolution.

Uses the standard library's :mod:`zoneinfo` (with the ``tzdata`` package as its database where the
OS has none) and, lazily, ``tzlocal`` for the local zone's name; neither is needed to import this
module.
"""

from __future__ import annotations

import datetime
import os
import re
import zoneinfo

UTC = datetime.timezone.utc

#: Designations that always mean UTC, whatever the zone.
UTC_NAMES = frozenset({"UTC", "GMT", "Z", "UT", "ZULU"})

#: A numeric UTC offset, optionally after UTC/GMT: +07, -0700, +07:00, UTC-07:00, +05:30:15.
OFFSET_RE = re.compile(
    r"^(?:UTC|GMT)?(?P<sign>[+-])(?P<h>\d{1,2})(?::?(?P<m>\d{2})(?::?(?P<s>\d{2}))?)?$",
    re.IGNORECASE,
)


class TimeZoneError(ValueError):
    """A zone name, abbreviation or numeric offset that cannot be resolved to a unique instant."""


def local_zone() -> datetime.tzinfo:
    """The local time zone, honouring a ``$TZ`` set (or changed) at any time.

    ``$TZ`` names an IANA zone (``America/Edmonton``, optionally ``:``-prefixed) or a zoneinfo
    file; without it the zone comes from ``tzlocal`` (the ``history`` extra), falling back to
    ``/etc/localtime`` and finally UTC.
    """
    tz = os.environ.get("TZ")
    if tz:
        key = tz[1:] if tz.startswith(":") else tz
        if os.path.isabs(key):
            try:
                with open(key, "rb") as f:
                    return zoneinfo.ZoneInfo.from_file(f, key=os.path.basename(key))
            except (OSError, ValueError) as exc:
                raise TimeZoneError(f"TZ={tz!r}: cannot load zone file: {exc}") from None
        return get_zone(key)
    try:
        import tzlocal  # the 'history' extra

        return tzlocal.get_localzone()
    except ImportError:
        pass
    try:
        with open("/etc/localtime", "rb") as f:
            return zoneinfo.ZoneInfo.from_file(f, key="localtime")
    except (OSError, ValueError):
        return UTC


def get_zone(spec: str | datetime.tzinfo | None) -> datetime.tzinfo:
    """A ``tzinfo`` for ``spec``: a tzinfo (returned as is), None or ``UTC`` (UTC), ``local``, a
    numeric offset (``-07:00``) or an IANA zone name (``America/Edmonton``)."""
    if spec is None:
        return UTC
    if isinstance(spec, datetime.tzinfo):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"a time zone must be a tzinfo or a name, not {type(spec).__name__}")
    name = spec.strip()
    if name.lower() == "local":
        return local_zone()
    if name.upper() in UTC_NAMES:
        return UTC
    offset = parse_offset(name)
    if offset is not None:
        return datetime.timezone(offset)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise TimeZoneError(f"unknown time zone {spec!r}") from None


def zone_name(zone: datetime.tzinfo) -> str:
    """The IANA name of ``zone`` (``America/Edmonton``), or its UTC offset name if it has none."""
    key = getattr(zone, "key", None)
    if key:
        return str(key)
    if zone is UTC:
        return "UTC"
    return str(zone)


def parse_offset(text: str) -> datetime.timedelta | None:
    """A numeric UTC offset (``+07``, ``-0700``, ``-07:00``, ``UTC+05:30``) as a timedelta, or None
    if ``text`` is not one; out of range offsets (24h or more) raise :class:`TimeZoneError`."""
    match = OFFSET_RE.match(text)
    if not match:
        return None
    hours, minutes, seconds = (int(match[g] or 0) for g in ("h", "m", "s"))
    if minutes >= 60 or seconds >= 60 or hours >= 24:
        raise TimeZoneError(f"UTC offset {text!r} out of range")
    delta = datetime.timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return -delta if match["sign"] == "-" else delta


def format_offset(offset: datetime.timedelta) -> str:
    """A UTC offset as ``+HH:MM`` (``+HH:MM:SS`` when it has seconds)."""
    total = int(offset.total_seconds())
    sign = "-" if total < 0 else "+"
    hours, rest = divmod(abs(total), 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{seconds:02d}" if seconds else text


def _exists(aware: datetime.datetime, zone: datetime.tzinfo) -> bool:
    """True unless ``aware``'s wall time falls in a gap (skipped hour) of ``zone``."""
    back = aware.astimezone(UTC).astimezone(zone)
    return back.replace(tzinfo=None) == aware.replace(tzinfo=None)


def abbreviations_near(naive: datetime.datetime, zone: datetime.tzinfo) -> set[str]:
    """The abbreviations ``zone`` uses within about a year of ``naive`` (sampled fortnightly)."""
    names = set()
    for weeks in range(-56, 57, 2):
        try:
            moment = naive + datetime.timedelta(weeks=weeks)
        except OverflowError:
            continue
        names.add((moment.replace(tzinfo=zone).tzname() or "").upper())
    return names


def localize(naive: datetime.datetime, zone: datetime.tzinfo) -> datetime.datetime:
    """Attach ``zone`` to a wall time with no zone designation.

    In the repeated hour of a DST change the earlier instant is chosen; a wall time skipped by a
    DST change raises :class:`TimeZoneError`.
    """
    aware = naive.replace(tzinfo=zone, fold=0)
    if not _exists(aware, zone):
        raise TimeZoneError(
            f"{naive} does not exist in zone {zone_name(zone)} (skipped by a DST change)"
        )
    return aware


def resolve_abbreviation(
    naive: datetime.datetime, abbreviation: str, zone: datetime.tzinfo
) -> datetime.datetime:
    """Interpret a wall time with a zone abbreviation (``MDT``) in ``zone``; an aware datetime.

    The abbreviation picks between the two instants of the repeated hour of a DST change
    (``01:30 MDT`` vs ``01:30 MST``). UTC/GMT/Z always mean UTC. Raises :class:`TimeZoneError`
    if the abbreviation is unknown to the zone, ambiguous, out of season at that date, or names a
    wall time that does not exist (skipped at a spring-forward change).
    """
    abbr = abbreviation.upper()
    if abbr in UTC_NAMES:
        return naive.replace(tzinfo=UTC)
    instants: dict[datetime.datetime, datetime.datetime] = {}
    skipped = False
    for fold in (0, 1):
        aware = naive.replace(tzinfo=zone, fold=fold)
        if (aware.tzname() or "").upper() != abbr:
            continue
        if _exists(aware, zone):
            instants.setdefault(aware.astimezone(UTC), aware)
        else:
            skipped = True
    if len(instants) == 1:
        return next(iter(instants.values()))
    where = f"in zone {zone_name(zone)}"
    if len(instants) > 1:
        raise TimeZoneError(f"{naive} {abbreviation} is ambiguous {where}")
    if skipped:
        raise TimeZoneError(f"{naive} {abbreviation} does not exist {where} (skipped by DST)")
    if abbr in abbreviations_near(naive, zone):
        actual = naive.replace(tzinfo=zone).tzname()
        raise TimeZoneError(
            f"{abbreviation} is out of season on {naive} {where} (it is {actual} then)"
        )
    raise TimeZoneError(
        f"unknown time zone abbreviation {abbreviation!r} {where}; give the zone it belongs to"
    )
