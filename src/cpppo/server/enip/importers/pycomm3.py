"""pycomm3 tag dumps (``LogixDriver.tags`` as JSON) -> tag database.

Public API:
    from_pycomm3(dump, *, revision=20) -> TagDB
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..logix.atomic import ATOMIC_TYPES
from ..logix.errors import LayoutError, TagDBError
from ..logix.layout import MemberDef
from ..logix.predefined import PREDEFINED
from ..logix.structure import DataType, Structure
from ..logix.tagdb import TagDB

__all__ = ["from_pycomm3"]


def from_pycomm3(dump: Mapping[str, Any], *, revision: int = 20) -> TagDB:
    """Build a database from a pycomm3 ``LogixDriver.tags`` dump (tag name -> info).

    Structure definitions come from the dump's member order and types; the layout is
    recomputed and must agree with the dump's offsets (else TagDBError). Symbol instance ids,
    template ids and structure handles are kept. Values are zero.
    """
    db = TagDB(revision=revision)
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
                if program.casefold() not in {p.casefold() for p in db.programs}:
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
