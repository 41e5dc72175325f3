"""The data types of an L5X export, laid out and registered in a tag database.

Where a type comes from, in this order:

1. the export's own definitions: ``<DataType>`` (user types, string types) and add-on
   instructions (laid out by :mod:`.l5x_aoi`); a definition of a built-in type's name is
   accepted when it matches the built-in (the built-in is served either way);
2. the types the database knows: atomic, STRING, TIMER, COUNTER, CONTROL, and MESSAGE, PID,
   ALARM_ANALOG, ALARM_DIGITAL and CAM (:mod:`..logix.predefined_instr`);
3. what the export's data shows about a type it uses without defining (:mod:`.l5x_evidence`):
   the members its decorated data names, else an opaque structure of the size its L5K data or
   hex image implies (the L5K data of a tag of it, or of a tag of a type holding it).

A type that cannot be built costs that type, the types that use it and the tags of them: one
warning each, naming what is missing. Types are resolved on demand and in dependency order;
types that refer to each other in a cycle are skipped.

Public API
    TypeBuilder(db, report, controller)
        .define_all()                        lay out and register every type the export defines
        .resolve(name) -> DataType | None    the type called ``name`` (None: see .reason(name))
        .reason(name) -> str                 why ``name`` did not resolve
        .made_up(structure) -> bool          a layout of ours (built-in instruction type, from
                                             decorated data, or opaque): a controller's memory
                                             image or L5K text need not fit it
        .opaque(structure) -> bool           an opaque structure built from L5K text / hex size
        .inexact(data_type) -> bool          it is made up, or holds a made-up type
        .ignored(structure, member) -> bool  a member the data may name that is not modelled
        .origins -> dict[str, str]           type name -> "from decorated data" or "opaque",
                                             for the types built from what the data shows
"""

from __future__ import annotations

from ..logix import (
    ATOMIC_TYPES,
    INSTRUCTION_TYPES,
    PREDEFINED_TEMPLATE_IDS,
    DataType,
    LayoutError,
    MemberDef,
    Structure,
    TagDB,
    TagDBError,
    layout_structure,
)
from .l5x_aoi import add_aliases, aoi_layout
from .l5x_evidence import Evidence, image_size, member_size, shape_defs
from .l5x_xml import Node, Report, Skipped, children

__all__ = ["TypeBuilder"]

_NOT_TYPES = {"BIT", "BOOL"}


def _member_defs(node: Node, report: Report) -> list[MemberDef]:
    defs = []
    for m in children(node, "Members", "Member"):
        defs.append(
            MemberDef(
                report.required(m, "Name"),
                report.required(m, "DataType"),
                report.integer(m, "Dimension", 0),
                (m.get("Hidden") or "false").lower() == "true",
                m.get("Target"),
                report.integer(m, "BitNumber", None),
                m.get("Radix"),
                m.get("ExternalAccess") or "Read/Write",
            )
        )
    return defs


def _same_layout(a: Structure, b: Structure) -> bool:
    def visible(s: Structure) -> list[tuple]:
        return [
            (m.name.casefold(), m.type.name, m.offset, m.count, m.bit)
            for m in s.members
            if not m.hidden
        ]

    return a.size == b.size and visible(a) == visible(b)


