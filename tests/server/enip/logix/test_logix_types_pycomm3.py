"""Acceptance against a real v20 controller's uploaded tag database (pycomm3-all_tags.json).

- Our layout engine, given only each structure's member order, types and array lengths (BOOL
  members aliasing an explicit integer member keep their target and bit number), computes the
  controller's structure size and every member's offset, bit number and array length.
- Our Template attributes and blobs, fed to pycomm3 1.2.16's and pylogix 1.1.6's own template
  parsing code, describe exactly the structures the controller described.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pycomm3 import LogixDriver
from pycomm3.custom_types import StructTemplateAttributes
from pylogix import PLC
from pylogix.lgx_tag import Tag as PylogixTag

from cpppo.server.enip.importers.pycomm3 import from_pycomm3
from cpppo.server.enip.logix import (
    ATOMIC_TYPES,
    PREDEFINED,
    LayoutRules,
    MemberDef,
    Structure,
    TagDB,
    layout_structure,
)


@pytest.fixture(scope="module")
def dump(shared_data) -> dict[str, Any]:
    return json.loads((shared_data / "pycomm3-all_tags.json").read_text(encoding="utf-8"))


def _structures(dump: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}

    def walk(dt: Any) -> None:
        if isinstance(dt, dict) and dt["name"] not in found:
            found[dt["name"]] = dt
            for m in dt["internal_tags"].values():
                if m["tag_type"] == "struct":
                    walk(m["data_type"])

    for info in dump.values():
        walk(info["data_type"])
    return found


def _declare(dt: dict[str, Any], types: dict[str, Structure]) -> Structure:
    """Lay a structure out from its declaration only (no offsets, except to name BIT targets)."""
    if dt["name"] in types:
        return types[dt["name"]]
    internal = dt["internal_tags"]
    sizes = {t.name: t.size for t in ATOMIC_TYPES.values()}
    defs = []
    for name, m in internal.items():
        if name.startswith("ZZZZZZZZZZ"):
            continue  # hidden BOOL hosts: the engine creates (and names) them
        if m["tag_type"] == "struct":
            nested = _declare(m["data_type"], types)
            defs.append(MemberDef(name, nested.name, m["array"]))
        elif m["data_type"] == "BOOL":
            # the member whose bytes hold this bit: a hidden host, or a visible integer
            host = next(
                h
                for h in list(internal)[: list(internal).index(name)]
                if internal[h]["tag_type"] == "atomic"
                and internal[h]["data_type"] != "BOOL"
                and not internal[h]["array"]
                and internal[h]["offset"]
                <= m["offset"]
                < internal[h]["offset"] + sizes[internal[h]["data_type"]]
            )
            if host.startswith("ZZZZZZZZZZ"):
                defs.append(MemberDef(name, "BOOL"))
            else:  # a BOOL aliasing a bit of a visible integer member (modules, CONTROL)
                bit = (m["offset"] - internal[host]["offset"]) * 8 + m["bit"]
                defs.append(MemberDef(name, "BIT", target=host, bit=bit))
        else:
            defs.append(MemberDef(name, m["data_type"], m["array"]))
    s = layout_structure(dt["name"], defs, {**PREDEFINED, **types}, rules=LayoutRules())
    types[dt["name"]] = s
    return s


def test_layout_engine_matches_the_controller_for_every_structure(dump):
    structures = _structures(dump)
    assert len(structures) == 19
    types: dict[str, Structure] = {}
    checked_members = 0
    for name, dt in structures.items():
        ours = _declare(dt, types)
        template = dt["template"]
        assert ours.size == template["structure_size"], name
        assert len(ours.members) == template["member_count"], name
        assert [m.name for m in ours.members] == list(dt["internal_tags"]), name
        for mname, m in dt["internal_tags"].items():
            member = ours.member(mname)
            assert member.offset == m["offset"], f"{name}.{mname}"
            if "bit" in m:
                assert member.bit == m["bit"], f"{name}.{mname}"
            else:
                assert member.bit is None and member.count == m["array"], f"{name}.{mname}"
            checked_members += 1
    assert checked_members == sum(len(dt["internal_tags"]) for dt in structures.values())
    # the predefined ones we ship are the controller's
    for name in ("STRING", "CONTROL"):
        assert [(m.name, m.offset, m.bit, m.count) for m in PREDEFINED[name].members] == [
            (m.name, m.offset, m.bit, m.count) for m in types[name].members
        ]


def test_template_attributes_match_the_controller(dump):
    db = from_pycomm3(dump)
    structures = _structures(dump)
    for info in dump.values():
        if info["tag_type"] != "struct":
            continue
        template = db.template(info["template_instance_id"])
        expected = info["data_type"]["template"]
        attrs = template.attributes
        assert attrs.definition_size == expected["object_definition_size"], info["tag_name"]
        assert attrs.structure_size == expected["structure_size"]
        assert attrs.member_count == expected["member_count"]
        assert attrs.handle == expected["structure_handle"]
        assert len(template.data) == 4 * attrs.definition_size
    # every structure type (nested-only ones too) got a template
    assert {s.name for s in db.structures} >= set(structures)


def _pycomm3_driver(db: TagDB) -> LogixDriver:
    """A LogixDriver whose template upload is answered from ``db`` (no socket)."""
    driver = LogixDriver("127.0.0.1")
    driver._cache = {"tag_name:id": {}, "id:struct": {}, "handle:id": {}, "id:udt": {}}

    def structure_makeup(instance_id: int) -> dict[str, int]:
        reply = db.template(instance_id).attribute_list([4, 5, 2, 1])  # pycomm3's request
        value = StructTemplateAttributes.decode(reply)
        return {
            "object_definition_size": value["object_definition_size"]["size"],
            "structure_size": value["structure_size"]["size"],
            "member_count": value["member_count"]["count"],
            "structure_handle": value["structure_handle"]["handle"],
        }

    def read_template(instance_id: int, definition_size: int) -> bytes:
        return db.template(instance_id).read(0, definition_size * 4 - 21)  # pycomm3's count

    driver._get_structure_makeup = structure_makeup  # type: ignore[method-assign]
    driver._read_template = read_template  # type: ignore[method-assign]
    return driver


def _comparable(dt: Any, pycomm3_1_2_16: bool = False) -> Any:
    if not isinstance(dt, dict):
        return dt
    out = {k: v for k, v in dt.items() if k not in ("type_class", "_struct_members")}
    out["internal_tags"] = {
        name: {
            k: _comparable(v) if k == "data_type" else v for k, v in m.items() if k != "type_class"
        }
        for name, m in dt["internal_tags"].items()
    }
    if pycomm3_1_2_16 and dt["name"] in ("CONTROL", "TIMER", "COUNTER"):
        # pycomm3 1.2.16 hides CTL of predefined types; the dump came from an older pycomm3
        out["attributes"] = [a for a in out["attributes"] if a != "CTL"]
    return out


def test_pycomm3_parses_our_templates_into_the_controllers_structures(dump):
    db = from_pycomm3(dump)
    driver = _pycomm3_driver(db)
    checked = 0
    for name, info in dump.items():
        if info["tag_type"] != "struct":
            continue
        tag = db.resolve(name).tag
        parsed = driver._get_data_type(info["template_instance_id"], tag.symbol_type)
        assert _comparable(parsed) == _comparable(info["data_type"], True), name
        checked += 1
    assert checked == 76


def test_pycomm3_parses_templates_of_an_engine_built_udt():
    db = TagDB()
    inner = db.define_structure(
        "Inner", [MemberDef("on", "BOOL"), MemberDef("off", "BOOL"), MemberDef("v", "LINT")]
    )
    outer = db.define_structure(
        "Outer",
        [
            MemberDef("flags", "BOOL", 64),
            MemberDef("items", "Inner", 3),
            MemberDef("label", "STRING"),
            MemberDef("x", "REAL"),
            MemberDef("go", "BOOL"),
        ],
    )
    tag = db.add_tag("t", "Outer")
    parsed = _pycomm3_driver(db)._get_data_type(outer.template_id, tag.symbol_type)
    assert parsed["name"] == "Outer"
    assert parsed["attributes"] == ["flags", "items", "label", "x", "go"]
    assert parsed["template"]["structure_size"] == outer.size
    for m in outer.members:
        got = parsed["internal_tags"][m.name]
        assert got["offset"] == m.offset, m.name
        assert got.get("bit") == m.bit
        if m.bit is None:
            assert got["array"] == m.count
    items = parsed["internal_tags"]["items"]["data_type"]
    assert items["name"] == "Inner" and items["attributes"] == ["on", "off", "v"]
    assert items["internal_tags"]["off"] == {
        "offset": inner.member("off").offset,
        "tag_type": "atomic",
        "data_type": "BOOL",
        "data_type_name": "BOOL",
        "bit": 1,
        "type_class": items["internal_tags"]["off"]["type_class"],
    }
    assert parsed["internal_tags"]["label"]["data_type"]["string"] == 82
    # pycomm3 decodes a whole-structure read of our memory image into our value
    value = {
        "flags": [i % 5 == 0 for i in range(64)],
        "items": [
            {"on": True, "off": False, "v": -5},
            {"on": False, "off": True, "v": 2**40},
            {"on": False, "off": False, "v": 0},
        ],
        "label": "pycomm3",
        "x": 2.5,
        "go": True,
    }
    tag.value = value
    decoded = parsed["type_class"].decode(bytes(tag.data))
    assert decoded["items"] == value["items"]
    assert decoded["label"] == "pycomm3" and decoded["x"] == 2.5 and decoded["go"] is True
    assert decoded["flags"] == value["flags"]  # pycomm3 unpacks a DWORD member as BOOLs


class _PylogixFromDB(PLC):
    """A pylogix PLC whose template queries are answered from a TagDB (no socket)."""

    def __init__(self, db: TagDB) -> None:
        super().__init__()
        self.db = db

    def _get_template_attribute(self, instance):  # pylogix asks 0x03 with attributes 4,3,2,1
        reply = self.db.template(instance).attribute_list([4, 3, 2, 1])
        return b"\0" * 46 + b"\x83\x00\x00\x00" + reply  # encapsulation+CPF, CIP reply header

    def _get_template(self, instance, data_len):
        return b"\0" * 50 + self.db.template(instance).read(0, data_len)


def test_pylogix_parses_our_templates(dump):
    db = from_pycomm3(dump)
    plc = _PylogixFromDB(db)
    tags = []
    for name in dump:
        tag = db.resolve(name).tag
        word = tag.symbol_type
        t = PylogixTag()
        t.TagName, t.SymbolType, t.DataTypeValue = name, word & 0xFF, word & 0xFFF
        t.Struct, t.Array = word >> 15, (word >> 13) & 3
        tags.append(t)
    plc._get_udt(tags)
    structures = _structures(dump)
    assert {udt.Name for udt in plc.UDT.values()} == (set(structures) - {"STRING"}) | {
        "ASCIISTRING82"
    }
    for template_id, udt in plc.UDT.items():
        dt = structures["STRING" if udt.Name == "ASCIISTRING82" else udt.Name]
        assert template_id == db.data_type(dt["name"]).template_id
        assert [f.TagName for f in udt.Fields] == list(dt["internal_tags"])
        for field in udt.Fields:
            m = dt["internal_tags"][field.TagName]
            if m["tag_type"] == "struct":
                nested = m["data_type"]["name"]
                assert field.DataType == ("ASCIISTRING82" if nested == "STRING" else nested)
            else:
                assert field.DataType == m["data_type"]
            assert field.Size == (m.get("array") or 0), field.TagName
            assert field.AccessRight == (None if dt["name"] in PREDEFINED else 1)
    named = {t.TagName: t.DataType for t in tags}
    assert named["read_udt1"] == "pycomm3_AtomicUDT" and named["read_dint1"] == "DINT"
