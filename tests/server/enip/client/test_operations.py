"""The client's operation syntax (spec 2.1.4-2.1.5): cpppo.server.enip.operations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpppo.server.enip.client.operations import (
    OperationError,
    cip_type,
    format_path,
    parse_int,
    parse_operation,
    parse_operations,
    parse_path,
    parse_route_path,
    parse_send_path,
)


def test_spec_example_write_real():
    """The spec's own example output of parse_operations."""
    assert list(parse_operations(["A_Tag[1-2]=(REAL)111,222"])) == [
        {
            "data": [111.0, 222.0],
            "elements": 2,
            "method": "write",
            "path": [{"symbolic": "A_Tag"}, {"element": 1}],
            "tag_type": 202,
        }
    ]


@pytest.mark.parametrize(
    "text, path, elements",
    [
        ("SCADA", [{"symbolic": "SCADA"}], 1),
        ("SCADA[1]", [{"symbolic": "SCADA"}, {"element": 1}], 1),
        ("SCADA[1-10]", [{"symbolic": "SCADA"}, {"element": 1}], 10),
        ("SCADA[ 0 - 10 ]", [{"symbolic": "SCADA"}, {"element": 0}], 11),
        ("SCADA[0x10]", [{"symbolic": "SCADA"}, {"element": 16}], 1),
        (
            "Tag.Member[2].X",
            [{"symbolic": "Tag"}, {"symbolic": "Member"}, {"element": 2}, {"symbolic": "X"}],
            1,
        ),
        (
            "Tag.Member[2].X[3-4]",
            [
                {"symbolic": "Tag"},
                {"symbolic": "Member"},
                {"element": 2},
                {"symbolic": "X"},
                {"element": 3},
            ],
            2,
        ),
        ("Program:Main.Count", [{"symbolic": "Program:Main"}, {"symbolic": "Count"}], 1),
        ("Temp\u00e9rature", [{"symbolic": "Temp\u00e9rature"}], 1),
        ("@0x2/1/1", [{"class": 2}, {"instance": 1}, {"attribute": 1}], 1),
        ("@0xFF/01/0x1A", [{"class": 255}, {"instance": 1}, {"attribute": 26}], 1),
        ("@26/0o32/0b11010", [{"class": 26}, {"instance": 26}, {"attribute": 26}], 1),
        ("@1/1", [{"class": 1}, {"instance": 1}], 1),
        ("@1/1/7/3", [{"class": 1}, {"instance": 1}, {"attribute": 7}, {"element": 3}], 1),
        ("@1/1/7[3-5]", [{"class": 1}, {"instance": 1}, {"attribute": 7}, {"element": 3}], 3),
        ('@4/5/{"connection":100}', [{"class": 4}, {"instance": 5}, {"connection": 100}], 1),
        ('@0x04/5/{"connection":100}', [{"class": 4}, {"instance": 5}, {"connection": 100}], 1),
        (
            '@{"class":4}/5/{"connection":100}',
            [{"class": 4}, {"instance": 5}, {"connection": 100}],
            1,
        ),
        (
            '@{"port":123,"link":"130.151.137.105"}/{ "class":4}/{ "instance":3}/7',
            [
                {"port": 123, "link": "130.151.137.105"},
                {"class": 4},
                {"instance": 3},
                {"attribute": 7},
            ],
            1,
        ),
        ('@{"symbolic":"Tag"}/{"element":2}', [{"symbolic": "Tag"}, {"element": 2}], 1),
    ],
)
def test_read_paths(text, path, elements):
    """Reads: symbolic and numeric paths, ranges, JSON segments, number bases."""
    assert parse_operation(text) == {"method": "read", "path": path, "elements": elements}


