"""Logix tag service payloads, Symbol object (0x6B) and Template object (0x6C) records.

All functions encode/decode service DATA (after the request path, or after the reply's status);
build whole messages with ``cip.encode_request`` / ``cip.encode_reply``. Re-exported by
``codec.cip``.

Public API:
    TypeRef(code, handle=None)          a data type as tag services carry it: UINT atomic code, or
                                        0x02A0 followed by a UINT structure handle.
    encode_type(code, handle=None) -> bytes / decode_type(buf, offset=0) -> (TypeRef, next)
    ReadTag(elements)                   0x4C request: UINT elements.
    encode_read_tag(elements=1) / decode_read_tag(buf) -> ReadTag
    ReadTagFragmented(elements, offset) 0x52 request: UINT elements, UDINT byte offset.
    encode_read_tag_fragmented(elements, offset) / decode_read_tag_fragmented(buf)
    WriteTag(code, handle, elements, data)                 0x4D request.
    encode_write_tag(code, elements, data, handle=None) / decode_write_tag(buf) -> WriteTag
    WriteTagFragmented(code, handle, elements, offset, data)   0x53 request.
    encode_write_tag_fragmented(code, elements, offset, data, handle=None)
    decode_write_tag_fragmented(buf) -> WriteTagFragmented
    ReadModifyWrite(size, or_mask, and_mask)               0x4E request on a tag (masks as ints).
    encode_read_modify_write(size, or_mask, and_mask) / decode_read_modify_write(buf)
    TypedData(code, handle, data)       Read Tag [Fragmented] reply data: type + value bytes.
    encode_typed_data(code, data, handle=None) / decode_typed_data(buf) -> TypedData
    SymbolType(...) / encode_symbol_type(...) / decode_symbol_type(word)
                                        the Symbol object's type word (attribute 2).
    SYMBOL_ATTRIBUTE_NAMES              {1: 'name', 2: 'type', 3: 'address', 5: 'object_address',
                                        6: 'software_control', 7: 'element_size',
                                        8: 'dimensions', 10: 'external_access'}
    encode_symbol_record(instance_id, attributes, values) -> bytes
                                        one Get Instance Attribute List (0x55) reply entry: UDINT
                                        instance id, then each requested attribute's value, in
                                        request order (``values`` maps attribute id -> value; name
                                        a str, dimensions a 3-sequence, the rest ints).
    decode_symbol_records(buf, attributes) -> list[SymbolRecord(instance_id, values)]
    TEMPLATE_ATTRIBUTE_SIZES            {1: 2, 2: 2, 3: 2, 4: 4, 5: 4} (bytes per value).
    encode_template_attributes(ids, values) -> bytes      Template Get Attribute List reply data
                                        (ids missing from ``values`` get status 0x14, no value).
    decode_template_attributes(buf) -> dict[int, int]      the attributes with status 0.
    TemplateRead(offset, count)         template read (0x4C on 0x6C/id) request: UDINT, UINT.
    encode_template_read(offset, count) / decode_template_read(buf) -> TemplateRead
    TemplateMember(info, type, offset)  one 8-byte member record of a template definition.
    encode_template_definition(members, names) -> bytes   records, then each name + NUL
                                        (``names[0]`` is the template name, e.g. 'UDT;nHAEA').
    decode_template_definition(buf, member_count) -> (members, names)
                                        ``names`` has member_count + 1 entries; padding after the
                                        last NUL is ignored.
    template_definition_words(length) -> int    Template attribute 4 for a definition of
                                        ``length`` bytes: ceil((length + 20) / 4).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from .attributes import decode_attribute_list_reply
from .errors import DecodeError, EncodeError
from .status import Status
from .types import STRUCT_CODE

__all__ = [
    "SYMBOL_ATTRIBUTE_NAMES",
    "TEMPLATE_ATTRIBUTE_SIZES",
    "ReadModifyWrite",
    "ReadTag",
    "ReadTagFragmented",
    "SymbolRecord",
    "SymbolType",
    "TemplateMember",
    "TemplateRead",
    "TypeRef",
    "TypedData",
    "WriteTag",
    "WriteTagFragmented",
    "decode_read_modify_write",
    "decode_read_tag",
    "decode_read_tag_fragmented",
    "decode_symbol_records",
    "decode_symbol_type",
    "decode_template_attributes",
    "decode_template_definition",
    "decode_template_read",
    "decode_type",
    "decode_typed_data",
    "decode_write_tag",
    "decode_write_tag_fragmented",
    "encode_read_modify_write",
    "encode_read_tag",
    "encode_read_tag_fragmented",
    "encode_symbol_record",
    "encode_symbol_type",
    "encode_template_attributes",
    "encode_template_definition",
    "encode_template_read",
    "encode_type",
    "encode_typed_data",
    "encode_write_tag",
    "encode_write_tag_fragmented",
    "template_definition_words",
]

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U16x2 = struct.Struct("<HH")
_FRAG = struct.Struct("<HI")  # elements, byte offset
_TREAD = struct.Struct("<IH")  # offset, count
_MEMBER = struct.Struct("<HHI")  # info, type, offset
_DIMS = struct.Struct("<III")
_new = tuple.__new__


def _short(what: str, need: int, have: int) -> DecodeError:
    return DecodeError(f"{what}: need {need} bytes, have {have}", status=Status.NOT_ENOUGH_DATA)


class TypeRef(NamedTuple):
    """A data type as Read/Write Tag carry it: an atomic code, or 0x02A0 + structure handle."""

    code: int
    handle: int | None = None


def encode_type(code: int, handle: int | None = None) -> bytes:
    """UINT code, plus UINT handle when ``code`` is the structure code 0x02A0."""
    try:
        if code == STRUCT_CODE:
            if handle is None:
                raise EncodeError("structure type 0x02A0 needs a structure handle")
            return _U16x2.pack(code, handle)
        return _U16.pack(code)
    except struct.error as exc:
        raise EncodeError(f"data type 0x{code:X}: {exc}") from None


def decode_type(buf: bytes | bytearray | memoryview, offset: int = 0) -> tuple[TypeRef, int]:
    """Decode a type at ``offset``; return it and the offset after it."""
    if offset + 2 > len(buf):
        raise _short("data type", offset + 2, len(buf))
    (code,) = _U16.unpack_from(buf, offset)
    if code == STRUCT_CODE:
        if offset + 4 > len(buf):
            raise _short("structure type", offset + 4, len(buf))
        return _new(TypeRef, (code, _U16.unpack_from(buf, offset + 2)[0])), offset + 4
    return _new(TypeRef, (code, None)), offset + 2


class ReadTag(NamedTuple):
    """Read Tag (0x4C) request data."""

    elements: int = 1


def encode_read_tag(elements: int = 1) -> bytes:
    """UINT element count."""
    try:
        return _U16.pack(elements)
    except struct.error as exc:
        raise EncodeError(f"Read Tag elements {elements}: {exc}") from None


def decode_read_tag(buf: bytes | bytearray | memoryview) -> ReadTag:
    """Decode Read Tag data (bytes after the count are ignored)."""
    if len(buf) < 2:
        raise _short("Read Tag", 2, len(buf))
    return _new(ReadTag, _U16.unpack_from(buf, 0))


class ReadTagFragmented(NamedTuple):
    """Read Tag Fragmented (0x52) request data."""

    elements: int
    offset: int = 0


def encode_read_tag_fragmented(elements: int, offset: int = 0) -> bytes:
    """UINT element count, UDINT byte offset."""
    try:
        return _FRAG.pack(elements, offset)
    except struct.error as exc:
        raise EncodeError(f"Read Tag Fragmented: {exc}") from None


def decode_read_tag_fragmented(buf: bytes | bytearray | memoryview) -> ReadTagFragmented:
    """Decode Read Tag Fragmented data (bytes after the offset are ignored)."""
    if len(buf) < 6:
        raise _short("Read Tag Fragmented", 6, len(buf))
    return _new(ReadTagFragmented, _FRAG.unpack_from(buf, 0))


class WriteTag(NamedTuple):
    """Write Tag (0x4D) request data; ``data`` is every byte after the count."""

    code: int
    handle: int | None
    elements: int
    data: bytes | memoryview


def encode_write_tag(
    code: int, elements: int, data: bytes | bytearray | memoryview, handle: int | None = None
) -> bytes:
    """Type, UINT element count, data."""
    try:
        return encode_type(code, handle) + _U16.pack(elements) + data
    except struct.error as exc:
        raise EncodeError(f"Write Tag: {exc}") from None


def decode_write_tag(buf: bytes | bytearray | memoryview) -> WriteTag:
    """Decode Write Tag data. The caller takes elements x size bytes of ``data``, ignoring the rest
    (pycomm3 sends trailing bytes)."""
    mv = memoryview(buf)
    ref, pos = decode_type(mv)
    if pos + 2 > len(mv):
        raise _short("Write Tag", pos + 2, len(mv))
    (elements,) = _U16.unpack_from(mv, pos)
    return WriteTag(ref.code, ref.handle, elements, mv[pos + 2 :])


class WriteTagFragmented(NamedTuple):
    """Write Tag Fragmented (0x53) request data."""

    code: int
    handle: int | None
    elements: int
    offset: int
    data: bytes | memoryview


def encode_write_tag_fragmented(
    code: int,
    elements: int,
    offset: int,
    data: bytes | bytearray | memoryview,
    handle: int | None = None,
) -> bytes:
    """Type, UINT total element count, UDINT byte offset, this fragment's data."""
    try:
        return encode_type(code, handle) + _FRAG.pack(elements, offset) + data
    except struct.error as exc:
        raise EncodeError(f"Write Tag Fragmented: {exc}") from None


