"""L5X import: the real pycomm3.L5X export, values, pycomm3's view of the result, bad exports."""

from __future__ import annotations

import math
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
from pycomm3 import LogixDriver
from pycomm3.custom_types import StructTemplateAttributes

from cpppo.server.enip.importers.l5x import L5XError, load_l5x, parse_literal, parse_string_literal
from cpppo.server.enip.logix import ATOMIC_TYPES, TagDB


@pytest.fixture(scope="module")
def l5x(shared_data) -> Path:
    return shared_data / "pycomm3.L5X"


@pytest.fixture(scope="module")
def text(l5x) -> str:
    return l5x.read_text(encoding="utf-8-sig")


@pytest.fixture(scope="module")
def loaded(l5x):
    return load_l5x(l5x)


def _declared_tags(text: str) -> list[tuple[str | None, ET.Element]]:
    root = ET.fromstring(text.encode("utf-8"))
    controller = root.find("Controller")
    out = [(None, t) for t in controller.findall("Tags/Tag")]
    for program in controller.findall("Programs/Program"):
        out += [(program.get("Name"), t) for t in program.findall("Tags/Tag")]
    return out


def test_every_tag_loads_with_its_type_and_dimensions(loaded, text):
    db = loaded.db
    assert loaded.warnings == []
    assert (db.name, db.revision, db.programs) == ("pycomm3_demo", 20, ["pycomm3"])
    declared = _declared_tags(text)
    assert len(declared) == len(db.all_tags()) == 224
    for program, element in declared:
        tag = db.tag(element.get("Name"), program)
        assert tag.data_type.name == element.get("DataType")
        dims = tuple(int(d) for d in (element.get("Dimensions") or "").split())
        assert tag.dims == dims
        raw = element.find("Data")
        assert raw is not None and raw.get("Format") is None
        assert bytes(tag.data) == bytes.fromhex(raw.text), tag.qualified_name


def test_decorated_values_alone_give_the_exported_memory(text, loaded):
    """Drop the hex images: the decorated values must rebuild them (layout + literal parsing)."""
    stripped = re.sub(r"<Data>[0-9A-F\s]*</Data>", "", text)
    assert stripped.count("<Data>") == 0
    result = load_l5x(stripped.encode("utf-8"))
    arrays_of_strings = {
        t.qualified_name
        for t in loaded.db.all_tags()
        if t.dims and getattr(t.data_type, "is_string", False)
    }
    assert sorted(w.split()[1].rstrip(":") for w in result.warnings) == sorted(arrays_of_strings)
    compared = 0
    for ours, exported in zip(result.db.all_tags(), loaded.db.all_tags(), strict=True):
        name = ours.qualified_name
        if name in arrays_of_strings:
            continue
        assert ours.value == exported.value, name
        if exported.data_type.name != "TIMER":  # TIMER control words hold hidden bits
            assert ours.data == exported.data, name
        compared += 1
    assert compared == 224 - len(arrays_of_strings)


def test_values_the_export_declares(loaded):
    db = loaded.db
    assert db.read("read_str_symbols") == "".join(
        chr(c)
        for c in [*range(0xA1, 0xA7), 0xA8, 0xA7, *range(0xA9, 0xB0), 0xAF, *range(0xB1, 0xC0)]
    )
    assert db.read("write_str1") == "A normal built-in string type"
    assert db.read("write_str20_1") == "A shorter string"
    assert db.read("write_udt1") == {
        "bool": True,
        "sint": -1,
        "int": 1,
        "dint": 10,
        "lint": 100,
        "real": struct.unpack("<f", struct.pack("<f", 1000.009))[0],
    }
    assert db.read("read_lint_min") == -(2**63) and db.read("write_sint_min") == -128
    assert db.read("write_real_max1") == struct.unpack("<f", bytes.fromhex("FDFF7F7F"))[0]
    assert db.read("write_dint_2d_ary1[4,4]") == 2400
    assert db.read("write_dint_3d_ary1[2,2,2]") == 2600
    assert db.read("read_bool_ary1[6]") is True and db.read("read_bool_ary1[7]") is False
    assert db.read("read_timer_ary1[4]") == {
        "PRE": 30000,
        "ACC": 1234,
        "EN": True,
        "TT": True,
        "DN": False,
    }
    assert db.read("_real_ary_FAL.LEN") == 20
    assert db.read("write_udt4.bb20") is True and db.read("write_udt4.b4") is True
    assert db.read("write_aoi1.param_dint1") == 1234 and db.read("write_aoi1.b2") is True
    assert db.read("Program:pycomm3.read_prog_dint_max") == 2**31 - 1
    nested = db.read("write_nested_udt1")
    assert (
        nested["str1"]
        == "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Pellentesque sodales vel."
    )
    assert db.data_type("pycomm3_NestedUDT").size == 1560
    assert db.data_type("pycomm3_AOI").size == 1572 and db.data_type("pycomm3_AOI").kind == "AOI"
    assert db.data_type("STRING480").is_string and db.data_type("STRING480").size == 484


