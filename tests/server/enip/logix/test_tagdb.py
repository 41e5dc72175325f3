"""TagDB: tags by scope, instance ids, paths, Symbol/Template object data, aliases, JSON."""

from __future__ import annotations

import json
import struct
from types import SimpleNamespace

import pytest
from pycomm3 import LogixDriver
from pylogix import PLC

from cpppo.server.enip.codec.status import CipStatusError
from cpppo.server.enip.importers.json import load_json, save_json
from cpppo.server.enip.importers.l5x import load_l5x
from cpppo.server.enip.logix import (
    AttributeNotSupported,
    MemberDef,
    TagDB,
    TagDBError,
    TagPathError,
    TagValueError,
    layout_structure,
    member_defs,
    parse_tag_definition,
    structure_handle,
)
from cpppo.server.enip.logix.symbols import BASE_TAG, PROGRAM_TYPE


@pytest.fixture
def db() -> TagDB:
    db = TagDB("plant", revision=32)
    db.define_structure(
        "Motor",
        [
            MemberDef("running", "BOOL"),
            MemberDef("faulted", "BOOL"),
            MemberDef("speed", "REAL"),
            MemberDef("hours", "LINT"),
            MemberDef("name", "STRING"),
        ],
    )
    db.add_tag("count", "DINT", value=7)
    db.add_tag("grid", "INT", (2, 3), value=[1, 2, 3, 4, 5, 6])
    db.add_tag("flags", "BOOL", (64,), value=[True, False] * 32)
    db.add_tag("motors", "Motor", (3,))
    db.add_tag("t1", "TIMER", value={"PRE": 1000, "EN": True})
    db.add_program("Main")
    db.add_tag("local", "SINT", program="Main", value=-3)
    db.add_tag("count", "REAL", program="Main", value=1.5)  # same name, other scope
    return db


def test_tags_scopes_and_instance_ids(db):
    assert db.read("count") == 7 and db.read("Program:Main.count") == 1.5
    assert db.tag("COUNT") is db.tag("count")  # Logix names are case-insensitive
    ids = [t.instance_id for t in db.tags()]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    main = db.tags("Main")
    assert [t.name for t in main] == ["local", "count"]
    assert db.by_instance(main[0].instance_id, "Main") is main[0]
    assert db.programs == ["Main"]
    assert [t.qualified_name for t in db.all_tags()][-1] == "Program:Main.count"
    with pytest.raises(TagDBError, match="already exists"):
        db.add_tag("Count", "DINT")
    with pytest.raises(TagDBError, match="invalid tag name"):
        db.add_tag("1bad", "DINT")
    with pytest.raises(TagDBError, match="already used"):
        db.add_tag("other", "DINT", instance_id=db.tag("count").instance_id)
    with pytest.raises(KeyError, match="unknown data type"):
        db.add_tag("x", "NOPE")
    with pytest.raises(KeyError):
        db.tag("nothere")
    with pytest.raises(KeyError):
        db.tags("NoProgram")
    with pytest.raises(TagDBError, match="at most 3 dimensions"):
        db.add_tag("v", "SINT", (1, 1, 1, 1))
    with pytest.raises(TagValueError, match="does not fit SINT"):
        db.add_tag("w", "SINT", value=1000)


def test_ids_are_per_scope_like_a_controller():
    db = TagDB()
    db.add_program("P")
    a = db.add_tag("a", "DINT", instance_id=496)
    b = db.add_tag("b", "DINT", program="P", instance_id=496)
    assert db.by_instance(496) is a and db.by_instance(496, "P") is b


def test_resolve_and_values(db):
    db.write("motors[1].running", True)
    db.write("motors[1].speed", 12.5)
    db.write("motors[2].name", "pump")
    assert db.read("motors[1]") == {
        "running": True,
        "faulted": False,
        "speed": 12.5,
        "hours": 0,
        "name": "",
    }
    assert db.read("motors")[2]["name"] == "pump"
    assert db.read("grid[1,0]") == 4 and db.read("grid") == [1, 2, 3, 4, 5, 6]
    assert db.read("flags[62]") is True and db.read("flags[63]") is False
    assert db.read("t1") == {"PRE": 1000, "ACC": 0, "EN": True, "TT": False, "DN": False}
    assert db.read("t1.PRE") == 1000 and db.read("count.0") is True
    with pytest.raises(TagPathError) as err:
        db.resolve("nothere")
    assert err.value.status == 0x04
    with pytest.raises(TagPathError):
        db.resolve("Program:Nope.x")


