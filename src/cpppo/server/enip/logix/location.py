"""Tag memory: a resolved access path (a Location) and what reads and writes it.

A Location reads and writes its tag's memory directly (``get set read_bytes write_bytes
modify``: what a tag database and the web API use), or through the tag's presenter (``values
image store patch read_modify_write``: what the tag services use). A presenter is what a
simulator shows a tag through (its Attribute, :class:`Presenter`): when it overrides item access
(``custom_access``), the elements a request touches are read and written through its items,
else the memory is used directly under its lock.

Public API:
    Location                         what a path resolves to: ``.tag`` (owner of the memory)
                                     ``.offset .data_type .dims .count .bit .bools .name``;
                                     ``.get() .set(value) .read_bytes(count) .write_bytes(data,
                                     count) .modify(or_mask, and_mask) .type_bytes
                                     .element_size``; through the presenter: ``.aligned
                                     .span(count) .element(index) .scalar() .values(count)
                                     .image(count, offset, length) .store(count, stored)
                                     .patch(offset, chunk) .read_modify_write(size, or, and)``
    TagMemory, Presenter             what a Location needs of a tag and of its presenter.
    path_name(spec) -> str           the text of a lazily named path.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

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

__all__ = ["Location", "Presenter", "TagMemory", "path_name"]

_BOOL = ATOMIC_TYPES["BOOL"]


class Presenter(Protocol):
    """What a tag is presented through in a simulator (an Attribute), as tag memory uses it."""

    #: The general status every access answers with instead of success (0: none).
    error: int
    #: The codec element type of its values.
    parser: Any
    #: Guards the tag's memory.
    _lock: AbstractContextManager[Any]

    @property
    def custom_access(self) -> bool:
        """True when its class overrides item access (then every access goes through items)."""

    @property
    def is_blocking(self) -> bool:
        """True when item access may block (it then runs off the event loop)."""

    def __getitem__(self, key: slice) -> Any: ...

    def __setitem__(self, key: slice, value: Any) -> None: ...

    def modify_bits(self, index: int, or_mask: int, and_mask: int) -> None:
        """``new = (old | or_mask) & and_mask`` on one integer element."""


class TagMemory(Protocol):
    """What a Location needs of the tag owning its memory."""

    data: bytearray
    #: The presenter a simulator gives the tag (None outside one).
    attribute: Any

    @property
    def qualified_name(self) -> str:
        """The tag's name (``Program:P.Name`` for a program tag)."""

    @property
    def storage_type(self) -> DataType:
        """The type of the elements of its memory."""

    @property
    def element_size(self) -> int:
        """Bytes per element of its memory."""


