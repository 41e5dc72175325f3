"""The Symbol object (0x6B) view of tags: type words and Get Instance Attribute List entries.

The codec (:mod:`~cpppo.server.enip.codec.tags`) owns the byte layouts; this module computes the
values from the data model.

Public API:
    symbol_type_word(data_type, ndims=0, bit=0, system=False) -> int
                                      Symbol attribute 2 of a tag of ``data_type`` (a bound
                                      structure's template id, or the atomic code and a BOOL's
                                      bit); also a template member's type word (ndims 1 for an
                                      array member). Decode one with the codec's
                                      ``decode_symbol_type``.
    SymbolEntry(instance_id, name, type_word, address, object_address, software_control,
                element_size, dims, access)      ``.encode(attrs) -> bytes``
    AttributeNotSupported(CipStatusError, LookupError)
                                      a Symbol attribute id the object does not have
    BASE_TAG                          software control bit of a base tag (clear for an alias)
    PROGRAM_TYPE                      type word of a program entry in the controller scope
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..codec.status import CipStatusError, Status
from ..codec.tags import SymbolType, encode_symbol_record, encode_symbol_type
from .structure import DataType, Structure

__all__ = [
    "BASE_TAG",
    "PROGRAM_TYPE",
    "AttributeNotSupported",
    "SymbolEntry",
    "symbol_type_word",
]

#: Software control (Symbol attribute 6) bit set for a base tag (clear for an alias).
BASE_TAG = 1 << 26
#: Symbol type word of a program entry in the controller scope (system bit set).
PROGRAM_TYPE = encode_symbol_type(SymbolType(False, 0x68, 0, 0, True))


def symbol_type_word(
    data_type: DataType, ndims: int = 0, bit: int = 0, system: bool = False
) -> int:
    """The Symbol type word of a tag: struct bit + template id, or atomic code [+ BOOL bit].

    Raises ValueError (the codec's EncodeError) for more than 3 dimensions, a BOOL bit outside
    0..7, or a structure without a template id yet.
    """
    if isinstance(data_type, Structure):
        if data_type.template_id is None:
            raise ValueError(f"structure {data_type.name} has no template id yet")
        return encode_symbol_type(SymbolType(True, data_type.template_id, ndims, 0, system))
    bit = bit if data_type.is_bool else 0
    return encode_symbol_type(SymbolType(False, data_type.code, ndims, bit, system))


class AttributeNotSupported(CipStatusError, LookupError):
    """A requested Symbol attribute id that the object does not have."""

    status: int

    def __init__(self, message: str) -> None:
        super().__init__(message, Status.ATTRIBUTE_NOT_SUPPORTED)


@dataclass(frozen=True)
class SymbolEntry:
    """One Symbol object instance as Get Instance Attribute List reports it."""

    instance_id: int
    name: str
    type_word: int
    address: int
    object_address: int
    software_control: int
    element_size: int
    dims: tuple[int, int, int]
    access: int

    def encode(self, attrs: Sequence[int]) -> bytes:
        """``UDINT instance id`` then the requested attributes in request order."""
        values = {
            1: self.name,
            2: self.type_word,
            3: self.address,
            5: self.object_address,
            6: self.software_control,
            7: self.element_size,
            8: self.dims,
            10: self.access,
        }
        for attr in attrs:
            if attr not in values:
                raise AttributeNotSupported(f"Symbol object has no attribute {attr}")
        return encode_symbol_record(self.instance_id, attrs, values)
