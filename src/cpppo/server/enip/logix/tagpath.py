"""Logix tag paths: parse ``Program:P.Tag[1,2].Member.5`` and resolve it to a Location.

Public API:
    parse_path(text) -> (program or None, [segments])
    resolve_path(tag, segments, *, bool_index="bit") -> Location
                                     ``bool_index="word"`` gives the wire meaning of an index
                                     into a BOOL array (it counts DWORDs, as pycomm3 and pylogix
                                     send it); ``"bit"`` the Logix name meaning (``B[33]`` is
                                     bit 1 of DWORD 1).
    linear_index(indices, dims) -> int
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..codec.status import Status
from .atomic import ATOMIC_TYPES
from .errors import TagPathError
from .location import Location, path_name
from .structure import Structure, element_count
from .tag import AnyTag

__all__ = ["Segment", "linear_index", "parse_path", "resolve_path"]

_BOOL = ATOMIC_TYPES["BOOL"]

Segment = tuple  # ("name", str) | ("index", tuple[int, ...]) | ("bit", int)

_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_:]*)|(?P<num>\d+)|(?P<open>\[)|(?P<close>\])"
    r"|(?P<comma>,)|(?P<dot>\.))"
)


def parse_path(text: str) -> tuple[str | None, list[Segment]]:
    """Parse a Logix tag path into (program or None, segments).

    ``Program:Main.Tag[1,2].Member.Sub[2].5`` gives ``('Main', [('name', 'Tag'), ('index', (1,
    2)), ('name', 'Member'), ('name', 'Sub'), ('index', (2,)), ('bit', 5)])``.
    """
    text = text.strip()
    program = None
    if text[:8].lower() == "program:":
        head, dot, rest = text[8:].partition(".")
        if not head or not dot or not rest:
            raise TagPathError(f"bad tag path {text!r}: expected Program:<name>.<tag>")
        program, text = head.strip(), rest
    segments: list[Segment] = []
    pos, end = 0, len(text)
    expect_name = True
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None:
            raise TagPathError(f"bad tag path {text!r} at {text[pos:]!r}")
        pos = m.end()
        kind = m.lastgroup
        if expect_name:
            if kind == "name":
                segments.append(("name", m.group("name")))
            elif kind == "num" and segments:
                segments.append(("bit", int(m.group("num"))))
            else:
                raise TagPathError(
                    f"bad tag path {text!r}: expected a name at {m.group().strip()!r}"
                )
            expect_name = False
        elif kind == "dot":
            expect_name = True
        elif kind == "open":
            indices: list[int] = []
            while True:
                m = _TOKEN.match(text, pos)
                if m is None or m.lastgroup != "num":
                    raise TagPathError(f"bad tag path {text!r}: expected an index")
                indices.append(int(m.group("num")))
                pos = m.end()
                m = _TOKEN.match(text, pos)
                if m is None or m.lastgroup not in ("comma", "close"):
                    raise TagPathError(f"bad tag path {text!r}: expected ',' or ']'")
                pos = m.end()
                if m.lastgroup == "close":
                    break
            segments.append(("index", tuple(indices)))
        else:
            raise TagPathError(f"bad tag path {text!r} at {m.group().strip()!r}")
        if segments and segments[-1][0] == "bit" and pos < end and text[pos:].strip():
            raise TagPathError(f"bad tag path {text!r}: a bit number must come last")
    if not segments or expect_name:
        raise TagPathError(f"bad tag path {text!r}")
    return program, segments


def _index(loc: Location, indices: tuple[int, ...], bool_index: str) -> Location:
    name = (loc, "[", indices)
    if loc.bit is not None or not loc.dims:
        raise TagPathError(f"{path_name(name)}: {loc.name} is not an array")
    if loc.bools is not None and bool_index == "bit":
        if len(indices) != 1:
            raise TagPathError(f"{loc.name}{list(indices)}: a BOOL array has one dimension")
        (i,) = indices
        if i >= loc.bools:
            raise TagPathError(
                f"{path_name(name)}: index out of range 0..{loc.bools - 1}",
                Status.PATH_DESTINATION_UNKNOWN,
            )
        return Location(loc.tag, loc.offset + i // 8, _BOOL, name, (), 1, i % 8, None)
    dims = loc.dims
    if len(indices) != len(dims):
        raise TagPathError(f"{path_name(name)}: {len(dims)} indices needed, {len(indices)} given")
    linear = 0
    for i, d in zip(indices, dims):
        if i >= d:
            raise TagPathError(
                f"{path_name(name)}: index {i} out of range 0..{d - 1}",
                Status.PATH_DESTINATION_UNKNOWN,
            )
        linear = linear * d + i
    total = element_count(dims)
    offset = loc.offset + linear * loc.data_type.size
    return Location(loc.tag, offset, loc.data_type, name, (), total - linear, None, None)


def _member(loc: Location, name: str) -> Location:
    full = (loc, ".", name)
    dtype = loc.data_type
    if loc.dims or loc.bit is not None or not isinstance(dtype, Structure):
        raise TagPathError(f"{path_name(full)}: {loc.name} is not a structure")
    try:
        m = dtype.member(name)
    except KeyError:
        raise TagPathError(f"{path_name(full)}: {dtype.name} has no member {name!r}") from None
    offset = loc.offset + m.offset
    if m.bit is not None:
        return Location(loc.tag, offset, _BOOL, full, (), 1, m.bit, None)
    if m.count:
        return Location(loc.tag, offset, m.type, full, (m.count,), m.count, None, m.bits)
    return Location(loc.tag, offset, m.type, full, (), 1, None, None)


def _bit(loc: Location, bit: int) -> Location:
    full = (loc, ".", bit)
    dtype = loc.data_type
    if loc.dims or loc.bit is not None or not dtype.is_integer:
        raise TagPathError(f"{path_name(full)}: {loc.name} is not an integer")
    if bit >= dtype.size * 8:
        raise TagPathError(
            f"{path_name(full)}: bit {bit} outside {dtype.name}", Status.PATH_DESTINATION_UNKNOWN
        )
    return Location(loc.tag, loc.offset + bit // 8, _BOOL, full, (), 1, bit % 8, None)


def resolve_path(
    tag: AnyTag,
    segments: Sequence[Segment],
    *,
    bool_index: str = "bit",
) -> Location:
    """Resolve the segments after the tag name (see :func:`parse_path`) to a Location.

    ``tag`` is the tag the path starts with; an alias continues from the location it names.
    """
    loc = tag.root()
    for seg in segments:
        kind = seg[0]
        if kind == "index":
            loc = _index(loc, seg[1], bool_index)
        elif kind == "name":
            loc = _member(loc, seg[1])
        elif kind == "bit":
            loc = _bit(loc, seg[1])
        else:
            raise TagPathError(f"{loc.name}: unknown path segment {seg!r}")
    return loc


def linear_index(indices: Sequence[int], dims: Sequence[int]) -> int:
    """Row-major linear index of ``indices`` (one per dimension) within ``dims``.

    Raises IndexError when the number of indices is wrong or one is outside its dimension.
    """
    if len(indices) != len(dims):
        raise IndexError(f"{len(dims)} indices needed, {len(indices)} given")
    index = 0
    for value, dim in zip(indices, dims):
        if not 0 <= value < dim:
            raise IndexError(value)
        index = index * dim + value
    return index
