"""Logix type model: atomic types, layout rules, symbol type words, templates, values, paths."""

from __future__ import annotations

import math
import re
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpppo.server.enip.codec import types as cip
from cpppo.server.enip.codec.status import CipStatusError
from cpppo.server.enip.codec.tags import decode_symbol_type, decode_template_definition
from cpppo.server.enip.logix import (
    ATOMIC_BY_CODE,
    ATOMIC_TYPES,
    PREDEFINED,
    AliasTag,
    LayoutError,
    LayoutRules,
    MemberDef,
    Structure,
    Tag,
    TagPathError,
    TagValueError,
    UnknownTypeError,
    decode_value,
    encode_template_attribute_list,
    encode_value,
    layout_structure,
    parse_path,
    resolve_path,
    string_type,
    structure_handle,
    symbol_type_word,
    template_attributes,
    template_blob,
)

DINT, SINT, INT, LINT, REAL, BOOL, DWORD = (
    ATOMIC_TYPES[n] for n in ("DINT", "SINT", "INT", "LINT", "REAL", "BOOL", "DWORD")
)


def _types(*structures: Structure) -> dict[str, Structure]:
    return {**PREDEFINED, **{s.name: s for s in structures}}


def _bind(s: Structure, template_id: int) -> Structure:
    s.bind(template_id, structure_handle(s))
    return s


# --- atomic types -----------------------------------------------------------------------------


def test_atomic_types_are_the_codec_types():
    for name, atomic in ATOMIC_TYPES.items():
        codec_type = cip.type_named(name)
        assert atomic.cip is codec_type
        assert (atomic.code, atomic.size) == (codec_type.code, codec_type.size)
        assert ATOMIC_BY_CODE[atomic.code] is atomic
    assert ATOMIC_TYPES["LINT"].alignment(LayoutRules()) == 4
    assert ATOMIC_TYPES["LINT"].alignment(LayoutRules.for_revision(27)) == 8
    assert LayoutRules.for_revision(26) == LayoutRules(align8=False)


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("SINT", [-128, 127], [128, -129, 1.5, "1"]),
        ("INT", [-32768, 32767], [32768]),
        ("DINT", [-(2**31), 2**31 - 1, True], [2**31]),
        ("LINT", [-(2**63), 2**63 - 1], [2**63]),
        ("USINT", [0, 255], [-1, 256]),
        ("REAL", [1.5, -3, 2.0**127, math.inf], [3.5e38, "x"]),
        ("BOOL", [0, 1, True, False], [2, -1]),
    ],
)
def test_atomic_range_checks(name, good, bad):
    atomic = ATOMIC_TYPES[name]
    buf = bytearray(atomic.size)
    for value in good:
        atomic.encode_into(buf, 0, value, "t")
        decoded = atomic.decode(buf)
        assert decoded == (bool(value) if atomic.is_bool else value)
    for value in bad:
        with pytest.raises(TagValueError, match=r"^t"):
            atomic.encode_into(buf, 0, value, "t")


# --- layout -----------------------------------------------------------------------------------


def _offsets(s: Structure) -> list[tuple[str, int, int | None, int]]:
    return [(m.name, m.offset, m.bit, m.count) for m in s.members]


def test_plain_bools_get_hidden_host_sints_named_as_logix_does(shared_data):
    """pycomm3_BoolsUDT declared with plain BOOLs gets the hosts the L5X export shows."""
    text = (shared_data / "pycomm3.L5X").read_text(encoding="utf-8-sig")
    block = text[text.index('<DataType Name="pycomm3_BoolsUDT"') :]
    block = block[: block.index("</DataType>")]
    exported = re.findall(r'<Member Name="([^"]+)" DataType="([^"]+)"', block)
    hosts = [n for n, t in exported if t == "SINT"]
    plain = [MemberDef(n, "BOOL" if t == "BIT" else t) for n, t in exported if t != "SINT"]
    s = layout_structure("pycomm3_BoolsUDT", plain, {})
    assert [m.name for m in s.members] == [n for n, _ in exported]
    assert [m.name for m in s.members if m.hidden] == hosts
    assert s.size == 8
    assert s.member("b9").offset == 1 and s.member("b9").bit == 0
    assert s.member("int").offset == 2
    assert s.member("bb20").offset == 6 and s.member("bb20").bit == 3


