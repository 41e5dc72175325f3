"""CIP elementary data types and the Logix STRING structure.

Public API (every type is a class; its methods are classmethods, so both ``REAL.encode([1.5])`` and
``REAL().encode([1.5])`` work, and ``isinstance(attr.parser, REAL)`` works for an instance):
    CipType                      base class: ``.code`` (CIP type code; also ``.tag_type``, the
                                 original cpppo's name for it), ``.name``, ``.size`` (bytes
                                 per element, None when variable), ``.fmt`` (struct code or None),
                                 ``.min``/``.max`` (integer range, None otherwise),
                                 ``encode(values) -> bytes``, ``decode(buf, count=None) -> list``.
    BOOL 0xC1, SINT 0xC2, INT 0xC3, DINT 0xC4, LINT 0xC5, USINT 0xC6, UINT 0xC7, UDINT 0xC8,
    ULINT 0xC9, REAL 0xCA, LREAL 0xCB, WORD 0xD2, DWORD 0xD3, LWORD 0xD4,
    SSTRING 0xDA (USINT length + ISO-8859-1), STRING 0xD0 (CIP STRING: UINT length + data),
    LOGIX_STRING                 the Logix STRING structure: DINT LEN + SINT DATA[82] + 2 pad = 88
                                 bytes; ``.code`` 0x02A0 (structure), ``.handle`` 0x0FCE,
                                 ``.type_bytes`` b'\\xa0\\x02\\xce\\x0f' (type as a Read Tag reply
                                 carries it), ``.capacity`` 82.
    logix_string_type(name, capacity, handle) -> type
                                 another string-family structure (STRING20, STRING480, ...): a
                                 LOGIX_STRING subclass of size 4 + capacity rounded up to 4.
    STRUCT_CODE = 0x02A0         the "abbreviated structure" type word (followed by a UINT handle).
    STRING_HANDLE = 0x0FCE       structure handle (and template id) of the Logix STRING.
    TYPES_BY_CODE                read-only {code: type} for the elementary types (0xD0 -> STRING).
    TYPES_BY_NAME                read-only {UPPER-CASE name: type}. Note ``"STRING"`` names the
                                 Logix STRING structure (a controller's STRING tags); the
                                 CIP 0xD0 string is ``"CIP_STRING"``.
    type_named(name) -> type     case-insensitive lookup in TYPES_BY_NAME; KeyError if unknown.

``decode(buf, count=None)``: with ``count`` None every element in ``buf`` is decoded (a partial
trailing element is an error); with ``count`` given exactly that many are decoded and any bytes
after them are ignored (clients such as pycomm3 send trailing bytes). Not enough data raises
:class:`DecodeError` with ``status=Status.NOT_ENOUGH_DATA`` (0x13). ``encode`` raises
:class:`EncodeError` for values out of range. BOOL decodes to Python bools (any non-zero byte is
True) and encodes True as 0xFF, as Logix does.
"""

from __future__ import annotations

import struct
from types import MappingProxyType
from typing import Any, ClassVar

from .errors import DecodeError, EncodeError
from .status import Status

__all__ = [
    "BOOL",
    "DINT",
    "DWORD",
    "INT",
    "LINT",
    "LOGIX_STRING",
    "LREAL",
    "LWORD",
    "REAL",
    "SINT",
    "SSTRING",
    "STRING",
    "STRING_HANDLE",
    "STRUCT_CODE",
    "TYPES_BY_CODE",
    "TYPES_BY_NAME",
    "UDINT",
    "UINT",
    "ULINT",
    "USINT",
    "WORD",
    "CipType",
    "logix_string_type",
    "type_named",
]

STRUCT_CODE = 0x02A0
STRING_HANDLE = 0x0FCE

_UINT = struct.Struct("<H")
_DINT = struct.Struct("<i")


def _as_list(values: Any) -> list | tuple:
    """Accept a single scalar value as a one-element sequence."""
    if isinstance(values, (list, tuple)):
        return values
    if isinstance(values, (str, bytes, int, float)):
        return (values,)
    return list(values)


def _not_enough(name: str, need: int, have: int) -> DecodeError:
    return DecodeError(f"{name}: need {need} bytes, have {have}", status=Status.NOT_ENOUGH_DATA)