def decode_write_tag_fragmented(buf: bytes | bytearray | memoryview) -> WriteTagFragmented:
    """Decode Write Tag Fragmented data."""
    mv = memoryview(buf)
    ref, pos = decode_type(mv)
    if pos + 6 > len(mv):
        raise _short("Write Tag Fragmented", pos + 6, len(mv))
    elements, offset = _FRAG.unpack_from(mv, pos)
    return WriteTagFragmented(ref.code, ref.handle, elements, offset, mv[pos + 6 :])


class ReadModifyWrite(NamedTuple):
    """Read-Modify-Write (0x4E on a tag): new = (old | or_mask) & and_mask, masks ``size`` bytes."""

    size: int
    or_mask: int
    and_mask: int


_MASK_SIZES = (1, 2, 4, 8)


def encode_read_modify_write(size: int, or_mask: int, and_mask: int) -> bytes:
    """UINT mask size, OR mask, AND mask (little-endian, ``size`` bytes each)."""
    if size not in _MASK_SIZES:
        raise EncodeError(f"Read-Modify-Write mask size {size} is not 1, 2, 4 or 8")
    try:
        return (
            _U16.pack(size) + or_mask.to_bytes(size, "little") + and_mask.to_bytes(size, "little")
        )
    except OverflowError as exc:
        raise EncodeError(f"Read-Modify-Write mask: {exc}") from None