def test_resolve_epath_as_the_wire_sends_it(db):
    motors = db.tag("motors")
    loc = db.resolve_epath([{"symbolic": "motors"}, {"element": 2}, {"symbolic": "speed"}])
    assert loc.offset == 2 * motors.data_type.size + motors.data_type.member("speed").offset
    by_id = db.resolve_epath(
        [{"class": 0x6B}, {"instance": motors.instance_id}, {"element": 2}, {"symbolic": "speed"}]
    )
    assert (by_id.tag, by_id.offset, by_id.data_type) == (loc.tag, loc.offset, loc.data_type)
    grid = db.resolve_epath([{"symbolic": "grid"}, {"element": 1}, {"element": 2}])
    assert grid.offset == 10 and grid.count == 1
    words = db.resolve_epath([{"symbolic": "flags"}, {"element": 1}])  # DWORD index on the wire
    assert (words.offset, words.data_type.name, words.count) == (4, "DWORD", 1)
    local = db.resolve_epath([{"symbolic": "Program:Main"}, {"symbolic": "count"}])
    assert local.get() == 1.5
    for bad in (
        [{"symbolic": "Program:Nope"}, {"symbolic": "x"}],
        [{"class": 0x6B}, {"instance": 99999}],
        [{"class": 0x6C}, {"instance": 1}],
        [{"symbolic": "Program:Main"}],
        [{"symbolic": "count"}, {"attribute": 1}],
        [],
    ):
        with pytest.raises(TagPathError):
            db.resolve_epath(bad)


def _pycomm3_parse(data: bytes, status: int, revision: int = 20) -> list[dict]:
    driver = LogixDriver("127.0.0.1")
    driver._info["revision"] = {"major": revision}
    tags: list[dict] = []
    driver._parse_instance_attribute_list(SimpleNamespace(data=data, service_status=status), tags)
    return tags


def test_symbol_object_pages_parse_in_pycomm3_and_pylogix(db):
    attrs = [1, 2, 3, 5, 6, 8, 10]  # pycomm3's request at revision >= 18
    everything, more = db.instance_attribute_list(attrs)
    assert more is False
    pages, start = [], 0
    while True:
        page, more = db.instance_attribute_list(attrs, start=start, max_size=80)
        assert 0 < len(page) <= 80
        pages.append(page)
        parsed = _pycomm3_parse(page, 0x06 if more else 0x00)
        start = parsed[-1]["instance_id"] + 1
        if not more:
            break
    assert b"".join(pages) == everything and len(pages) > 2
    parsed = _pycomm3_parse(everything, 0)
    names = [t["tag_name"] for t in parsed]
    assert names == [e.name for e in db.symbols()] and "Program:Main" in names
    by_name = {t["tag_name"]: t for t in parsed}
    assert by_name["grid"]["symbol_type"] == 0x40C3 and by_name["grid"]["dimensions"] == [2, 3, 0]
    assert by_name["flags"]["symbol_type"] == 0x20D3 and by_name["flags"]["dimensions"] == [2, 0, 0]
    motors = db.tag("motors")
    assert by_name["motors"]["symbol_type"] == 0xA000 | motors.data_type.template_id
    assert by_name["t1"]["symbol_type"] == 0x8F83
    assert by_name["count"]["software_control"] & BASE_TAG
    assert by_name["count"]["external_access"] == "Read/Write"
    assert by_name["Program:Main"]["symbol_type"] == PROGRAM_TYPE
    program_page, _ = db.instance_attribute_list(attrs, program="Main")
    assert [t["tag_name"] for t in _pycomm3_parse(program_page, 0)] == ["local", "count"]
    # pylogix asks for attributes 1, 2, 8 and parses the reply from byte 50
    plc = PLC()
    pylogix_page, _ = db.instance_attribute_list([1, 2, 8])
    tags = plc._parse_packet(b"\0" * 50 + pylogix_page, None)
    assert [t.TagName for t in tags] == names
    assert plc.ProgramNames == ["Program:Main"]
    grid = next(t for t in tags if t.TagName == "grid")
    assert (grid.SymbolType, grid.Array, grid.Size) == (0xC3, 2, 2)


