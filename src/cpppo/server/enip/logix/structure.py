"""Laid-out structures (UDTs, strings, predefined types) and the memory image of values.

Public API:
    Member                           a laid-out member: ``.name .type .offset .count .bit .bits
                                     .hidden .radix .access``.
    Structure                        a laid-out structure: ``.name .members .size .family .kind
                                     .template_id .handle .string_capacity``;
                                     ``.member(name)``; ``.decode(buf, offset)`` -> dict (or
                                     str for the string family);
                                     ``.encode_into(buf, offset, value)``.
    DataType                         Atomic | Structure | CipString.
    encode_value(data_type, value, dims=()) -> bytes
    decode_value(data_type, buf, dims=(), offset=0) -> value
                                     dict for structures, str for the string family, flat
                                     list (row-major) for arrays, bools for BOOL arrays.
    Element helpers shared by tags and locations: ``storage_of``, ``element_count``,
    ``decode_elements``, ``encode_elements``, ``bits_of``, ``set_bits``, ``flatten``.

Structures are made by :func:`~.layout.layout_structure`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..codec import types as cip
from .atomic import ATOMIC_TYPES, Atomic, CipString, LayoutRules, latin1
from .errors import TagValueError

__all__ = [
    "DataType",
    "Member",
    "Structure",
    "bits_of",
    "decode_elements",
    "decode_value",
    "element_count",
    "encode_elements",
    "encode_value",
    "flatten",
    "set_bits",
    "storage_of",
]

_BOOL = ATOMIC_TYPES["BOOL"]
_SINT = ATOMIC_TYPES["SINT"]
_DINT = ATOMIC_TYPES["DINT"]
_DWORD = ATOMIC_TYPES["DWORD"]


@dataclass(frozen=True)
class Member:
    """A laid-out structure member.

    ``count`` is 0 for a scalar, else the array length (in DWORDs for a BOOL array, whose number
    of BOOLs is ``bits``). A BOOL member has ``bit`` (0..7) in the byte at ``offset``.
    """

    name: str
    type: DataType
    offset: int
    count: int = 0
    bit: int | None = None
    bits: int | None = None
    hidden: bool = False
    radix: str | None = None
    access: str = "Read/Write"

    @property
    def elements(self) -> int:
        """Number of elements (1 for a scalar)."""
        return self.count or 1

    @property
    def size(self) -> int:
        """Bytes this member occupies (0 for a BOOL member aliasing a bit)."""
        if self.bit is not None:
            return 0
        return self.type.size * self.elements


class Structure:
    """A laid-out structure (UDT, string type, predefined or add-on-instruction type)."""

    is_struct = True
    variable = False
    is_bool = False
    is_float = False
    is_integer = False
    #: The radix of a member of this type (a template lists NullType for a structure).
    radix = "NullType"

    def __init__(
        self,
        name: str,
        members: Sequence[Member],
        size: int,
        *,
        family: str = "NoFamily",
        kind: str = "User",
        template_name: str | None = None,
        template_id: int | None = None,
        handle: int | None = None,
    ) -> None:
        self.name = name
        self.members: tuple[Member, ...] = tuple(members)
        self.size = size
        self.family = family
        self.kind = kind
        self.template_name = template_name
        self.template_id = template_id
        self.handle = handle
        self.code = cip.STRUCT_CODE
        self._by_name = {m.name.casefold(): m for m in self.members}
        self.has_8byte: bool = any(m.type.has_8byte for m in self.members)
        visible = [m for m in self.members if not m.hidden]
        self.string_capacity: int | None = None
        if (
            len(visible) == 2
            and visible[0].name.upper() == "LEN"
            and visible[0].type is _DINT
            and not visible[0].count
            and visible[1].name.upper() == "DATA"
            and visible[1].type is _SINT
            and visible[1].count
        ):
            self.string_capacity = visible[1].count
            self._len_offset = visible[0].offset
            self._data_offset = visible[1].offset
        self._visible = tuple(visible)

    def __repr__(self) -> str:
        return f"<Structure {self.name} size={self.size} members={len(self.members)}>"

    def bind(self, template_id: int, handle: int) -> None:
        """Give this structure its Template instance id and structure handle (once)."""
        if self.template_id not in (None, template_id) or self.handle not in (None, handle):
            raise ValueError(
                f"structure {self.name} is already bound to template {self.template_id:#x} "
                f"handle {self.handle:#x}"
            )
        self.template_id, self.handle = template_id, handle

    @property
    def is_string(self) -> bool:
        """True for the string family (visible members LEN DINT and DATA SINT[n])."""
        return self.string_capacity is not None

    def alignment(self, rules: LayoutRules) -> int:
        """Byte alignment of this structure as a member of another one."""
        return 8 if rules.align8 and self.has_8byte else 4

    def member(self, name: str) -> Member:
        """The member called ``name`` (case-insensitive); KeyError if there is none."""
        try:
            return self._by_name[name.casefold()]
        except KeyError:
            raise KeyError(f"{self.name} has no member {name!r}") from None

    def decode(self, buf: Any, offset: int = 0) -> Any:
        """Decode one structure at ``offset``: a dict of visible members, or a str for strings."""
        if self.string_capacity is not None:
            length = _DINT.decode(buf, offset + self._len_offset)
            length = min(max(length, 0), self.string_capacity)
            start = offset + self._data_offset
            return bytes(buf[start : start + length]).decode("iso-8859-1")
        return {m.name: _decode_member(m, buf, offset) for m in self._visible}

    def encode_into(self, buf: bytearray, offset: int, value: Any, where: str = "") -> None:
        """Encode ``value`` (dict, or str for a string type) into ``buf`` at ``offset``.

        Members missing from a dict keep the bytes already in ``buf``.
        """
        where = where or self.name
        if self.string_capacity is not None and isinstance(value, (str, bytes, bytearray)):
            raw = value if isinstance(value, (bytes, bytearray)) else latin1(value, where)
            if len(raw) > self.string_capacity:
                raise TagValueError(
                    f"{where}: {len(raw)} characters do not fit {self.name} "
                    f"(at most {self.string_capacity})"
                )
            _DINT.encode_into(buf, offset + self._len_offset, len(raw))
            start = offset + self._data_offset
            buf[start : start + self.string_capacity] = raw.ljust(self.string_capacity, b"\0")
            return
        if not isinstance(value, Mapping):
            raise TagValueError(f"{where}: a {self.name} value must be a dict, not {value!r}")
        for key, item in value.items():
            try:
                member = self.member(str(key))
            except KeyError:
                raise TagValueError(f"{where}: {self.name} has no member {key!r}") from None
            _encode_member(member, buf, offset, item, f"{where}.{member.name}")


DataType = Atomic | Structure | CipString


def _decode_member(m: Member, buf: Any, base: int) -> Any:
    offset = base + m.offset
    if m.bit is not None:
        return bool(buf[offset] >> m.bit & 1)
    if m.bits is not None:
        return bits_of(buf, offset, m.bits)
    if m.count:
        return decode_elements(m.type, buf, offset, m.count)
    return m.type.decode(buf, offset)


def _encode_member(m: Member, buf: bytearray, base: int, value: Any, where: str) -> None:
    offset = base + m.offset
    if m.bit is not None:
        on = _BOOL.check(value, where)
        mask = 1 << m.bit
        buf[offset] = (buf[offset] | mask) if on else (buf[offset] & ~mask & 0xFF)
        return
    if m.bits is not None:
        set_bits(buf, offset, m.bits, value, where)
        return
    if m.count:
        encode_elements(m.type, buf, offset, m.count, value, where)
        return
    m.type.encode_into(buf, offset, value, where)


def bits_of(buf: Any, offset: int, bits: int) -> list[bool]:
    raw = int.from_bytes(bytes(buf[offset : offset + bits // 8]), "little")
    return [bool(raw >> i & 1) for i in range(bits)]


def set_bits(buf: bytearray, offset: int, bits: int, value: Any, where: str) -> None:
    values = flatten(value)
    if len(values) > bits:
        raise TagValueError(f"{where}: {len(values)} values for a BOOL array of {bits}")
    raw = int.from_bytes(bytes(buf[offset : offset + bits // 8]), "little")
    for i, item in enumerate(values):
        if _BOOL.check(item, f"{where}[{i}]"):
            raw |= 1 << i
        else:
            raw &= ~(1 << i)
    buf[offset : offset + bits // 8] = raw.to_bytes(bits // 8, "little")


def flatten(value: Any) -> list:
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        return [value]
    out: list = []
    for item in value:
        if isinstance(item, (list, tuple)):
            out.extend(flatten(item))
        else:
            out.append(item)
    return out


def decode_elements(dtype: DataType, buf: Any, offset: int, count: int) -> list:
    if isinstance(dtype, Atomic):
        return dtype.decode_array(buf, offset, count)
    size = dtype.size
    return [dtype.decode(buf, offset + i * size) for i in range(count)]


def encode_elements(
    dtype: DataType, buf: bytearray, offset: int, count: int, value: Any, where: str
) -> None:
    values = flatten(value)
    if len(values) > count:
        raise TagValueError(f"{where}: {len(values)} values for {count} elements")
    if isinstance(dtype, Atomic):
        dtype.encode_array_into(buf, offset, values, where)
        return
    for i, item in enumerate(values):
        dtype.encode_into(buf, offset + i * dtype.size, item, f"{where}[{i}]")


def element_count(dims: Sequence[int]) -> int:
    return math.prod(dims) if dims else 1


def storage_of(
    data_type: DataType, dims: Sequence[int], packed: bool = True
) -> tuple[DataType, int, int | None]:
    """(element type, element count, number of BOOLs or None) of a tag's memory.

    ``packed`` False keeps a BOOL array one byte per BOOL (a cpppo command-line ``BOOL[n]``).
    """
    if data_type is _BOOL and dims and packed:
        words = -(-element_count(dims) // 32)
        return _DWORD, words, words * 32
    return data_type, element_count(dims), None


def encode_value(
    data_type: DataType, value: Any, dims: Sequence[int] = (), *, packed: bool = True
) -> bytes:
    """Encode a Python value as the memory image of a tag of ``data_type[dims]``."""
    etype, count, bools = storage_of(data_type, dims, packed)
    buf = bytearray(etype.size * count)
    where = data_type.name
    if bools is not None:
        set_bits(buf, 0, bools, value, where)
    elif dims:
        encode_elements(etype, buf, 0, count, value, where)
    else:
        etype.encode_into(buf, 0, value, where)
    return bytes(buf)


def decode_value(
    data_type: DataType, buf: Any, dims: Sequence[int] = (), offset: int = 0, *, packed: bool = True
) -> Any:
    """Decode the memory image of a tag of ``data_type[dims]`` (see the module docstring)."""
    etype, count, bools = storage_of(data_type, dims, packed)
    if bools is not None:
        return bits_of(buf, offset, bools)
    if dims:
        return decode_elements(etype, buf, offset, count)
    return etype.decode(buf, offset)