def test_rockwell_lint_alignment_example_v26_and_v27():
    """The UDT of Rockwell 1756-RM100F (LINT alignment changed in v27): 32 vs 40 bytes."""
    defs = [
        MemberDef("LimitA", "BOOL"),
        MemberDef("LimitB", "BOOL"),
        MemberDef("Profile", "REAL", 3),
        MemberDef("Interlock", "INT"),
        MemberDef("MyLint", "LINT"),
        MemberDef("Speed", "REAL"),
    ]
    old = layout_structure("Sample", defs, {}, rules=LayoutRules.for_revision(26))
    new = layout_structure("Sample", defs, {}, rules=LayoutRules.for_revision(27))
    assert (old.member("MyLint").offset, old.member("Speed").offset, old.size) == (20, 28, 32)
    assert (new.member("MyLint").offset, new.member("Speed").offset, new.size) == (24, 32, 40)
    assert old.member("Interlock").offset == new.member("Interlock").offset == 16
    # a structure holding an 8-byte member starts on an 8-byte boundary from v27 on
    outer = [MemberDef("flag", "DINT"), MemberDef("inner", "Sample")]
    for rules, where in ((LayoutRules(), 4), (LayoutRules(align8=True), 8)):
        inner = layout_structure("Sample", defs, {}, rules=rules)
        assert (
            layout_structure("Outer", outer, {"Sample": inner}, rules=rules).member("inner").offset
            == where
        )


def test_layout_of_nested_arrays_strings_and_bool_arrays():
    inner = layout_structure("Inner", [MemberDef("b", "BOOL"), MemberDef("r", "REAL")], {})
    s = layout_structure(
        "Outer",
        [
            MemberDef("s", "SINT"),
            MemberDef("bits", "BOOL", 40),
            MemberDef("items", "Inner", 3),
            MemberDef("text", "STRING"),
            MemberDef("i", "INT"),
        ],
        _types(inner),
    )
    assert _offsets(s) == [
        ("s", 0, None, 0),
        ("bits", 4, None, 2),  # BOOL[40] -> DWORD[2]
        ("items", 12, None, 3),
        ("text", 36, None, 0),
        ("i", 124, None, 0),
    ]
    assert s.member("bits").bits == 64 and s.member("bits").type is DWORD
    assert s.size == 128
    assert inner.size == 8 and inner.members[0].name == "ZZZZZZZZZZInner0"


@pytest.mark.parametrize(
    ("defs", "message"),
    [
        ([], "has no members"),
        ([MemberDef("a", "DINT"), MemberDef("A", "SINT")], "duplicate member name 'A'"),
        ([MemberDef("a", "DINT", -1)], "negative dimension"),
        ([MemberDef("a.b", "DINT")], "invalid member name"),
        ([MemberDef("x", "BIT", target="nothere", bit=0)], "target 'nothere' is not a member"),
        ([MemberDef("h", "SINT"), MemberDef("x", "BIT", target="h", bit=8)], "bit 8 is outside"),
        (
            [MemberDef("h", "REAL"), MemberDef("x", "BIT", target="h", bit=0)],
            "not a scalar integer",
        ),
        ([MemberDef("h", "SINT", 2), MemberDef("x", "BIT", target="h", bit=0)], "not a scalar"),
        ([MemberDef("x", "BIT")], "needs a target and a bit number"),
    ],
)
def test_contradictory_structures_are_rejected_naming_the_member(defs, message):
    with pytest.raises(LayoutError, match=re.escape(message)):
        layout_structure("Bad", defs, {})