def test_symbol_attribute_errors(db):
    with pytest.raises(AttributeNotSupported) as err:
        db.instance_attribute_list([1, 4])
    assert err.value.status == 0x14 and isinstance(err.value, CipStatusError)
    with pytest.raises(TagDBError, match="alone exceeds"):
        db.instance_attribute_list([1, 2], max_size=5)
    entry = db.symbols()[0]
    name = entry.name.encode()
    assert entry.encode([7, 1]) == struct.pack("<IH", entry.instance_id, entry.element_size) + (
        struct.pack("<H", len(name)) + name
    )


def test_aliases(db):
    alias = db.add_alias("m1speed", "motors[1].speed")
    alias.value = 3.25
    assert db.read("motors[1].speed") == 3.25 and db.read("m1speed") == 3.25
    early = db.add_alias("early", "later.3", program="Main")  # target defined afterwards
    db.add_tag("later", "DINT", program="Main")
    chain = db.add_alias("chain", "m1speed")
    db.add_alias("whole", "motors")
    missing = db.add_alias("dangling", "Local:1:I.Data")
    loop_a = db.add_alias("loop_a", "loop_b")
    db.add_alias("loop_b", "loop_a")
    warnings = db.bind_aliases()
    assert len(warnings) == 3 and "dangling" in warnings[0] and "loop_a" in warnings[1]
    with pytest.raises(KeyError):
        db.tag("dangling")
    assert missing.target is None and loop_a.target is None
    early.value = True
    assert db.read("Program:Main.later") == 8 and db.read("Program:Main.early") is True
    assert chain.value == 3.25
    assert db.read("whole[1].speed") == 3.25  # paths continue through an alias
    entries = {e.name: e for e in db.symbols()}
    assert entries["m1speed"].software_control & BASE_TAG == 0
    assert entries["m1speed"].type_word == 0xCA
    assert entries["whole"].type_word == db.tag("motors").symbol_type
    assert entries["whole"].dims == (3, 0, 0)
    early_entry = next(e for e in db.symbols("Main") if e.name == "early")
    assert early_entry.type_word == 0x03C1  # BOOL, bit 3


def test_templates_and_handles(db):
    motor = db.data_type("Motor")
    template = db.template(motor.template_id)
    assert template.structure is motor
    assert template.attribute_list([1]) == struct.pack("<HHHH", 1, 1, 0, motor.handle)
    assert len(template.data) == 4 * template.attributes.definition_size
    assert template.read(len(template.data) - 2, 100) == template.data[-2:]
    assert db.template(0x0FCE).attributes.handle == 0x0FCE
    assert db.structure_by_handle(motor.handle) is motor
    with pytest.raises(KeyError):
        db.template(0x999)
    with pytest.raises(ValueError):
        template.read(-1, 2)
    with pytest.raises(TagDBError, match="already defined"):
        db.define_structure("motor", [MemberDef("x", "DINT")])
    with pytest.raises(TagDBError, match="already defined"):
        db.define_string("Motor", 10)
    # a definition whose checksum collides with a registered handle gets another one
    clash = layout_structure("Clash", [MemberDef("x", "DINT")], {})
    db.define_structure("Taken", [MemberDef("y", "REAL")], handle=structure_handle(clash))
    registered = db.register(clash)
    assert registered.handle != db.data_type("Taken").handle
    assert registered.handle == structure_handle(clash, 1)
    s20 = db.define_string("STRING20", 20)
    assert s20.size == 24 and db.add_tag("s", "STRING20", value="twenty").value == "twenty"


def test_pylogix_safe_template_ids():
    db = TagDB()
    ids = [db.define_structure(f"T{i}", [MemberDef("x", "DINT")]).template_id for i in range(200)]
    assert all(0x100 <= i < 0xF00 for i in ids)
    assert not any((i & 0xFF) in (0x00, 0xA0) or 0xC0 <= (i & 0xFF) <= 0xDF for i in ids)


@pytest.fixture(scope="module")
def l5x_db(shared_data) -> TagDB:
    return load_l5x(shared_data / "pycomm3.L5X").db


def test_member_defs_lay_out_identically(l5x_db):
    for s in l5x_db.structures:
        again = layout_structure(s.name, member_defs(s), l5x_db.data_type, rules=l5x_db.rules)
        assert [(m.name, m.offset, m.bit, m.count, m.bits) for m in again.members] == [
            (m.name, m.offset, m.bit, m.count, m.bits) for m in s.members
        ], s.name
        assert again.size == s.size


