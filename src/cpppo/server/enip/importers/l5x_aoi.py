"""How Logix lays out an add-on instruction's data, from its L5X definition.

An instance of an add-on instruction is a structure: first the hidden host DINT(s) holding
EnableIn (bit 0), EnableOut (bit 1) and every other scalar BOOL parameter and local tag, in
declaration order (32 to a host); then the other parameters (InOut parameters are references and
take no memory) and local tags, in declaration order. An alias parameter names part of another
member: an alias of a BOOL becomes a second BOOL member on the same bit. This is what the memory
images and the L5K data of real exports show (``write_aoi1`` in pycomm3.L5X holds EnableIn in
bit 0 and its fourth BOOL parameter in bit 3; the L5K data of an l5sharp ``aoi_Test`` instance
starts with the host DINT, then its DINT, INT and DINT parameters, then its local tags).

A signed or source-protected definition (``<EncodedData>``) shows its parameters only: it is laid
out from them, with a note saying so.

Public API
    AoiLayout(defs, aliases, notes)   member declarations for ``layout_structure``; alias
                                      parameters as ``(name, alias_for, access)``; notes to warn
    aoi_layout(name, node, report) -> AoiLayout
    add_aliases(structure, aliases) -> (Structure, list[str], list[str])
                                      the structure with a member per BOOL alias; the other
                                      aliases that resolve; those that do not resolve
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..logix import ATOMIC_TYPES, Member, MemberDef, Structure
from .l5x_xml import Node, Report, Skipped, children

__all__ = ["AoiLayout", "add_aliases", "aoi_layout"]

_BOOL = ATOMIC_TYPES["BOOL"]
_HOST_BITS = 32
_PATH_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")


@dataclass
class AoiLayout:
    """An add-on instruction's member declarations, alias parameters and notes."""

    defs: list[MemberDef]
    aliases: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _declaration(node: Node, report: Report) -> tuple[MemberDef, bool]:
    """A parameter's or local tag's MemberDef, and whether it is a scalar BOOL."""
    name = report.required(node, "Name")
    dims = report.dims(node)
    if len(dims) > 1:
        raise Skipped(f"{name}: an add-on instruction member has at most one dimension")
    dtype = report.required(node, "DataType")
    access = node.get("ExternalAccess") or "Read/Write"
    defn = MemberDef(name, dtype, dims[0] if dims else 0, radix=node.get("Radix"), access=access)
    return defn, dtype.upper() == "BOOL" and not dims


def aoi_layout(name: str, node: Node, report: Report) -> AoiLayout:
    """The layout declarations of the add-on instruction ``name`` defined by ``node``."""
    layout = AoiLayout([])
    bools: list[MemberDef] = []
    others: list[MemberDef] = []
    for p in children(node, "Parameters", "Parameter"):
        if (p.get("TagType") or "Base").lower() == "alias":
            alias = (report.required(p, "Name"), report.required(p, "AliasFor"))
            layout.aliases.append((*alias, p.get("ExternalAccess") or "Read/Write"))
            continue
        if (p.get("Usage") or "Input").lower() == "inout":
            continue  # a reference: no memory in the instance
        defn, is_bool = _declaration(p, report)
        (bools if is_bool else others).append(defn)
    for lt in children(node, "LocalTags", "LocalTag"):
        defn, is_bool = _declaration(lt, report)
        (bools if is_bool else others).append(defn)
    if node.tag == "EncodedData":
        layout.notes.append("its definition is encoded: laid out from its parameters only")
    for k in range(-(-len(bools) // _HOST_BITS)):
        host = f"ZZZZZZZZZZ{name[:10]}{k}"
        layout.defs.append(MemberDef(host, "DINT", hidden=True))
        for bit, b in enumerate(bools[k * _HOST_BITS : (k + 1) * _HOST_BITS]):
            layout.defs.append(
                MemberDef(b.name, "BIT", target=host, bit=bit, radix=b.radix, access=b.access)
            )
    layout.defs.extend(others)
    return layout


def _resolve(s: Structure, path: str) -> tuple[Member, int, int | None] | None:
    """(member, byte offset, bit or None) of ``path`` inside ``s``; None if it does not resolve."""
    parts = path.split(".")
    current: Structure | None = s
    offset, found, bit = 0, None, None
    for i, part in enumerate(parts):
        if found is not None and current is None:  # a bit of an integer: the last part
            mtype = found.type
            if i != len(parts) - 1 or not part.isdigit() or found.count or not mtype.is_integer:
                return None
            if found.bit is not None or int(part) >= mtype.size * 8:
                return None
            return found, offset + int(part) // 8, int(part) % 8
        m = _PATH_PART.match(part)
        if m is None or current is None:
            return None
        try:
            found = current.member(m.group(1))
        except KeyError:
            return None
        offset += found.offset
        if m.group(2) is not None:
            index = int(m.group(2))
            if not found.count or index >= (found.bits or found.count):
                return None
            if found.bits is not None:
                return found, offset + index // 8, index % 8
            offset += index * found.type.size
            found = Member(found.name, found.type, 0)
        bit = found.bit
        current = found.type if isinstance(found.type, Structure) and not found.count else None
    if found is None:
        return None
    return found, offset, bit


def add_aliases(
    s: Structure, aliases: list[tuple[str, str, str]]
) -> tuple[Structure, list[str], list[str]]:
    """``s`` with a BOOL member for each alias parameter of a BOOL (or of a bit of an integer);
    the names of the other alias parameters that resolve; and those that do not resolve.

    Only BOOL aliases become members: a client decodes a structure's other members one after
    the other from the Template's offsets (pycomm3 never steps back), so two members over the
    same bytes would mislead it. The other aliases' values are their targets' values.
    """
    extra: list[Member] = []
    overlapping: list[str] = []
    missing: list[str] = []
    for name, target, access in aliases:
        resolved = _resolve(s, target)
        if resolved is None:
            missing.append(name)
        elif resolved[2] is None:
            overlapping.append(name)
        else:
            _, offset, bit = resolved
            extra.append(Member(name, _BOOL, offset, 0, bit, None, False, "Decimal", access))
    if not extra:
        return s, overlapping, missing
    out = Structure(
        s.name, [*s.members, *extra], s.size, family=s.family, kind=s.kind,
        template_name=s.template_name, template_id=s.template_id, handle=s.handle,
    )  # fmt: skip
    return out, overlapping, missing
