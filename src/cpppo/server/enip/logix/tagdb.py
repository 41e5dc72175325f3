"""A Logix controller's tag database: types, tags by scope, symbol instance ids.

Pure (no sockets). The simulator's Symbol (0x6B) and Template (0x6C) objects and its tag services
read everything they answer from a :class:`TagDB`. JSON and pycomm3-dump loading are in
:mod:`~cpppo.server.enip.importers`.

Public API
    TagDB(name="cpppo", *, revision=20)
        .name, .revision, .rules                 controller name, firmware major, LayoutRules
        .data_type(name) -> Atomic | Structure   atomic, predefined or registered (KeyError);
                                                 MESSAGE, PID, ALARM_ANALOG, ALARM_DIGITAL and
                                                 CAM are registered when first asked for
        .define_structure(name, defs, *, family="NoFamily", kind="User", host_bits=8,
                          template_id=None, handle=None) -> Structure
        .define_string(name, capacity) -> Structure
        .register(structure, *, template_id=None, handle=None) -> Structure
                                                 give it a Template instance id (0x100..0xEFF)
                                                 and a unique handle; nested types first
        .structures -> list[Structure]           every registered structure (predefined too)
        .template(template_id) -> Template       attributes + blob (KeyError if unknown)
        .add_program(name, *, instance_id=None)
        .programs -> list[str] ; .program_instance(name) -> int
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
        .fork() -> TagDB                         same types, tags and ids; each tag's own memory
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
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .atomic import ATOMIC_TYPES, CIP_STRING_TYPES, LayoutRules, access_code
from .errors import TagDBError, TagPathError
from .layout import MemberDef, layout_structure
from .location import Location
from .predefined import PREDEFINED, string_type
from .predefined_instr import instruction_type
from .structure import DataType, Structure
from .symbols import BASE_TAG, PROGRAM_TYPE, SymbolEntry
from .tag import AliasTag, AnyTag, Tag
from .tagdb_fork import fork, unshare, unshare_types
from .tagpath import parse_path, resolve_path
from .templates import Template, structure_handle, template_attributes, template_blob

__all__ = ["TagDB"]

# Template ids a database hands out: the user range 0x100..0xEFF, without ids whose low byte is a
# CIP type code (0x00, 0xA0, 0xC0..0xDF): pylogix tests a member's low byte against those first
# and would take a nested structure for an atomic type.
_USER_TEMPLATE_IDS = tuple(
    i
    for i in range(0x100, 0xF00)
    if (i & 0xFF) not in (0x00, 0xA0) and not 0xC0 <= i & 0xFF <= 0xDF
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_:]*$")


def _fold(name: str | None) -> str | None:
    return None if name is None else name.casefold()


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
        #: Per scope (folded program name, None: the controller's): folded tag name -> instance.
        self._names: dict[str | None, dict[str, int]] = {None: {}}
        self._programs: dict[str, tuple[str, int]] = {}
        self._instances: dict[str | None, dict[int, AnyTag]] = {None: {}}
        self._used_ids: dict[str | None, set[int]] = {None: set()}
        self._next_id: dict[str | None, int] = {None: 1}
        self._next_address = 0x0001_0000
        #: True while names, programs and ids (types and templates) are shared with a fork.
        self._shared = self._shared_types = False
        self._pending: list[AliasTag] = []
        self._symbol_cache: dict[str | None, tuple[list[int], list[SymbolEntry]]] = {}
        #: Incremented whenever tags are added, removed or bound (cached resolutions go stale).
        self.version = 0
        #: Called with every base tag added (a simulator gives it its Attribute).
        self.on_add: Callable[[Tag], None] | None = None
        for s in PREDEFINED.values():
            self.register(s)

    def fork(self) -> TagDB:
        """A copy for another device (see :func:`~.tagdb_fork.fork`): shared types, own memory."""
        return fork(self)

    def __repr__(self) -> str:
        count = sum(len(scope) for scope in self._instances.values())
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
            builtin = instruction_type(name, self.rules)  # registered on first use
            if builtin is None:
                raise KeyError(f"unknown data type {name!r}") from None
            return self.register(builtin)

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
        unshare_types(self)
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
        unshare(self)
        self._programs[key] = (name, self._new_id(None, instance_id, f"Program:{name}"))
        self._used_ids[key] = set()
        self._next_id[key] = 1
        self._names[key] = {}
        self._instances[key] = {}
        self._symbol_cache.clear()

    @property
    def programs(self) -> list[str]:
        """Program names in definition order."""
        return [name for name, _ in self._programs.values()]

    def program_instance(self, name: str) -> int:
        """The Symbol instance id of program ``name`` in the controller scope (KeyError)."""
        return self._programs[name.casefold()][1]

    def _scope(self, program: str | None, create: bool = False) -> dict[str, int]:
        key = _fold(program)
        scope = self._names.get(key)
        if scope is None:
            if not create or program is None:
                raise KeyError(f"no program {program!r}")
            self.add_program(program)
            scope = self._names[key]
        return scope

    def _insert(self, tag: AnyTag, program: str | None) -> None:
        if not _NAME.match(tag.name):
            raise TagDBError(f"invalid tag name {tag.name!r}")
        unshare(self)
        scope = self._scope(program, create=True)
        if tag.name.casefold() in scope:
            raise TagDBError(f"tag {tag.qualified_name!r} already exists")
        tag.instance_id = self._new_id(_fold(program), tag.instance_id, tag.qualified_name)
        scope[tag.name.casefold()] = tag.instance_id
        self._symbol_cache.clear()
        self.version += 1
        self._instances[_fold(program)][tag.instance_id] = tag
        size = 0
        if isinstance(tag, Tag):
            size = tag.size
            tag.shape.address = self._next_address
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
        unshare(self)
        self._names[key].pop(tag.name.casefold(), None)
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
        return sum(isinstance(t, Tag) for scope in self._instances.values() for t in scope.values())

    def tag(self, name: str, program: str | None = None) -> AnyTag:
        """The tag ``name`` of the controller scope or of ``program`` (KeyError if none)."""
        try:
            return self._instances[_fold(program)][self._scope(program)[name.casefold()]]
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
            if _fold(program) not in self._names:
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
        address = base.address if isinstance(base, Tag) else 0
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