def test_unknown_member_type_is_reported_with_its_name():
    with pytest.raises(UnknownTypeError) as err:
        layout_structure("Motion", [MemberDef("axis", "AXIS_CIP_DRIVE")], {})
    assert err.value.type_name == "AXIS_CIP_DRIVE"
    assert "member 'axis'" in str(err.value)


def test_predefined_types_have_the_real_layouts():
    timer, counter, control, string = (
        PREDEFINED[n] for n in ("TIMER", "COUNTER", "CONTROL", "STRING")
    )
    assert (timer.template_id, counter.template_id, control.template_id) == (0x0F83, 0x0F82, 0x0F81)
    assert [(m.name, m.offset, m.bit) for m in timer.members[3:]] == [
        ("EN", 3, 7),
        ("TT", 3, 6),
        ("DN", 3, 5),
    ]
    assert [m.name for m in counter.members] == ["CTL", "PRE", "ACC", "CU", "CD", "DN", "OV", "UN"]
    assert timer.size == counter.size == control.size == 12
    assert (string.size, string.handle, string.string_capacity) == (88, 0x0FCE, 82)
    # the decorated L5X data of a TIMER with DN set is 00 00 00 20 01 00 00 00 00 00 00 00
    assert encode_value(timer, {"PRE": 1, "DN": True}) == bytes.fromhex(
        "0000002001000000" + "00" * 4
    )


def test_string_types_encode_like_the_codec_logix_string():
    string = PREDEFINED["STRING"]
    for text in ("", "A normal built-in string type", "x" * 82, "\xa1\xbf"):
        assert encode_value(string, text) == cip.LOGIX_STRING.encode([text])
        assert decode_value(string, cip.LOGIX_STRING.encode([text])) == text
    s20 = string_type("STRING20", 20)
    assert (s20.size, s20.is_string) == (24, True)
    with pytest.raises(TagValueError, match="21 characters do not fit STRING20"):
        encode_value(s20, "y" * 21)
    with pytest.raises(LayoutError):
        string_type("Empty", 0)


# --- symbol type word ---------------------------------------------------------------------------


def test_symbol_type_words_of_a_real_controller():
    string = PREDEFINED["STRING"]
    assert symbol_type_word(string) == 0x8FCE
    assert symbol_type_word(DWORD, 1) == 0x20D3  # BOOL[96] as the v20 controller lists it
    assert symbol_type_word(DINT, 2) == 0x40C4  # DINT[5,5]
    assert symbol_type_word(BOOL, 0, 5) == 0x05C1
    assert Tag("b", BOOL, (96,)).symbol_type == 0x20D3
    assert Tag("b", BOOL, (96,)).symbol_dims == (3, 0, 0)
    assert Tag("d", DINT, (3, 3, 3)).symbol_type == 0x60C4
    decoded = decode_symbol_type(0x8FCE)
    assert (decoded.struct, decoded.code, decoded.dimensions) == (True, 0x0FCE, 0)
    decoded = decode_symbol_type(0x15C1)
    assert (decoded.code, decoded.bit, decoded.system) == (0xC1, 5, True)
    with pytest.raises(ValueError):
        symbol_type_word(DINT, 4)
    with pytest.raises(ValueError):
        symbol_type_word(layout_structure("Unbound", [MemberDef("a", "DINT")], {}))


@given(
    code=st.sampled_from(sorted(ATOMIC_BY_CODE)),
    ndims=st.integers(0, 3),
    bit=st.integers(0, 7),
    system=st.booleans(),
)
def test_symbol_type_roundtrip(code, ndims, bit, system):
    atomic = ATOMIC_BY_CODE[code]
    word = symbol_type_word(atomic, ndims, bit if atomic.is_bool else 0, system)
    decoded = decode_symbol_type(word)
    assert (decoded.code, decoded.dimensions, decoded.system) == (code, ndims, system)
    assert decoded.bit == (bit if atomic.is_bool else 0)


# --- templates ----------------------------------------------------------------------------------