class TypeBuilder:
    """Builds and registers the types an export defines or uses (see the module docstring)."""

    def __init__(self, db: TagDB, report: Report, controller: Node) -> None:
        self.db = db
        self.report = report
        self.controller = controller
        self.origins: dict[str, str] = {}
        self._pending: dict[str, Node] = {}
        self._file_names: set[str] = set()
        self._active: set[str] = set()
        self._failed: dict[str, str] = {}
        self._made_up: set[int] = set()
        self._opaque: set[int] = set()
        self._ignored: dict[int, set[str]] = {}
        self._inexact: dict[int, bool] = {}
        self._evidence: Evidence | None = None
        self._next_id = 0
        self._collect()

    # -- the export's definitions -----------------------------------------------------------

    def _collect(self) -> None:
        nodes = list(children(self.controller, "DataTypes", "DataType"))
        for group in self.controller.findall("AddOnInstructionDefinitions"):
            for node in group.children:
                encoded = node.tag == "EncodedData"
                if node.tag == "AddOnInstructionDefinition" or (
                    encoded and node.get("EncodedType") == "AddOnInstructionDefinition"
                ):
                    nodes.append(node)
        for node in nodes:
            name = node.get("Name")
            if not name:
                self.report.warn(f"{node.describe()}: missing attribute Name; skipped")
                continue
            first = self._pending.get(name.casefold())
            if first is not None:
                self.report.warn(
                    f"data type {name} (line {node.line}) is defined twice; the definition on "
                    f"line {first.line} is used"
                )
                continue
            self._pending[name.casefold()] = node
            self._file_names.add(name.casefold())

    def define_all(self) -> None:
        """Lay out and register every type the export defines (dependencies first)."""
        for key in list(self._pending):
            if key in self._pending:
                self._define(key)

    def _define(self, key: str) -> DataType | None:
        node = self._pending.pop(key)
        name = node.get("Name") or key
        label = "data type" if node.tag == "DataType" else "add-on instruction"
        builtin = self._builtin(name)
        self._active.add(key)
        try:
            s = self._build(name, node, label)
            if builtin is None:
                return self._register(s)
        except Skipped as exc:
            if builtin is None:
                self._failed[key] = f"data type {name!r} was skipped"
                self.report.warn(f"{label} {name} skipped: {exc}")
                return None
            self.report.warn(f"{label} {name}: {exc}; the built-in {builtin.name} is served")
            return builtin
        finally:
            self._active.discard(key)
        if not (isinstance(builtin, Structure) and _same_layout(s, builtin)):
            self.report.warn(
                f"{label} {name}: differs from the built-in {builtin.name}; the built-in is served"
            )
        return builtin

    def _build(self, name: str, node: Node, label: str) -> Structure:
        if node.tag == "DataType":
            defs = _member_defs(node, self.report)
            self._member_types(defs, name)
            kind = "Module" if ":" in name else "User"
            family = node.get("Family") or "NoFamily"
            return self._layout(name, defs, family=family, kind=kind)
        layout = aoi_layout(name, node, self.report)
        for note in layout.notes:
            self.report.warn(f"{label} {name}: {note}")
        self._member_types(layout.defs, name)
        s = self._layout(name, layout.defs, kind="AOI", host_bits=32)
        s, overlapping, missing = add_aliases(s, layout.aliases)
        for alias in missing:
            self.report.warn(f"{label} {name}: alias parameter {alias} does not resolve")
        self._ignored[id(s)] = {m.casefold() for m in (*overlapping, *missing)}
        if node.tag == "EncodedData":
            self._made_up.add(id(s))  # its local tags are hidden: Logix's data will not fit
        return s

    def _builtin(self, name: str) -> DataType | None:
        try:
            return self.db.data_type(name)
        except KeyError:
            return None

    def _member_types(self, defs: list[MemberDef], owner: str | None = None) -> None:
        """Resolve every member type (Skipped naming the first that does not resolve).

        ``owner``: the type being defined, whose tags' L5K data may show the size of a member
        type nothing else shows (its value is the item at the member's place in the list).
        """
        index = -1
        for d in defs:
            if d.type.upper() != "BIT":
                index += 1  # the member's place in L5K text (hidden hosts count, bits do not)
            if d.type.upper() in _NOT_TYPES or d.type.upper() in ATOMIC_TYPES:
                continue
            if self.resolve(d.type) is None and not (
                owner is not None and self._opaque_from_owner(d, owner, index)
            ):
                raise Skipped(f"member {d.name}: {self.reason(d.type)}")

    def _opaque_from_owner(self, d: MemberDef, owner: str, index: int) -> bool:
        key = d.type.casefold()
        if key in self._active or key in self._file_names:
            return False
        tag = self.evidence.image_tag(owner)
        size = member_size(tag, index, bool(d.dim), self.report) if tag is not None else None
        if size is None:
            return False
        try:
            self._opaque_type(d.type, size)
        except Skipped:
            return False
        self._failed.pop(key, None)
        return True

    def _layout(self, name: str, defs: list[MemberDef], **kw) -> Structure:
        try:
            return layout_structure(name, defs, self.db.data_type, rules=self.db.rules, **kw)
        except (LayoutError, KeyError) as exc:
            raise Skipped(str(exc).strip('"')) from None

    def _register(self, s: Structure) -> Structure:
        try:
            if s.kind != "Predefined":
                return self.db.register(s)
            while self._next_id < len(PREDEFINED_TEMPLATE_IDS):
                template_id = PREDEFINED_TEMPLATE_IDS[self._next_id]
                self._next_id += 1
                try:
                    self.db.template(template_id)
                except KeyError:
                    return self.db.register(s, template_id=template_id)
            raise Skipped(f"no template id left for {s.name}")
        except TagDBError as exc:
            raise Skipped(str(exc)) from None

    # -- resolution -------------------------------------------------------------------------

    def resolve(self, name: str) -> DataType | None:
        """The type called ``name``: defined by the export, built in, or shown by its data."""
        key = name.casefold()
        if key in self._failed or key in self._active:
            return None
        if key in self._pending:
            return self._define(key)
        found = self._builtin(name)
        if found is not None:
            return found
        return self._from_data(name)

    def reason(self, name: str) -> str:
        """Why :meth:`resolve` gave None for ``name``."""
        key = name.casefold()
        if key in self._active:
            return f"data type {name!r} refers back to it (a cycle)"
        return self._failed.get(key) or f"data type {name!r} is not defined"

    @property
    def evidence(self) -> Evidence:
        """What the export's data shows (one pass over it, made when first needed)."""
        if self._evidence is None:
            self._evidence = Evidence(self.controller)
        return self._evidence

    def _from_data(self, name: str) -> Structure | None:
        key = name.casefold()
        shape = self.evidence.shape(name)
        tag = self.evidence.image_tag(name)
        self._active.add(key)
        try:
            if shape is not None and shape_defs(shape):
                defs = shape_defs(shape)
                self._member_types(defs)
                s = self._register(self._layout(name, defs, kind="Predefined", host_bits=32))
                self._made_up.add(id(s))
                self.origins[s.name] = "from decorated data"
                return s
            size = image_size(tag, self.report) if tag is not None else None
            if size is None:
                raise Skipped(
                    f"data type {name!r} is not defined in this file and no data shows its layout"
                )
            return self._opaque_type(name, size)
        except Skipped as exc:
            self._failed[key] = str(exc)
            return None
        finally:
            self._active.discard(key)

    def _opaque_type(self, name: str, size: int) -> Structure:
        """Register an opaque structure of ``size`` bytes (one SINT[size] member, Data)."""
        data = [MemberDef("Data", "SINT", size, radix="Hex")]
        s = self._register(self._layout(name, data, kind="Predefined"))
        self._made_up.add(id(s))
        self._opaque.add(id(s))
        self.origins[s.name] = "opaque"
        return s

    # -- what the value loader needs to know ------------------------------------------------

    def made_up(self, s: DataType) -> bool:
        """True when the layout of ``s`` is ours rather than the export's or Logix's."""
        return id(s) in self._made_up or (
            isinstance(s, Structure) and s.kind == "Predefined" and s.name in INSTRUCTION_TYPES
        )

    def opaque(self, s: DataType) -> bool:
        """True for an opaque structure (a block of bytes of the size the data implies)."""
        return id(s) in self._opaque

    def inexact(self, dtype: DataType) -> bool:
        """True when ``dtype`` is made up or holds a made-up type (at any depth)."""
        if not isinstance(dtype, Structure):
            return False
        known = self._inexact.get(id(dtype))
        if known is None:
            known = self.made_up(dtype) or any(self.inexact(m.type) for m in dtype.members)
            self._inexact[id(dtype)] = known
        return known

    def ignored(self, s: Structure, member: str) -> bool:
        """True for a member name the data may show but the structure does not model."""
        return member.casefold() in self._ignored.get(id(s), ())
