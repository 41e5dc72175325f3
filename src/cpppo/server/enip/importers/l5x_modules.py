"""Module-defined types and module I/O tags of an L5X export (its ``<Module>`` elements).

A controller gives each I/O module's connection data a tag of a type the module defines (e.g.
``AB:1756_IF8:I:0``). An export shows such a type only through the decorated data of the tags
(a ``<Connection>``'s ``InputTag``/``OutputTag``, the module's ``<Communications><ConfigTag>``):
member names, data types and array sizes, without the hidden members and bit positions of the
real definition. Each type is built from that data (the members each occurrence shows, as
:func:`.l5x_evidence.shape_defs` reads them, merged over every occurrence in the file; nested
types first) and laid out by the same rules as a user-defined type (BOOL members packed into
hidden host SINTs), so the Template object describes it consistently. They are registered
before the export's own types, which may use them. The tags get the decorated values; L5K data
is not read for them (it holds the hidden members too, so it never matches the decorated
layout).

Tag names, as a controller names them:

- ``<Parent>:<slot>:<suffix>`` for a module in a chassis: its upstream port is a backplane
  (ICP, Compact, PointIO, 5094, ...) whose Address is the slot. The local chassis belongs to
  the controller, whose module is called ``Local``: ``Local:1:I``. A module in a remote chassis
  is named after the chassis' adapter: ``Remote:2:O``.
- ``<Module>:<suffix>`` for a module directly on a network (Ethernet, ControlNet, DeviceNet,
  ...): an adapter, a drive, an I/O block.
- The suffix is ``C`` for the configuration tag, and a connection's InputTagSuffix and
  OutputTagSuffix (``I`` and ``O`` when the export does not say) for its input and output.
- A module on a rack-optimised connection (``<RackConnection>`` with ``<InAliasTag>`` or
  ``<OutAliasTag>``) has no data of its own: ``<Adapter>:<slot>:I`` (``:O``) is an alias for
  its slot of the adapter's ``<Adapter>:I`` (``:O``) tag, ``.Slot[slot]`` or ``.Data[slot]``.

Anything that cannot be modelled (no decorated data, a type that cannot be laid out, a name
already taken) costs that element only, with one warning.

Public API
    load_modules(root, db, report, values)
                                     the types and tags of every ``<Module>`` under ``root``
                                     (``RSLogix5000Content``: a complete export's
                                     ``Controller/Modules`` or a partial export's own modules);
                                     ``report.warn(message)`` takes the warnings,
                                     ``values.apply_decorated(node, image, offset, dtype, dims,
                                     where)`` writes decorated data (the importer's own)
    io_tag_prefix(module, modules)   ``Local:1``, ``Remote:2``, ``Drive`` or None (the
                                     controller's own module); ``modules`` maps folded names
                                     to the export's modules
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from ..logix import DataType, LayoutError, MemberDef, Structure, TagDB, TagDBError
from .l5x_evidence import shape_defs

__all__ = ["DecoratedValues", "Reporter", "io_tag_prefix", "load_modules"]

#: Upstream port types of a module that sits on a network (any other type is a backplane).
NETWORK_PORTS = frozenset(
    name.casefold()
    for name in (
        "Ethernet", "EtherNet/IP", "ControlNet", "DeviceNet", "DHPlus", "DH+", "DH485", "RIO",
        "SERCOS", "Serial", "USB", "Fieldbus", "ProfibusDP",
    )
)  # fmt: skip


class Reporter(Protocol):
    """Where :func:`load_modules` reports what it skips."""

    def warn(self, message: str) -> None:
        """Record one warning."""


class DecoratedValues(Protocol):
    """What writes decorated data into tag memory (the L5X importer's value loader)."""

    def apply_decorated(
        self, node: Any, image: bytearray, offset: int, dtype: DataType, dims: tuple, where: str
    ) -> None:
        """Store the decorated element ``node`` (``<Structure>``, ``<Array>``...) in ``image``;
        raises ValueError when a value contradicts its declared type."""


# ---------------------------------------------------------------------------------------------
# Where a module sits, and the names of its tags


def _modules(root: Any) -> list[Any]:
    found = list(root.findall("Module"))
    for controller in root.findall("Controller"):
        for group in controller.findall("Modules"):
            found += group.findall("Module")
    return found


def _ports(module: Any) -> Iterator[Any]:
    for group in module.findall("Ports"):
        yield from group.findall("Port")


def _upstream(module: Any, modules: Mapping[str, Any]) -> tuple[str, str] | None:
    """(Type, Address) of the port a module hangs from: its upstream port, or else the parent's
    port it is attached to (whose address says nothing about the module)."""
    for port in _ports(module):
        if (port.get("Upstream") or "").lower() == "true":
            return port.get("Type") or "", (port.get("Address") or "").strip()
    parent = modules.get((module.get("ParentModule") or "").casefold())
    if parent is not None:
        for port in _ports(parent):
            if port.get("Id") == module.get("ParentModPortId"):
                return port.get("Type") or "", ""
    return None


def _slot(module: Any, modules: Mapping[str, Any]) -> int | None:
    """The module's slot in its parent's chassis, or None when it sits on a network."""
    port = _upstream(module, modules)
    if port is None:
        return None
    kind, address = port
    if kind.casefold() in NETWORK_PORTS or not address.isdigit():
        return None
    return int(address)


def io_tag_prefix(module: Any, modules: Mapping[str, Any]) -> str | None:
    """The name a controller gives a module's tags, before ``:<suffix>`` (see the module doc);
    None for the controller's own module (its own parent)."""
    name, parent = module.get("Name"), module.get("ParentModule")
    if not name or not parent or parent.casefold() == name.casefold():
        return None
    slot = _slot(module, modules)
    return name if slot is None else f"{parent}:{slot}"


def _io_tags(module: Any) -> Iterator[tuple[str, Any]]:
    """(suffix, tag element) of every data tag a module's export shows."""
    for comm in module.findall("Communications"):
        for node in comm.findall("ConfigTag"):
            yield "C", node
        for group in comm.findall("Connections"):
            for conn in group.findall("Connection"):
                for node in conn.findall("InputTag"):
                    yield conn.get("InputTagSuffix") or "I", node
                for node in conn.findall("OutputTag"):
                    yield conn.get("OutputTagSuffix") or "O", node


def _rack_aliases(module: Any) -> Iterator[str]:
    """The suffixes (``I``, ``O``) of a module's rack-optimised alias tags."""
    for comm in module.findall("Communications"):
        for group in comm.findall("Connections"):
            for rack in group.findall("RackConnection"):
                if rack.find("InAliasTag") is not None:
                    yield "I"
                if rack.find("OutAliasTag") is not None:
                    yield "O"


def _decorated(node: Any) -> Any | None:
    """The first element of a tag's ``<Data Format="Decorated">`` (None if it has none)."""
    for data in node.findall("Data"):
        if (data.get("Format") or "").lower() == "decorated" and data.children:
            return data.children[0]
    return None


def _dims(text: str | None) -> tuple[int, ...]:
    return tuple(int(d) for d in (text or "").replace(",", " ").split())


# ---------------------------------------------------------------------------------------------
# Module-defined types, from decorated data


class _Spec:
    """The members of one module-defined type, in order, merged over its occurrences."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.members: list[MemberDef] = []
        self.by_name: dict[str, MemberDef] = {}

    def add(self, d: MemberDef, after: str | None) -> MemberDef | None:
        """Add ``d`` after member ``after`` unless known; the known one if it differs."""
        known = self.by_name.get(d.name.casefold())
        if known is not None:
            same = (known.type.casefold(), known.dim) == (d.type.casefold(), d.dim)
            return None if same else known
        where = len(self.members)
        if after is not None:
            where = self.members.index(self.by_name[after.casefold()]) + 1
        self.members.insert(where, d)
        self.by_name[d.name.casefold()] = d
        return None


class _Types:
    """Collects module-defined types from decorated data, then defines them in a TagDB."""

    def __init__(self, db: TagDB, report: Reporter) -> None:
        self.db = db
        self.report = report
        self.specs: dict[str, _Spec] = {}
        self.defined: dict[str, bool] = {}

    def known(self, type_name: str) -> bool:
        """Whether the database already has ``type_name`` (atomic, predefined or defined)."""
        if type_name.casefold() in self.specs:
            return False
        try:
            self.db.data_type(type_name)
        except KeyError:
            return False
        return True

    def collect(self, node: Any, where: str) -> str | None:
        """Collect the type of a ``<Structure>``/``<StructureMember>``; its name, or None."""
        type_name = node.get("DataType")
        if not type_name:
            self.report.warn(f"{where}: structure data without a DataType; skipped")
            return None
        if self.known(type_name):
            return type_name
        spec = self.specs.setdefault(type_name.casefold(), _Spec(type_name))
        previous = None
        for d in shape_defs(node):
            conflict = spec.add(d, previous)
            if conflict is not None:
                self.report.warn(
                    f"{where}.{d.name}: a {d.type}[{d.dim}] here, but {type_name} has "
                    f"{conflict.type}[{conflict.dim}]; the first is kept"
                )
            previous = d.name
        for child in node.children:  # the module-defined types of its members
            here = f"{where}.{child.get('Name')}"
            if child.tag == "StructureMember":
                self.collect(child, here)
            elif child.tag == "ArrayMember":
                for element in child.findall("Element"):
                    for structure in element.findall("Structure"):
                        self.collect(structure, here)
        return type_name

    def define_all(self) -> None:
        """Define every collected type (nested ones first); one warning per type skipped."""
        for key in list(self.specs):
            self.define(key, ())

    def define(self, key: str, outer: Sequence[str]) -> bool:
        """Define the collected type ``key``; whether it now exists."""
        if key in self.defined:
            return self.defined[key]
        spec = self.specs[key]
        failed = None
        for m in spec.members:
            inner = m.type.casefold()
            if inner in self.specs and (inner in outer or not self.define(inner, (*outer, key))):
                failed = m.type
                break
        try:
            if failed is not None:
                raise LayoutError(f"it uses {failed}, which is skipped")
            self.db.define_structure(spec.name, spec.members, kind="Module")
            ok = True
        except (LayoutError, TagDBError) as exc:
            self.report.warn(f"module-defined type {spec.name} skipped: {exc}")
            ok = False
        self.defined[key] = ok
        return ok


# ---------------------------------------------------------------------------------------------
# Loading


def load_modules(root: Any, db: TagDB, report: Reporter, values: DecoratedValues) -> None:
    """Define the module-defined types and add the I/O tags of every module under ``root``."""
    modules = _modules(root)
    by_name = {(m.get("Name") or "").casefold(): m for m in modules}
    types = _Types(db, report)
    planned: list[tuple[str, Any, Any]] = []
    for module in modules:
        prefix = io_tag_prefix(module, by_name)
        for suffix, node in _io_tags(module):
            name = f"{prefix or module.get('Name')}:{suffix}"
            data = _decorated(node)
            if prefix is None or data is None:
                why = "no decorated data" if prefix else "it is the controller's own module"
                report.warn(f"module {module.get('Name')}: tag {name} skipped: {why}")
                continue
            if data.tag == "Structure":
                types.collect(data, f"module tag {name}")
            planned.append((name, node, data))
    types.define_all()
    for name, node, data in planned:
        _add_io_tag(db, report, values, name, node, data)
    for module in modules:
        for suffix in _rack_aliases(module):
            _add_rack_alias(db, report, module, suffix, by_name)


def _add_io_tag(
    db: TagDB, report: Reporter, values: DecoratedValues, name: str, node: Any, data: Any
) -> None:
    """Add the tag ``name``, of the type and with the values of decorated ``data``."""
    try:
        dims = _dims(data.get("Dimensions")) if data.tag == "Array" else ()
        dtype = db.data_type(data.get("DataType") or "")
    except (KeyError, ValueError):
        report.warn(f"module tag {name} skipped: data type {data.get('DataType')!r} is skipped")
        return
    try:
        tag = db.add_tag(
            name, dtype, dims, external_access=node.get("ExternalAccess") or "Read/Write"
        )
    except TagDBError as exc:
        report.warn(f"module tag {name} skipped: {exc}")
        return
    try:
        values.apply_decorated(data, tag.data, 0, dtype, dims, name)
    except ValueError as exc:
        report.warn(f"module tag {name}: its decorated values are not all loaded: {exc}")


def _add_rack_alias(
    db: TagDB, report: Reporter, module: Any, suffix: str, by_name: Mapping[str, Any]
) -> None:
    """The alias ``<Adapter>:<slot>:<suffix>`` of a module on a rack-optimised connection."""
    parent_name = module.get("ParentModule") or ""
    parent = by_name.get(parent_name.casefold())
    adapter = (io_tag_prefix(parent, by_name) if parent is not None else None) or parent_name
    slot = _slot(module, by_name)
    name = f"{parent_name}:{slot}:{suffix}"
    target = None if slot is None else _rack_target(db, f"{adapter}:{suffix}", slot)
    if target is None:
        report.warn(
            f"module {module.get('Name')}: rack-optimised alias {name} skipped: "
            f"no slot {slot} in a tag {adapter}:{suffix}"
        )
        return
    try:
        db.add_alias(name, target)
    except TagDBError as exc:
        report.warn(f"module {module.get('Name')}: alias {name} skipped: {exc}")


def _rack_target(db: TagDB, adapter_tag: str, slot: int) -> str | None:
    """``<adapter tag>.Slot[slot]`` or ``.Data[slot]``, whichever the adapter's type has."""
    try:
        dtype = db.tag(adapter_tag).data_type
    except KeyError:
        return None
    if not isinstance(dtype, Structure):
        return None
    for member in ("Slot", "Data"):
        try:
            m = dtype.member(member)
        except KeyError:
            continue
        if m.count > slot:
            return f"{adapter_tag}.{m.name}[{slot}]"
    return None