def test_the_export_needs_its_own_revision_rules(l5x):
    """v27+ aligns LINTs and sizes such UDTs to 8 bytes: the v20 memory image no longer fits."""
    with pytest.raises(
        L5XError, match="write_nested_udt1: 1560 bytes of data, its type needs 1584"
    ):
        load_l5x(l5x, revision=32)


def _pycomm3_upload(db: TagDB) -> dict[str, dict]:
    """pycomm3 1.2.16's tag list upload, its replies built from ``db`` (no socket)."""
    driver = LogixDriver("127.0.0.1")
    driver._info.update(revision={"major": db.revision}, programs={}, tasks={}, modules={})
    driver._cache = {"tag_name:id": {}, "id:struct": {}, "handle:id": {}, "id:udt": {}}

    def makeup(instance_id):
        value = StructTemplateAttributes.decode(
            db.template(instance_id).attribute_list([4, 5, 2, 1])
        )
        return {
            "object_definition_size": value["object_definition_size"]["size"],
            "structure_size": value["structure_size"]["size"],
            "member_count": value["member_count"]["count"],
            "structure_handle": value["structure_handle"]["handle"],
        }

    driver._get_structure_makeup = makeup
    driver._read_template = lambda i, size: db.template(i).read(0, size * 4 - 21)
    attrs = [1, 2, 3, 5, 6, 8, 10]
    tags: dict[str, dict] = {}
    for program in (None, *db.programs):
        raw: list[dict] = []
        start = 0
        while True:
            page, more = db.instance_attribute_list(
                attrs, program=program, start=start, max_size=480
            )
            reply = SimpleNamespace(data=page, service_status=0x06 if more else 0)
            start = driver._parse_instance_attribute_list(reply, raw)
            if not more:
                break
        for tag in driver._isolate_user_tags(raw, program):
            tags[tag["tag_name"]] = tag
    assert set(driver.info["programs"]) == set(db.programs)
    return tags


def test_pycomm3_sees_every_tag_and_decodes_every_value(loaded):
    db = loaded.db
    uploaded = _pycomm3_upload(db)
    assert set(uploaded) == {t.qualified_name for t in db.all_tags()}
    for tag in db.all_tags():
        info = uploaded[tag.qualified_name]
        bools = tag.data_type.name == "BOOL" and tag.dims
        if bools:
            assert info["data_type_name"] == "DWORD"
            assert info["dimensions"][0] == tag.dims[0] // 32
        else:
            assert info["data_type_name"] == (
                "STRING" if tag.data_type.name == "STRING" else tag.data_type.name
            )
            assert tuple(info["dimensions"][: info["dim"]]) == tag.dims
        assert info["alias"] is False and info["instance_id"] == tag.instance_id
        # pycomm3 decodes our memory image to our value (a BOOL array's DWORDs to BOOLs too)
        assert info["type_class"].decode(bytes(tag.data)) == tag.value, tag.qualified_name


# --- synthetic exports --------------------------------------------------------------------------


