"""The Symbol object (0x6B) view of tags: type words and Get Instance Attribute List entries.

Public API:
    encode_symbol_type(data_type, ndims=0, bit=0, system=False) -> int
    decode_symbol_type(word) -> SymbolType(word, is_struct, code, template_id, ndims, bit,
                                           system)
    SymbolEntry(instance_id, name, type_word, address, object_address, software_control,
                element_size, dims, access)      ``.encode(attrs) -> bytes``
    AttributeNotSupported(LookupError)           ``.status`` 0x14
    BASE_TAG                          software control bit of a base tag (clear for an alias)
    PROGRAM_TYPE                      type word of a program entry in the controller scope
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..codec.tags import encode_symbol_record
from .atomic import ATOMIC_TYPES
from .structure import DataType, Structure

__all__ = [
    "BASE_TAG",
    "PROGRAM_TYPE",
    "AttributeNotSupported",
    "SymbolEntry",
    "SymbolType",
    "decode_symbol_type",
    "encode_symbol_type",
]

_BOOL = ATOMIC_TYPES["BOOL"]

#: Software control (Symbol attribute 6) bit set for a base tag (clear for an alias).
BASE_TAG = 1 << 26
#: Symbol type word of a program entry in the controller scope (system bit set).
PROGRAM_TYPE = 0x1068

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


class AttributeNotSupported(LookupError):
    """A requested Symbol attribute id that the object does not have (CIP status 0x14)."""

    status = 0x14


# ---------------------------------------------------------------------------------------------
# Symbol and Template object data


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
