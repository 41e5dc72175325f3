"""Logix atomic types, the CIP string types of simulator tags, and the layout rules.

Public API:
    Atomic                           an atomic Logix type wrapping a codec CIP type class
                                     (``.cip``, ``.name``, ``.code``, ``.size``).
    ATOMIC_TYPES                     read-only {NAME: Atomic}: BOOL SINT INT DINT LINT USINT
                                     UINT UDINT ULINT REAL LREAL WORD DWORD LWORD.
    ATOMIC_BY_CODE                   read-only {code: Atomic}.
    CipString, CIP_STRING_TYPES      SSTRING (255 characters) and CIP_STRING (1022) for
                                     simulator tags: a fixed slot of memory per element,
                                     a variable length on the wire (``.variable`` True;
                                     ``wire_encode(buf, offset, count)``,
                                     ``wire_split(data, count)``); not structure members.
    LayoutRules(align8=False)        Logix memory rules; ``LayoutRules.for_revision(major)``:
                                     up to v26 every type sits on a 4-byte boundary at most;
                                     from v27 8-byte types (LINT, LREAL, ...) and structures
                                     holding one sit on 8-byte boundaries and such structures
                                     are sized to a multiple of 8.
    RADIX_CODES, EXTERNAL_ACCESS     Logix's numbers for radix and external access names;
    access_code(access) -> int       the code of an external access name.
    latin1(value, where) -> bytes    ISO-8859-1 text of a string value (TagValueError if not).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..codec import types as cip
from .errors import TagValueError

__all__ = [
    "ATOMIC_BY_CODE",
    "ATOMIC_TYPES",
    "CIP_STRING_TYPES",
    "EXTERNAL_ACCESS",
    "RADIX_CODES",
    "Atomic",
    "CipString",
    "LayoutRules",
    "access_code",
    "latin1",
]

#: Radix names as Logix numbers them (used for the per-member characters of a template name).
RADIX_CODES: Mapping[str, int] = MappingProxyType(
    {
        "nulltype": 0,
        "general": 1,
        "binary": 2,
        "octal": 3,
        "decimal": 4,
        "hex": 5,
        "exponential": 6,
        "float": 7,
        "ascii": 8,
        "unicode": 9,
        "date/time": 10,
        "date/time (ns)": 11,
    }
)

#: External access codes (Symbol attribute 10).
EXTERNAL_ACCESS: Mapping[str, int] = MappingProxyType(
    {"read/write": 0, "read only": 2, "readonly": 2, "none": 3}
)


def access_code(access: str) -> int:
    """Map an external access name ('Read/Write', 'Read Only', 'None') to its code."""
    try:
        return EXTERNAL_ACCESS[access.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown external access {access!r}") from None


@dataclass(frozen=True)
class LayoutRules:
    """How a controller lays structures out in memory (see the module docstring)."""

    align8: bool = False

    @classmethod
    def for_revision(cls, major: int) -> LayoutRules:
        """The rules of a controller with firmware major revision ``major``."""
        return cls(align8=major >= 27)


class Atomic:
    """An atomic Logix data type, backed by the codec's CIP type class ``cip``."""

    is_struct = False
    variable = False
    __slots__ = (
        "_one",
        "cip",
        "code",
        "is_bool",
        "is_float",
        "max",
        "min",
        "name",
        "radix",
        "size",
    )

    def __init__(self, cip_type: type[cip.CipType]) -> None:
        self.cip = cip_type
        self.name: str = cip_type.name
        self.code: int = cip_type.code
        self.size: int = int(cip_type.size or 0)
        self.min = cip_type.min
        self.max = cip_type.max
        self.is_bool = cip_type is cip.BOOL
        self.is_float = cip_type.fmt in ("f", "d")
        self._one = struct.Struct("<" + str(cip_type.fmt))
        self.radix = "Float" if self.is_float else "Decimal"

    def __repr__(self) -> str:
        return f"<Atomic {self.name}>"

    @property
    def is_integer(self) -> bool:
        """True for the integer and bit-string types (those a BIT member may alias)."""
        return not self.is_float and not self.is_bool

    @property
    def has_8byte(self) -> bool:
        """True for the 8-byte types that v27+ aligns on 8-byte boundaries."""
        return self.size == 8

    def alignment(self, rules: LayoutRules) -> int:
        """Byte alignment of this type inside a structure."""
        if self.size == 8 and not rules.align8:
            return 4
        return self.size

    def check(self, value: Any, where: str) -> int | float | bool:
        """Return ``value`` normalized for this type, or raise TagValueError naming ``where``."""
        if self.is_bool:
            if isinstance(value, (bool, int)) and value in (0, 1, True, False):
                return bool(value)
            raise TagValueError(f"{where}: {value!r} is not a BOOL (0/1/True/False)")
        if self.is_float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                try:
                    self._one.pack(value)
                except (OverflowError, struct.error):
                    raise TagValueError(f"{where}: {value!r} does not fit {self.name}") from None
                return float(value)
            raise TagValueError(f"{where}: {value!r} is not a number for {self.name}")
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int):
            raise TagValueError(f"{where}: {value!r} is not an integer for {self.name}")
        assert self.min is not None and self.max is not None
        if not self.min <= value <= self.max:
            raise TagValueError(
                f"{where}: {value} does not fit {self.name} ({self.min}..{self.max})"
            )
        return value

    def decode(self, buf: Any, offset: int = 0) -> Any:
        """Decode one element at ``offset``."""
        value = self._one.unpack_from(buf, offset)[0]
        return bool(value) if self.is_bool else value

    def encode_into(self, buf: bytearray, offset: int, value: Any, where: str = "") -> None:
        """Encode one element into ``buf`` at ``offset``."""
        value = self.check(value, where or self.name)
        self._one.pack_into(buf, offset, 1 if value is True else value)

    def decode_array(self, buf: Any, offset: int, count: int) -> list:
        """Decode ``count`` consecutive elements at ``offset``."""
        values = list(struct.unpack_from(f"<{count}{self.cip.fmt}", buf, offset))
        return [bool(v) for v in values] if self.is_bool else values

    def encode_array_into(self, buf: bytearray, offset: int, values: Sequence, where: str) -> None:
        """Encode consecutive elements into ``buf`` at ``offset``."""
        checked = [self.check(v, f"{where}[{i}]") for i, v in enumerate(values)]
        if self.is_bool:
            checked = [1 if v else 0 for v in checked]
        struct.pack_into(f"<{len(checked)}{self.cip.fmt}", buf, offset, *checked)