def test_string_template_is_the_real_one():
    string = PREDEFINED["STRING"]
    blob = template_blob(string)
    assert blob == (
        struct.pack("<HHI", 0, 0xC4, 0)
        + struct.pack("<HHI", 82, 0x20C2, 4)
        + b"ASCIISTRING82\0LEN\0DATA\0"
    )
    attrs = template_attributes(string)
    assert (attrs.handle, attrs.member_count, attrs.definition_size, attrs.structure_size) == (
        0x0FCE,
        2,
        15,
        88,
    )


def test_udt_template_matches_a_real_controller_blob():
    """The blob of pylogix issue 45 (a 1756-L75 v32): my_UDT { REAL, DINT }."""
    s = _bind(
        layout_structure(
            "my_UDT",
            [MemberDef("udt_member1_real", "REAL"), MemberDef("udt_member2_dint", "DINT")],
            {},
        ),
        0x123,
    )
    real = bytes.fromhex("0000ca00000000000000c40004000000") + (
        b"my_UDT;nHAEA\x00udt_member1_real\x00udt_member2_dint\x00"
    )
    assert template_blob(s) == real
    members, names = decode_template_definition(real, 2)
    assert names[0] == "my_UDT;nHAEA"
    assert list(zip(names[1:], members)) == [
        ("udt_member1_real", (0, 0xCA, 0)),
        ("udt_member2_dint", (0, 0xC4, 4)),
    ]


def test_template_records_of_bits_arrays_and_nested_structures():
    inner = _bind(layout_structure("Inner", [MemberDef("v", "DINT")], {}), 0x200)
    s = _bind(
        layout_structure(
            "Outer",
            [
                MemberDef("flag", "BOOL"),
                MemberDef("arr", "INT", 4),
                MemberDef("one", "Inner"),
                MemberDef("many", "Inner", 2),
                MemberDef("text", "STRING"),
            ],
            _types(inner),
        ),
        0x201,
    )
    members, names = decode_template_definition(template_blob(s), len(s.members))
    name, _, suffix = names[0].partition(";")
    assert name == "Outer"
    assert [(n, info, hex(t), off) for n, (info, t, off) in zip(names[1:], members)] == [
        ("ZZZZZZZZZZOuter0", 0, "0xc2", 0),
        ("flag", 0, "0xc1", 0),
        ("arr", 4, "0x20c3", 2),
        ("one", 0, "0x8200", 12),
        ("many", 2, "0xa200", 16),
        ("text", 0, "0x8fce", 24),
    ]
    assert len(suffix) == 1 + 2 * len(s.members)
    attrs = template_attributes(s)
    assert attrs.definition_size == -(-(len(template_blob(s)) + 20) // 4)
    data = encode_template_attribute_list(attrs, [4, 5, 2, 1, 9])
    assert data == struct.pack(
        "<H HHI HHI HHH HHH HH",
        5,
        4,
        0,
        attrs.definition_size,
        5,
        0,
        s.size,
        2,
        0,
        len(s.members),
        1,
        0,
        s.handle,
        9,
        0x14,
    )
    with pytest.raises(ValueError, match="need 8 bytes, have 7"):
        decode_template_definition(b"\0" * 7, 1)


def test_handles_are_stable_and_depend_on_the_definition():
    a1 = layout_structure("A", [MemberDef("x", "DINT")], {})
    a2 = layout_structure("A", [MemberDef("x", "DINT")], {})
    b = layout_structure("A", [MemberDef("x", "REAL")], {})
    assert structure_handle(a1) == structure_handle(a2) != structure_handle(b)
    assert structure_handle(a1, 1) != structure_handle(a1)
    a1.bind(0x100, 7)
    a1.bind(0x100, 7)  # idempotent
    with pytest.raises(ValueError, match="already bound"):
        a1.bind(0x101, 7)


# --- values -----------------------------------------------------------------------------------


@pytest.fixture
def udt() -> Structure:
    inner = layout_structure(
        "Inner", [MemberDef("on", "BOOL"), MemberDef("n", "INT"), MemberDef("l", "LINT")], {}
    )
    return layout_structure(
        "Outer",
        [
            MemberDef("bits", "BOOL", 32),
            MemberDef("in", "Inner", 2),
            MemberDef("name", "STRING"),
            MemberDef("r", "REAL", 2),
        ],
        _types(inner),
    )


def test_structure_values_roundtrip(udt):
    value = {
        "bits": [True, False, True] + [False] * 29,
        "in": [{"on": True, "n": -2, "l": 2**40}, {"on": False, "n": 7, "l": -1}],
        "name": "hello",
        "r": [1.5, -2.25],
    }
    data = encode_value(udt, value)
    assert len(data) == udt.size
    assert decode_value(udt, data) == value
    assert data[0] == 0b101
    assert decode_value(udt, data + data, (2,)) == [value, value]
    partial = bytearray(data)
    udt.encode_into(partial, 0, {"r": [9.0]})  # other members keep their bytes
    assert decode_value(udt, partial)["r"] == [9.0, -2.25]
    assert decode_value(udt, partial)["name"] == "hello"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"in": [{"n": 40000}]}, r"Outer\.in\[0\]\.n: 40000 does not fit INT"),
        ({"nope": 1}, "Outer has no member 'nope'"),
        ({"r": [1.0, 2.0, 3.0]}, r"Outer\.r: 3 values for 2 elements"),
        ({"bits": [True] * 33}, "33 values for a BOOL array of 32"),
        ({"name": "\u20ac"}, "not ISO-8859-1"),
        ([1], "must be a dict"),
    ],
)
def test_bad_values_name_the_element(udt, value, message):
    with pytest.raises(TagValueError, match=message):
        encode_value(udt, value)


