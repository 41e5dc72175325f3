"""Tag memory: a resolved access path (a Location) and what reads and writes it.

Public API:
    Location                         what a path resolves to: ``.tag`` (owner of the memory)
                                     ``.offset .data_type .dims .count .bit .bools .name``;
                                     ``.get() .set(value) .read_bytes(count) .write_bytes(data,
                                     count) .modify(or_mask, and_mask) .type_bytes
                                     .element_size``
    path_name(spec) -> str           the text of a lazily named path.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from ..codec import types as cip
from ..codec.status import ExtStatus, Status
from .atomic import ATOMIC_TYPES
from .errors import TagPathError, TagValueError
from .structure import (
    DataType,
    Structure,
    bits_of,
    decode_elements,
    element_count,
    encode_elements,
    set_bits,
)

if TYPE_CHECKING:
    from .tag import Tag

__all__ = ["Location", "path_name"]

_BOOL = ATOMIC_TYPES["BOOL"]


class Location:
    """A resolved access path: ``data_type`` elements at ``offset`` in ``tag.data``.

    ``dims`` is the shape still unindexed (``()`` for one element), ``count`` the number of
    elements from ``offset`` to the end of the enclosing array (what a read may ask for), ``bit``
    the bit (0..7) in the byte at ``offset`` for a BOOL, ``bools`` the number of BOOLs when the
    location is a BOOL array (then ``data_type`` is DWORD and ``count`` counts DWORDs). ``name``
    is the path text (built only when asked for: resolution is on the hot path).
    """

    __slots__ = ("_name", "bit", "bools", "count", "data_type", "dims", "offset", "tag")

    def __init__(
        self,
        tag: Tag,
        offset: int,
        data_type: DataType,
        name: str | tuple,
        dims: tuple[int, ...] = (),
        count: int = 1,
        bit: int | None = None,
        bools: int | None = None,
    ) -> None:
        self.tag = tag
        self.offset = offset
        self.data_type = data_type
        self._name = name  # a str, or (parent Location, separator, suffix) built lazily
        self.dims = dims
        self.count = count
        self.bit = bit
        self.bools = bools

    @property
    def name(self) -> str:
        """The path this location was resolved from (``Tag[1,2].Member.5``)."""
        name = self._name
        if not isinstance(name, str):
            name = self._name = path_name(name)
        return name

    def __repr__(self) -> str:
        bit = f".{self.bit}" if self.bit is not None else ""
        return (
            f"<Location {self.name}: {self.data_type.name} x{self.count} at {self.offset}{bit}"
            f" of {self.tag.qualified_name}>"
        )

    @property
    def element_size(self) -> int:
        """Bytes per element (1 for a bit)."""
        return 1 if self.bit is not None else self.data_type.size

    @property
    def type_bytes(self) -> bytes:
        """The type as a Read Tag reply carries it: ``UINT code`` or ``A0 02`` + ``UINT handle``."""
        dtype = self.data_type
        if isinstance(dtype, Structure):
            if dtype.handle is None:
                raise ValueError(f"structure {dtype.name} has no handle yet")
            return struct.pack("<HH", cip.STRUCT_CODE, dtype.handle)
        return struct.pack("<H", dtype.code)

    def _check_count(self, count: int) -> None:
        if count < 1 or count > self.count:
            raise TagPathError(
                f"{self.name}: {count} elements requested, {self.count} available",
                Status.GENERAL_ERROR,
                (ExtStatus.BEYOND_END_OF_OBJECT,),
            )

    def read_bytes(self, count: int = 1) -> bytes:
        """The memory of ``count`` elements (a bit reads as one byte 0x01 or 0x00)."""
        self._check_count(count)
        data = self.tag.data
        if self.bit is not None:
            return b"\x01" if data[self.offset] >> self.bit & 1 else b"\x00"
        return bytes(data[self.offset : self.offset + count * self.data_type.size])

    def write_bytes(self, data: bytes | bytearray | memoryview, count: int = 1) -> None:
        """Store ``count`` elements from ``data`` (extra trailing bytes are ignored)."""
        self._check_count(count)
        size = self.element_size * count
        if len(data) < size:
            raise TagValueError(f"{self.name}: {len(data)} bytes for {count} elements of {size}")
        buf = self.tag.data
        if self.bit is not None:
            mask = 1 << self.bit
            on = bool(data[0])
            buf[self.offset] = (buf[self.offset] | mask) if on else (buf[self.offset] & ~mask)
            return
        buf[self.offset : self.offset + size] = bytes(data[:size])

    def modify(
        self, or_mask: bytes | bytearray | memoryview, and_mask: bytes | bytearray | memoryview
    ) -> None:
        """Read-Modify-Write (service 0x4E): ``new = (old | OR) & AND`` on this integer element.

        The masks are as long as the request's mask size (1, 2, 4 or 8 bytes, at most the
        element's size) and apply to the element's first bytes; a BOOL (bit) location is
        modified through the byte holding it.
        """
        size = len(or_mask)
        if size != len(and_mask) or size not in (1, 2, 4, 8):
            raise TagValueError(f"{self.name}: masks of {len(or_mask)} and {len(and_mask)} bytes")
        dtype = self.data_type
        if self.bit is None and (self.dims or not (dtype.is_integer or dtype.is_bool)):
            raise TagPathError(
                f"{self.name}: not an integer element",
                Status.GENERAL_ERROR,
                (ExtStatus.DATA_TYPE_MISMATCH,),
            )
        if size > (1 if self.bit is not None else dtype.size):
            raise TagValueError(f"{self.name}: a {size}-byte mask on {dtype.name}")
        buf = self.tag.data
        start, end = self.offset, self.offset + size
        old = int.from_bytes(buf[start:end], "little")
        new = (old | int.from_bytes(or_mask, "little")) & int.from_bytes(and_mask, "little")
        buf[start:end] = new.to_bytes(size, "little")

    def get(self, count: int | None = None) -> Any:
        """The Python value here: one element, or a list (the whole shape, or ``count``)."""
        buf = self.tag.data
        if self.bit is not None:
            return bool(buf[self.offset] >> self.bit & 1)
        if count is None:
            if self.bools is not None:
                return bits_of(buf, self.offset, self.count * 32)[: self.bools]
            if not self.dims:
                return self.data_type.decode(buf, self.offset)
            count = element_count(self.dims)
        self._check_count(count)
        return decode_elements(self.data_type, buf, self.offset, count)

    def set(self, value: Any) -> None:
        """Store a Python value here (a list fills elements from this one on)."""
        buf = self.tag.data
        if self.bit is not None:
            mask = 1 << self.bit
            on = _BOOL.check(value, self.name)
            buf[self.offset] = (buf[self.offset] | mask) if on else (buf[self.offset] & ~mask)
        elif self.bools is not None:
            set_bits(buf, self.offset, self.count * 32, value, self.name)
        elif self.dims or isinstance(value, (list, tuple)):
            encode_elements(self.data_type, buf, self.offset, self.count, value, self.name)
        else:
            self.data_type.encode_into(buf, self.offset, value, self.name)


def path_name(spec: tuple) -> str:
    """The text of a lazily named path: (parent Location, "[" or ".", indices or name)."""
    parent, sep, suffix = spec
    if sep == "[":
        return f"{parent.name}[{','.join(map(str, suffix))}]"
    return f"{parent.name}.{suffix}"