ATOMIC_TYPES: Mapping[str, Atomic] = MappingProxyType(
    {
        t.name: Atomic(t)
        for t in (
            cip.BOOL,
            cip.SINT,
            cip.INT,
            cip.DINT,
            cip.LINT,
            cip.USINT,
            cip.UINT,
            cip.UDINT,
            cip.ULINT,
            cip.REAL,
            cip.LREAL,
            cip.WORD,
            cip.DWORD,
            cip.LWORD,
        )
    }
)
ATOMIC_BY_CODE: Mapping[int, Atomic] = MappingProxyType({t.code: t for t in ATOMIC_TYPES.values()})


class CipString:
    """A CIP string type a simulator tag may hold: SSTRING 0xDA or CIP STRING 0xD0 (not a Logix
    type; the original cpppo's command line offers SSTRING tags).

    Each element is kept in a fixed slot of memory (its length prefix, then ``capacity`` bytes),
    so a tag's value lives in its memory like any other tag's; on the wire an element is only its
    length prefix and its characters (:meth:`wire_encode` / :meth:`wire_decode`).
    """

    is_struct = False
    is_bool = False
    is_float = False
    is_integer = False
    has_8byte = False
    #: The wire image is not the memory image (elements have a variable length on the wire).
    variable = True
    min = None
    max = None
    radix = "ASCII"

    def __init__(self, name: str, cip_type: type[cip.CipType], prefix: str, capacity: int) -> None:
        self.name = name
        self.cip = cip_type
        self.code: int = cip_type.code
        self._prefix = struct.Struct("<" + prefix)
        self.capacity = capacity
        self.size: int = self._prefix.size + capacity

    def __repr__(self) -> str:
        return f"<CipString {self.name}[{self.capacity}]>"

    def alignment(self, rules: LayoutRules) -> int:
        """Byte alignment (a CIP string cannot be a structure member; see layout_structure)."""
        return 1

    def check(self, value: Any, where: str) -> bytes:
        """The ISO-8859-1 bytes of ``value``, or TagValueError naming ``where``."""
        raw = value if isinstance(value, (bytes, bytearray)) else None
        if raw is None:
            if not isinstance(value, str):
                raise TagValueError(f"{where}: {value!r} is not a string for {self.name}")
            raw = latin1(value, where)
        if len(raw) > self.capacity:
            raise TagValueError(
                f"{where}: {len(raw)} characters do not fit {self.name} (at most {self.capacity})"
            )
        return bytes(raw)

    def decode(self, buf: Any, offset: int = 0) -> str:
        """Decode the element in the slot at ``offset``."""
        length = min(self._prefix.unpack_from(buf, offset)[0], self.capacity)
        start = offset + self._prefix.size
        return bytes(buf[start : start + length]).decode("iso-8859-1")

    def encode_into(self, buf: bytearray, offset: int, value: Any, where: str = "") -> None:
        """Store one element in the slot at ``offset``."""
        raw = self.check(value, where or self.name)
        self._prefix.pack_into(buf, offset, len(raw))
        start = offset + self._prefix.size
        buf[start : start + self.capacity] = raw.ljust(self.capacity, b"\0")

    def decode_array(self, buf: Any, offset: int, count: int) -> list:
        """Decode ``count`` consecutive slots."""
        return [self.decode(buf, offset + i * self.size) for i in range(count)]

    def encode_array_into(self, buf: bytearray, offset: int, values: Sequence, where: str) -> None:
        """Store consecutive elements."""
        for i, value in enumerate(values):
            self.encode_into(buf, offset + i * self.size, value, f"{where}[{i}]")

    def wire_encode(self, buf: Any, offset: int, count: int) -> bytes:
        """The wire image of ``count`` elements from the slot at ``offset``."""
        out = bytearray()
        head = self._prefix.size
        for i in range(count):
            at = offset + i * self.size
            length = min(self._prefix.unpack_from(buf, at)[0], self.capacity)
            out += buf[at : at + head + length]
        return bytes(out)

    def wire_decode(self, data: Any, count: int) -> list[str]:
        """``count`` elements from their wire image (TagValueError when it runs short)."""
        return self.wire_split(data, count)[0]

    def wire_split(self, data: Any, count: int | None = None) -> tuple[list[str], int]:
        """Decode up to ``count`` (all when None) whole elements; return them and the bytes used."""
        values: list[str] = []
        at, head, end = 0, self._prefix.size, len(data)
        while (count is None or len(values) < count) and at < end:
            if at + head > end:
                break
            length = self._prefix.unpack_from(data, at)[0]
            if at + head + length > end:
                break
            if length > self.capacity:
                raise TagValueError(f"{self.name}: {length} characters exceed {self.capacity}")
            values.append(bytes(data[at + head : at + head + length]).decode("iso-8859-1"))
            at += head + length
        if count is not None and len(values) < count:
            raise TagValueError(f"{self.name}: {len(values)} of {count} elements in the data")
        return values, at


#: The CIP string types of simulator tags (``TEXT=SSTRING[100]``), by name.
CIP_STRING_TYPES: Mapping[str, CipString] = MappingProxyType(
    {
        "SSTRING": CipString("SSTRING", cip.SSTRING, "B", 255),
        "CIP_STRING": CipString("CIP_STRING", cip.STRING, "H", 1022),
    }
)


def latin1(value: str, where: str) -> bytes:
    try:
        return value.encode("iso-8859-1")
    except UnicodeEncodeError:
        raise TagValueError(f"{where}: {value!r} is not ISO-8859-1 text") from None
