"""How Logix lays a structure out in memory: member declarations in, a Structure out.

Public API:
    MemberDef(name, type, dim=0, hidden=False, target=None, bit=None, radix=None,
              access="Read/Write")   a declared member. ``type`` is a type name; ``"BOOL"`` with
                                     dim 0 is packed automatically into a hidden host SINT
                                     (``ZZZZZZZZZZ<first 10 chars of the type><index>``);
                                     ``"BOOL"`` with dim n is a BOOL array (DWORD[n/32]);
                                     ``"BIT"`` with ``target``/``bit`` aliases bit ``bit`` of an
                                     integer member (as L5X exports and predefined types do).
    layout_structure(name, defs, types, *, rules=LayoutRules(), family="NoFamily",
                     kind="User", host_bits=8) -> Structure
                                     ``types`` maps a type name to an Atomic or Structure (a
                                     Mapping or a callable; case-insensitive names).
    member_defs(structure) -> list[MemberDef]
                                     the explicit declaration of a laid-out structure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .atomic import ATOMIC_TYPES, LayoutRules
from .errors import MAX_DATA_SIZE, LayoutError, TagDBError, UnknownTypeError
from .structure import DataType, Member, Structure

__all__ = ["MemberDef", "TypeLookup", "layout_structure", "member_defs"]

_BOOL = ATOMIC_TYPES["BOOL"]
_DWORD = ATOMIC_TYPES["DWORD"]


@dataclass(frozen=True)
class MemberDef:
    """A declared structure member (see the module docstring)."""

    name: str
    type: str
    dim: int = 0
    hidden: bool = False
    target: str | None = None
    bit: int | None = None
    radix: str | None = None
    access: str = "Read/Write"


def _roundup(value: int, align: int) -> int:
    return -(-value // align) * align


_NAME_BAD = re.compile(r"[\s.\[\],;\x00]")


def _check_name(name: str, where: str) -> None:
    if not name or _NAME_BAD.search(name):
        raise LayoutError(f"{where}: invalid member name {name!r}")


TypeLookup = Mapping[str, "DataType"] | Callable[[str], "DataType"]


def _lookup_type(types: TypeLookup, name: str) -> DataType | None:
    atomic = ATOMIC_TYPES.get(name.upper())
    if atomic is not None:
        return atomic
    if callable(types):
        try:
            return types(name)
        except KeyError:
            return None
    found = types.get(name)
    if found is None:
        folded = name.casefold()
        for key, value in types.items():
            if key.casefold() == folded:
                return value
    return found


def _host_name(struct_name: str, index: int) -> str:
    return f"ZZZZZZZZZZ{struct_name[:10]}{index}"


def _expand_bools(name: str, defs: Sequence[MemberDef], host_bits: int) -> list[MemberDef]:
    """Insert hidden host members for plain scalar BOOL members, as Logix does."""
    out: list[MemberDef] = []
    host: str | None = None
    used = 0
    host_type = "SINT" if host_bits == 8 else "DINT"
    for d in defs:
        if d.type.upper() == "BOOL" and not d.dim and d.target is None:
            if host is None or used == host_bits:
                host = _host_name(name, len(out))
                out.append(MemberDef(host, host_type, hidden=True))
                used = 0
            out.append(
                MemberDef(
                    d.name, "BIT", target=host, bit=used, hidden=d.hidden, radix=d.radix,
                    access=d.access,
                )
            )  # fmt: skip
            used += 1
        else:
            host = None
            out.append(d)
    return out


def layout_structure(
    name: str,
    defs: Sequence[MemberDef],
    types: TypeLookup,
    *,
    rules: LayoutRules | None = None,
    family: str = "NoFamily",
    kind: str = "User",
    host_bits: int = 8,
    template_name: str | None = None,
    template_id: int | None = None,
    handle: int | None = None,
) -> Structure:
    """Lay a structure out in memory the way Logix does and return it (see the module doc)."""
    rules = rules or LayoutRules()
    if not name or _NAME_BAD.search(name):
        raise LayoutError(f"invalid structure name {name!r}")
    if not defs:
        raise LayoutError(f"structure {name}: has no members")
    expanded = _expand_bools(name, defs, host_bits)
    seen: dict[str, MemberDef] = {}
    for d in expanded:
        where = f"structure {name}, member {d.name!r}"
        _check_name(d.name, where)
        if d.name.casefold() in seen:
            raise LayoutError(f"structure {name}: duplicate member name {d.name!r}")
        seen[d.name.casefold()] = d
        if d.dim < 0:
            raise LayoutError(f"{where}: negative dimension {d.dim}")

    placed: dict[str, Member] = {}
    members: list[Member | None] = []
    offset = 0
    for d in expanded:
        where = f"structure {name}, member {d.name!r}"
        if d.type.upper() == "BIT":
            members.append(None)  # placed below, once its target has an offset
            continue
        count, bits = d.dim, None
        if d.type.upper() == "BOOL":  # a BOOL array: DWORDs
            mtype: DataType = _DWORD
            count = -(-d.dim // 32)
            bits = count * 32
        else:
            found = _lookup_type(types, d.type)
            if found is None:
                raise UnknownTypeError(f"{where}: unknown data type {d.type!r}", d.type)
            if found.variable:
                raise LayoutError(f"{where}: a {found.name} cannot be a structure member")
            mtype = found
        offset = _roundup(offset, mtype.alignment(rules))
        radix = d.radix or mtype.radix
        member = Member(d.name, mtype, offset, count, None, bits, d.hidden, radix, d.access)
        offset += member.size
        placed[d.name.casefold()] = member
        members.append(member)

    for i, d in enumerate(expanded):
        if members[i] is not None:
            continue
        where = f"structure {name}, member {d.name!r}"
        if d.target is None or d.bit is None:
            raise LayoutError(f"{where}: a BIT member needs a target and a bit number")
        if d.dim:
            raise LayoutError(f"{where}: a BIT member cannot be an array")
        target = placed.get(d.target.casefold())
        if target is None:
            raise LayoutError(f"{where}: target {d.target!r} is not a member of {name}")
        ttype = target.type
        if ttype.is_struct or target.count or target.bit is not None or not ttype.is_integer:
            raise LayoutError(f"{where}: target {target.name!r} is not a scalar integer")
        if not 0 <= d.bit < ttype.size * 8:
            raise LayoutError(
                f"{where}: bit {d.bit} is outside {target.name!r} ({ttype.name}, "
                f"{ttype.size * 8} bits)"
            )
        members[i] = Member(
            d.name, _BOOL, target.offset + d.bit // 8, 0, d.bit % 8, None, d.hidden,
            d.radix or "Decimal", d.access,
        )  # fmt: skip

    final = [m for m in members if m is not None]
    eight = rules.align8 and any(m.type.has_8byte for m in final)
    size = _roundup(max(offset, 1), 8 if eight else 4)
    if size > MAX_DATA_SIZE:
        raise LayoutError(f"structure {name}: {size} bytes exceed the {MAX_DATA_SIZE} limit")
    return Structure(
        name, final, size, family=family, kind=kind, template_name=template_name,
        template_id=template_id, handle=handle,
    )  # fmt: skip


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
