"""Import a Studio 5000 L5X export into a :class:`~cpppo.server.enip.logix.TagDB`.

Pure (reads a file or bytes, no sockets). A complete controller export and a partial one
(TargetType DataType, AddOnInstructionDefinition, Program, Module, Rung, Routine: the same
``<Controller>`` root, holding only some parts) load the same way:

1. module I/O (each ``<Module>``'s connection tags);
2. data types: the export's user types, string types and add-on instructions (laid out as Logix
   lays them out), and the Logix types it uses without defining them (built in, or built from
   what its data shows: :mod:`.l5x_types`);
3. controller tags, then each program's tags, with their initial values (:mod:`.l5x_values`);
   produced and consumed tags are served as base tags of their type;
4. alias tags, bound once every tag exists.

A valid export always loads. One element that cannot be modelled costs that element (and what
depends on it), with one warning naming it: the warnings are returned and logged. L5XError
(nothing is returned) is only for input that is not a valid export: not XML, no
``RSLogix5000Content``/``Controller`` root, or values that contradict their own declared type.

Public API
    L5XError(ValueError)                    not a valid export (the message names element, line)
    L5XImport(db, warnings, target, origins)
        the result: a TagDB, the warnings, the export's TargetType ("Controller" for a complete
        export) and how the types its data showed were built; ``.summary()`` -> the lines
        ``enip_server --check`` prints (what was loaded, by kind and count)
    load_l5x(source, *, revision=None, quiet=False) -> L5XImport
        ``source``: a path, or the document as bytes. ``revision`` overrides the controller
        firmware major taken from ``SoftwareRevision`` (it selects the layout rules).
        ``quiet``: return the warnings without logging them.
    parse_literal(text, data_type, radix=None) -> int | float | bool
        a decorated ``Value`` ("2#1000_0000", "16#ff", "1.5e+002", "1.#QNAN", "'A'", "DT#...")
    parse_string_literal(text) -> str       a quoted Logix string with $-escapes
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..logix import INSTRUCTION_TYPES, AliasTag, LayoutError, TagDB, TagDBError
from . import l5x_modules
from .l5x_literals import parse_literal, parse_string_literal
from .l5x_types import TypeBuilder
from .l5x_values import ValueLoader
from .l5x_xml import L5XError, Node, Report, Skipped, children, parse_xml

__all__ = ["L5XError", "L5XImport", "load_l5x", "parse_literal", "parse_string_literal"]

#: Tag types served as base tags.
_BASE_TAG_TYPES = {"base", "produced", "consumed"}
_DEFAULT_REVISION = 20


@dataclass
class L5XImport:
    """The result of :func:`load_l5x` (see the module docstring)."""

    db: TagDB
    warnings: list[str] = field(default_factory=list)
    target: str = "Controller"
    origins: dict[str, str] = field(default_factory=dict)

    def summary(self) -> list[str]:
        """What was loaded, by kind and count; then every warning."""
        db = self.db
        kinds: Counter[str] = Counter()
        for s in db.structures:
            if s.name in self.origins:
                kinds[self.origins[s.name]] += 1
            elif s.kind != "Predefined":
                kind = "string" if s.family == "StringFamily" else s.kind
                kinds[_KIND_NAMES.get(kind, kind)] += 1
            elif s.name in INSTRUCTION_TYPES:
                kinds["built in"] += 1
        order = {kind: i for i, kind in enumerate(_KIND_NAMES.values())}
        counts = sorted(kinds.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
        tags = db.all_tags()
        io = sum(1 for t in tags if ":" in t.name)
        aliases = sum(1 for t in tags if isinstance(t, AliasTag))
        controller = sum(1 for t in db.tags() if ":" not in t.name)
        lines = [f"{self.target} export of controller {db.name}, revision {db.revision}"]
        lines.append("data types: " + (", ".join(f"{n} {k}" for k, n in counts) or "none"))
        if tags:
            lines.append(
                f"tags: {len(tags)} ({controller} controller, {len(tags) - controller - io} in "
                f"{len(db.programs)} program(s), {io} module I/O; {aliases} aliases)"
            )
        else:
            lines.append(f"tags: none (this {self.target} export defines no tags)")
        lines.append(f"warnings: {len(self.warnings)}")
        lines.extend(f"  {w}" for w in self.warnings)
        return lines


#: How the summary names each kind of type, in the order it lists them.
_KIND_NAMES = {
    "User": "user-defined",
    "string": "string",
    "AOI": "add-on instruction",
    "Module": "module-defined",
    "built in": "built in",
    "from decorated data": "from decorated data",
    "opaque": "opaque",
}


class _Loader:
    """Loads one export into a new TagDB (see the module docstring for the order)."""

    def __init__(self, root: Node, report: Report, revision: int | None) -> None:
        self.report = report
        self.root = root
        if root.tag != "RSLogix5000Content":
            raise report.error(root, "not an RSLogix5000Content export")
        controller = root.find("Controller")
        if controller is None and root.find("Module") is not None:
            controller = root  # a Module export: the modules are the root's own children
        if controller is None:
            raise report.error(root, "no <Controller> element")
        self.controller = controller
        self.target = root.get("TargetType") or "Controller"
        if revision is None:
            revision = self.revision(root)
        self.db = TagDB(controller.get("Name") or "cpppo", revision=revision)
        self.types = TypeBuilder(self.db, report, controller)
        self.values = ValueLoader(report, self.types)

    def revision(self, root: Node) -> int:
        """The firmware major revision the export was made for (its layout rules)."""
        text = root.get("SoftwareRevision") or self.controller.get("MajorRev")
        if text is None:
            return _DEFAULT_REVISION
        try:
            return int(float(text.strip().lstrip("vV").split(".")[0]))
        except ValueError:
            self.report.warn(f"bad SoftwareRevision {text!r}: revision {_DEFAULT_REVISION} used")
            return _DEFAULT_REVISION

    def load(self) -> L5XImport:
        """Modules, types, tags, aliases; the result."""
        self.load_modules()
        self.types.define_all()
        self.load_tags()
        for warning in self.db.bind_aliases():
            self.report.warn(warning)
        return L5XImport(self.db, self.report.warnings, self.target, self.types.origins)

    # -- module I/O -------------------------------------------------------------------------

    def load_modules(self) -> None:
        """Each ``<Module>``'s I/O tags and the module-defined types they use (l5x_modules)."""
        l5x_modules.load_modules(self.root, self.db, self.report, self.values)

    # -- tags -------------------------------------------------------------------------------

    def load_tags(self) -> None:
        """Controller tags, then each program and its tags."""
        for tag in children(self.controller, "Tags", "Tag"):
            self.load_tag(tag, None)
        for program in children(self.controller, "Programs", "Program"):
            name = program.get("Name")
            if not name:
                self.report.warn(f"{program.describe()}: a program without a Name; skipped")
                continue
            try:
                self.db.add_program(name)
            except TagDBError as exc:
                self.report.warn(f"program {name}: {exc}; skipped")
                continue
            for tag in children(program, "Tags", "Tag"):
                self.load_tag(tag, name)

    def load_tag(self, node: Node, program: str | None) -> None:
        """One tag (or alias): skipped with a warning when it cannot be modelled."""
        name = node.get("Name")
        if not name:
            self.report.warn(f"{node.describe()}: a tag without a Name; skipped")
            return
        qname = f"Program:{program}.{name}" if program else name
        try:
            self.add_tag(node, name, program, qname)
        except Skipped as exc:
            self.report.warn(f"tag {qname} skipped: {exc}")

    def add_tag(self, node: Node, name: str, program: str | None, qname: str) -> None:
        kind = (node.get("TagType") or "Base").lower()
        access = node.get("ExternalAccess") or "Read/Write"
        try:
            if kind == "alias":
                target = self.report.required(node, "AliasFor")
                self.db.add_alias(name, target, program=program, external_access=access)
                return
            if kind not in _BASE_TAG_TYPES:
                raise Skipped(f"tag type {node.get('TagType')!r} is not modelled")
            type_name = self.report.required(node, "DataType")
            dtype = self.types.resolve(type_name)
            if dtype is None:
                raise Skipped(self.types.reason(type_name))
            tag = self.db.add_tag(
                name, dtype, self.report.dims(node), program=program, external_access=access,
                constant=(node.get("Constant") or "false").lower() == "true",
            )  # fmt: skip
        except (TagDBError, LayoutError) as exc:
            raise Skipped(str(exc)) from None
        self.values.load(node, tag.data, dtype, tag.dims, qname)


def load_l5x(
    source: str | Path | bytes, *, revision: int | None = None, quiet: bool = False
) -> L5XImport:
    """Load an L5X export (a path, or the document's bytes) into a new TagDB.

    ``quiet``: do not log the warnings (they are in the result either way).
    """
    if isinstance(source, (bytes, bytearray)):
        where, data = "L5X", bytes(source)
    else:
        where = str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise L5XError(f"{where}: cannot read: {exc.strerror or exc}") from None
    report = Report(where, logged=not quiet)
    with _collector_paused():
        return _Loader(parse_xml(data, where), report, revision).load()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: loading makes ~10 objects per XML element and
    keeps them, so every collection would scan them all again (half the load time of a
    10,000-tag export). Nothing is left unreachable in cycles; it resumes as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