class _Scratch:
    """A scratch memory image standing in for a tag (parts of a presenter's elements)."""

    attribute = None

    def __init__(self, data: bytearray, tag: TagMemory) -> None:
        self.data = data
        self.qualified_name = tag.qualified_name
        self.storage_type = tag.storage_type
        self.element_size = tag.element_size


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
        tag: TagMemory,
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

    # -- through the tag's presenter (the tag services) ----------------------------------------

    @property
    def aligned(self) -> bool:
        """True when this is whole elements of its tag (what a presenter's items address)."""
        return self.data_type is self.tag.storage_type and self.bit is None

    def span(self, count: int) -> int:
        """Bytes of memory ``count`` elements here cover (1 for a bit)."""
        return 1 if self.bit is not None else count * self.data_type.size

    def element(self, index: int) -> Location:
        """The location ``index`` elements after this one (within the same array)."""
        if not index:
            return self
        return Location(
            self.tag, self.offset + index * self.data_type.size, self.data_type, self._name, (),
            self.count - index, self.bit, None,
        )  # fmt: skip

    def scalar(self) -> Location:
        """This location as one element: an array named without an index is its first."""
        if not self.dims:
            return self
        return Location(
            self.tag, self.offset, self.data_type, self._name, (), self.count, None, None
        )

    def _first(self) -> int:
        """The index of the tag element this location starts in."""
        return self.offset // self.tag.element_size

    def _through(self, count: int, op: Callable[[Location], Any], write: bool) -> Any:
        """Run ``op`` on this location under the presenter's lock; for a presenter with its own
        item access, on a scratch image of the elements it covers, read through its items and
        (``write``) stored back through them."""
        tag = self.tag
        attribute: Presenter = tag.attribute
        if not attribute.custom_access:
            with attribute._lock:
                return op(self)
        size = tag.element_size
        first = self._first()
        last = -(-(self.offset + self.span(count)) // size)
        parser = attribute.parser
        image = bytearray(parser.encode(attribute[first:last]))
        scratch = Location(
            _Scratch(image, tag), self.offset - first * size, self.data_type, self._name,
            self.dims, self.count, self.bit, self.bools,
        )  # fmt: skip
        result = op(scratch)
        if write:
            attribute[first:last] = parser.decode(bytes(image), last - first)
        return result

    def values(self, count: int) -> list:
        """The values of ``count`` elements here (through the presenter's items if it has its
        own)."""
        attribute: Presenter = self.tag.attribute
        if attribute.custom_access and self.aligned:
            first = self._first()
            return list(attribute[first : first + count])
        if self.bit is not None:
            return [self.get()]
        return list(self.get(count))

    def image(self, count: int, offset: int, length: int) -> bytes:
        """``length`` bytes of the memory of ``count`` elements here, from byte ``offset``."""
        attribute: Presenter = self.tag.attribute
        if self.bit is not None:
            return bytes(self._through(1, lambda at: at.read_bytes(1), False))
        if not attribute.custom_access:
            start = self.offset + offset
            return bytes(self.tag.data[start : start + length])
        if self.aligned:  # whole elements, straight from the presenter's items
            size = self.data_type.size
            first, last = offset // size, -(-(offset + length) // size)
            index = self._first()
            raw = attribute.parser.encode(attribute[index + first : index + last])
            return bytes(raw[offset - first * size : offset - first * size + length])
        raw = self._through(count, lambda at: at.read_bytes(count), False)
        return bytes(raw[offset : offset + length])

    def store(self, count: int, stored: bytes | Sequence[Any]) -> None:
        """Store ``count`` elements here: a memory image (bytes) or values."""
        attribute: Presenter = self.tag.attribute
        if type(stored) is bytes and self.bit is None and not attribute.custom_access:
            with attribute._lock:  # the common case: the wire image is the memory image
                self.tag.data[self.offset : self.offset + len(stored)] = stored
        elif attribute.custom_access and self.aligned:
            values = attribute.parser.decode(stored, count) if isinstance(stored, bytes) else stored
            first = self._first()
            attribute[first : first + count] = list(values)
        elif isinstance(stored, bytes):
            self._through(count, lambda at: at.write_bytes(stored, count), True)
        elif self.bit is not None:
            self._through(1, lambda at: at.set(stored[0]), True)
        else:
            self._through(count, lambda at: at.set(list(stored)), True)

    def patch(self, offset: int, chunk: bytes | bytearray | memoryview) -> None:
        """Write ``chunk`` into the memory here from byte ``offset`` (a fragment of elements of
        this type; a bit takes the first byte). For a presenter without item access of its own."""
        if self.bit is not None:
            self._through(1, lambda at: at.write_bytes(chunk, 1), True)
            return
        attribute: Presenter = self.tag.attribute
        with attribute._lock:
            start = self.offset + offset
            self.tag.data[start : start + len(chunk)] = chunk

    def read_modify_write(self, size: int, or_mask: int, and_mask: int) -> None:
        """``new = (old | OR) & AND`` on the first ``size`` bytes of this integer element
        (TagValueError or TagPathError when it cannot be done)."""
        attribute: Presenter = self.tag.attribute
        if attribute.custom_access and self.aligned:
            width = self.span(1) * 8
            keep = ((1 << width) - 1) ^ ((1 << 8 * size) - 1)  # bytes beyond the mask stay
            attribute.modify_bits(self._first(), or_mask, and_mask | keep)
            return
        ors, ands = or_mask.to_bytes(size, "little"), and_mask.to_bytes(size, "little")
        self._through(1, lambda at: at.modify(ors, ands), True)


def path_name(spec: tuple) -> str:
    """The text of a lazily named path: (parent Location, "[" or ".", indices or name)."""
    parent, sep, suffix = spec
    if sep == "[":
        return f"{parent.name}[{','.join(map(str, suffix))}]"
    return f"{parent.name}.{suffix}"
