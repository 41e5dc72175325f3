"""A Logix data type as the codec's element interface (what an ``Attribute.parser`` is).

Public API:
    codec_for(data_type)             the codec element type of its wire values: codec class, or
                                     StructCodec.
    StructCodec(structure)           a structure with the codec type interface.
"""

from __future__ import annotations

from typing import Any

from ..codec import types as cip
from .errors import TagValueError
from .structure import DataType, Structure

__all__ = ["StructCodec", "codec_for"]


class StructCodec:
    """A structure with the codec type interface (``name code size encode decode``): values
    are dicts of its visible members, encoded as its memory image."""

    min = None
    max = None
    fmt = None

    def __init__(self, structure: Structure) -> None:
        self.structure = structure
        self.name = structure.name
        self.size = structure.size
        self.code = cip.STRUCT_CODE
        self.handle = structure.handle

    def __repr__(self) -> str:
        return f"StructCodec({self.name})"

    def encode(self, values: Any) -> bytes:
        """The memory image of a sequence of values (members a dict leaves out are zero)."""
        items = list(values) if isinstance(values, (list, tuple)) else [values]
        buf = bytearray(self.size * len(items))
        for i, item in enumerate(items):
            self.structure.encode_into(buf, i * self.size, item, f"{self.name}[{i}]")
        return bytes(buf)

    def decode(self, buf: Any, count: int | None = None) -> list:
        """``count`` values from a memory image (all of it when None)."""
        if count is None:
            count = len(buf) // self.size
        if len(buf) < count * self.size:
            raise TagValueError(f"{self.name}: {len(buf)} bytes for {count} elements")
        return [self.structure.decode(buf, i * self.size) for i in range(count)]


def codec_for(data_type: DataType) -> Any:
    """The codec element type of ``data_type`` values on the wire: an atomic type's and a CIP
    string's codec class, the codec's Logix string class for the string family, else a
    :class:`StructCodec`."""
    if not isinstance(data_type, Structure):
        return data_type.cip
    if data_type.string_capacity is not None and data_type.handle is not None:
        if data_type.handle == cip.STRING_HANDLE and data_type.string_capacity == 82:
            return cip.LOGIX_STRING
        codec = cip.logix_string_type(data_type.name, data_type.string_capacity, data_type.handle)
        if codec.size == data_type.size:
            return codec
    return StructCodec(data_type)