def test_json_roundtrip(tmp_path, shared_data):
    l5x_db = load_l5x(shared_data / "pycomm3.L5X").db
    l5x_db.add_alias("alias1", "write_udt1.dint")
    path = tmp_path / "db.json"
    save_json(l5x_db, path)
    again = load_json(path)
    assert (again.name, again.revision, again.programs) == ("pycomm3_demo", 20, ["pycomm3"])
    for a, b in zip(l5x_db.all_tags(), again.all_tags(), strict=True):
        assert (a.qualified_name, a.instance_id, a.is_alias) == (
            b.qualified_name,
            b.instance_id,
            b.is_alias,
        )
        if not a.is_alias:
            assert a.data_type.name == b.data_type.name and a.dims == b.dims
            assert a.data == b.data, a.qualified_name
    for s in l5x_db.structures:
        t = again.data_type(s.name)
        assert (t.template_id, t.handle, t.size) == (s.template_id, s.handle, s.size)
        assert again.template(t.template_id).data == l5x_db.template(s.template_id).data
    assert again.read("alias1") == 10
    assert json.loads(path.read_text())["format"] == "cpppo-tagdb"


def test_load_json_accepts_a_pycomm3_dump(shared_data):
    dump = shared_data / "pycomm3-all_tags.json"
    db = load_json(dump)
    assert len(db.all_tags()) == 209
    assert (
        db.tag("read_udt1").instance_id == json.loads(dump.read_text())["read_udt1"]["instance_id"]
    )
    assert db.tag("read_bool_ary1").dims == (96,)
    assert db.tag("read_prog_dint1", "pycomm3").data_type.name == "DINT"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be a JSON object"),
        ({"tags": []}, "not a cpppo-tagdb document"),
        ({"format": "cpppo-tagdb", "version": 9}, "unsupported cpppo-tagdb version 9"),
        (
            {
                "format": "cpppo-tagdb",
                "version": 1,
                "types": [
                    {"name": "A", "members": [{"name": "b", "type": "B"}]},
                    {"name": "B", "members": [{"name": "a", "type": "A"}]},
                ],
            },
            "circular",
        ),
        (
            {"format": "cpppo-tagdb", "version": 1, "types": [{"name": "A", "members": [{}]}]},
            "needs a name and a type",
        ),
        (
            {
                "format": "cpppo-tagdb",
                "version": 1,
                "tags": [{"name": "x", "type": "SINT", "value": 300}],
            },
            "does not fit SINT",
        ),
        (
            {"format": "cpppo-tagdb", "version": 1, "tags": [{"name": "x"}]},
            "bad tag database",
        ),
        (
            {"format": "cpppo-tagdb", "version": 1, "tags": [{"name": "a", "alias_for": "zz"}]},
            "alias a -> zz skipped",
        ),
    ],
)
def test_bad_json_databases(document, message, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(TagDBError, match=message):
        load_json(path)


def test_unreadable_json(tmp_path):
    with pytest.raises(TagDBError, match="cannot read"):
        load_json(tmp_path / "missing.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(TagDBError, match="cannot read"):
        load_json(tmp_path / "junk.json")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("SCADA=INT[1000]", ("SCADA", "INT", (1000,), None, None)),
        ("Motors = Motor[3]", ("Motors", "Motor", (3,), None, None)),
        ("grid=DINT[2,3]", ("grid", "DINT", (2, 3), None, None)),
        ("text=STRING", ("text", "STRING", (), None, None)),
        ("Program:Main.x=REAL", ("x", "REAL", (), None, "Main")),
        ("t@0x04/100/3=DINT[0x10]", ("t", "DINT", (16,), (4, 100, 3), None)),
    ],
)
def test_parse_tag_definition(spec, expected):
    assert parse_tag_definition(spec) == expected


@pytest.mark.parametrize(
    "spec", ["x", "x=", "=DINT", "x=DINT[", "x=DINT[a]", "x=DINT[0]", "x=DINT[1,2,3,4]"]
)
def test_bad_tag_definitions(spec):
    with pytest.raises(TagDBError, match="bad tag definition"):
        parse_tag_definition(spec)