def decode_read_modify_write(buf: bytes | bytearray | memoryview) -> ReadModifyWrite:
    """Decode Read-Modify-Write data; bytes after the AND mask are ignored (pycomm3 sends an
    8-byte AND mask whatever the size)."""
    if len(buf) < 2:
        raise _short("Read-Modify-Write", 2, len(buf))
    (size,) = _U16.unpack_from(buf, 0)
    if size not in _MASK_SIZES:
        raise DecodeError(f"Read-Modify-Write mask size {size}", status=Status.INVALID_PARAMETER)
    if 2 + 2 * size > len(buf):
        raise _short("Read-Modify-Write", 2 + 2 * size, len(buf))
    raw = bytes(buf[2 : 2 + 2 * size])
    return ReadModifyWrite(
        size, int.from_bytes(raw[:size], "little"), int.from_bytes(raw[size:], "little")
    )


class TypedData(NamedTuple):
    """Read Tag [Fragmented] reply data: the type and the value bytes."""

    code: int
    handle: int | None
    data: bytes | memoryview


def encode_typed_data(
    code: int, data: bytes | bytearray | memoryview, handle: int | None = None
) -> bytes:
    """Type followed by value bytes (a Read Tag [Fragmented] reply's data)."""
    return encode_type(code, handle) + data


def decode_typed_data(buf: bytes | bytearray | memoryview) -> TypedData:
    """Split Read Tag [Fragmented] reply data into type and value bytes."""
    mv = memoryview(buf)
    n = len(mv)
    if n < 2:
        raise _short("data type", 2, n)
    code = mv[0] | mv[1] << 8
    if code == STRUCT_CODE:
        if n < 4:
            raise _short("structure type", 4, n)
        return _new(TypedData, (code, mv[2] | mv[3] << 8, mv[4:]))
    return _new(TypedData, (code, None, mv[2:]))


class SymbolType(NamedTuple):
    """The Symbol object's type word, unpacked."""

    struct: bool
    code: int  # atomic type code, or template instance id when ``struct``
    dimensions: int = 0
    bit: int = 0  # BOOL bit number
    system: bool = False