@pytest.mark.parametrize(
    "text, tag_type, data, elements",
    [
        ("SCADA=1", 0xC3, [1], 1),
        ("SCADA[1]=99", 0xC3, [99], 1),
        ("SCADA[1-3]=1,2,3", 0xC3, [1, 2, 3], 3),
        ("SCADA=1,2,3", 0xC3, [1, 2, 3], 3),
        ("SCADA[1-2]=9.9,10", 0xCA, [9.9, 10.0], 2),
        ("SCADA[4-6]=(DINT)1,2,3", 0xC4, [1, 2, 3], 3),
        ("SCADA[0-1]=(SINT)-128,255", 0xC2, [-128, 255], 2),
        ("SCADA=(USINT)255", 0xC6, [255], 1),
        ("SCADA=(UINT)0xFFFF", 0xC7, [65535], 1),
        ("SCADA=(UDINT)4294967295", 0xC8, [4294967295], 1),
        ("SCADA=(LINT)-9223372036854775808", 0xC5, [-(2**63)], 1),
        ("SCADA=(LREAL)1e300", 0xCB, [1e300], 1),
        ("SCADA=(REAL)1", 0xCA, [1.0], 1),
        ("SCADA[0-2]=(BOOL)true,0,1", 0xC1, [True, False, True], 3),
        ('TEXT[1]=(SSTRING)"Hello, world!"', 0xDA, ["Hello, world!"], 1),
        ('TEXT[1-2]=(SSTRING)a,"b,c"', 0xDA, ["a", "b,c"], 2),
        ('NAME=(STRING)"abc"', 0x02A0, ["abc"], 1),
        ("Tag_Name[0-3]=[0,1,2,3]", 0xC3, [0, 1, 2, 3], 4),
        ("SCADA = 5", 0xC3, [5], 1),
        ("@511/01/26[99]=1", 0xC3, [1], 1),
        ("@1/1/7=(SINT)1,2", 0xC2, [1, 2], 2),
    ],
)
def test_writes(text, tag_type, data, elements):
    """Writes: value lists, REAL deduction from a '.', casts, quoted strings."""
    op = parse_operation(text)
    assert op["method"] == "write"
    assert op["tag_type"] == tag_type
    assert op["data"] == data
    assert op["elements"] == elements
    assert "offset" not in op
    assert all(type(v) is type(d) for v, d in zip(op["data"], data))


def test_fragment_offset_write():
    """Spec: Tag[0-9]+16=(DINT)4,5,6,7,8,9 writes elements 4..9 of 10 with a byte offset."""
    op = parse_operation("Tag[0-9]+16=(DINT)4,5,6,7,8,9")
    assert op == {
        "method": "write",
        "path": [{"symbolic": "Tag"}, {"element": 0}],
        "elements": 10,
        "offset": 16,
        "tag_type": 0xC4,
        "data": [4, 5, 6, 7, 8, 9],
    }


def test_offset_read_and_fragment_flag():
    """A +offset on a read, and fragment=True forcing offset 0 everywhere it is absent."""
    assert parse_operation("Tag[0-9]+8")["offset"] == 8
    ops = list(parse_operations(["A", "B+4", {"path": "@1/1/1"}], fragment=True))
    assert [op["offset"] for op in ops] == [0, 4, 0]
    assert "offset" not in parse_operation("A")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("Tag[1-2]=1", "count must match"),
        ("Tag[1-2]=1,2,3", "count must match"),
        ("Tag=", "empty value"),
        ("Tag=1,,2", "empty value"),
        ("Tag[2-1]", "range"),
        ("Tag[", "element index"),
        ("Tag[x]", "not an integer"),
        ("Tag[-1]", "bad element index"),
        ("Tag[1-3].X", "only the last component"),
        ("Tag..X", "tag name"),
        ("[1]", "tag name"),
        ("Ta g", "unexpected 'g'"),
        ("Tag]", "unexpected"),
        ("T=(FOO)1", "unknown cast"),
        ("T=(SINT)256", "out of range"),
        ("T=(SINT)-129", "out of range"),
        ("T=(USINT)-1", "out of range"),
        ("T=(BOOL)2", "out of range"),
        ("T=(DINT)1.5", "not an integer"),
        ("T=abc", "not an integer"),
        ("T=(REAL)abc", "not a number"),
        ('T=(SSTRING)"unterminated', "bad value list"),
        ("SCADA[2-3]+8=(DINT)4,5", "overrun"),
        ("T[0-3]+3=(DINT)1", "not a multiple"),
        ("T[0-3]+4=(SSTRING)a", "fixed-size"),
        ("T+x", "not an integer"),
        ("T+-4", "negative byte offset"),
        ("T\u0100", "ISO-8859-1"),
        ("@", "empty numeric"),
        ("@1//2", "empty numeric"),
        ("@1/2/3/4/5", "too many numeric"),
        ("@1/x", "not an integer"),
        ("@{bad}", "bad JSON"),
        ('@{"class":-1}', "non-negative"),
        ('@{"class":1,"instance":2}', "one key"),
        ('@{"foo":1}', "one key"),
        ('@{"port":"x","link":1}', "port"),
        ("@1/1/7/2[3]", "element given twice"),
        ("@1/1/7 junk", "not an integer"),
    ],
)
def test_bad_operations(text, fragment):
    """Every malformed operation raises OperationError naming the operation and the problem."""
    with pytest.raises(OperationError) as info:
        parse_operation(text)
    message = str(info.value)
    assert fragment in message
    assert repr(text) in message