class _CodeAlias:
    """A read-only class attribute giving the class's ``code``."""

    def __get__(self, obj: Any, cls: type[CipType]) -> int:
        return cls.code


class CipType:
    """Base of all CIP data types (see the module docstring)."""

    code: ClassVar[int] = 0
    #: ``code`` by the original cpppo's name (``INT.tag_type == 0xC3``).
    tag_type: ClassVar[_CodeAlias] = _CodeAlias()
    name: ClassVar[str] = ""
    size: ClassVar[int | None] = None
    fmt: ClassVar[str | None] = None
    min: ClassVar[int | None] = None
    max: ClassVar[int | None] = None

    def __repr__(self) -> str:
        return f"{self.name}()"

    @classmethod
    def encode(cls, values: Any) -> bytes:  # pragma: no cover - overridden
        """Encode a sequence of values (a single scalar is accepted too)."""
        raise NotImplementedError

    @classmethod
    def decode(cls, buf: bytes | bytearray | memoryview, count: int | None = None) -> list:
        """Decode ``count`` values (all of ``buf`` when None)."""
        raise NotImplementedError  # pragma: no cover - overridden


class _Fixed(CipType):
    """A fixed-size numeric type packed with a struct code."""

    size: ClassVar[int]  # every subclass names its size and struct code
    fmt: ClassVar[str]
    _one: ClassVar[struct.Struct]  # one element: the common case, precompiled

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._one = struct.Struct("<" + cls.fmt)

    @classmethod
    def encode(cls, values: Any) -> bytes:
        """Encode a sequence of numbers."""
        values = _as_list(values)
        try:
            if len(values) == 1:
                return cls._one.pack(values[0])
            return struct.pack(f"<{len(values)}{cls.fmt}", *values)
        except (struct.error, OverflowError, TypeError) as exc:
            raise EncodeError(f"{cls.name}: cannot encode {values!r}: {exc}") from None

    @classmethod
    def _count(cls, buf: Any, count: int | None) -> int:
        size = cls.size
        have = len(buf)
        if count is None:
            count, rest = divmod(have, size)
            if rest:
                raise DecodeError(
                    f"{cls.name}: {have} bytes is not a whole number of {size}-byte elements",
                    status=Status.NOT_ENOUGH_DATA,
                )
            return count
        if count < 0:
            raise DecodeError(f"{cls.name}: negative element count {count}")
        if count * size > have:
            raise _not_enough(cls.name, count * size, have)
        return count

    @classmethod
    def decode(cls, buf: bytes | bytearray | memoryview, count: int | None = None) -> list:
        """Decode ``count`` numbers (all of ``buf`` when None)."""
        count = cls._count(buf, count)
        if count == 1:
            return list(cls._one.unpack_from(buf))
        return list(struct.unpack_from(f"<{count}{cls.fmt}", buf))


class BOOL(_Fixed):
    """CIP BOOL (0xC1): one byte; True is sent as 0xFF, any non-zero byte decodes as True."""

    code, name, size, fmt, min, max = 0xC1, "BOOL", 1, "B", 0, 1

    @classmethod
    def encode(cls, values: Any) -> bytes:
        """Encode truth values as 0xFF / 0x00."""
        return bytes([0xFF if v else 0x00 for v in _as_list(values)])

    @classmethod
    def decode(cls, buf: bytes | bytearray | memoryview, count: int | None = None) -> list:
        """Decode bytes as bools."""
        count = cls._count(buf, count)
        return list(map(bool, bytes(buf[:count])))


class SINT(_Fixed):
    """CIP SINT (0xC2): signed 8-bit."""

    code, name, size, fmt, min, max = 0xC2, "SINT", 1, "b", -(2**7), 2**7 - 1


class INT(_Fixed):
    """CIP INT (0xC3): signed 16-bit."""

    code, name, size, fmt, min, max = 0xC3, "INT", 2, "h", -(2**15), 2**15 - 1


class DINT(_Fixed):
    """CIP DINT (0xC4): signed 32-bit."""

    code, name, size, fmt, min, max = 0xC4, "DINT", 4, "i", -(2**31), 2**31 - 1


class LINT(_Fixed):
    """CIP LINT (0xC5): signed 64-bit."""

    code, name, size, fmt, min, max = 0xC5, "LINT", 8, "q", -(2**63), 2**63 - 1


