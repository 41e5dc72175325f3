"""The Logix data model: atomic and structured types and their memory layout, templates, tag paths,
tag memory and the tag database. Pure: no sockets.

Each module has one job (import from here, or from the module):

- ``errors``: LayoutError, UnknownTypeError, TagValueError, TagPathError, TagDBError.
- ``atomic``: Atomic, ATOMIC_TYPES, ATOMIC_BY_CODE, the CIP string types of simulator tags
  (CipString, CIP_STRING_TYPES) and LayoutRules.
- ``structure``: Member, Structure, DataType; encode_value / decode_value (memory images).
- ``layout``: MemberDef, layout_structure, member_defs (how Logix lays a structure out).
- ``predefined``: PREDEFINED (STRING, TIMER, COUNTER, CONTROL), string_type.
- ``predefined_instr``: instruction_type (MESSAGE, PID, ALARM_ANALOG, ALARM_DIGITAL, CAM),
  INSTRUCTION_TYPES, PREDEFINED_TEMPLATE_IDS.
- ``symbols``: the Symbol object's view (type words, Get Instance Attribute List entries).
- ``templates``: the Template object's view (attributes, definition blob, structure handle).
- ``location``: Location, tag memory at a resolved path (directly, or through the tag's
  presenter: a simulator's Attribute).
- ``convert``: what a tag write stores (the memory image, or converted values).
- ``services``: the tag services (Read Tag, Read Tag Fragmented, Write Tag, Write Tag
  Fragmented, Read-Modify-Write) on a Location: TagServices.
- ``tag``: Tag, AliasTag.
- ``tagpath``: parse_path, resolve_path, linear_index.
- ``codec_view``: codec_for, StructCodec (a data type as an ``Attribute.parser``).
- ``tagdb``: TagDB, the controller's tag database.
- ``tagdef``: parse_tag_definition (``Name=TYPE[dims]`` from the command line).

JSON and pycomm3-dump loading are in :mod:`cpppo.server.enip.importers`.
"""

from .atomic import (
    ATOMIC_BY_CODE,
    ATOMIC_TYPES,
    CIP_STRING_TYPES,
    Atomic,
    CipString,
    LayoutRules,
)
from .codec_view import StructCodec, codec_for
from .errors import (
    MAX_DATA_SIZE,
    LayoutError,
    TagDBError,
    TagPathError,
    TagValueError,
    UnknownTypeError,
)
from .layout import MemberDef, layout_structure, member_defs
from .location import Location
from .predefined import PREDEFINED, string_type
from .predefined_instr import INSTRUCTION_TYPES, PREDEFINED_TEMPLATE_IDS, instruction_type
from .services import TAG_SERVICES, TagServices
from .structure import DataType, Member, Structure, decode_value, encode_value
from .symbols import (
    AttributeNotSupported,
    SymbolEntry,
    symbol_type_word,
)
from .tag import AliasTag, AnyTag, Tag
from .tagdb import TagDB
from .tagdef import TagDefinition, parse_tag_definition
from .tagpath import linear_index, parse_path, resolve_path
from .templates import (
    Template,
    TemplateAttributes,
    encode_template_attribute_list,
    structure_handle,
    template_attributes,
    template_blob,
)

__all__ = [
    "ATOMIC_BY_CODE",
    "ATOMIC_TYPES",
    "CIP_STRING_TYPES",
    "INSTRUCTION_TYPES",
    "MAX_DATA_SIZE",
    "PREDEFINED",
    "PREDEFINED_TEMPLATE_IDS",
    "TAG_SERVICES",
    "AliasTag",
    "AnyTag",
    "Atomic",
    "AttributeNotSupported",
    "CipString",
    "DataType",
    "LayoutError",
    "LayoutRules",
    "Location",
    "Member",
    "MemberDef",
    "StructCodec",
    "Structure",
    "SymbolEntry",
    "Tag",
    "TagDB",
    "TagDBError",
    "TagDefinition",
    "TagPathError",
    "TagServices",
    "TagValueError",
    "Template",
    "TemplateAttributes",
    "UnknownTypeError",
    "codec_for",
    "decode_value",
    "encode_template_attribute_list",
    "encode_value",
    "instruction_type",
    "layout_structure",
    "linear_index",
    "member_defs",
    "parse_path",
    "parse_tag_definition",
    "resolve_path",
    "string_type",
    "structure_handle",
    "symbol_type_word",
    "template_attributes",
    "template_blob",
]
