"""Recorded tag values (a :mod:`cpppo.history` file) as functions of time, for replay.

:class:`Recording` loads a history: for each recorded name (a tag path, as ``historize`` and
``python -m cpppo.history record`` key their records), the times (seconds from the history's
first record) and what each record observed, read or written: the first element and the values.
Failed accesses (comments) and records of other shapes are skipped. ``types`` is the history's
type header (empty for a history without one).

:class:`Series` gives one name's values at a time ``t`` of the replay: at ``speed`` times real
time, looping when asked (the loop is the recording's span plus one mean interval, so its last
value lasts as long as the others); before the first record there is no value (None).
"""

from __future__ import annotations

import bisect
import math
import os
from typing import Any

from cpppo.history import reader
from cpppo.history.header import TagType, read_types

__all__ = ["Recording", "Series"]


class Series:
    """One name's recorded values: ``times`` (seconds, ascending) and ``(first, values)``."""

    def __init__(self, name: str, span: float, *, speed: float = 1.0, loop: bool = False) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"replay speed must be a number > 0, not {speed!r}")
        self.name = name
        self.times: list[float] = []
        self.samples: list[tuple[int, list]] = []
        self.span = span
        self.speed = speed
        self.loop = loop

    def append(self, t: float, first: int, values: list) -> None:
        """Add a record (in time order)."""
        self.times.append(t)
        self.samples.append((first, values))

    def at(self, t: float) -> tuple[int, list] | None:
        """``(first, values)`` of the last record at or before replay time ``t`` (None before the
        first)."""
        when = t * self.speed
        if self.loop and self.span > 0:
            when %= self.span
        index = bisect.bisect_right(self.times, when) - 1
        return self.samples[index] if index >= 0 else None

    def element(self, t: float, index: int = 0) -> Any:
        """The value of element ``index`` at replay time ``t``: from the last record holding it
        (None if none does yet)."""
        when = t * self.speed
        if self.loop and self.span > 0:
            when %= self.span
        position = bisect.bisect_right(self.times, when) - 1
        while position >= 0:
            first, values = self.samples[position]
            if first <= index < first + len(values):
                return values[index - first]
            position -= 1
        return None


class Recording:
    """The records of history ``path`` by name (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        records: dict[str, list[tuple[float, int, list]]] = {}
        start: Any = None
        last = 0.0
        count = 0
        history = reader(self.path)
        for when, key, payload in history:
            parsed = _record(key, payload)
            if parsed is None:
                continue
            if start is None:
                start = when
            t = when - start
            name, first, values = parsed
            records.setdefault(name, []).append((t, first, values))
            last = t
            count += 1
        if not count:
            raise ValueError(f"{self.path}: no tag records to replay")
        self.types: dict[str, TagType] = read_types(self.path)
        #: Seconds from the first record to the last, plus one mean interval (the loop).
        self.span = last + (last / (count - 1) if count > 1 else 1.0)
        self.records = records

    @property
    def names(self) -> list[str]:
        """The recorded names, in the order first seen."""
        return list(self.records)

    def series(self, name: str, *, speed: float = 1.0, loop: bool = False) -> Series:
        """The values recorded for ``name`` (case-insensitively); KeyError if none."""
        found = self.records.get(name)
        if found is None:
            folded = name.casefold()
            found = next((v for k, v in self.records.items() if k.casefold() == folded), None)
            if found is None:
                raise KeyError(f"{self.path} has no records of {name!r}")
        series = Series(name, self.span, speed=speed, loop=loop)
        for t, first, values in found:
            series.append(t, first, values)
        return series


def _record(key: Any, payload: Any) -> tuple[str, int, list] | None:
    """``(name, first element, values)`` of a record keyed ``[name, [first, last]]`` with a
    payload ``{"read": [...]}`` or ``{"write": [...]}``; None for anything else."""
    if not (isinstance(key, list) and len(key) == 2 and isinstance(key[0], str)):
        return None
    span = key[1]
    if not (isinstance(span, list) and span and type(span[0]) is int and span[0] >= 0):
        return None
    if not isinstance(payload, dict):
        return None
    values = payload.get("read", payload.get("write"))
    if not isinstance(values, list) or not values:
        return None
    return key[0], span[0], values