class USINT(_Fixed):
    """CIP USINT (0xC6): unsigned 8-bit."""

    code, name, size, fmt, min, max = 0xC6, "USINT", 1, "B", 0, 2**8 - 1


class UINT(_Fixed):
    """CIP UINT (0xC7): unsigned 16-bit."""

    code, name, size, fmt, min, max = 0xC7, "UINT", 2, "H", 0, 2**16 - 1


class UDINT(_Fixed):
    """CIP UDINT (0xC8): unsigned 32-bit."""

    code, name, size, fmt, min, max = 0xC8, "UDINT", 4, "I", 0, 2**32 - 1


class ULINT(_Fixed):
    """CIP ULINT (0xC9): unsigned 64-bit."""

    code, name, size, fmt, min, max = 0xC9, "ULINT", 8, "Q", 0, 2**64 - 1


class REAL(_Fixed):
    """CIP REAL (0xCA): IEEE 754 single."""

    code, name, size, fmt = 0xCA, "REAL", 4, "f"


class LREAL(_Fixed):
    """CIP LREAL (0xCB): IEEE 754 double."""

    code, name, size, fmt = 0xCB, "LREAL", 8, "d"


class WORD(_Fixed):
    """CIP WORD (0xD2): 16-bit bit string."""

    code, name, size, fmt, min, max = 0xD2, "WORD", 2, "H", 0, 2**16 - 1


class DWORD(_Fixed):
    """CIP DWORD (0xD3): 32-bit bit string (Logix BOOL arrays travel as DWORDs)."""

    code, name, size, fmt, min, max = 0xD3, "DWORD", 4, "I", 0, 2**32 - 1


class LWORD(_Fixed):
    """CIP LWORD (0xD4): 64-bit bit string."""

    code, name, size, fmt, min, max = 0xD4, "LWORD", 8, "Q", 0, 2**64 - 1