def test_not_a_string():
    """A non-string, non-dict operation is rejected clearly."""
    with pytest.raises(OperationError, match="string or dict"):
        list(parse_operations([42]))


def test_int_type_and_keywords():
    """int_type sets the type of uncast integers; keywords are copied unless already present."""
    op = parse_operation("@1/1/7=1,2", int_type="SINT")
    assert op["tag_type"] == 0xC2
    ops = list(
        parse_operations(
            ["A", {"path": [{"symbolic": "B"}], "route_path": []}],
            route_path=[{"port": 1, "link": 0}],
            send_path=None,
            timeout_ticks=10,
        )
    )
    assert ops[0]["route_path"] == [{"port": 1, "link": 0}]
    assert ops[0]["timeout_ticks"] == 10
    assert "send_path" not in ops[0]
    assert ops[1]["route_path"] == []


def test_dict_operations_pass_through_copied():
    """Dicts are copied (never mutated), paths may be strings, and the method is inferred."""
    original = {"path": [{"class": 1}, {"instance": 1}], "method": "get_attributes_all"}
    (op,) = parse_operations([original])
    assert op == original
    assert op is not original and op["path"][0] is not original["path"][0]
    (op,) = parse_operations([{"path": "SCADA[3]", "data": [1], "tag_type": 0xC3}])
    assert op["method"] == "write" and op["elements"] == 1
    assert op["path"] == [{"symbolic": "SCADA"}, {"element": 3}]
    with pytest.raises(OperationError, match="unknown method"):
        list(parse_operations([{"path": "A", "method": "frobnicate"}]))
    with pytest.raises(OperationError, match="needs 'data'"):
        list(parse_operations([{"path": "A", "method": "write"}]))
    with pytest.raises(OperationError, match="path"):
        list(parse_operations([{"path": 3}]))


def test_blank_lines_skipped():
    """Blank strings (e.g. empty lines from stdin) are skipped; newlines are stripped."""
    ops = list(parse_operations(["A\n", "\n", "B[1]\n"]))
    assert [op["path"][0]["symbolic"] for op in ops] == ["A", "B"]


def test_lazy():
    """parse_operations is a generator: an error surfaces only when its operation is reached."""
    ops = parse_operations(["A", "B[", "C"])
    assert next(ops)["path"] == [{"symbolic": "A"}]
    with pytest.raises(OperationError):
        next(ops)


@pytest.mark.parametrize(
    "text, value",
    [("0", 0), ("010", 10), ("0x1A", 26), ("0o32", 26), ("0b11010", 26), ("-5", -5), (" 7 ", 7)],
)
def test_parse_int(text, value):
    """Numbers: decimal with leading zeros, hex, octal, binary."""
    assert parse_int(text) == value


@pytest.mark.parametrize("text", ["", "x", "0x", "1.5", "0o8", "1 2"])
def test_parse_int_bad(text):
    """Things that are not integers."""
    with pytest.raises(OperationError):
        parse_int(text)