def test_atomic_and_bool_array_values():
    assert encode_value(DINT, [1, 2, 3, 4], (2, 2)) == struct.pack("<4i", 1, 2, 3, 4)
    assert decode_value(DINT, struct.pack("<4i", 1, 2, 3, 4), (2, 2)) == [1, 2, 3, 4]
    assert encode_value(DINT, [[1, 2], [3, 4]], (2, 2)) == struct.pack("<4i", 1, 2, 3, 4)
    bools = [i % 3 == 0 for i in range(64)]
    raw = encode_value(BOOL, bools, (64,))
    assert raw == struct.pack(
        "<2I", *(sum(1 << i for i in range(j, j + 32) if i % 3 == 0) >> j for j in (0, 32))
    )
    assert decode_value(BOOL, raw, (64,)) == bools
    assert encode_value(BOOL, True) == b"\x01"


# --- tags and paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "program", "segments"),
    [
        ("Tag", None, [("name", "Tag")]),
        ("Tag[3]", None, [("name", "Tag"), ("index", (3,))]),
        ("Tag[1, 2]", None, [("name", "Tag"), ("index", (1, 2))]),
        (
            "Tag.Member.Sub[2]",
            None,
            [("name", "Tag"), ("name", "Member"), ("name", "Sub"), ("index", (2,))],
        ),
        ("Tag.5", None, [("name", "Tag"), ("bit", 5)]),
        (
            "Program:Main.Tag[0].x.31",
            "Main",
            [("name", "Tag"), ("index", (0,)), ("name", "x"), ("bit", 31)],
        ),
        ("Local:1:I.Data", None, [("name", "Local:1:I"), ("name", "Data")]),
    ],
)
def test_parse_path(text, program, segments):
    assert parse_path(text) == (program, segments)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Tag.",
        "Tag[",
        "Tag[1",
        "Tag[a]",
        "Tag[]",
        "Tag.5.x",
        "[1]",
        "Program:Main",
        "Tag..x",
        "Tag]",
        "1abc",
    ],
)
def test_bad_paths_are_rejected(text):
    with pytest.raises(TagPathError) as err:
        parse_path(text)
    assert err.value.status == 0x04
    assert isinstance(err.value, CipStatusError) and isinstance(err.value, LookupError)