def _latin1(name: str, value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    try:
        return str(value).encode("iso-8859-1")
    except UnicodeEncodeError:
        raise EncodeError(f"{name}: {value!r} is not ISO-8859-1 text") from None


class _Counted(CipType):
    """A string with a length prefix (``_len`` struct) followed by ISO-8859-1 characters."""

    _len: ClassVar[struct.Struct]
    _limit: ClassVar[int]

    @classmethod
    def encode(cls, values: Any) -> bytes:
        """Encode a sequence of strings (or bytes)."""
        out = bytearray()
        for value in _as_list(values):
            raw = _latin1(cls.name, value)
            if len(raw) > cls._limit:
                raise EncodeError(f"{cls.name}: {len(raw)} characters exceed {cls._limit}")
            out += cls._len.pack(len(raw))
            out += raw
        return bytes(out)

    @classmethod
    def decode_from(cls, buf: Any, offset: int = 0) -> tuple[str, int]:
        """Decode one string at ``offset``; return it and the offset just past it."""
        width = cls._len.size
        end = offset + width
        if end > len(buf):
            raise _not_enough(cls.name, end, len(buf))
        (length,) = cls._len.unpack_from(buf, offset)
        stop = end + length
        if stop > len(buf):
            raise _not_enough(cls.name, stop, len(buf))
        return bytes(buf[end:stop]).decode("iso-8859-1"), stop

    @classmethod
    def decode(cls, buf: bytes | bytearray | memoryview, count: int | None = None) -> list:
        """Decode ``count`` strings (every string in ``buf`` when None)."""
        out: list[str] = []
        offset = 0
        if count is not None and count < 0:
            raise DecodeError(f"{cls.name}: negative element count {count}")
        while (count is None and offset < len(buf)) or (count is not None and len(out) < count):
            value, offset = cls.decode_from(buf, offset)
            out.append(value)
        return out


class SSTRING(_Counted):
    """CIP SHORT_STRING (0xDA): USINT length + ISO-8859-1 characters."""

    code, name, size = 0xDA, "SSTRING", None
    _len, _limit = struct.Struct("<B"), 255


class STRING(_Counted):
    """CIP STRING (0xD0): UINT length + ISO-8859-1 characters (no pad)."""

    code, name, size = 0xD0, "STRING", None
    _len, _limit = _UINT, 65535


class LOGIX_STRING(CipType):
    """The Logix STRING structure: DINT LEN, SINT DATA[82], 2 pad (88 bytes, handle 0x0FCE).

    Other string-family types (STRING20, STRING480, ...) are subclasses made by
    :func:`logix_string_type`; they differ in ``capacity``, ``size``, ``handle`` and ``name``.
    """

    code, name, size = STRUCT_CODE, "STRING", 88
    handle: ClassVar[int] = STRING_HANDLE
    capacity: ClassVar[int] = 82
    type_bytes: ClassVar[bytes] = _UINT.pack(STRUCT_CODE) + _UINT.pack(STRING_HANDLE)
    _struct: ClassVar[struct.Struct] = struct.Struct("<i82s2x")

    @classmethod
    def encode(cls, values: Any) -> bytes:
        """Encode a sequence of strings as fixed-size structures."""
        out = bytearray()
        pack = cls._struct.pack
        for value in _as_list(values):
            raw = _latin1(cls.name, value)
            if len(raw) > cls.capacity:
                raise EncodeError(f"{cls.name}: {len(raw)} characters exceed {cls.capacity}")
            out += pack(len(raw), raw)
        return bytes(out)

    @classmethod
    def decode(cls, buf: bytes | bytearray | memoryview, count: int | None = None) -> list:
        """Decode structures as strings (LEN outside 0..capacity is an error)."""
        have, size = len(buf), cls._struct.size
        if count is None:
            count, rest = divmod(have, size)
            if rest:
                raise DecodeError(
                    f"{cls.name}: {have} bytes is not a whole number of {size}",
                    status=Status.NOT_ENOUGH_DATA,
                )
        elif count < 0:
            raise DecodeError(f"{cls.name}: negative element count {count}")
        elif count * size > have:
            raise _not_enough(cls.name, count * size, have)
        out = []
        unpack = cls._struct.unpack_from
        for i in range(count):
            length, data = unpack(buf, i * size)
            if not 0 <= length <= cls.capacity:
                raise DecodeError(f"{cls.name}: LEN {length} outside 0..{cls.capacity}")
            out.append(data[:length].decode("iso-8859-1"))
        return out


def logix_string_type(name: str, capacity: int, handle: int) -> type[LOGIX_STRING]:
    """A Logix string-family structure type: DINT LEN + SINT DATA[capacity], padded to 4 bytes.

    ``logix_string_type("STRING480", 480, 7417).size == 484``; STRING itself is LOGIX_STRING.
    """
    if not 1 <= capacity <= 0xFFFF or not 0 <= handle <= 0xFFFF:
        raise EncodeError(f"string type {name}: capacity {capacity} / handle {handle} invalid")
    pad = -capacity % 4
    return type(
        name,
        (LOGIX_STRING,),
        {
            "__doc__": f"Logix {name}: DINT LEN, SINT DATA[{capacity}] (handle 0x{handle:04X}).",
            "name": name,
            "size": 4 + capacity + pad,
            "capacity": capacity,
            "handle": handle,
            "type_bytes": _UINT.pack(STRUCT_CODE) + _UINT.pack(handle),
            "_struct": struct.Struct(f"<i{capacity}s{pad}x"),
        },
    )


_ELEMENTARY: tuple[type[CipType], ...] = (
    BOOL,
    SINT,
    INT,
    DINT,
    LINT,
    USINT,
    UINT,
    UDINT,
    ULINT,
    REAL,
    LREAL,
    WORD,
    DWORD,
    LWORD,
    SSTRING,
    STRING,
)

TYPES_BY_CODE: MappingProxyType[int, type[CipType]] = MappingProxyType(
    {t.code: t for t in _ELEMENTARY}
)

TYPES_BY_NAME: MappingProxyType[str, type[CipType]] = MappingProxyType(
    {
        **{t.name: t for t in _ELEMENTARY if t is not STRING},
        "STRING": LOGIX_STRING,
        "LOGIX_STRING": LOGIX_STRING,
        "CIP_STRING": STRING,
    }
)


def type_named(name: str) -> type[CipType]:
    """Look a type up by name, case-insensitively (``"dint"`` -> DINT); KeyError if unknown."""
    try:
        return TYPES_BY_NAME[name.strip().upper()]
    except KeyError:
        known = ", ".join(sorted(TYPES_BY_NAME))
        raise KeyError(f"unknown CIP type {name!r} (known: {known})") from None