@pytest.mark.parametrize(
    "value, expect",
    [
        (None, None),
        (False, []),
        (0, []),
        ("false", []),
        ("0", []),
        ("", []),
        ("[]", []),
        ("1/0", [{"port": 1, "link": 0}]),
        ("1/0/2/192.168.1.2", [{"port": 1, "link": 0}, {"port": 2, "link": "192.168.1.2"}]),
        ('[{"link": 0, "port": 1}]', [{"port": 1, "link": 0}]),
        ('[{"link": 0}, {"port": 1}]', [{"port": 1, "link": 0}]),
        ('[{"port": 2, "link": "192.168.1.2"}]', [{"port": 2, "link": "192.168.1.2"}]),
        ([{"port": 1, "link": 3}], [{"port": 1, "link": 3}]),
    ],
)
def test_route_path(value, expect):
    """--route-path forms: default, none, port/link, JSON (split port/link dicts merged)."""
    assert parse_route_path(value) == expect


@pytest.mark.parametrize(
    "value", ["1", "[{bad", '[{"class": 1}]', '[{"port": 1}]', '[{"link": 0}, {"link": 1}]', 5.5]
)
def test_route_path_bad(value):
    """Bad route paths are rejected with OperationError."""
    with pytest.raises(OperationError):
        parse_route_path(value)


def test_send_path():
    """--send-path forms: default None, '' = none, @6/1."""
    assert parse_send_path(None) is None
    assert parse_send_path("") == []
    assert parse_send_path("@6/1") == [{"class": 6}, {"instance": 1}]
    assert parse_send_path([{"class": 6}, {"instance": 1}]) == [{"class": 6}, {"instance": 1}]
    with pytest.raises(OperationError):
        parse_send_path("6/1")


def test_parse_path():
    """Whole paths, without ranges or values."""
    assert parse_path("@6/1") == [{"class": 6}, {"instance": 1}]
    assert parse_path("A.B[2]") == [{"symbolic": "A"}, {"symbolic": "B"}, {"element": 2}]
    with pytest.raises(OperationError, match="range"):
        parse_path("A[1-2]")
    with pytest.raises(OperationError, match="unexpected"):
        parse_path("A=1")


def test_format_path():
    """Paths render back in operation syntax, as the client's printed lines show them."""
    assert format_path([{"class": 1}, {"instance": 1}]) == "@0x0001/1"
    assert format_path([{"class": 1}, {"instance": 1}, {"attribute": 7}]) == "@0x0001/1/7"
    assert format_path([{"symbolic": "SCADA"}, {"element": 1}], count=1) == "SCADA[1-1]"
    assert format_path([{"symbolic": "SCADA"}, {"element": 0}], count=11) == "SCADA[0-10]"
    assert format_path([{"symbolic": "SCADA"}, {"element": 4}]) == "SCADA[4]"
    assert format_path([{"symbolic": "A"}, {"element": 1}, {"symbolic": "B"}]) == "A[1].B"
    assert format_path([{"class": 4}, {"instance": 5}, {"connection": 100}]) == (
        '@0x0004/5/{"connection":100}'
    )
    assert format_path("Already text") == "Already text"


def test_cip_type():
    """Type lookup by code, name or class; 0x02A0 is the Logix STRING structure."""
    assert cip_type(0xC4).name == "DINT"
    assert cip_type("real").code == 0xCA
    assert cip_type(0x02A0).size == 88
    assert cip_type(cip_type(0xC3)) is cip_type(0xC3)
    with pytest.raises(OperationError):
        cip_type(0x1234)
    with pytest.raises(OperationError):
        cip_type("NOPE")


_name = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF).filter(
        lambda c: c not in "[].+=@/{},\"'" and not c.isspace()
    ),
    min_size=1,
    max_size=12,
)


@given(
    names=st.lists(_name, min_size=1, max_size=3), first=st.integers(0, 9999), n=st.integers(1, 50)
)
def test_roundtrip_symbolic(names, first, n):
    """format_path(parse(x)) renders the same tag and range back (hypothesis)."""
    text = ".".join(names) + f"[{first}-{first + n - 1}]"
    op = parse_operation(text)
    assert op["elements"] == n
    assert format_path(op["path"], count=op["elements"]) == text


@given(values=st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=20))
def test_roundtrip_dint_values(values):
    """Any DINT values written come back exactly (hypothesis)."""
    text = f"T[0-{len(values) - 1}]=(DINT)" + ",".join(map(str, values))
    assert parse_operation(text)["data"] == values