def _doc(
    types: str = "", tags: str = "", programs: str = "", extra: str = "", revision: str = "32.01"
) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<RSLogix5000Content SchemaRevision="1.0" SoftwareRevision="{revision}">
<Controller Name="test">
<DataTypes>{types}</DataTypes>
<Tags>{tags}</Tags>
<Programs>{programs}</Programs>
{extra}
</Controller>
</RSLogix5000Content>
""".encode()


def _member(name: str, dtype: str, dim: int = 0, **extra: str) -> str:
    attrs = " ".join(f'{k}="{v}"' for k, v in extra.items())
    return f'<Member Name="{name}" DataType="{dtype}" Dimension="{dim}" {attrs}/>'


def _udt(name: str, *members: str, family: str = "NoFamily") -> str:
    body = "".join(members)
    head = f'<DataType Name="{name}" Family="{family}" Class="User">'
    return f"{head}<Members>{body}</Members></DataType>"


def _tag(name: str, dtype: str, body: str = "", dims: str = "", **extra: str) -> str:
    attrs = " ".join(f'{k}="{v}"' for k, v in extra.items())
    dim = f' Dimensions="{dims}"' if dims else ""
    return f'<Tag Name="{name}" TagType="Base" DataType="{dtype}"{dim} {attrs}>{body}</Tag>'


def _decorated(inner: str) -> str:
    return f'<Data Format="Decorated">{inner}</Data>'


def test_elements_that_cannot_be_modelled_cost_one_warning_each(caplog):
    doc = _doc(
        types=_udt("WithAxis", _member("axis", "AXIS_CIP_DRIVE"), _member("n", "DINT"))
        + _udt("UsesWithAxis", _member("w", "WithAxis")),
        tags=_tag("ok", "DINT", _decorated('<DataValue DataType="DINT" Value="5"/>'))
        + _tag("motion", "AXIS_CIP_DRIVE")
        + _tag("both", "UsesWithAxis")
        + _tag("msg", "MESSAGE")
        + '<Tag Name="io" TagType="Alias" AliasFor="Local:1:I.Data.3"/>'
        + '<Tag Name="good_alias" TagType="Alias" AliasFor="ok.2"/>'
        + '<Tag Name="weird" TagType="Something" DataType="DINT"/>',
    )
    with caplog.at_level("WARNING"):
        result = load_l5x(doc)
    db = result.db
    # a MESSAGE is a built-in type now (it was skipped as "not modelled")
    assert [t.name for t in db.all_tags()] == ["ok", "msg", "good_alias"]
    assert db.read("good_alias") is True  # 5 = 0b101
    missing = "data type 'AXIS_CIP_DRIVE' is not defined in this file and no data shows its layout"
    assert result.warnings == [
        f"data type WithAxis skipped: member axis: {missing}",
        "data type UsesWithAxis skipped: member w: data type 'WithAxis' was skipped",
        f"tag motion skipped: {missing}",
        "tag both skipped: data type 'UsesWithAxis' was skipped",
        "tag weird skipped: tag type 'Something' is not modelled",
        "alias io -> Local:1:I.Data.3 skipped: \"no tag 'Local:1:I' in the controller scope\"",
    ]
    assert len(caplog.records) == 6


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b"<RSLogix5000Content><Controller>", "not XML"),
        (b"", "not XML"),
        (b"<Other/>", "not an RSLogix5000Content export"),
        (b"<RSLogix5000Content/>", "no <Controller> element"),
        (
            b'<!DOCTYPE x [<!ENTITY big "xxxxxxxx">]><RSLogix5000Content/>',
            "DTDs and entities are refused",
        ),
        (
            _doc(
                tags=_tag(
                    "big", "DINT", _decorated('<DataValue DataType="DINT" Value="99999999999"/>')
                )
            ),
            r"line \d+: <DataValue>: big: 99999999999 does not fit DINT",
        ),
        (
            _doc(tags=_tag("r", "REAL", _decorated('<DataValue DataType="REAL" Value="1e39"/>'))),
            "does not fit REAL",
        ),
        (
            _doc(tags=_tag("s", "SINT", _decorated('<DataValue DataType="SINT" Value="12.5"/>'))),
            "bad SINT value '12.5'",
        ),
        (
            _doc(tags=_tag("h", "DINT", "<Data>00 01 02</Data>")),
            "<Data>: tag h: 3 bytes of data, its type needs 4",
        ),
        (_doc(tags=_tag("h", "DINT", "<Data>zz</Data>")), "not hexadecimal"),
        (
            _doc(
                tags=_tag(
                    "a",
                    "DINT",
                    _decorated(
                        '<Array DataType="DINT" Dimensions="2">'
                        '<Element Index="[2]" Value="1"/></Array>'
                    ),
                    dims="2",
                )
            ),
            r"bad element index '\[2\]'",
        ),
        (
            _doc(
                tags=_tag(
                    "a",
                    "DINT",
                    _decorated(
                        '<Array DataType="DINT" Dimensions="3">'
                        '<Element Index="[0]" Value="1"/></Array>'
                    ),
                    dims="2",
                )
            ),
            "Dimensions '3' but the tag has",
        ),
        (
            _doc(
                tags=_tag(
                    "s", "STRING", '<Data Format="String" Length="3"><![CDATA[\'ab\']]></Data>'
                )
            ),
            "Length 3 but 2 characters",
        ),
        (
            _doc(
                tags=_tag(
                    "s", "STRING", '<Data Format="String" Length="3"><![CDATA[\'abc]]></Data>'
                )
            ),
            "not a quoted string",
        ),
        (
            _doc(tags=_tag("d", "DINT", "<Data Format=\"String\"><![CDATA['x']]></Data>")),
            "string data for a DINT tag",
        ),
        (
            _doc(
                types=_udt("U", _member("a", "DINT")),
                tags=_tag(
                    "u",
                    "U",
                    _decorated(
                        '<Structure DataType="U">'
                        '<DataValueMember Name="b" DataType="DINT" Value="1"/></Structure>'
                    ),
                ),
            ),
            "U has no member 'b'",
        ),
    ],
)
def test_bad_exports_raise_a_clear_error(doc, message):
    with pytest.raises(L5XError, match=message):
        load_l5x(doc)


@pytest.mark.parametrize(
    ("doc", "tags", "warning"),
    [
        (
            _doc(types=_udt("U", _member("x", "BIT", Target="nothere", BitNumber="0"))),
            [],
            "data type U skipped: structure U, member 'x': target 'nothere' is not a member of U",
        ),
        (
            _doc(
                types=_udt(
                    "U",
                    _member("h", "SINT", Hidden="true"),
                    _member("x", "BIT", Target="h", BitNumber="8"),
                )
            ),
            [],
            "data type U skipped: structure U, member 'x': bit 8 is outside 'h' (SINT, 8 bits)",
        ),
        (
            _doc(types=_udt("U", _member("x", "DINT"), _member("X", "REAL"))),
            [],
            "data type U skipped: structure U: duplicate member name 'X'",
        ),
        (
            _doc(types=_udt("A", _member("a", "A"))),
            [],
            "data type A skipped: member a: data type 'A' refers back to it (a cycle)",
        ),
        (
            _doc(types=_udt("A", _member("a", "DINT")) + _udt("a", _member("b", "DINT"))),
            [],
            "data type a (line 4) is defined twice; the definition on line 4 is used",
        ),
        (
            _doc(tags=_tag("x", "DINT") + _tag("X", "REAL")),
            ["x"],
            "tag X skipped: tag 'X' already exists",
        ),
        (_doc(tags=_tag("x", "DINT", dims="2 x")), [], "tag x skipped: bad Dimensions '2 x'"),
        (_doc(tags='<Tag DataType="DINT"/>'), [], "line 5: <Tag>: a tag without a Name; skipped"),
        (
            _doc(tags=_tag("d", "DINT", '<Data Format="L5K">[1,2]</Data>')),
            ["d"],
            "tag d: its L5K data does not fit DINT: d: a list for DINT; ignored",
        ),
        (
            _doc(tags=_tag("d", "DINT", '<Data Format="L5K">[1,</Data>')),
            ["d"],
            "tag d: its L5K data does not fit DINT: L5K text ends early; ignored",
        ),
        (
            _doc(tags=_tag("d", "DINT", '<Data Format="L5K">' + "[" * 100 + "</Data>")),
            ["d"],
            "tag d: its L5K data does not fit DINT: L5K text nests too deep; ignored",
        ),
        (_doc(revision="abc"), [], "bad SoftwareRevision 'abc': revision 20 used"),
        (
            _doc(tags=_tag("huge", "LINT", dims="1000 1000 1000")),
            [],
            "tag huge skipped: tag huge: 8000000000 bytes exceed the 16777216 limit",
        ),
        (
            _doc(types=_udt("Huge", _member("a", "DINT", 10**8))),
            [],
            "data type Huge skipped: structure Huge: 400000000 bytes exceed the 16777216 limit",
        ),
    ],
)
def test_exports_with_elements_that_cannot_be_modelled_load_with_a_warning(doc, tags, warning):
    """These were fatal (L5XError); a valid export now always loads, without the element."""
    result = load_l5x(doc)
    assert [t.name for t in result.db.all_tags()] == tags
    assert result.warnings == [warning]


def test_types_in_a_cycle_are_skipped_one_warning_each():
    doc = _doc(
        types=_udt("A", _member("b", "B")) + _udt("B", _member("a", "A")),
        tags=_tag("a", "A") + _tag("n", "DINT"),
    )
    result = load_l5x(doc)
    assert [t.name for t in result.db.all_tags()] == ["n"]
    assert result.warnings == [
        "data type B skipped: member a: data type 'A' refers back to it (a cycle)",
        "data type A skipped: member b: data type 'B' was skipped",
        "tag a skipped: data type 'A' was skipped",
    ]


def test_unreadable_file(tmp_path):
    with pytest.raises(L5XError, match="cannot read"):
        load_l5x(tmp_path / "missing.L5X")


def test_l5k_text_values_and_precedence():
    doc = _doc(
        types=_udt(
            "U",
            _member("ZZZZZZZZZZU0", "SINT", Hidden="true"),
            _member("on", "BIT", Target="ZZZZZZZZZZU0", BitNumber="2"),
            _member("n", "INT"),
            _member("list", "DINT", 3),
            _member("text", "STRING"),
        ),
        tags=_tag("d", "DINT", '<Data Format="L5K">16#7fff_ffff</Data>')
        + _tag("arr", "REAL", '<Data Format="L5K">[1.5,-2.0E+000,1.#QNAN]</Data>', dims="3")
        + _tag("grid", "DINT", '<Data Format="L5K">[1,2,3,4]</Data>', dims="2 2")
        + _tag("b", "BOOL", '<Data Format="L5K">[2#101,16#80000000]</Data>', dims="64")
        + _tag("t", "TIMER", '<Data Format="L5K">[16#20000000,1000,7]</Data>')
        + _tag("s", "STRING", "<Data Format=\"L5K\">[5,'h$'i$0Aa']</Data>")
        + _tag("u", "U", "<Data Format=\"L5K\">[4,-2,[7,8,9],[3,'abc']]</Data>")
        + _tag(
            "both",
            "DINT",
            '<Data Format="L5K">1</Data>' + _decorated('<DataValue DataType="DINT" Value="2"/>'),
        ),
    )
    db = load_l5x(doc).db
    assert db.read("d") == 2**31 - 1
    values = db.read("arr")
    assert values[:2] == [1.5, -2.0] and math.isnan(values[2])
    assert db.read("grid") == [1, 2, 3, 4]
    assert db.read("b[0]") and db.read("b[2]") and db.read("b[63]") and not db.read("b[1]")
    assert db.read("t") == {"PRE": 1000, "ACC": 7, "EN": False, "TT": False, "DN": True}
    assert db.read("s") == "h'i\na"
    assert db.read("u") == {"on": True, "n": -2, "list": [7, 8, 9], "text": "abc"}
    assert db.read("both") == 2  # decorated data wins over the L5K text
    assert db.revision == 32 and db.data_type("U").size == 104


def test_decorated_aliases_programs_and_access():
    doc = _doc(
        types=_udt(
            "S10",
            _member("LEN", "DINT"),
            _member("DATA", "SINT", 10, Radix="ASCII"),
            family="StringFamily",
        ),
        tags=_tag(
            "ro",
            "INT",
            _decorated('<DataValue DataType="INT" Radix="Hex" Value="16#ffff"/>'),
            ExternalAccess="Read Only",
        )
        + _tag(
            "c",
            "SINT",
            _decorated('<DataValue DataType="SINT" Radix="ASCII" Value="\'$0D\'"/>'),
            Constant="true",
        )
        + _tag(
            "ts",
            "LINT",
            _decorated(
                '<DataValue DataType="LINT" Radix="Date/Time" '
                'Value="DT#1970-01-01-00:00:01.000_500Z"/>'
            ),
        )
        + _tag("s", "S10", '<Data Format="String" Length="3"><![CDATA[\'$$1$T\']]></Data>'),
        programs='<Program Name="Main"><Tags>'
        + _tag("p", "DINT", _decorated('<DataValue DataType="DINT" Value="-8#17"/>'))
        + '<Tag Name="pa" TagType="Alias" AliasFor="p"/>'
        + '<Tag Name="ca" TagType="Alias" AliasFor="ro"/>'
        + "</Tags></Program>",
    )
    result = load_l5x(doc)
    db = result.db
    assert result.warnings == []
    assert db.read("ro") == -1 and db.tag("ro").external_access == "Read Only"
    assert db.read("c") == 13 and db.tag("c").constant
    assert db.read("ts") == 1_000_500
    assert db.read("s") == "$1\t" and db.data_type("S10").is_string
    assert db.read("Program:Main.pa") == -15
    assert db.read("Program:Main.ca") == -1
    entry = next(e for e in db.symbols() if e.name == "ro")
    assert entry.access == 2


@pytest.mark.parametrize(
    ("text", "type_name", "value"),
    [
        ("2#1000_0000", "SINT", -128),
        ("2#0111_1111", "SINT", 127),
        ("16#FFFF", "INT", -1),
        ("16#ffff", "UINT", 65535),
        ("8#777", "DINT", 511),
        ("-16#10", "DINT", -16),
        ("-5", "DINT", -5),
        ("+5", "DINT", 5),
        ("'A'", "SINT", 65),
        ("'AB'", "INT", 0x4142),
        ("3.40282306e+038", "REAL", 3.40282306e38),
        ("-1.#INF", "REAL", -math.inf),
        ("1.#INF", "LREAL", math.inf),
        ("1", "BOOL", True),
        ("false", "BOOL", False),
        ("DT#1970-01-01-01:00:00.000_000(UTC+01:00)", "LINT", 0),
        ("LDT#1970-01-01-00:00:00.000_000_001Z", "LINT", 1),
    ],
)
def test_parse_literal(text, type_name, value):
    assert parse_literal(text, ATOMIC_TYPES[type_name]) == value


def test_parse_literal_nan_and_errors():
    assert math.isnan(parse_literal("1.#QNAN", ATOMIC_TYPES["REAL"]))
    for text, type_name in (
        ("2", "BOOL"),
        ("16#1FF", "SINT"),
        ("1.5", "DINT"),
        ("16#1", "REAL"),
        ("DT#bad", "LINT"),
    ):
        with pytest.raises(ValueError):
            parse_literal(text, ATOMIC_TYPES[type_name])


def test_parse_string_literal():
    assert parse_string_literal("'$$ $' $L$N$P$R$T$l $41$0d'") == "$ ' \n\n\f\r\t\n A\r"
    assert parse_string_literal('"dq"') == "dq"
    for bad in ("noquotes", "'open", "'$Z'"):
        with pytest.raises(ValueError):
            parse_string_literal(bad)
