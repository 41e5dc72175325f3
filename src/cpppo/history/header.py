"""The type header of a history: what type and shape each recorded tag has.

A history written by ``historize`` or ``python -m cpppo.history record`` carries, besides its
records, comment lines naming each tag's CIP type and dimensions::

    # types: {"Tank_Level": {"type": "REAL", "dims": []}, "Counts": {"type": "DINT", "dims": [10]}}

They are comments: readers of records skip them, and a history without them still reads. A
simulator replaying the history (``--replay``) creates the tags it names that it does not have.
A history may hold several such lines (a recording appended to, tags added); read together,
a later one wins for the same tag.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .files import opener
from .reading import history_files

__all__ = ["HEADER_PREFIX", "TagType", "header_text", "read_types", "write_types"]

log = logging.getLogger(__name__)

#: How a type header line starts (the rest is a JSON object).
HEADER_PREFIX = "# types: "


class TagType(NamedTuple):
    """A recorded tag's CIP type name (``REAL``, ``DINT``, ``STRING``, a structure's name) and
    dimensions (``()`` for a scalar)."""

    type: str
    dims: tuple[int, ...] = ()

    def __str__(self) -> str:
        dims = f"[{','.join(map(str, self.dims))}]" if self.dims else ""
        return f"{self.type}{dims}"


def _entry(name: str, value: Any) -> TagType:
    if isinstance(value, TagType):
        return value
    if isinstance(value, Mapping):
        kind, dims = value.get("type"), value.get("dims", ())
    elif isinstance(value, str):
        kind, dims = value, ()
    else:
        kind, dims = value
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"type header: {name!r} has no type name")
    if not isinstance(dims, (list, tuple)) or not all(type(d) is int and d > 0 for d in dims):
        raise ValueError(f"type header: {name!r} has bad dimensions {dims!r}")
    return TagType(kind, tuple(dims))


def header_text(types: Mapping[str, Any]) -> str:
    """The text of a header comment (after ``# ``) for ``{tag: TagType | (type, dims) | type}``."""
    body = {
        name: {"type": entry.type, "dims": list(entry.dims)}
        for name, entry in ((n, _entry(n, v)) for n, v in types.items())
    }
    return HEADER_PREFIX[2:] + json.dumps(body)


def write_types(history: Any, types: Mapping[str, Any]) -> None:
    """Append a type header to ``history`` (a :class:`~.files.logger`) for ``types``."""
    if types:
        history.comment(header_text(types), stamp=False)


def parse_header(line: str) -> dict[str, TagType] | None:
    """The types of one header line, or None if ``line`` is not one; ValueError if malformed."""
    if not line.startswith(HEADER_PREFIX):
        return None
    try:
        body = json.loads(line[len(HEADER_PREFIX) :])
    except ValueError as exc:
        raise ValueError(f"type header is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError("type header is not a JSON object")
    return {str(name): _entry(name, value) for name, value in body.items()}


def read_types(
    path: str | os.PathLike[str], files: Iterable[str] | None = None
) -> dict[str, TagType]:
    """The tag types the headers of history ``path`` (and its rotations) name; ``{}`` for none.

    A malformed header line is skipped with a warning."""
    names = [name for _, name in history_files(path)] if files is None else list(files)
    types: dict[str, TagType] = {}
    for name in names:
        with opener(name, "rt") as f:
            for lineno, line in enumerate(f, 1):
                if line[:1] != "#":
                    continue
                try:
                    found = parse_header(line)
                except ValueError as exc:
                    log.warning("%s:%d: %s", name, lineno, exc)
                    continue
                if found:
                    types.update(found)
    return types