@pytest.fixture
def tags(udt) -> dict[str, Tag]:
    _bind(udt.member("in").type, 0x300)
    _bind(udt, 0x301)
    return {
        "d": Tag("d", DINT, (2, 3)),
        "b": Tag("b", BOOL, (64,)),
        "u": Tag("u", udt, (2,)),
        "i": Tag("i", INT),
    }


def _loc(tags, text, **kw):
    _, segments = parse_path(text)
    return resolve_path(tags[segments[0][1]], segments[1:], **kw)


@pytest.mark.parametrize(
    ("path", "offset", "type_name", "count", "bit"),
    [
        ("d", 0, "DINT", 6, None),
        ("d[1,2]", 20, "DINT", 1, None),
        ("d[0,1]", 4, "DINT", 5, None),
        ("b", 0, "DWORD", 2, None),
        ("b[33]", 4, "BOOL", 1, 1),
        ("b[15]", 1, "BOOL", 1, 7),
        ("u", 0, "Outer", 2, None),
        # Outer: bits DWORD @0, in Inner[2] @4 (Inner: host @0, n @2, l @4; 12 bytes),
        # name STRING @28, r REAL[2] @116; 124 bytes
        ("u[1]", 124, "Outer", 1, None),
        ("u[1].in[1].n", 124 + 4 + 12 + 2, "INT", 1, None),
        ("u[1].in[1].on", 124 + 4 + 12, "BOOL", 1, 0),
        ("u[0].in", 4, "Inner", 2, None),
        ("u[0].bits[9]", 1, "BOOL", 1, 1),
        ("u[0].name.LEN", 28, "DINT", 1, None),
        ("u[0].name.DATA[3]", 35, "SINT", 79, None),
        ("u[0].r[1]", 120, "REAL", 1, None),
        ("i.9", 1, "BOOL", 1, 1),
        ("d[1,0].31", 15, "BOOL", 1, 7),
        ("u[0].in[0].l.63", 4 + 4 + 7, "BOOL", 1, 7),
    ],
)
def test_resolve_paths(tags, path, offset, type_name, count, bit):
    loc = _loc(tags, path)
    assert (loc.offset, loc.data_type.name, loc.count, loc.bit) == (offset, type_name, count, bit)


def test_bool_arrays_index_words_on_the_wire(tags):
    loc = _loc(tags, "b[1]", bool_index="word")
    assert (loc.offset, loc.data_type.name, loc.count) == (4, "DWORD", 1)
    assert _loc(tags, "b[0]", bool_index="word").count == 2


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("d[2,0]", 0x05, "out of range"),
        ("d[1]", 0x04, "2 indices needed"),
        ("b[64]", 0x05, "out of range"),
        ("i[0]", 0x04, "is not an array"),
        ("u.in", 0x04, "is not a structure"),
        ("u[0].nope", 0x04, "has no member 'nope'"),
        ("u[0].r.1", 0x04, "is not an integer"),
        ("i.16", 0x05, "bit 16 outside INT"),
        ("u[0].in[0].n.1.2", 0x04, "a bit number must come last"),
        ("u[0].name.5", 0x04, "is not an integer"),
    ],
)
def test_unresolvable_paths_say_what_to_answer(tags, path, status, message):
    with pytest.raises(TagPathError, match=re.escape(message)) as err:
        _loc(tags, path)
    assert err.value.status == status