def encode_symbol_type(st: SymbolType) -> int:
    """Pack a Symbol type word: bit 15 structure, 13-14 dimensions, 12 system, 8-10 BOOL bit."""
    if not 0 <= st.dimensions <= 3:
        raise EncodeError(f"symbol type: {st.dimensions} dimensions")
    limit = 0xFFF if st.struct else 0xFF
    if not 0 <= st.code <= limit or not 0 <= st.bit <= 7:
        raise EncodeError(f"symbol type {st!r} out of range")
    word = st.code | st.dimensions << 13 | int(st.system) << 12
    if st.struct:
        return word | 0x8000
    return word | st.bit << 8


def decode_symbol_type(word: int) -> SymbolType:
    """Unpack a Symbol type word."""
    dims = word >> 13 & 3
    system = bool(word >> 12 & 1)
    if word & 0x8000:
        return SymbolType(True, word & 0xFFF, dims, 0, system)
    code = word & 0xFF
    return SymbolType(False, code, dims, word >> 8 & 7 if code == 0xC1 else 0, system)


SYMBOL_ATTRIBUTE_NAMES = MappingProxyType(
    {
        1: "name",
        2: "type",
        3: "address",
        5: "object_address",
        6: "software_control",
        7: "element_size",
        8: "dimensions",
        10: "external_access",
    }
)
_SYMBOL_FIXED = MappingProxyType({2: _U16, 3: _U32, 5: _U32, 6: _U32, 7: _U16, 10: _U8})


class SymbolRecord(NamedTuple):
    """One Get Instance Attribute List entry: instance id and {attribute id: value}."""

    instance_id: int
    values: dict[int, Any]


def encode_symbol_record(
    instance_id: int, attributes: Sequence[int], values: Mapping[int, Any]
) -> bytes:
    """Encode one 0x55 reply entry: UDINT instance id + each requested attribute, in order."""
    try:
        parts = [_U32.pack(instance_id)]
        for attr in attributes:
            value = values[attr]
            fixed = _SYMBOL_FIXED.get(attr)
            if fixed is not None:
                parts.append(fixed.pack(value))
            elif attr == 1:
                raw = value.encode("iso-8859-1")
                parts.append(_U16.pack(len(raw)))
                parts.append(raw)
            elif attr == 8:
                parts.append(_DIMS.pack(*value))
            else:
                raise EncodeError(f"symbol attribute {attr} has no known layout")
        return b"".join(parts)
    except (KeyError, TypeError, struct.error, UnicodeEncodeError) as exc:
        raise EncodeError(f"symbol record {instance_id}: {exc!r}") from None


def decode_symbol_records(
    buf: bytes | bytearray | memoryview, attributes: Sequence[int]
) -> list[SymbolRecord]:
    """Decode a run of 0x55 reply entries for the requested ``attributes``."""
    for attr in attributes:
        if attr not in _SYMBOL_FIXED and attr not in (1, 8):
            raise DecodeError(f"symbol attribute {attr} has no known layout")
    mv = memoryview(buf)
    end = len(mv)
    pos = 0
    out = []
    while pos < end:
        if pos + 4 > end:
            raise _short("symbol record", pos + 4, end)
        (instance,) = _U32.unpack_from(mv, pos)
        pos += 4
        values: dict[int, Any] = {}
        for attr in attributes:
            fixed = _SYMBOL_FIXED.get(attr)
            if fixed is not None:
                if pos + fixed.size > end:
                    raise _short(f"symbol {instance} attribute {attr}", pos + fixed.size, end)
                values[attr] = fixed.unpack_from(mv, pos)[0]
                pos += fixed.size
            elif attr == 1:
                if pos + 2 > end:
                    raise _short(f"symbol {instance} name", pos + 2, end)
                (n,) = _U16.unpack_from(mv, pos)
                if pos + 2 + n > end:
                    raise _short(f"symbol {instance} name", pos + 2 + n, end)
                values[1] = bytes(mv[pos + 2 : pos + 2 + n]).decode("iso-8859-1")
                pos += 2 + n
            else:
                if pos + 12 > end:
                    raise _short(f"symbol {instance} dimensions", pos + 12, end)
                values[8] = list(_DIMS.unpack_from(mv, pos))
                pos += 12
        out.append(SymbolRecord(instance, values))
    return out


TEMPLATE_ATTRIBUTE_SIZES = MappingProxyType({1: 2, 2: 2, 3: 2, 4: 4, 5: 4})


