"""Logix tag and data-type model: atomic types, structures (UDTs), memory layout, templates, tags.

Pure (no I/O). Everything a simulated Logix controller needs to describe its tags the way a real
one does on the wire: the memory image of every tag, the Symbol object's type word, the Template
object's attributes and definition blob, and the resolution of a tag access path to a byte range.

Public API
    Exceptions
        LayoutError(ValueError)          a structure definition that cannot be laid out (names the
                                         member); UnknownTypeError(LayoutError) has ``.type_name``.
        TagValueError(ValueError)        a value that does not fit its type (names the element).
        TagPathError(LookupError)        an access path that does not resolve; ``.status`` (CIP
                                         general status) and ``.ext_status`` tell a server what to
                                         answer (0x04 unknown tag/member or bad syntax, 0x05 index
                                         out of range, 0xFF + 0x2105 beyond the end of the tag).
    Atomic types
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
    Structures and layout
        LayoutRules(align8=False)        Logix memory rules; ``LayoutRules.for_revision(major)``:
                                         up to v26 every type sits on a 4-byte boundary at most;
                                         from v27 8-byte types (LINT, LREAL, ...) and structures
                                         holding one sit on 8-byte boundaries and such structures
                                         are sized to a multiple of 8.
        MemberDef(name, type, dim=0, hidden=False, target=None, bit=None, radix=None,
                  access="Read/Write")   a declared member. ``type`` is a type name; ``"BOOL"`` with
                                         dim 0 is packed automatically into a hidden host SINT
                                         (``ZZZZZZZZZZ<first 10 chars of the type><index>``);
                                         ``"BOOL"`` with dim n is a BOOL array (DWORD[n/32]);
                                         ``"BIT"`` with ``target``/``bit`` aliases bit ``bit`` of an
                                         integer member (as L5X exports and predefined types do).
        Member                           a laid-out member: ``.name .type .offset .count .bit .bits
                                         .hidden .radix .access``.
        Structure                        a laid-out structure: ``.name .members .size .family .kind
                                         .template_id .handle .string_capacity``;
                                         ``.member(name)``; ``.decode(buf, offset)`` -> dict (or
                                         str for the string family);
                                         ``.encode_into(buf, offset, value)``.
        layout_structure(name, defs, types, *, rules=LayoutRules(), family="NoFamily",
                         kind="User", host_bits=8) -> Structure
                                         ``types`` maps a type name to an Atomic or Structure (a
                                         Mapping or a callable; case-insensitive names).
        string_type(name, capacity, *, rules=LayoutRules()) -> Structure
                                         a user string type (LEN DINT + DATA SINT[capacity]).
        PREDEFINED                       read-only {NAME: Structure}: STRING (ASCIISTRING82,
                                         88 bytes, 0x0FCE), TIMER 0x0F83, COUNTER 0x0F82,
                                         CONTROL 0x0F81.
    Symbol type word
        encode_symbol_type(data_type, ndims=0, bit=0, system=False) -> int
        decode_symbol_type(word) -> SymbolType(word, is_struct, code, template_id, ndims, bit,
                                               system)
    Template object (0x6C)
        template_blob(structure) -> bytes           member records then names, as a controller
                                                    serves them (nested structures must be bound)
        template_attributes(structure) -> TemplateAttributes(handle, member_count, attr3,
                                          definition_size, structure_size)
        structure_handle(structure) -> int          stable CRC-16 of the definition (not 0)
        encode_template_attribute_list(attributes, ids) -> bytes
                                                    the data of a Get Attribute List (0x03) reply
        decode_template(blob, member_count) -> DecodedTemplate(name, suffix, members)
    Values
        encode_value(data_type, value, dims=()) -> bytes
        decode_value(data_type, buf, dims=(), offset=0) -> value
                                         dict for structures, str for the string family, flat
                                         list (row-major) for arrays, bools for BOOL arrays.
    Tags and access paths
        Tag(name, data_type, dims=(), *, program=None, data=None, external_access="Read/Write",
            constant=False, instance_id=None, packed_bools=True)
                                         a base tag owning its memory (``.data``);
                                         ``.elements``, ``.get_elements(start, count)``,
                                         ``.set_elements(start, values)`` (a BOOL array's BOOLs);
                                         ``.attribute`` (set by a simulator)
        AliasTag(name, alias_for, *, program=None, ...)  a tag that names another tag's data
        Location                         what a path resolves to: ``.tag`` (owner of the memory)
                                         ``.offset .data_type .dims .count .bit .bools .name``;
                                         ``.get() .set(value) .read_bytes(count) .write_bytes(data,
                                         count) .modify(or_mask, and_mask) .type_bytes
                                         .element_size``
        parse_path(text) -> (program or None, [segments])
        resolve_path(tag, segments, *, bool_index="bit") -> Location
                                         ``bool_index="word"`` gives the wire meaning of an index
                                         into a BOOL array (it counts DWORDs, as pycomm3 and pylogix
                                         send it); ``"bit"`` the Logix name meaning (``B[33]`` is
                                         bit 1 of DWORD 1).
        linear_index(indices, dims) -> int
    Codec views
        codec_for(data_type)             the codec element type of its wire values (an
                                         ``Attribute.parser``): codec class, or StructCodec.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..codec import types as cip
from ..codec.tags import encode_template_attributes, template_definition_words

__all__ = [
    "ATOMIC_BY_CODE",
    "ATOMIC_TYPES",
    "CIP_STRING_TYPES",
    "MAX_DATA_SIZE",
    "PREDEFINED",
    "AliasTag",
    "Atomic",
    "CipString",
    "DecodedTemplate",
    "LayoutError",
    "LayoutRules",
    "Location",
    "Member",
    "MemberDef",
    "StructCodec",
    "Structure",
    "SymbolType",
    "Tag",
    "TagPathError",
    "TagValueError",
    "TemplateAttributes",
    "UnknownTypeError",
    "codec_for",
    "decode_symbol_type",
    "decode_template",
    "decode_value",
    "encode_symbol_type",
    "encode_template_attribute_list",
    "encode_value",
    "layout_structure",
    "linear_index",
    "parse_path",
    "resolve_path",
    "string_type",
    "structure_handle",
    "template_attributes",
    "template_blob",
]

# ---------------------------------------------------------------------------------------------
# Errors


#: Largest structure or tag memory accepted (bytes): bounds what a definition file can allocate.
MAX_DATA_SIZE = 16 * 1024 * 1024


class LayoutError(ValueError):
    """A structure definition that cannot be laid out; the message names the member."""


class UnknownTypeError(LayoutError):
    """A member (or tag) names a data type that is not defined; ``.type_name`` says which."""

    def __init__(self, message: str, type_name: str) -> None:
        super().__init__(message)
        self.type_name = type_name


class TagValueError(ValueError):
    """A value that does not fit its data type; the message names the element."""


class TagPathError(LookupError):
    """An access path that does not resolve.

    ``status`` is the CIP general status a controller answers with (0x04 path segment error for an
    unknown tag or member, 0x05 path destination unknown for an index out of range, 0xFF with
    extended status 0x2105 for an access beyond the end of the tag).
    """

    def __init__(self, message: str, status: int = 0x04, ext_status: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.ext_status = tuple(ext_status)

    def __str__(self) -> str:
        return str(self.args[0])


# ---------------------------------------------------------------------------------------------
# Atomic types

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

_BOOL = ATOMIC_TYPES["BOOL"]
_SINT = ATOMIC_TYPES["SINT"]
_DINT = ATOMIC_TYPES["DINT"]
_DWORD = ATOMIC_TYPES["DWORD"]


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
            raw = _latin1(value, where)
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

# ---------------------------------------------------------------------------------------------
# Layout


@dataclass(frozen=True)
class LayoutRules:
    """How a controller lays structures out in memory (see the module docstring)."""

    align8: bool = False

    @classmethod
    def for_revision(cls, major: int) -> LayoutRules:
        """The rules of a controller with firmware major revision ``major``."""
        return cls(align8=major >= 27)


@dataclass(frozen=True)
class MemberDef:
    """A declared structure member (see the module docstring)."""

    name: str
    type: str
    dim: int = 0
    hidden: bool = False
    target: str | None = None
    bit: int | None = None
    radix: str | None = None
    access: str = "Read/Write"


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


def _roundup(value: int, align: int) -> int:
    return -(-value // align) * align


_NAME_BAD = re.compile(r"[\s.\[\],;\x00]")


def _check_name(name: str, where: str) -> None:
    if not name or _NAME_BAD.search(name):
        raise LayoutError(f"{where}: invalid member name {name!r}")


TypeLookup = Mapping[str, "DataType"] | Callable[[str], "DataType"]


def _lookup_type(types: TypeLookup, name: str) -> DataType | None:
    atomic = ATOMIC_TYPES.get(name.upper())
    if atomic is not None:
        return atomic
    if callable(types):
        try:
            return types(name)
        except KeyError:
            return None
    found = types.get(name)
    if found is None:
        folded = name.casefold()
        for key, value in types.items():
            if key.casefold() == folded:
                return value
    return found


def _host_name(struct_name: str, index: int) -> str:
    return f"ZZZZZZZZZZ{struct_name[:10]}{index}"


def _expand_bools(name: str, defs: Sequence[MemberDef], host_bits: int) -> list[MemberDef]:
    """Insert hidden host members for plain scalar BOOL members, as Logix does."""
    out: list[MemberDef] = []
    host: str | None = None
    used = 0
    host_type = "SINT" if host_bits == 8 else "DINT"
    for d in defs:
        if d.type.upper() == "BOOL" and not d.dim and d.target is None:
            if host is None or used == host_bits:
                host = _host_name(name, len(out))
                out.append(MemberDef(host, host_type, hidden=True))
                used = 0
            out.append(
                MemberDef(
                    d.name, "BIT", target=host, bit=used, hidden=d.hidden, radix=d.radix,
                    access=d.access,
                )
            )  # fmt: skip
            used += 1
        else:
            host = None
            out.append(d)
    return out


def layout_structure(
    name: str,
    defs: Sequence[MemberDef],
    types: TypeLookup,
    *,
    rules: LayoutRules | None = None,
    family: str = "NoFamily",
    kind: str = "User",
    host_bits: int = 8,
    template_name: str | None = None,
    template_id: int | None = None,
    handle: int | None = None,
) -> Structure:
    """Lay a structure out in memory the way Logix does and return it (see the module doc)."""
    rules = rules or LayoutRules()
    if not name or _NAME_BAD.search(name):
        raise LayoutError(f"invalid structure name {name!r}")
    if not defs:
        raise LayoutError(f"structure {name}: has no members")
    expanded = _expand_bools(name, defs, host_bits)
    seen: dict[str, MemberDef] = {}
    for d in expanded:
        where = f"structure {name}, member {d.name!r}"
        _check_name(d.name, where)
        if d.name.casefold() in seen:
            raise LayoutError(f"structure {name}: duplicate member name {d.name!r}")
        seen[d.name.casefold()] = d
        if d.dim < 0:
            raise LayoutError(f"{where}: negative dimension {d.dim}")

    placed: dict[str, Member] = {}
    members: list[Member | None] = []
    offset = 0
    for d in expanded:
        where = f"structure {name}, member {d.name!r}"
        if d.type.upper() == "BIT":
            members.append(None)  # placed below, once its target has an offset
            continue
        count, bits = d.dim, None
        if d.type.upper() == "BOOL":  # a BOOL array: DWORDs
            mtype: DataType = _DWORD
            count = -(-d.dim // 32)
            bits = count * 32
        else:
            found = _lookup_type(types, d.type)
            if found is None:
                raise UnknownTypeError(f"{where}: unknown data type {d.type!r}", d.type)
            if found.variable:
                raise LayoutError(f"{where}: a {found.name} cannot be a structure member")
            mtype = found
        offset = _roundup(offset, mtype.alignment(rules))
        radix = d.radix or ("NullType" if mtype.is_struct else mtype.radix)
        member = Member(d.name, mtype, offset, count, None, bits, d.hidden, radix, d.access)
        offset += member.size
        placed[d.name.casefold()] = member
        members.append(member)

    for i, d in enumerate(expanded):
        if members[i] is not None:
            continue
        where = f"structure {name}, member {d.name!r}"
        if d.target is None or d.bit is None:
            raise LayoutError(f"{where}: a BIT member needs a target and a bit number")
        if d.dim:
            raise LayoutError(f"{where}: a BIT member cannot be an array")
        target = placed.get(d.target.casefold())
        if target is None:
            raise LayoutError(f"{where}: target {d.target!r} is not a member of {name}")
        ttype = target.type
        if ttype.is_struct or target.count or target.bit is not None or not ttype.is_integer:
            raise LayoutError(f"{where}: target {target.name!r} is not a scalar integer")
        if not 0 <= d.bit < ttype.size * 8:
            raise LayoutError(
                f"{where}: bit {d.bit} is outside {target.name!r} ({ttype.name}, "
                f"{ttype.size * 8} bits)"
            )
        members[i] = Member(
            d.name, _BOOL, target.offset + d.bit // 8, 0, d.bit % 8, None, d.hidden,
            d.radix or "Decimal", d.access,
        )  # fmt: skip

    final = [m for m in members if m is not None]
    eight = rules.align8 and any(m.type.has_8byte for m in final)
    size = _roundup(max(offset, 1), 8 if eight else 4)
    if size > MAX_DATA_SIZE:
        raise LayoutError(f"structure {name}: {size} bytes exceed the {MAX_DATA_SIZE} limit")
    return Structure(
        name, final, size, family=family, kind=kind, template_name=template_name,
        template_id=template_id, handle=handle,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Structures


class Structure:
    """A laid-out structure (UDT, string type, predefined or add-on-instruction type)."""

    is_struct = True
    variable = False
    is_bool = False
    is_float = False
    is_integer = False

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
        self.has_8byte = any(m.type.has_8byte for m in self.members)
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
            raw = value if isinstance(value, (bytes, bytearray)) else _latin1(value, where)
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


def _latin1(value: str, where: str) -> bytes:
    try:
        return value.encode("iso-8859-1")
    except UnicodeEncodeError:
        raise TagValueError(f"{where}: {value!r} is not ISO-8859-1 text") from None


DataType = Atomic | Structure | CipString


def _decode_member(m: Member, buf: Any, base: int) -> Any:
    offset = base + m.offset
    if m.bit is not None:
        return bool(buf[offset] >> m.bit & 1)
    if m.bits is not None:
        return _bits_of(buf, offset, m.bits)
    if m.count:
        return _decode_elements(m.type, buf, offset, m.count)
    return m.type.decode(buf, offset)


def _encode_member(m: Member, buf: bytearray, base: int, value: Any, where: str) -> None:
    offset = base + m.offset
    if m.bit is not None:
        on = _BOOL.check(value, where)
        mask = 1 << m.bit
        buf[offset] = (buf[offset] | mask) if on else (buf[offset] & ~mask & 0xFF)
        return
    if m.bits is not None:
        _set_bits(buf, offset, m.bits, value, where)
        return
    if m.count:
        _encode_elements(m.type, buf, offset, m.count, value, where)
        return
    m.type.encode_into(buf, offset, value, where)


def _bits_of(buf: Any, offset: int, bits: int) -> list[bool]:
    raw = int.from_bytes(bytes(buf[offset : offset + bits // 8]), "little")
    return [bool(raw >> i & 1) for i in range(bits)]


def _set_bits(buf: bytearray, offset: int, bits: int, value: Any, where: str) -> None:
    values = _flatten(value)
    if len(values) > bits:
        raise TagValueError(f"{where}: {len(values)} values for a BOOL array of {bits}")
    raw = int.from_bytes(bytes(buf[offset : offset + bits // 8]), "little")
    for i, item in enumerate(values):
        if _BOOL.check(item, f"{where}[{i}]"):
            raw |= 1 << i
        else:
            raw &= ~(1 << i)
    buf[offset : offset + bits // 8] = raw.to_bytes(bits // 8, "little")


def _flatten(value: Any) -> list:
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        return [value]
    out: list = []
    for item in value:
        if isinstance(item, (list, tuple)):
            out.extend(_flatten(item))
        else:
            out.append(item)
    return out


def _decode_elements(dtype: DataType, buf: Any, offset: int, count: int) -> list:
    if isinstance(dtype, Atomic):
        return dtype.decode_array(buf, offset, count)
    size = dtype.size
    return [dtype.decode(buf, offset + i * size) for i in range(count)]


def _encode_elements(
    dtype: DataType, buf: bytearray, offset: int, count: int, value: Any, where: str
) -> None:
    values = _flatten(value)
    if len(values) > count:
        raise TagValueError(f"{where}: {len(values)} values for {count} elements")
    if isinstance(dtype, Atomic):
        dtype.encode_array_into(buf, offset, values, where)
        return
    for i, item in enumerate(values):
        dtype.encode_into(buf, offset + i * dtype.size, item, f"{where}[{i}]")


def _elements(dims: Sequence[int]) -> int:
    return math.prod(dims) if dims else 1


def _storage(
    data_type: DataType, dims: Sequence[int], packed: bool = True
) -> tuple[DataType, int, int | None]:
    """(element type, element count, number of BOOLs or None) of a tag's memory.

    ``packed`` False keeps a BOOL array one byte per BOOL (a cpppo command-line ``BOOL[n]``).
    """
    if data_type is _BOOL and dims and packed:
        words = -(-_elements(dims) // 32)
        return _DWORD, words, words * 32
    return data_type, _elements(dims), None


def encode_value(
    data_type: DataType, value: Any, dims: Sequence[int] = (), *, packed: bool = True
) -> bytes:
    """Encode a Python value as the memory image of a tag of ``data_type[dims]``."""
    etype, count, bools = _storage(data_type, dims, packed)
    buf = bytearray(etype.size * count)
    where = data_type.name
    if bools is not None:
        _set_bits(buf, 0, bools, value, where)
    elif dims:
        _encode_elements(etype, buf, 0, count, value, where)
    else:
        etype.encode_into(buf, 0, value, where)
    return bytes(buf)


def decode_value(
    data_type: DataType, buf: Any, dims: Sequence[int] = (), offset: int = 0, *, packed: bool = True
) -> Any:
    """Decode the memory image of a tag of ``data_type[dims]`` (see the module docstring)."""
    etype, count, bools = _storage(data_type, dims, packed)
    if bools is not None:
        return _bits_of(buf, offset, bools)
    if dims:
        return _decode_elements(etype, buf, offset, count)
    return etype.decode(buf, offset)


# ---------------------------------------------------------------------------------------------
# Predefined types


def string_type(name: str, capacity: int, *, rules: LayoutRules | None = None) -> Structure:
    """A user string type: LEN DINT + DATA SINT[capacity] (family StringFamily)."""
    if not 1 <= capacity <= 65535:
        raise LayoutError(f"string type {name}: capacity {capacity} outside 1..65535")
    defs = [MemberDef("LEN", "DINT"), MemberDef("DATA", "SINT", capacity, radix="ASCII")]
    return layout_structure(name, defs, {}, rules=rules, family="StringFamily")


def _predefined(
    name: str, template_id: int, defs: list[MemberDef], **kw: Any
) -> tuple[str, Structure]:
    return name, layout_structure(
        name, defs, {}, kind="Predefined", template_id=template_id, handle=template_id, **kw
    )


def _status_bits(*names: str) -> list[MemberDef]:
    return [MemberDef(n, "BIT", target="CTL", bit=31 - i) for i, n in enumerate(names)]


_CTL = MemberDef("CTL", "DWORD", hidden=True, radix="Hex")

PREDEFINED: Mapping[str, Structure] = MappingProxyType(
    dict(
        [
            _predefined(
                "STRING",
                cip.STRING_HANDLE,
                [MemberDef("LEN", "DINT"), MemberDef("DATA", "SINT", 82, radix="ASCII")],
                family="StringFamily",
                template_name="ASCIISTRING82",
            ),
            _predefined(
                "TIMER",
                0x0F83,
                [
                    _CTL,
                    MemberDef("PRE", "DINT"),
                    MemberDef("ACC", "DINT"),
                    *_status_bits("EN", "TT", "DN"),
                ],
            ),
            _predefined(
                "COUNTER",
                0x0F82,
                [
                    _CTL,
                    MemberDef("PRE", "DINT"),
                    MemberDef("ACC", "DINT"),
                    *_status_bits("CU", "CD", "DN", "OV", "UN"),
                ],
            ),
            _predefined(
                "CONTROL",
                0x0F81,
                [
                    _CTL,
                    MemberDef("LEN", "DINT"),
                    MemberDef("POS", "DINT"),
                    *_status_bits("EN", "EU", "DN", "EM", "ER", "UL", "IN", "FD"),
                ],
            ),
        ]
    )
)

# ---------------------------------------------------------------------------------------------
# Symbol type word

SYMBOL_STRUCT = 0x8000
SYMBOL_SYSTEM = 0x1000
SYMBOL_DIMS_SHIFT = 13
#: Array flag of a template member's type word (one dimension).
TEMPLATE_ARRAY = 0x2000


@dataclass(frozen=True)
class SymbolType:
    """A decoded Symbol object type word (attribute 2)."""

    word: int
    is_struct: bool
    code: int | None
    template_id: int | None
    ndims: int
    bit: int
    system: bool


def encode_symbol_type(
    data_type: DataType, ndims: int = 0, bit: int = 0, system: bool = False
) -> int:
    """The Symbol type word of a tag: struct bit + template id, or atomic code [+ BOOL bit]."""
    if not 0 <= ndims <= 3:
        raise ValueError(f"a tag has 0..3 dimensions, not {ndims}")
    if isinstance(data_type, Structure):
        if data_type.template_id is None:
            raise ValueError(f"structure {data_type.name} has no template id yet")
        word = SYMBOL_STRUCT | (data_type.template_id & 0x0FFF)
    else:
        word = data_type.code & 0xFF
        if data_type.is_bool:
            if not 0 <= bit <= 7:
                raise ValueError(f"BOOL bit number {bit} outside 0..7")
            word |= bit << 8
    return word | ndims << SYMBOL_DIMS_SHIFT | (SYMBOL_SYSTEM if system else 0)


def decode_symbol_type(word: int) -> SymbolType:
    """Split a Symbol type word into its fields."""
    ndims = (word >> SYMBOL_DIMS_SHIFT) & 0x3
    system = bool(word & SYMBOL_SYSTEM)
    if word & SYMBOL_STRUCT:
        return SymbolType(word, True, None, word & 0x0FFF, ndims, 0, system)
    code = word & 0xFF
    bit = (word >> 8) & 0x7 if code == _BOOL.code else 0
    return SymbolType(word, False, code, None, ndims, bit, system)


# ---------------------------------------------------------------------------------------------
# Template object

_RECORD = struct.Struct("<HHI")


@dataclass(frozen=True)
class TemplateAttributes:
    """Template object (0x6C) instance attributes 1..5."""

    handle: int
    member_count: int
    attr3: int
    definition_size: int
    structure_size: int


def _template_type_word(m: Member) -> int:
    if isinstance(m.type, Structure):
        if m.type.template_id is None:
            raise ValueError(f"nested structure {m.type.name} has no template id yet")
        word = SYMBOL_STRUCT | (m.type.template_id & 0x0FFF)
    else:
        word = m.type.code & 0xFF
    return word | (TEMPLATE_ARRAY if m.count else 0)


def _template_name(s: Structure) -> bytes:
    if s.kind == "Predefined":
        return (s.template_name or s.name).encode("iso-8859-1")
    # Two characters per member follow ";n": 'A' + radix code, then 'A' + external access code
    # (inferred from real blobs: a REAL member reads "HA", a DINT member "EA").
    chars = "".join(
        chr(65 + RADIX_CODES.get((m.radix or "NullType").lower(), 0))
        + chr(65 + access_code(m.access))
        for m in s.members
    )
    return f"{s.template_name or s.name};n{chars}".encode("iso-8859-1")


def template_blob(s: Structure) -> bytes:
    """The Template object definition as a controller serves it (without trailing padding)."""
    records = b"".join(
        _RECORD.pack(m.bit if m.bit is not None else m.count, _template_type_word(m), m.offset)
        for m in s.members
    )
    names = b"".join(m.name.encode("iso-8859-1") + b"\0" for m in s.members)
    return records + _template_name(s) + b"\0" + names


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def structure_handle(s: Structure, salt: int = 0) -> int:
    """A stable 16-bit handle for a structure definition (CRC-16 of its definition, never 0).

    ``salt`` lets a tag database pick another handle when two definitions collide.
    """
    records = b"".join(
        _RECORD.pack(m.bit if m.bit is not None else m.count, _member_signature(m), m.offset)
        for m in s.members
    )
    data = records + s.name.encode("iso-8859-1") + salt.to_bytes(2, "little")
    return _crc16(data) or 0xFFFF


def _member_signature(m: Member) -> int:
    # The handle must not depend on template ids a database assigns: hash nested handles instead.
    if isinstance(m.type, Structure):
        nested = m.type.handle if m.type.handle is not None else structure_handle(m.type)
        return nested ^ 0x8000
    return m.type.code


def template_attributes(s: Structure) -> TemplateAttributes:
    """Template attributes of a bound structure.

    Attribute 4 (definition size in 32-bit words) comes from the codec's
    :func:`template_definition_words`.
    """
    if s.handle is None:
        raise ValueError(f"structure {s.name} has no handle yet")
    n = len(template_blob(s))
    return TemplateAttributes(s.handle, len(s.members), 0, template_definition_words(n), s.size)


def encode_template_attribute_list(attrs: TemplateAttributes, ids: Sequence[int]) -> bytes:
    """The data of a Get Attribute List (0x03) reply on a Template instance.

    ``UINT count`` then per attribute ``UINT id, UINT status`` and, when the status is 0, its
    value. Unknown attribute ids get status 0x14 (attribute not supported) and no value.
    """
    values = {
        1: attrs.handle,
        2: attrs.member_count,
        3: attrs.attr3,
        4: attrs.definition_size,
        5: attrs.structure_size,
    }
    return encode_template_attributes(ids, values)


@dataclass(frozen=True)
class DecodedTemplate:
    """A parsed template blob: ``name`` before ';', ``suffix`` after it, ``members`` as tuples
    ``(name, info, type_word, offset)``."""

    name: str
    suffix: str
    members: tuple[tuple[str, int, int, int], ...]


def decode_template(blob: bytes, member_count: int) -> DecodedTemplate:
    """Parse a template blob (records, then ``Name[;suffix]\\0`` and member names)."""
    need = member_count * _RECORD.size
    if len(blob) < need:
        raise ValueError(f"template blob of {len(blob)} bytes is too short for {member_count}")
    records = [_RECORD.unpack_from(blob, i * _RECORD.size) for i in range(member_count)]
    strings = bytes(blob[need:]).split(b"\0")
    if len(strings) < member_count + 1:
        raise ValueError("template blob has fewer names than members")
    name, _, suffix = strings[0].decode("iso-8859-1").partition(";")
    names = [s.decode("iso-8859-1") for s in strings[1 : member_count + 1]]
    members = tuple((n, info, typ, off) for n, (info, typ, off) in zip(names, records))
    return DecodedTemplate(name, suffix, members)


# ---------------------------------------------------------------------------------------------
# Tags


class Tag:
    """A base tag: a name, a data type, up to 3 dimensions and the memory holding its value.

    A BOOL array is stored as DWORDs (its length is rounded up to a multiple of 32, as Studio
    5000 does), unless ``packed_bools`` is False: then it is one byte per BOOL, as the original
    cpppo's command-line ``BOOL[n]`` tags are. ``data`` is the tag's memory image (a bytearray,
    the only copy of its value), ``value`` its Python value. ``attribute`` is the
    :class:`~.attribute.Attribute` a simulator presents the tag through (None outside one).
    """

    is_alias = False

    def __init__(
        self,
        name: str,
        data_type: DataType,
        dims: Sequence[int] = (),
        *,
        program: str | None = None,
        data: bytes | bytearray | None = None,
        external_access: str = "Read/Write",
        constant: bool = False,
        instance_id: int | None = None,
        description: str | None = None,
        packed_bools: bool = True,
    ) -> None:
        dims = tuple(int(d) for d in dims if d)
        if len(dims) > 3:
            raise ValueError(f"tag {name}: at most 3 dimensions, not {len(dims)}")
        if any(d < 0 for d in dims):
            raise ValueError(f"tag {name}: negative dimension in {dims}")
        self.packed_bools = packed_bools = packed_bools or data_type is not _BOOL or not dims
        if data_type is _BOOL and dims and packed_bools:
            if len(dims) != 1:
                raise ValueError(f"tag {name}: a BOOL array has one dimension")
            dims = (-(-dims[0] // 32) * 32,)
        access_code(external_access)
        self.name = name
        self.program = program
        self.data_type = data_type
        self.dims: tuple[int, ...] = dims
        self.external_access = external_access
        self.constant = constant
        self.instance_id = instance_id
        self.description = description
        self.attribute: Any = None
        self.storage_type, self.storage_count, self.bools = _storage(data_type, dims, packed_bools)
        size = self.storage_type.size * self.storage_count
        if size > MAX_DATA_SIZE:
            raise ValueError(f"tag {name}: {size} bytes exceed the {MAX_DATA_SIZE} limit")
        if data is None:
            self.data = bytearray(size)
        else:
            if len(data) != size:
                raise ValueError(f"tag {name}: {len(data)} bytes of data, its type needs {size}")
            self.data = bytearray(data)

    def __repr__(self) -> str:
        dims = f"[{','.join(map(str, self.dims))}]" if self.dims else ""
        return f"<Tag {self.qualified_name}: {self.data_type.name}{dims}>"

    @property
    def qualified_name(self) -> str:
        """``Program:<program>.<name>`` for a program tag, else the name."""
        return f"Program:{self.program}.{self.name}" if self.program else self.name

    @property
    def size(self) -> int:
        """Bytes of memory."""
        return len(self.data)

    @property
    def element_size(self) -> int:
        """Bytes per element (Symbol attribute 7; 4 for a BOOL array's DWORDs)."""
        return self.storage_type.size

    @property
    def symbol_dims(self) -> tuple[int, int, int]:
        """Symbol attribute 8: the 3 dimensions (a BOOL array counts DWORDs)."""
        dims = (self.storage_count,) if self.bools is not None else self.dims
        return (*dims, 0, 0, 0)[:3]  # type: ignore[return-value]

    @property
    def symbol_type(self) -> int:
        """Symbol attribute 2 (the type word)."""
        return encode_symbol_type(self.storage_type, len(self.dims))

    def root(self) -> Location:
        """The location of the whole tag (made once: a tag never changes shape)."""
        root = self.__dict__.get("_root")
        if root is not None:
            return root
        root = self._root = Location(
            self, 0, self.storage_type, self.qualified_name,
            (self.storage_count,) if self.bools is not None else self.dims,
            self.storage_count, None, self.bools,
        )  # fmt: skip
        return root

    @property
    def value(self) -> Any:
        """The Python value of the whole tag (setting it replaces the whole memory image)."""
        return decode_value(self.data_type, self.data, self.dims, packed=self.packed_bools)

    @value.setter
    def value(self, value: Any) -> None:
        self.data[:] = encode_value(self.data_type, value, self.dims, packed=self.packed_bools)

    # -- elements: the tag as a flat sequence of values (what an Attribute presents) -----------

    @property
    def elements(self) -> int:
        """The number of values: BOOLs of a BOOL array, else elements of the memory."""
        return self.bools if self.bools is not None else self.storage_count

    def get_elements(self, start: int, count: int) -> list:
        """Values ``start .. start+count`` (row-major; bools for a BOOL array)."""
        if not 0 <= start <= start + count <= self.elements:
            raise TagPathError(f"{self.qualified_name}: elements {start}+{count} outside", 0x05)
        if self.bools is not None:
            raw = int.from_bytes(self.data, "little") >> start
            return [bool(raw >> i & 1) for i in range(count)]
        dtype = self.storage_type
        return _decode_elements(dtype, self.data, start * dtype.size, count)

    def set_elements(self, start: int, values: Sequence) -> None:
        """Store ``values`` from element ``start`` on (TagValueError if one does not fit)."""
        values = list(values)
        if not 0 <= start <= start + len(values) <= self.elements:
            raise TagPathError(
                f"{self.qualified_name}: elements {start}+{len(values)} outside", 0x05
            )
        where = self.qualified_name
        if self.bools is not None:
            raw = int.from_bytes(self.data, "little")
            for i, item in enumerate(values, start):
                raw = raw | 1 << i if _BOOL.check(item, f"{where}[{i}]") else raw & ~(1 << i)
            self.data[:] = raw.to_bytes(len(self.data), "little")
            return
        dtype = self.storage_type
        _encode_elements(dtype, self.data, start * dtype.size, len(values), values, where)


class AliasTag:
    """A tag naming (part of) another tag: reads and writes go to ``alias_for``'s memory.

    ``target`` is None until a tag database binds the alias to a Location.
    """

    is_alias = True

    def __init__(
        self,
        name: str,
        alias_for: str,
        *,
        program: str | None = None,
        external_access: str = "Read/Write",
        instance_id: int | None = None,
        description: str | None = None,
    ) -> None:
        access_code(external_access)
        self.name = name
        self.alias_for = alias_for
        self.program = program
        self.external_access = external_access
        self.instance_id = instance_id
        self.description = description
        self.constant = False
        self.target: Location | None = None

    def __repr__(self) -> str:
        return f"<AliasTag {self.qualified_name} -> {self.alias_for}>"

    qualified_name = Tag.qualified_name

    def _bound(self) -> Location:
        if self.target is None:
            raise TagPathError(f"alias {self.qualified_name} -> {self.alias_for} is not bound")
        return self.target

    def root(self) -> Location:
        """The location the alias names."""
        return self._bound()

    @property
    def data_type(self) -> DataType:
        """Data type of the aliased location (BOOL for a bit)."""
        return self._bound().data_type

    @property
    def dims(self) -> tuple[int, ...]:
        """Dimensions of the aliased location."""
        return self._bound().dims

    @property
    def element_size(self) -> int:
        """Bytes per element of the aliased location."""
        return self._bound().element_size

    @property
    def symbol_dims(self) -> tuple[int, int, int]:
        """Symbol attribute 8 of the aliased location."""
        return (*self._bound().dims, 0, 0, 0)[:3]  # type: ignore[return-value]

    @property
    def symbol_type(self) -> int:
        """Symbol attribute 2 of the aliased location (a bit carries its bit number)."""
        loc = self._bound()
        return encode_symbol_type(loc.data_type, len(loc.dims), loc.bit or 0)

    @property
    def value(self) -> Any:
        """The Python value of the aliased location."""
        return self._bound().get()

    @value.setter
    def value(self, value: Any) -> None:
        self._bound().set(value)


AnyTag = Tag | AliasTag


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
            name = self._name = _join(name)
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
                0xFF,
                (0x2105,),
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
            raise TagPathError(f"{self.name}: not an integer element", 0xFF, (0x2107,))
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
                return _bits_of(buf, self.offset, self.count * 32)[: self.bools]
            if not self.dims:
                return self.data_type.decode(buf, self.offset)
            count = _elements(self.dims)
        self._check_count(count)
        return _decode_elements(self.data_type, buf, self.offset, count)

    def set(self, value: Any) -> None:
        """Store a Python value here (a list fills elements from this one on)."""
        buf = self.tag.data
        if self.bit is not None:
            mask = 1 << self.bit
            on = _BOOL.check(value, self.name)
            buf[self.offset] = (buf[self.offset] | mask) if on else (buf[self.offset] & ~mask)
        elif self.bools is not None:
            _set_bits(buf, self.offset, self.count * 32, value, self.name)
        elif self.dims or isinstance(value, (list, tuple)):
            _encode_elements(self.data_type, buf, self.offset, self.count, value, self.name)
        else:
            self.data_type.encode_into(buf, self.offset, value, self.name)


# ---------------------------------------------------------------------------------------------
# Access paths


def _join(spec: tuple) -> str:
    """The text of a lazily named path: (parent Location, "[" or ".", indices or name)."""
    parent, sep, suffix = spec
    if sep == "[":
        return f"{parent.name}[{','.join(map(str, suffix))}]"
    return f"{parent.name}.{suffix}"


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
        raise TagPathError(f"{_join(name)}: {loc.name} is not an array")
    if loc.bools is not None and bool_index == "bit":
        if len(indices) != 1:
            raise TagPathError(f"{loc.name}{list(indices)}: a BOOL array has one dimension")
        (i,) = indices
        if i >= loc.bools:
            raise TagPathError(f"{_join(name)}: index out of range 0..{loc.bools - 1}", 0x05)
        return Location(loc.tag, loc.offset + i // 8, _BOOL, name, (), 1, i % 8, None)
    dims = loc.dims
    if len(indices) != len(dims):
        raise TagPathError(f"{_join(name)}: {len(dims)} indices needed, {len(indices)} given")
    linear = 0
    for i, d in zip(indices, dims):
        if i >= d:
            raise TagPathError(f"{_join(name)}: index {i} out of range 0..{d - 1}", 0x05)
        linear = linear * d + i
    total = _elements(dims)
    offset = loc.offset + linear * loc.data_type.size
    return Location(loc.tag, offset, loc.data_type, name, (), total - linear, None, None)


def _member(loc: Location, name: str) -> Location:
    full = (loc, ".", name)
    dtype = loc.data_type
    if loc.dims or loc.bit is not None or not isinstance(dtype, Structure):
        raise TagPathError(f"{_join(full)}: {loc.name} is not a structure")
    try:
        m = dtype.member(name)
    except KeyError:
        raise TagPathError(f"{_join(full)}: {dtype.name} has no member {name!r}") from None
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
        raise TagPathError(f"{_join(full)}: {loc.name} is not an integer")
    if bit >= dtype.size * 8:
        raise TagPathError(f"{_join(full)}: bit {bit} outside {dtype.name}", 0x05)
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


# ---------------------------------------------------------------------------------------------
# Codec views: a data type as the codec's element interface (``Attribute.parser``)


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