def test_location_values_bytes_and_bounds(tags):
    d = tags["d"]
    _loc(tags, "d").set([1, 2, 3, 4, 5, 6])
    assert d.value == [1, 2, 3, 4, 5, 6]
    loc = _loc(tags, "d[1,0]")
    assert loc.get() == 4 and loc.get(3) == [4, 5, 6]
    assert loc.read_bytes(2) == struct.pack("<2i", 4, 5)
    assert loc.type_bytes == b"\xc4\x00"
    loc.write_bytes(struct.pack("<2i", 40, 50) + b"trailing", 2)
    assert d.value == [1, 2, 3, 40, 50, 6]
    with pytest.raises(TagPathError) as err:
        loc.read_bytes(4)
    assert (err.value.status, err.value.ext_status) == (0xFF, (0x2105,))
    with pytest.raises(TagValueError):
        loc.write_bytes(b"\0\0\0", 1)
    bit = _loc(tags, "d[0,0].1")
    bit.set(True)
    assert d.value[0] == 3 and bit.get() is True and bit.read_bytes() == b"\x01"
    bit.write_bytes(b"\x00")
    assert d.value[0] == 1
    b = _loc(tags, "b")
    b.set([True] * 40)
    assert tags["b"].data == bytes([0xFF] * 5 + [0] * 3)
    assert _loc(tags, "b[39]").get() is True and _loc(tags, "b[40]").get() is False
    assert _loc(tags, "b[1]", bool_index="word").get() == 0xFF
    u = _loc(tags, "u[1]")
    assert u.type_bytes == struct.pack("<HH", 0x02A0, tags["u"].data_type.handle)
    u.set({"name": "abc"})
    assert _loc(tags, "u[1].name").get() == "abc"
    assert tags["u"].value[1]["name"] == "abc"


def test_alias_tags_continue_from_their_target(tags):
    alias = AliasTag("a", "d[1,0]")
    with pytest.raises(TagPathError, match="not bound"):
        alias.root()
    alias.target = _loc(tags, "d[1,0]")
    alias.value = 77
    assert tags["d"].value[3] == 77
    bit = AliasTag("bit", "i.9")
    bit.target = _loc(tags, "i.9")
    assert bit.symbol_type == 0x01C1  # BOOL, bit 1 of the byte holding bit 9
    arr = AliasTag("arr", "u[0].r")
    arr.target = _loc(tags, "u[0].r")
    assert resolve_path(arr, [("index", (1,))]).offset == 120
    assert arr.symbol_dims == (2, 0, 0)


def test_tag_construction_checks():
    assert Tag("b", BOOL, (10,)).dims == (32,)  # BOOL arrays round up to whole DWORDs
    with pytest.raises(ValueError, match="at most 3"):
        Tag("t", DINT, (1, 2, 3, 4))
    with pytest.raises(ValueError, match="one dimension"):
        Tag("t", BOOL, (32, 2))
    with pytest.raises(ValueError, match="needs 8"):
        Tag("t", DINT, (2,), data=b"\0")
    with pytest.raises(ValueError, match="external access"):
        Tag("t", DINT, external_access="sometimes")
    assert Tag("t", DINT, program="P").qualified_name == "Program:P.t"


def test_read_modify_write(tags):
    d = _loc(tags, "d[0,1]")
    d.set(0x0F0F)
    d.modify(b"\x20\x00\x00\x00", b"\xff\xff\xff\xfe")  # set bit 5, clear bit 24
    assert d.get() == 0x0F2F
    d.modify(b"\x00\x00\x00\x00", b"\xfe\xff\xff\xff")
    assert d.get() == 0x0F2E
    d.modify(b"\x00\x00", b"\x00\xff")  # a 2-byte mask on the low bytes
    assert d.get() == 0x0F00
    word = _loc(tags, "b[1]", bool_index="word")
    word.modify(b"\x01\x00\x00\x80", b"\xff\xff\xff\xff")
    assert _loc(tags, "b[32]").get() and _loc(tags, "b[63]").get()
    bit = _loc(tags, "i.9")
    bit.modify(b"\x02", b"\xff")
    assert tags["i"].value == 0x200
    with pytest.raises(TagValueError, match="8-byte mask on DINT"):
        d.modify(bytes(8), bytes(8))
    with pytest.raises(TagValueError, match="masks of 4 and 8 bytes"):
        d.modify(bytes(4), bytes(8))
    with pytest.raises(TagPathError) as err:
        _loc(tags, "u[0].r[0]").modify(bytes(4), bytes(4))
    assert err.value.ext_status == (0x2107,)
    with pytest.raises(TagPathError):
        _loc(tags, "d").modify(bytes(4), bytes(4))
