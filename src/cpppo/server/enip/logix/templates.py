"""The Template object (0x6C) view of structures: attributes, definition blob and handle.

The codec (:mod:`~cpppo.server.enip.codec.tags`) owns the byte layouts (member records, the
definition, the attribute list); this module computes their values from a laid-out structure.
Decode a definition with the codec's ``decode_template_definition``.

Public API:
    template_blob(structure) -> bytes           member records then names, as a controller
                                                serves them (nested structures must be bound)
    template_attributes(structure) -> TemplateAttributes(handle, member_count, attr3,
                                      definition_size, structure_size)
    structure_handle(structure) -> int          stable CRC-16 of the definition (not 0)
    encode_template_attribute_list(attributes, ids) -> bytes
                                                the data of a Get Attribute List (0x03) reply
    Template(instance_id, structure, attributes, data)
                                                one Template instance: ``.read(offset, count)``,
                                                ``.attribute_list(ids)``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..codec.tags import (
    TemplateMember,
    encode_template_attributes,
    encode_template_definition,
    template_definition_words,
)
from .atomic import RADIX_CODES, access_code
from .structure import Member, Structure
from .symbols import symbol_type_word

__all__ = [
    "Template",
    "TemplateAttributes",
    "encode_template_attribute_list",
    "structure_handle",
    "template_attributes",
    "template_blob",
]


@dataclass(frozen=True)
class TemplateAttributes:
    """Template object (0x6C) instance attributes 1..5."""

    handle: int
    member_count: int
    attr3: int
    definition_size: int
    structure_size: int


def _record(m: Member) -> TemplateMember:
    """A member's record: BOOL bit number or array length, type word, offset."""
    info = m.bit if m.bit is not None else m.count
    return TemplateMember(info, symbol_type_word(m.type, 1 if m.count else 0), m.offset)


def _template_name(s: Structure) -> str:
    if s.kind == "Predefined":
        return s.template_name or s.name
    # Two characters per member follow ";n": 'A' + radix code, then 'A' + external access code
    # (inferred from real blobs: a REAL member reads "HA", a DINT member "EA").
    chars = "".join(
        chr(65 + RADIX_CODES.get((m.radix or "NullType").lower(), 0))
        + chr(65 + access_code(m.access))
        for m in s.members
    )
    return f"{s.template_name or s.name};n{chars}"


def template_blob(s: Structure) -> bytes:
    """The Template object definition as a controller serves it (without trailing padding).

    Nested structures must be bound (have a template id).
    """
    names = [_template_name(s), *(m.name for m in s.members)]
    return encode_template_definition([_record(m) for m in s.members], names)


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
    records = encode_template_definition(
        [
            TemplateMember(m.bit if m.bit is not None else m.count, _member_signature(m), m.offset)
            for m in s.members
        ],
        (),
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
class Template:
    """A Template object instance: its attributes and its definition (padded to whole words)."""

    instance_id: int
    structure: Structure
    attributes: TemplateAttributes
    data: bytes

    def read(self, offset: int, count: int) -> bytes:
        """Bytes ``offset .. offset + count`` of the definition (clamped to its end)."""
        if offset < 0 or count < 0:
            raise ValueError("negative template offset or count")
        return self.data[offset : offset + count]

    def attribute_list(self, ids: Sequence[int]) -> bytes:
        """The data of a Get Attribute List (0x03) reply for attribute ``ids``."""
        return encode_template_attribute_list(self.attributes, ids)