def encode_template_attributes(ids: Sequence[int], values: Mapping[int, int]) -> bytes:
    """Template Get Attribute List reply data: UINT n, then UINT id, UINT status[, value]."""
    parts = [_U16.pack(len(ids))]
    try:
        for attr in ids:
            size = TEMPLATE_ATTRIBUTE_SIZES.get(attr)
            if size is None or attr not in values:
                parts.append(_U16x2.pack(attr, Status.ATTRIBUTE_NOT_SUPPORTED))
                continue
            parts.append(_U16x2.pack(attr, Status.SUCCESS))
            parts.append((_U16 if size == 2 else _U32).pack(values[attr]))
    except struct.error as exc:
        raise EncodeError(f"template attributes {dict(values)!r}: {exc}") from None
    return b"".join(parts)


def decode_template_attributes(buf: bytes | bytearray | memoryview) -> dict[int, int]:
    """Decode Template Get Attribute List reply data into {attribute id: value} (status 0 only)."""
    out = {}
    for attr in decode_attribute_list_reply(buf, TEMPLATE_ATTRIBUTE_SIZES):
        if attr.status == Status.SUCCESS:
            if attr.id not in TEMPLATE_ATTRIBUTE_SIZES:
                raise DecodeError(f"template attribute {attr.id} has no known layout")
            out[attr.id] = int.from_bytes(attr.value, "little")
    return out


@dataclass(frozen=True, slots=True)
class TemplateRead:
    """Template read request data (Read Tag 0x4C on the Template object instance).

    A dataclass, not a NamedTuple: a field named ``count`` would hide ``tuple.count``.
    """

    offset: int
    count: int


def encode_template_read(offset: int, count: int) -> bytes:
    """UDINT byte offset, UINT byte count."""
    try:
        return _TREAD.pack(offset, count)
    except struct.error as exc:
        raise EncodeError(f"template read: {exc}") from None


def decode_template_read(buf: bytes | bytearray | memoryview) -> TemplateRead:
    """Decode template read request data (exactly 6 bytes)."""
    if len(buf) < 6:
        raise _short("template read", 6, len(buf))
    if len(buf) > 6:
        raise DecodeError(f"template read: {len(buf)} bytes, need 6", status=Status.TOO_MUCH_DATA)
    return TemplateRead(*_TREAD.unpack_from(buf, 0))


class TemplateMember(NamedTuple):
    """One member record of a template definition."""

    info: int  # array length (0 scalar), or the bit number of a BOOL member
    type: int  # atomic code, or 0x8000 | template id of a nested structure
    offset: int


def encode_template_definition(members: Sequence[TemplateMember], names: Sequence[str]) -> bytes:
    """Member records, then each name NUL-terminated (the template name first)."""
    try:
        parts = [_MEMBER.pack(*m) for m in members]
        for name in names:
            raw = name.encode("iso-8859-1")
            if b"\0" in raw:
                raise EncodeError(f"template name {name!r} contains NUL")
            parts.append(raw + b"\0")
    except (struct.error, UnicodeEncodeError, TypeError) as exc:
        raise EncodeError(f"template definition: {exc}") from None
    return b"".join(parts)


def decode_template_definition(
    buf: bytes | bytearray | memoryview, member_count: int
) -> tuple[list[TemplateMember], list[str]]:
    """Decode ``member_count`` records and the member_count + 1 names after them."""
    mv = memoryview(buf)
    table = 8 * member_count
    if member_count < 0 or table > len(mv):
        raise _short(f"template of {member_count} members", table, len(mv))
    members = [TemplateMember(*_MEMBER.unpack_from(mv, 8 * i)) for i in range(member_count)]
    text = bytes(mv[table:])
    names = text.split(b"\0", member_count + 1)
    if len(names) < member_count + 2:  # the last name lacks its NUL
        raise DecodeError(
            f"template: {member_count + 1} NUL-terminated names expected",
            status=Status.NOT_ENOUGH_DATA,
        )
    return members, [n.decode("iso-8859-1") for n in names[: member_count + 1]]


def template_definition_words(length: int) -> int:
    """Template attribute 4 (definition size in 32-bit words) for ``length`` definition bytes.

    ceil((length + 20) / 4): it matches every template of a real v20 controller's database
    (../shared/data/pycomm3-all_tags.json); clients read 4 x this many bytes less 23.
    """
    return (length + 20 + 3) // 4
