"""A Logix controller's tag database: types, tags by scope, symbol instance ids, JSON load/save.

Pure (no sockets). The simulator's Symbol (0x6B) and Template (0x6C) objects and its tag services
read everything they answer from a :class:`TagDB`.

Public API
    TagDB(name="cpppo", *, revision=20)
        .name, .revision, .rules                 controller name, firmware major, LayoutRules
        .data_type(name) -> Atomic | Structure   atomic, predefined or registered (KeyError)
        .define_structure(name, defs, *, family="NoFamily", kind="User", host_bits=8,
                          template_id=None, handle=None) -> Structure
        .define_string(name, capacity) -> Structure
        .register(structure, *, template_id=None, handle=None) -> Structure
                                                 give it a Template instance id (0x100..0xEFF)
                                                 and a unique handle; nested types first
        .structures -> list[Structure]           every registered structure (predefined too)
        .template(template_id) -> Template       attributes + blob (KeyError if unknown)
        .add_program(name, *, instance_id=None)
        .programs -> list[str]
        .add_tag(name, data_type, dims=(), *, program=None, value=None, data=None,
                 external_access="Read/Write", constant=False, instance_id=None,
                 description=None) -> Tag
        .add_alias(name, alias_for, *, program=None, external_access="Read/Write",
                   instance_id=None, description=None) -> AliasTag
                                                 bound at once when its target exists, else by
                                                 bind_aliases()
        .bind_aliases() -> list[str]             bind pending aliases; returns one warning per
                                                 alias whose target does not exist (it is removed)
        .tag(name, program=None) -> Tag | AliasTag            (KeyError)
        .tags(program=None) -> list[Tag | AliasTag]           one scope, in instance-id order
        .all_tags() -> list[Tag | AliasTag]                   every scope
        .by_instance(instance_id, program=None) -> Tag | AliasTag   (KeyError)
        .resolve(path, *, bool_index="bit") -> Location       "Program:P.T[1,2].M.5"
        .resolve_epath(segments, *, bool_index="word") -> Location
                                                 EPATH dicts as the codec decodes them:
                                                 {'symbolic': ...}, {'class': 0x6B},
                                                 {'instance': n}, {'element': n}
        .read(path) -> value ; .write(path, value)
        .symbols(program=None) -> list[SymbolEntry]           instance-id order; the controller
                                                 scope lists its programs as "Program:<name>"
        .instance_attribute_list(attrs, *, program=None, start=0, max_size=None)
                -> (bytes, more)                 the data of a Get Instance Attribute List (0x55)
                                                 reply; ``more`` means status 0x06 (call again
                                                 with start = last instance id + 1)
        .to_dict() -> dict ; .save_json(path)   values (plus the hex memory image when hidden
                                                 bytes hold more than the value shows)
        TagDB.from_dict(d) ; TagDB.load_json(path)    our format, or a pycomm3 tag dump
        TagDB.from_pycomm3(dump, *, revision=20)      a pycomm3 ``LogixDriver.tags`` dump
    Template(instance_id, structure, attributes, data)     ``.read(offset, count)``,
                                                 ``.attribute_list(ids)``
    SymbolEntry(instance_id, name, type_word, address, object_address, software_control,
                element_size, dims, access)      ``.encode(attrs) -> bytes``
    AttributeNotSupported(LookupError)           ``.status`` 0x14
    TagDBError(ValueError)                       duplicate names, bad definitions, bad files
    member_defs(structure) -> list[MemberDef]    the explicit declaration of a laid-out structure
    parse_tag_definition(spec, *, default_type=None) -> TagDefinition(name, type_name, dims,
                                                 address, program)
                                                 "Name=TYPE", "Name=UDT[5]", "Name=DINT[2,3]",
                                                 "Program:P.Name=REAL", "Name@4/100/3=DINT[4]",
                                                 and "Name" alone with a default type (the
                                                 simulator's command line: INT)
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ..codec.tags import encode_symbol_record
from .types import (
    ATOMIC_TYPES,
    CIP_STRING_TYPES,
    PREDEFINED,
    AliasTag,
    AnyTag,
    DataType,
    LayoutError,
    LayoutRules,
    Location,
    MemberDef,
    Structure,
    Tag,
    TagPathError,
    TemplateAttributes,
    access_code,
    encode_template_attribute_list,
    encode_value,
    layout_structure,
    parse_path,
    resolve_path,
    string_type,
    structure_handle,
    template_attributes,
    template_blob,
)

__all__ = [
    "AttributeNotSupported",
    "SymbolEntry",
    "TagDB",
    "TagDBError",
    "TagDefinition",
    "Template",
    "member_defs",
    "parse_tag_definition",
]

FORMAT = "cpppo-tagdb"
FORMAT_VERSION = 1
#: Software control (Symbol attribute 6) bit set for a base tag (clear for an alias).
BASE_TAG = 1 << 26
#: Symbol type word of a program entry in the controller scope (system bit set).
PROGRAM_TYPE = 0x1068
# Template ids a database hands out: the user range 0x100..0xEFF, without ids whose low byte is a
# CIP type code (0x00, 0xA0, 0xC0..0xDF): pylogix tests a member's low byte against those first
# and would take a nested structure for an atomic type.
_USER_TEMPLATE_IDS = tuple(
    i
    for i in range(0x100, 0xF00)
    if (i & 0xFF) not in (0x00, 0xA0) and not 0xC0 <= i & 0xFF <= 0xDF
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_:]*$")


class TagDBError(ValueError):
    """A tag database that cannot be built as asked (duplicate name, bad definition or file)."""


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


def member_defs(s: Structure) -> list[MemberDef]:
    """The explicit declaration of a laid-out structure (hidden hosts, BIT members, targets).

    Laying these out again with the same rules gives the same structure.
    """
    plain = [m for m in s.members if m.bit is None]
    out = []
    for m in s.members:
        if m.bit is None:
            if m.bits is not None:
                out.append(
                    MemberDef(m.name, "BOOL", m.bits, m.hidden, None, None, m.radix, m.access)
                )
            else:
                out.append(
                    MemberDef(m.name, m.type.name, m.count, m.hidden, None, None, m.radix, m.access)
                )
            continue
        host = next(
            (
                h
                for h in plain
                if not h.count and h.type.is_integer and h.offset <= m.offset < h.offset + h.size
            ),
            None,
        )
        if host is None:
            raise TagDBError(f"structure {s.name}: BOOL member {m.name} has no host member")
        bit = (m.offset - host.offset) * 8 + m.bit
        out.append(MemberDef(m.name, "BIT", 0, m.hidden, host.name, bit, m.radix, m.access))
    return out


_SPEC = re.compile(
    r"""^\s*(?:[Pp][Rr][Oo][Gg][Rr][Aa][Mm]:(?P<program>[A-Za-z_][A-Za-z0-9_]*)\.)?
        (?P<name>[A-Za-z_][A-Za-z0-9_]*)
        (?:@(?P<address>[^=\s]*))?
        \s*(?:=\s*(?P<type>[A-Za-z_][A-Za-z0-9_:]*)?\s*(?:\[(?P<dims>[^\]]*)\])?)?\s*$""",
    re.VERBOSE,
)


class TagDefinition(NamedTuple):
    """A parsed tag definition: name, type name, dimensions, CIP address, program (or None)."""

    name: str
    type_name: str
    dims: tuple[int, ...] = ()
    address: tuple[int, int, int] | None = None
    program: str | None = None


def _spec_number(text: str, what: str, spec: str) -> int:
    try:
        return int(text.strip(), 10 if text.strip().isdigit() else 0)
    except ValueError:
        raise TagDBError(f"bad tag definition {spec!r}: {what} {text!r} is not a number") from None


def parse_tag_definition(spec: str, *, default_type: str | None = None) -> TagDefinition:
    """Parse ``[Program:P.]Name[@class/instance/attribute][=TYPE[dims]]``.

    TYPE is an atomic type, SSTRING/CIP_STRING, STRING, or a structure the database defines;
    dims are 1 to 3 positive numbers (``DINT[2,3]``). Without ``=TYPE`` the type is
    ``default_type`` (an error when None). ``@class/instance/attribute`` (numbers in any base)
    also exposes the tag at that CIP address. Raises TagDBError ("bad tag definition ...").
    """
    m = _SPEC.match(spec)
    if m is None or (m.group("type") is None and ("=" in spec or default_type is None)):
        raise TagDBError(f"bad tag definition {spec!r}: expected Name=TYPE[dims]")
    dims: tuple[int, ...] = ()
    if m.group("dims") is not None:
        dims = tuple(_spec_number(d, "dimension", spec) for d in m.group("dims").split(","))
        if not 1 <= len(dims) <= 3 or any(d < 1 for d in dims):
            raise TagDBError(f"bad tag definition {spec!r}: 1 to 3 positive dimensions")
    address = None
    if m.group("address") is not None:
        parts = m.group("address").split("/")
        if len(parts) != 3:
            raise TagDBError(f"bad tag definition {spec!r}: address must be @class/instance/attr")
        cls, ins, att = (_spec_number(part, "address", spec) for part in parts)
        if not (1 <= cls <= 0xFFFF and 1 <= ins <= 0xFFFF and 1 <= att <= 0xFFFF):
            raise TagDBError(f"bad tag definition {spec!r}: class/instance/attribute 1..65535")
        address = (cls, ins, att)
    type_name = m.group("type") or str(default_type)
    return TagDefinition(m.group("name"), type_name, dims, address, m.group("program"))


def _fold(name: str | None) -> str | None:
    return None if name is None else name.casefold()


# ---------------------------------------------------------------------------------------------
# The database


class TagDB:
    """A Logix controller's tag database (see the module docstring)."""

    def __init__(self, name: str = "cpppo", *, revision: int = 20) -> None:
        self.name = name
        self.revision = revision
        self.rules = LayoutRules.for_revision(revision)
        self._types: dict[str, Structure] = {}
        self._by_template: dict[int, Structure] = {}
        self._by_handle: dict[int, Structure] = {}
        self._templates: dict[int, Template] = {}
        self._scopes: dict[str | None, dict[str, AnyTag]] = {None: {}}
        self._programs: dict[str, tuple[str, int]] = {}
        self._instances: dict[str | None, dict[int, AnyTag]] = {None: {}}
        self._used_ids: dict[str | None, set[int]] = {None: set()}
        self._next_id: dict[str | None, int] = {None: 1}
        self._next_address = 0x0001_0000
        self._addresses: dict[int, int] = {}
        self._pending: list[AliasTag] = []
        self._symbol_cache: dict[str | None, tuple[list[int], list[SymbolEntry]]] = {}
        #: Incremented whenever tags are added, removed or bound (cached resolutions go stale).
        self.version = 0
        #: Called with every base tag added (a simulator gives it its Attribute).
        self.on_add: Callable[[Tag], None] | None = None
        for s in PREDEFINED.values():
            self.register(s)

    def __repr__(self) -> str:
        count = sum(len(scope) for scope in self._scopes.values())
        return f"<TagDB {self.name} rev {self.revision}: {count} tags, {len(self._types)} types>"

    # -- types ------------------------------------------------------------------------------

    def data_type(self, name: str) -> DataType:
        """The atomic, predefined or registered type called ``name`` (case-insensitive)."""
        atomic = ATOMIC_TYPES.get(name.upper()) or CIP_STRING_TYPES.get(name.upper())
        if atomic is not None:
            return atomic
        try:
            return self._types[name.casefold()]
        except KeyError:
            raise KeyError(f"unknown data type {name!r}") from None

    @property
    def structures(self) -> list[Structure]:
        """Every registered structure, in registration order."""
        return list(self._types.values())

    def define_structure(
        self,
        name: str,
        defs: Sequence[MemberDef],
        *,
        family: str = "NoFamily",
        kind: str = "User",
        host_bits: int = 8,
        template_id: int | None = None,
        handle: int | None = None,
    ) -> Structure:
        """Lay out and register a structure with this controller's rules."""
        if name.casefold() in self._types or name.upper() in ATOMIC_TYPES:
            raise TagDBError(f"data type {name!r} is already defined")
        s = layout_structure(
            name, defs, self.data_type, rules=self.rules, family=family, kind=kind,
            host_bits=host_bits,
        )  # fmt: skip
        return self.register(s, template_id=template_id, handle=handle)

    def define_string(self, name: str, capacity: int) -> Structure:
        """Define and register a user string type (LEN DINT + DATA SINT[capacity])."""
        if name.casefold() in self._types:
            raise TagDBError(f"data type {name!r} is already defined")
        return self.register(string_type(name, capacity, rules=self.rules))

    def register(
        self, s: Structure, *, template_id: int | None = None, handle: int | None = None
    ) -> Structure:
        """Register a laid-out structure, giving it a template id and a unique handle."""
        key = s.name.casefold()
        known = self._types.get(key)
        if known is s:
            return s
        if known is not None:
            raise TagDBError(f"data type {s.name!r} is already defined")
        for m in s.members:  # nested structures need their template ids first
            if (
                isinstance(m.type, Structure)
                and self._types.get(m.type.name.casefold()) is not m.type
            ):
                self.register(m.type)
        template_id = s.template_id if template_id is None else template_id
        if template_id is None:
            template_id = next((i for i in _USER_TEMPLATE_IDS if i not in self._by_template), None)
            if template_id is None:
                raise TagDBError(f"structure {s.name}: no template instance id left")
        if template_id in self._by_template or not 0 < template_id <= 0xFFF:
            raise TagDBError(f"structure {s.name}: template id {template_id:#x} unusable")
        handle = s.handle if handle is None else handle
        if handle is None:
            salt = 0
            handle = structure_handle(s)
            while handle in self._by_handle:
                salt += 1
                handle = structure_handle(s, salt)
        if handle in self._by_handle:
            raise TagDBError(f"structure {s.name}: handle {handle:#06x} already used")
        s.bind(template_id, handle)
        self._types[key] = s
        self._by_template[template_id] = s
        self._by_handle[handle] = s
        return s

    def template(self, template_id: int) -> Template:
        """The Template object instance ``template_id`` (KeyError if there is none)."""
        cached = self._templates.get(template_id)
        if cached is not None:
            return cached
        s = self._by_template.get(template_id)
        if s is None:
            raise KeyError(f"no template {template_id:#x}")
        attrs = template_attributes(s)
        blob = template_blob(s)
        data = blob.ljust(attrs.definition_size * 4, b"\0")
        result = self._templates[template_id] = Template(template_id, s, attrs, data)
        return result

    def structure_by_handle(self, handle: int) -> Structure:
        """The registered structure with ``handle`` (KeyError if none)."""
        return self._by_handle[handle]

    # -- tags ---------------------------------------------------------------------------------

    def _new_id(self, scope: str | None, requested: int | None, where: str) -> int:
        """A Symbol instance id unique in ``scope`` (the folded program name, None: controller)."""
        used = self._used_ids[scope]
        if requested is not None:
            if requested in used or not 0 < requested <= 0xFFFF_FFFF:
                raise TagDBError(f"{where}: instance id {requested} is already used or invalid")
            used.add(requested)
            return requested
        candidate = self._next_id[scope]
        while candidate in used:
            candidate += 1
        used.add(candidate)
        self._next_id[scope] = candidate + 1
        return candidate

    def add_program(self, name: str, *, instance_id: int | None = None) -> None:
        """Add a program scope (it appears as ``Program:<name>`` in the controller's symbols)."""
        if not _NAME.match(name):
            raise TagDBError(f"invalid program name {name!r}")
        key = name.casefold()
        if key in self._programs:
            raise TagDBError(f"program {name!r} already exists")
        self._programs[key] = (name, self._new_id(None, instance_id, f"Program:{name}"))
        self._used_ids[key] = set()
        self._next_id[key] = 1
        self._scopes[key] = {}
        self._instances[key] = {}
        self._symbol_cache.clear()

    @property
    def programs(self) -> list[str]:
        """Program names in definition order."""
        return [name for name, _ in self._programs.values()]

    def _scope(self, program: str | None, create: bool = False) -> dict[str, AnyTag]:
        key = _fold(program)
        scope = self._scopes.get(key)
        if scope is None:
            if not create or program is None:
                raise KeyError(f"no program {program!r}")
            self.add_program(program)
            scope = self._scopes[key]
        return scope

    def _insert(self, tag: AnyTag, program: str | None) -> None:
        if not _NAME.match(tag.name):
            raise TagDBError(f"invalid tag name {tag.name!r}")
        scope = self._scope(program, create=True)
        if tag.name.casefold() in scope:
            raise TagDBError(f"tag {tag.qualified_name!r} already exists")
        tag.instance_id = self._new_id(_fold(program), tag.instance_id, tag.qualified_name)
        scope[tag.name.casefold()] = tag
        self._symbol_cache.clear()
        self.version += 1
        self._instances[_fold(program)][tag.instance_id] = tag
        size = getattr(tag, "size", 0)
        self._addresses[id(tag)] = self._next_address
        self._next_address += -(-max(size, 4) // 4) * 4
        if self.on_add is not None and isinstance(tag, Tag):
            self.on_add(tag)

    def add_tag(
        self,
        name: str,
        data_type: str | DataType,
        dims: Sequence[int] = (),
        *,
        program: str | None = None,
        value: Any = None,
        data: bytes | bytearray | None = None,
        external_access: str = "Read/Write",
        constant: bool = False,
        instance_id: int | None = None,
        description: str | None = None,
        packed_bools: bool = True,
    ) -> Tag:
        """Add a base tag (its memory is zero, ``data`` or the encoding of ``value``).

        ``packed_bools`` False keeps a BOOL array one byte per BOOL (the original cpppo's
        command-line ``BOOL[n]``) instead of Logix's DWORDs.
        """
        if isinstance(data_type, str):
            data_type = self.data_type(data_type)
        elif isinstance(data_type, Structure):
            self.register(data_type)
        try:
            tag = Tag(
                name, data_type, dims, program=program, data=data,
                external_access=external_access, constant=constant, instance_id=instance_id,
                description=description, packed_bools=packed_bools,
            )  # fmt: skip
        except ValueError as exc:
            raise TagDBError(str(exc)) from None
        if value is not None:
            tag.value = value
        self._insert(tag, program)
        return tag

    def add_alias(
        self,
        name: str,
        alias_for: str,
        *,
        program: str | None = None,
        external_access: str = "Read/Write",
        instance_id: int | None = None,
        description: str | None = None,
    ) -> AliasTag:
        """Add an alias tag; it is bound now if ``alias_for`` resolves, else by bind_aliases()."""
        tag = AliasTag(
            name, alias_for, program=program, external_access=external_access,
            instance_id=instance_id, description=description,
        )  # fmt: skip
        self._insert(tag, program)
        try:
            self._bind(tag)
        except (KeyError, TagPathError):
            self._pending.append(tag)
        return tag

    def _bind(self, alias: AliasTag, depth: int = 0) -> None:
        if depth > 16:
            raise TagPathError(f"alias {alias.qualified_name}: alias chain too long or circular")
        text = alias.alias_for
        prog, segments = parse_path(text)
        if (
            prog is None
            and alias.program is not None
            and segments[0][1].casefold() in self._scope(alias.program)
        ):
            prog = alias.program
        base = self.tag(segments[0][1], prog)
        if base is alias:
            raise TagPathError(f"alias {alias.qualified_name} names itself")
        if isinstance(base, AliasTag) and base.target is None:
            self._bind(base, depth + 1)
        alias.target = resolve_path(base, segments[1:])
        self._symbol_cache.clear()
        self.version += 1

    def bind_aliases(self) -> list[str]:
        """Bind pending aliases; remove those whose target does not exist (one warning each)."""
        warnings = []
        pending, self._pending = self._pending, []
        for alias in pending:
            if alias.target is not None:
                continue
            try:
                self._bind(alias)
            except (KeyError, TagPathError) as exc:
                warnings.append(f"alias {alias.qualified_name} -> {alias.alias_for} skipped: {exc}")
                self._remove(alias)
        return warnings

    def _remove(self, tag: AnyTag) -> None:
        key = _fold(tag.program)
        self._scopes[key].pop(tag.name.casefold(), None)
        self._instances[key].pop(tag.instance_id, None)  # type: ignore[arg-type]
        self._symbol_cache.clear()
        self._used_ids[key].discard(tag.instance_id)  # type: ignore[arg-type]
        self.version += 1

    def remove(self, name: str, program: str | None = None) -> AnyTag:
        """Remove and return a tag (``Program:P.Name`` or ``name`` in ``program``; KeyError if
        there is none); aliases of a removed base tag go with it."""
        tag = self._lookup(name, program)
        self._remove(tag)
        if isinstance(tag, Tag):
            for other in self.all_tags():
                if isinstance(other, AliasTag) and other.target and other.target.tag is tag:
                    self._remove(other)
        return tag

    # -- the tag table as a mapping of base tags (what a simulator serves and shows) ------------

    def _lookup(self, name: str, program: str | None = None) -> AnyTag:
        if program is None and name[:8].lower() == "program:":
            program, dot, name = name[8:].partition(".")
            if not dot:
                raise KeyError(f"no tag {name!r}")
        return self.tag(name, program)

    def __getitem__(self, name: str) -> Tag:
        """The base tag ``name`` (``Program:P.Name`` for a program's); KeyError if none."""
        tag = self._lookup(name)
        if not isinstance(tag, Tag):
            raise KeyError(f"{name!r} is an alias")
        return tag

    def get(self, name: str, default: Any = None) -> Any:
        """The base tag ``name``, or ``default``."""
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[Tag]:
        """The base tags (those owning memory): the controller scope's, then each program's."""
        return iter([t for t in self.all_tags() if isinstance(t, Tag)])

    def __len__(self) -> int:
        return sum(isinstance(t, Tag) for scope in self._scopes.values() for t in scope.values())

    def tag(self, name: str, program: str | None = None) -> AnyTag:
        """The tag ``name`` of the controller scope or of ``program`` (KeyError if none)."""
        try:
            return self._scope(program)[name.casefold()]
        except KeyError:
            where = f"program {program}" if program else "the controller scope"
            raise KeyError(f"no tag {name!r} in {where}") from None

    def tags(self, program: str | None = None) -> list[AnyTag]:
        """The tags of one scope in instance-id order."""
        scope = self._instances.get(_fold(program))
        if scope is None:
            raise KeyError(f"no program {program!r}")
        return [scope[i] for i in sorted(scope)]

    def all_tags(self) -> list[AnyTag]:
        """Every tag: the controller scope, then each program."""
        out = self.tags()
        for program in self.programs:
            out += self.tags(program)
        return out

    def by_instance(self, instance_id: int, program: str | None = None) -> AnyTag:
        """The tag with Symbol instance ``instance_id`` in a scope (KeyError if none)."""
        try:
            return self._instances[_fold(program)][instance_id]
        except KeyError:
            raise KeyError(f"no symbol instance {instance_id}") from None

    # -- paths and values ---------------------------------------------------------------------

    def resolve(self, path: str, *, bool_index: str = "bit") -> Location:
        """Resolve a Logix path (``Program:P.Tag[1,2].Member.5``) to a Location."""
        program, segments = parse_path(path)
        if segments[0][0] != "name":
            raise TagPathError(f"bad tag path {path!r}")
        try:
            tag = self.tag(segments[0][1], program)
        except KeyError as exc:
            raise TagPathError(str(exc.args[0])) from None
        return resolve_path(tag, segments[1:], bool_index=bool_index)

    def resolve_epath(
        self, segments: Sequence[Mapping[str, Any]], *, bool_index: str = "word"
    ) -> Location:
        """Resolve EPATH segments (codec dicts) of a tag service request to a Location.

        Accepts ``{'symbolic': 'Program:P'}`` first, then a symbolic tag name or ``{'class':
        0x6B}, {'instance': id}``, then element segments (consecutive ones index one
        multi-dimensional array) and symbolic member names.
        """
        program = None
        i, n = 0, len(segments)
        if n and "symbolic" in segments[0] and segments[0]["symbolic"][:8].lower() == "program:":
            program = segments[0]["symbolic"][8:]
            if _fold(program) not in self._scopes:
                raise TagPathError(f"no program {program!r}")
            i = 1
        if i >= n:
            raise TagPathError("path names no tag")
        first = segments[i]
        try:
            if "symbolic" in first:
                tag = self.tag(first["symbolic"], program)
                i += 1
            elif first.get("class") == 0x6B and i + 1 < n and "instance" in segments[i + 1]:
                tag = self.by_instance(segments[i + 1]["instance"], program)
                i += 2
            else:
                raise TagPathError(f"path does not start with a tag: {first!r}")
        except KeyError as exc:
            raise TagPathError(str(exc.args[0])) from None
        rest: list[tuple] = []
        while i < n:
            seg = segments[i]
            if "element" in seg:
                indices = []
                while i < n and "element" in segments[i]:
                    indices.append(int(segments[i]["element"]))
                    i += 1
                rest.append(("index", tuple(indices)))
                continue
            if "symbolic" in seg:
                rest.append(("name", seg["symbolic"]))
            else:
                raise TagPathError(f"unexpected path segment {seg!r}")
            i += 1
        return resolve_path(tag, rest, bool_index=bool_index)

    def read(self, path: str) -> Any:
        """The Python value at ``path``."""
        return self.resolve(path).get()

    def write(self, path: str, value: Any) -> None:
        """Store a Python value at ``path``."""
        self.resolve(path).set(value)

    # -- Symbol object ------------------------------------------------------------------------

    def _entry(self, tag: AnyTag) -> SymbolEntry:
        base = tag.target.tag if isinstance(tag, AliasTag) and tag.target else tag
        address = self._addresses.get(id(base), 0)
        if isinstance(tag, AliasTag) and tag.target is not None:
            address += tag.target.offset
        return SymbolEntry(
            instance_id=tag.instance_id or 0,
            name=tag.name,
            type_word=tag.symbol_type,
            address=address,
            object_address=0x000C_0000 + 0x28 * (tag.instance_id or 0),
            software_control=0 if tag.is_alias else BASE_TAG,
            element_size=tag.element_size,
            dims=tag.symbol_dims,
            access=access_code(tag.external_access),
        )

    def _symbol_list(self, program: str | None) -> tuple[list[int], list[SymbolEntry]]:
        key = _fold(program)
        cached = self._symbol_cache.get(key)
        if cached is None:
            entries = [self._entry(t) for t in self.tags(program)]
            if program is None:
                entries += [
                    SymbolEntry(iid, f"Program:{name}", PROGRAM_TYPE, 0, 0, 0, 0, (0, 0, 0), 0)
                    for name, iid in self._programs.values()
                ]
                entries.sort(key=lambda e: e.instance_id)
            cached = self._symbol_cache[key] = ([e.instance_id for e in entries], entries)
        return cached

    def symbols(self, program: str | None = None) -> list[SymbolEntry]:
        """The Symbol instances of a scope, in instance-id order (programs in the controller's)."""
        return list(self._symbol_list(program)[1])

    def instance_attribute_list(
        self,
        attrs: Sequence[int],
        *,
        program: str | None = None,
        start: int = 0,
        max_size: int | None = None,
    ) -> tuple[bytes, bool]:
        """Entries with instance id >= ``start``, each encoded with ``attrs``, up to max_size.

        Returns the reply data and whether more entries remain (answer status 0x06).
        """
        out = bytearray()
        ids, entries = self._symbol_list(program)
        for entry in entries[bisect.bisect_left(ids, start) :]:
            encoded = entry.encode(attrs)
            if max_size is not None and len(out) + len(encoded) > max_size:
                if not out:
                    raise TagDBError(f"symbol {entry.name} alone exceeds {max_size} bytes")
                return bytes(out), True
            out += encoded
        return bytes(out), False

    # -- JSON ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """This database in the JSON tag-database format (types, programs, tags with values)."""
        types = []
        for s in self._types.values():
            if s.kind == "Predefined":
                continue
            types.append(
                {
                    "name": s.name,
                    "family": s.family,
                    "kind": s.kind,
                    "template_id": s.template_id,
                    "handle": s.handle,
                    "members": [_def_to_json(d) for d in member_defs(s)],
                }
            )
        tags = []
        for tag in self.all_tags():
            entry: dict[str, Any] = {"name": tag.name}
            if tag.program:
                entry["program"] = tag.program
            entry["instance_id"] = tag.instance_id
            if tag.external_access != "Read/Write":
                entry["external_access"] = tag.external_access
            if tag.description:
                entry["description"] = tag.description
            if isinstance(tag, AliasTag):
                entry["alias_for"] = tag.alias_for
            else:
                entry["type"] = tag.data_type.name
                if tag.dims:
                    entry["dims"] = list(tag.dims)
                if not tag.packed_bools:
                    entry["bool_bytes"] = True
                if tag.constant:
                    entry["constant"] = True
                entry["value"] = value = tag.value
                image = encode_value(tag.data_type, value, tag.dims, packed=tag.packed_bools)
                if image != tag.data:
                    entry["data"] = tag.data.hex()  # hidden bits the value does not show
            tags.append(entry)
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "controller": self.name,
            "revision": self.revision,
            "types": types,
            "programs": [{"name": n, "instance_id": i} for n, i in self._programs.values()],
            "tags": tags,
        }

    def save_json(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as JSON to ``path``."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load_json(cls, path: str | Path) -> TagDB:
        """Load a JSON tag database (ours, or a pycomm3 tag dump) from ``path``."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TagDBError(f"{path}: cannot read a JSON tag database: {exc}") from None
        try:
            return cls.from_dict(data)
        except TagDBError as exc:
            raise TagDBError(f"{path}: {exc}") from None

    @classmethod
    def from_dict(cls, data: Any) -> TagDB:
        """Build a database from :meth:`to_dict` output (or a pycomm3 tag dump)."""
        if not isinstance(data, Mapping):
            raise TagDBError("a tag database must be a JSON object")
        if data.get("format") != FORMAT:
            if data and all(isinstance(v, Mapping) and "tag_name" in v for v in data.values()):
                return cls.from_pycomm3(data)
            raise TagDBError(f'not a {FORMAT} document (missing "format": "{FORMAT}")')
        if data.get("version") != FORMAT_VERSION:
            raise TagDBError(f"unsupported {FORMAT} version {data.get('version')!r}")
        try:
            db = cls(str(data.get("controller", "cpppo")), revision=int(data.get("revision", 20)))
            pending = {t["name"].casefold(): t for t in data.get("types", [])}
            while pending:
                progressed = False
                for key, t in list(pending.items()):
                    defs = [_def_from_json(m, t["name"]) for m in t["members"]]
                    needed = [
                        d.type for d in defs if d.type.upper() not in ATOMIC_TYPES
                        and d.type.upper() not in ("BIT", "BOOL")
                        and d.type.casefold() not in db._types
                    ]  # fmt: skip
                    if needed:
                        continue
                    db.define_structure(
                        t["name"], defs, family=t.get("family", "NoFamily"),
                        kind=t.get("kind", "User"), template_id=t.get("template_id"),
                        handle=t.get("handle"),
                    )  # fmt: skip
                    del pending[key]
                    progressed = True
                if not progressed:
                    raise TagDBError(
                        f"types with undefined or circular member types: {sorted(pending)}"
                    )
            for p in data.get("programs", []):
                db.add_program(p["name"], instance_id=p.get("instance_id"))
            for t in data.get("tags", []):
                common = {
                    "program": t.get("program"),
                    "external_access": t.get("external_access", "Read/Write"),
                    "instance_id": t.get("instance_id"),
                    "description": t.get("description"),
                }
                if "alias_for" in t:
                    db.add_alias(t["name"], t["alias_for"], **common)
                    continue
                raw = bytes.fromhex(t["data"]) if "data" in t else None
                value = t.get("value") if raw is None else None
                db.add_tag(
                    t["name"], t["type"], t.get("dims", ()), value=value, data=raw,
                    constant=bool(t.get("constant", False)),
                    packed_bools=not t.get("bool_bytes", False), **common,
                )  # fmt: skip
            for warning in db.bind_aliases():
                raise TagDBError(warning)
        except TagDBError:
            raise
        except (KeyError, TypeError, ValueError, LayoutError) as exc:
            raise TagDBError(f"bad tag database: {exc}") from None
        return db

    @classmethod
    def from_pycomm3(cls, dump: Mapping[str, Any], *, revision: int = 20) -> TagDB:
        """Build a database from a pycomm3 ``LogixDriver.tags`` dump (tag name -> info).

        Structure definitions come from the dump's member order and types; the layout is
        recomputed and must agree with the dump's offsets (else TagDBError). Symbol instance ids,
        template ids and structure handles are kept. Values are zero.
        """
        db = cls(revision=revision)
        template_ids: dict[str, int] = {}
        for info in dump.values():
            dt = info.get("data_type")
            if isinstance(dt, Mapping) and "template_instance_id" in info:
                template_ids.setdefault(dt["name"].casefold(), info["template_instance_id"])
        try:
            for info in sorted(dump.values(), key=lambda i: i["instance_id"]):
                name = info["tag_name"]
                program = None
                if name.startswith("Program:"):
                    program, _, name = name[8:].partition(".")
                    if _fold(program) not in db._programs:
                        db.add_program(program)
                dims = tuple(info.get("dimensions", (0, 0, 0))[: info.get("dim", 0)])
                dt = info["data_type"]
                if isinstance(dt, Mapping):
                    dtype: DataType = _pycomm3_structure(db, dt, template_ids)
                elif dt == "DWORD" and dims:
                    dtype, dims = ATOMIC_TYPES["BOOL"], (dims[0] * 32,)
                else:
                    dtype = db.data_type(dt)
                db.add_tag(
                    name, dtype, dims, program=program, instance_id=info["instance_id"],
                    external_access=_pycomm3_access(info.get("external_access")),
                )  # fmt: skip
        except (KeyError, TypeError, LayoutError) as exc:
            raise TagDBError(f"bad pycomm3 tag dump: {exc}") from None
        return db


def _pycomm3_access(text: Any) -> str:
    if isinstance(text, str) and text.strip().lower() in ("read/write", "read only", "none"):
        return text
    return "Read/Write"


def _pycomm3_structure(
    db: TagDB, dt: Mapping[str, Any], template_ids: Mapping[str, int]
) -> Structure:
    """Rebuild (and register) a structure described by a pycomm3 data type dict."""
    name = dt["name"]
    try:
        known = db.data_type(name)
    except KeyError:
        known = None
    predefined = PREDEFINED.get(name.upper())
    internal = dt["internal_tags"]
    if known is None:
        members = list(internal.items())
        defs: list[MemberDef] = []
        for mname, m in members:
            hidden = mname.startswith(("ZZZZZZZZZZ", "__")) or (
                predefined is not None and mname in ("CTL", "Control")
            )
            if m["tag_type"] == "struct":
                nested = _pycomm3_structure(db, m["data_type"], template_ids)
                defs.append(MemberDef(mname, nested.name, m.get("array", 0), hidden))
            elif m["data_type"] == "BOOL" and "bit" in m:
                host = _pycomm3_host(internal, mname, m)
                bit = (m["offset"] - internal[host]["offset"]) * 8 + m["bit"]
                defs.append(MemberDef(mname, "BIT", 0, hidden, host, bit))
            else:
                defs.append(MemberDef(mname, m["data_type"], m.get("array", 0), hidden))
        template = dt.get("template", {})
        family = "StringFamily" if "string" in dt else "NoFamily"
        kind = "Module" if ":" in name else "User"
        if predefined is not None:
            known = predefined
        else:
            known = db.define_structure(
                name, defs, family=family, kind=kind,
                template_id=template_ids.get(name.casefold()),
                handle=template.get("structure_handle"),
            )  # fmt: skip
    assert isinstance(known, Structure)
    _check_pycomm3_layout(known, dt)
    return known


def _pycomm3_host(internal: Mapping[str, Any], name: str, m: Mapping[str, Any]) -> str:
    """The integer member a pycomm3 BOOL member aliases (the one holding its byte)."""
    sizes = {t.name: t.size for t in ATOMIC_TYPES.values()}
    for hname, h in internal.items():
        if hname == name:
            break
        if h["tag_type"] == "atomic" and h["data_type"] != "BOOL" and not h.get("array"):
            size = sizes.get(h["data_type"], 0)
            if h["offset"] <= m["offset"] < h["offset"] + size:
                return hname
    raise TagDBError(f"BOOL member {name} at offset {m['offset']} has no host member")


def _check_pycomm3_layout(s: Structure, dt: Mapping[str, Any]) -> None:
    template = dt.get("template", {})
    size = template.get("structure_size")
    if size is not None and size != s.size:
        raise TagDBError(f"structure {s.name}: size {s.size} differs from the dump's {size}")
    for mname, m in dt["internal_tags"].items():
        try:
            ours = s.member(mname)
        except KeyError:
            raise TagDBError(f"structure {s.name}: no member {mname}") from None
        if ours.offset != m["offset"] or (ours.bit or 0) != m.get("bit", 0):
            raise TagDBError(
                f"structure {s.name}.{mname}: offset {ours.offset} bit {ours.bit} differs from "
                f"the dump's {m['offset']} bit {m.get('bit')}"
            )


def _def_to_json(d: MemberDef) -> dict[str, Any]:
    out: dict[str, Any] = {"name": d.name, "type": d.type}
    if d.dim:
        out["dim"] = d.dim
    if d.hidden:
        out["hidden"] = True
    if d.target is not None:
        out["target"], out["bit"] = d.target, d.bit
    if d.radix:
        out["radix"] = d.radix
    if d.access != "Read/Write":
        out["access"] = d.access
    return out


def _def_from_json(m: Mapping[str, Any], where: str) -> MemberDef:
    if not isinstance(m, Mapping) or "name" not in m or "type" not in m:
        raise TagDBError(f"type {where}: a member needs a name and a type: {m!r}")
    return MemberDef(
        str(m["name"]), str(m["type"]), int(m.get("dim", 0)), bool(m.get("hidden", False)),
        m.get("target"), m.get("bit"), m.get("radix"), str(m.get("access", "Read/Write")),
    )  # fmt: skip
