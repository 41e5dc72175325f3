"""What a tag write stores: the request's data as the tag's memory image, or converted values.

Public API:
    convert_values(values, source, target) -> list
                                     values decoded as codec type ``source`` for storing as
                                     codec type ``target`` (the widening writes a controller
                                     accepts); ValueError for anything else.
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
    LOGIX_STRING,
    LREAL,
    REAL,
    SSTRING,
    STRING,
    STRING_HANDLE,
    TYPES_BY_CODE,
    CipType,
)
from .atomic import CipString
from .codec_view import codec_for
from .errors import TagValueError
from .location import Location

__all__ = ["convert_values", "write_data"]

_REAL_TYPES = (REAL, LREAL)


def _is_integer(cip_type: Any) -> bool:
    return isinstance(cip_type, type) and issubclass(cip_type, CipType) and cip_type.min is not None


def _is_string(cip_type: Any) -> bool:
    return isinstance(cip_type, type) and issubclass(cip_type, (SSTRING, STRING, LOGIX_STRING))


def convert_values(values: list, source: Any, target: Any) -> list:
    """Convert values decoded as ``source`` for storing as ``target`` (codec types; widening
    writes).

    Integers go into any integer type whose range holds them (BOOL takes 0/1 and bools),
    integers and reals into REAL/LREAL, strings between SSTRING, CIP STRING and the Logix string
    family. Raises ValueError for anything else (the tag services answer a type mismatch).
    """
    if _is_integer(target) and _is_integer(source):
        lo, hi = target.min, target.max
        out = [int(v) for v in values]
        if target is BOOL:
            if any(v not in (0, 1, -1, 0xFF) for v in out):
                raise ValueError("not a BOOL value")
            return [bool(v) for v in out]
        if any(not lo <= v <= hi for v in out):
            raise ValueError(f"value out of {target.name} range")
        return out
    if target in _REAL_TYPES and (source in _REAL_TYPES or _is_integer(source)):
        return [float(v) for v in values]
    if _is_string(target) and _is_string(source):
        return [str(v) for v in values]
    raise ValueError(f"cannot store {getattr(source, 'name', source)} in {target.name}")


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
