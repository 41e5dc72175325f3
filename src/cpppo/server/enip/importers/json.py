"""The JSON tag database format: save a TagDB and load it back (or load a pycomm3 tag dump).

Public API:
    to_dict(db) -> dict              the database in the JSON format (types, programs, tags
                                     with values, plus the hex memory image when hidden bytes
                                     hold more than the value shows)
    save_json(db, path)              write :func:`to_dict` as JSON
    from_dict(data) -> TagDB         build a database from :func:`to_dict` output (or a
                                     pycomm3 tag dump)
    load_json(path) -> TagDB         load a JSON tag database (ours, or a pycomm3 tag dump)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..logix.atomic import ATOMIC_TYPES
from ..logix.errors import LayoutError, TagDBError
from ..logix.layout import MemberDef, member_defs
from ..logix.structure import encode_value
from ..logix.tag import AliasTag
from ..logix.tagdb import TagDB
from .pycomm3 import from_pycomm3

__all__ = ["FORMAT", "FORMAT_VERSION", "from_dict", "load_json", "save_json", "to_dict"]

FORMAT = "cpppo-tagdb"
FORMAT_VERSION = 1


def to_dict(db: TagDB) -> dict[str, Any]:
    """``db`` in the JSON tag-database format (types, programs, tags with values)."""
    types = []
    for s in db.structures:
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
    for tag in db.all_tags():
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
        "controller": db.name,
        "revision": db.revision,
        "types": types,
        "programs": [{"name": n, "instance_id": db.program_instance(n)} for n in db.programs],
        "tags": tags,
    }


def save_json(db: TagDB, path: str | Path) -> None:
    """Write :func:`to_dict` of ``db`` as JSON to ``path``."""
    Path(path).write_text(json.dumps(to_dict(db), indent=1) + "\n", encoding="utf-8")


def load_json(path: str | Path) -> TagDB:
    """Load a JSON tag database (ours, or a pycomm3 tag dump) from ``path``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TagDBError(f"{path}: cannot read a JSON tag database: {exc}") from None
    try:
        return from_dict(data)
    except TagDBError as exc:
        raise TagDBError(f"{path}: {exc}") from None


def from_dict(data: Any) -> TagDB:
    """Build a database from :func:`to_dict` output (or a pycomm3 tag dump)."""
    if not isinstance(data, Mapping):
        raise TagDBError("a tag database must be a JSON object")
    if data.get("format") != FORMAT:
        if data and all(isinstance(v, Mapping) and "tag_name" in v for v in data.values()):
            return from_pycomm3(data)
        raise TagDBError(f'not a {FORMAT} document (missing "format": "{FORMAT}")')
    if data.get("version") != FORMAT_VERSION:
        raise TagDBError(f"unsupported {FORMAT} version {data.get('version')!r}")
    try:
        db = TagDB(str(data.get("controller", "cpppo")), revision=int(data.get("revision", 20)))
        pending = {t["name"].casefold(): t for t in data.get("types", [])}
        while pending:
            progressed = False
            for key, t in list(pending.items()):
                defs = [_def_from_json(m, t["name"]) for m in t["members"]]
                needed = [
                    d.type for d in defs if d.type.upper() not in ATOMIC_TYPES
                    and d.type.upper() not in ("BIT", "BOOL")
                    and not _defined(db, d.type)
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


def _defined(db: TagDB, name: str) -> bool:
    try:
        db.data_type(name)
    except KeyError:
        return False
    return True


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
