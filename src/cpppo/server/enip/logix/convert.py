"""What a tag write stores: the request's data as the tag's memory image, or converted values.

Public API:
    convert_values(values, source, target) -> list
                                     values decoded as codec type ``source`` for storing as
                                     codec type ``target`` (the widening writes the original
                                     cpppo accepted); ValueError for anything else.
    write_data(loc, count, code, handle, raw) -> bytes | list
                                     the data of a write of ``count`` elements of type
                                     ``code``/``handle`` to ``loc``: its memory image when the
                                     types agree, else the converted values.
"""

from __future__ import annotations

from typing import Any

from ..codec.errors import DecodeError
from ..codec.status import Status
from ..codec.types import (
    BOOL,
    DINT,
    INT,
    LOGIX_STRING,
    LREAL,
    REAL,
    SINT,
    STRING_HANDLE,
    TYPES_BY_CODE,
    UDINT,
    UINT,
    USINT,
    CipType,
)
from .atomic import CipString
from .codec_view import codec_for
from .errors import TagValueError
from .location import Location

__all__ = ["convert_values", "write_data"]

#: The integer types a REAL or LREAL tag takes besides BOOL and the reals (up to 32 bits).
_REAL_SOURCES = (SINT, USINT, INT, UINT, DINT, UDINT)


def _is_integer(cip_type: Any) -> bool:
    return (
        isinstance(cip_type, type)
        and issubclass(cip_type, CipType)
        and cip_type.min is not None
        and cip_type is not BOOL
    )


def _widens(source: Any, target: Any) -> bool:
    """Whether a write of ``source`` data into a ``target`` tag is taken, as the original cpppo
    took it: BOOL into any integer or real; an integer into an integer at least as wide (into an
    unsigned one only if unsigned itself); BOOL, integers up to 32 bits and REAL into REAL, and
    LREAL too into LREAL. Every other difference is a type mismatch (0xFF/0x2107), as a
    ControlLogix answers."""
    if source is BOOL:
        return _is_integer(target) or target in (REAL, LREAL)
    if _is_integer(target) and _is_integer(source):
        return source.size <= target.size and (target.min < 0 or source.min == 0)
    if target is REAL:
        return source in _REAL_SOURCES
    if target is LREAL:
        return source in _REAL_SOURCES or source is REAL
    return False


def convert_values(values: list, source: Any, target: Any) -> list:
    """Convert values decoded as ``source`` for storing as ``target`` (codec types; the
    widening writes of :func:`_widens`). An unsigned value into a signed integer of the same
    size keeps its bits (UINT 40000 is INT -25536). Raises ValueError for anything else (the
    tag services answer a type mismatch)."""
    if not _widens(source, target):
        raise ValueError(f"cannot store {getattr(source, 'name', source)} in {target.name}")
    if target in (REAL, LREAL):
        return [float(v) for v in values]
    out = [int(v) for v in values]
    if target.min < 0 and source.size == target.size and source.min == 0:
        wrap = 1 << (8 * target.size)
        out = [v - wrap if v > target.max else v for v in out]
    return out


def write_data(
    loc: Location, count: int, code: int, handle: int | None, raw: Any
) -> bytes | list[Any]:
    """The data of a write of ``count`` elements of type ``code``/``handle`` to ``loc``: the
    memory image (bytes) when the types agree, else the converted values.

    Raises ValueError on a type mismatch and DecodeError when the data runs short.
    """
    dtype = loc.data_type
    if code == dtype.code and handle == getattr(dtype, "handle", None):
        if isinstance(dtype, CipString):
            try:
                return dtype.wire_split(raw, count)[0]
            except TagValueError as exc:
                raise DecodeError(str(exc), status=Status.NOT_ENOUGH_DATA) from None
        need = loc.span(count)
        if len(raw) < need:
            raise DecodeError("not enough data", status=Status.NOT_ENOUGH_DATA)
        return bytes(raw[:need])
    source = LOGIX_STRING if handle == STRING_HANDLE else TYPES_BY_CODE.get(code)
    if source is None or (handle is not None and source is not LOGIX_STRING):
        raise ValueError("unknown source type")
    target = codec_for(dtype)
    converted = convert_values(source.decode(raw, count), source, target)
    target.encode(converted)  # raises EncodeError (a ValueError) when a value does not fit
    return converted
