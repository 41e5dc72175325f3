"""Byte-vector tests of the CIP data types (cpppo.server.enip.codec.types)."""

import math

import pytest

from cpppo.server.enip.codec import types as t
from cpppo.server.enip.codec.errors import DecodeError, EncodeError


@pytest.mark.parametrize(
    ("cls", "code", "values", "wire"),
    [
        (t.BOOL, 0xC1, [True, False], "ff00"),
        (t.SINT, 0xC2, [-1, 127], "ff7f"),
        (t.INT, 0xC3, [-2, 0x1234], "feff3412"),
        (t.DINT, 0xC4, [7, -(2**31)], "0700000000000080"),
        (t.LINT, 0xC5, [-1], "ffffffffffffffff"),
        (t.USINT, 0xC6, [255, 1], "ff01"),
        (t.UINT, 0xC7, [0xFFFF], "ffff"),
        (t.UDINT, 0xC8, [0x11021E01], "011e0211"),
        (t.ULINT, 0xC9, [2**64 - 1], "ffffffffffffffff"),
        (t.REAL, 0xCA, [1.5], "0000c03f"),
        (t.LREAL, 0xCB, [-2.0], "00000000000000c0"),
        (t.WORD, 0xD2, [0x8001], "0180"),
        (t.DWORD, 0xD3, [0xFFFFFFFF], "ffffffff"),
        (t.LWORD, 0xD4, [1], "0100000000000000"),
        (t.SSTRING, 0xDA, ["Hi", ""], "02486900"),
        (t.STRING, 0xD0, ["abc"], "0300616263"),
    ],
)
def test_encode_decode(cls, code, values, wire):
    assert cls.code == code
    assert t.TYPES_BY_CODE[code] is cls
    assert cls.encode(values).hex() == wire
    assert cls.decode(bytes.fromhex(wire)) == values
    # instances behave like the class (the simulator keeps an instance as Attribute.parser)
    assert cls().decode(memoryview(bytes.fromhex(wire))) == values


def test_sizes_and_ranges():
    assert [c.size for c in (t.SINT, t.INT, t.DINT, t.LINT, t.REAL, t.LREAL)] == [1, 2, 4, 8, 4, 8]
    assert t.SSTRING.size is None
    assert (t.INT.min, t.INT.max) == (-32768, 32767)
    assert (t.UDINT.min, t.UDINT.max) == (0, 2**32 - 1)


def test_bool_any_nonzero_is_true_and_scalar_encode():
    assert t.BOOL.decode(b"\x01\x00\xff\x02") == [True, False, True, True]
    assert t.BOOL.encode(1) == b"\xff"
    assert t.DINT.encode(5) == b"\x05\x00\x00\x00"


def test_count_ignores_trailing_bytes():
    # pycomm3 sends trailing duplicate bytes after a written value
    assert t.DINT.decode(bytes.fromhex("070000002600"), count=1) == [7]
    assert t.SSTRING.decode(b"\x01A\x01B", count=1) == ["A"]


def test_real_special_values():
    assert math.isnan(t.REAL.decode(t.REAL.encode([float("nan")]))[0])
    assert t.REAL.decode(t.REAL.encode([float("inf")])) == [float("inf")]


@pytest.mark.parametrize(
    ("cls", "wire", "count"),
    [
        (t.DINT, "010203", None),  # partial element
        (t.DINT, "01020304", 2),  # not enough for count
        (t.INT, "", 1),
        (t.SSTRING, "0541", None),  # length runs past end
        (t.STRING, "05", None),  # length word truncated
        (t.LOGIX_STRING, "00" * 87, None),
        (t.LOGIX_STRING, "53000000" + "00" * 84, None),  # LEN 83 > 82
        (t.DINT, "01020304", -1),
    ],
)
def test_decode_rejects_malformed(cls, wire, count):
    with pytest.raises(DecodeError) as info:
        cls.decode(bytes.fromhex(wire), count)
    assert isinstance(info.value, ValueError)


def test_not_enough_data_status():
    with pytest.raises(DecodeError) as info:
        t.DINT.decode(b"\x00\x00", count=1)
    assert info.value.status == 0x13


@pytest.mark.parametrize(
    ("cls", "values"),
    [
        (t.SINT, [128]),
        (t.USINT, [-1]),
        (t.INT, [40000]),
        (t.UDINT, [2**32]),
        (t.REAL, [1e300]),
        (t.DINT, ["x"]),
        (t.SSTRING, ["x" * 256]),
        (t.SSTRING, ["\u20ac"]),
        (t.LOGIX_STRING, ["x" * 83]),
    ],
)
def test_encode_rejects_out_of_range(cls, values):
    with pytest.raises(EncodeError):
        cls.encode(values)


def test_logix_string_structure():
    s = t.LOGIX_STRING
    assert (s.code, s.handle, s.size) == (0x02A0, 0x0FCE, 88)
    assert s.type_bytes == bytes.fromhex("a002ce0f")
    wire = s.encode(["Hello", ""])
    assert len(wire) == 176
    assert wire[:9] == bytes.fromhex("0500000048656c6c6f")
    assert wire[9:88] == bytes(79)
    assert s.decode(wire) == ["Hello", ""]
    assert s.decode(wire, count=1) == ["Hello"]


def test_type_named():
    assert t.type_named("dint") is t.DINT
    assert t.type_named(" Real ") is t.REAL
    assert t.type_named("STRING") is t.LOGIX_STRING
    assert t.type_named("cip_string") is t.STRING
    assert t.type_named("sstring") is t.SSTRING
    with pytest.raises(KeyError, match="NOPE"):
        t.type_named("NOPE")
    assert isinstance(t.type_named("real")(), t.REAL)


def test_string_family_types_match_a_real_controller():
    # structure sizes and handles from pycomm3-all_tags.json (a real v20 controller)
    s480 = t.logix_string_type("STRING480", 480, 7417)
    s20 = t.logix_string_type("STRING20", 20, 33018)
    assert (s480.size, s20.size) == (484, 24)
    assert issubclass(s480, t.LOGIX_STRING) and s480.name == "STRING480"
    assert s20.type_bytes == bytes.fromhex("a002") + (33018).to_bytes(2, "little")
    wire = s20.encode(["twenty characters!!!", ""])
    assert len(wire) == 48 and wire[:4] == b"\x14\x00\x00\x00"
    assert s20.decode(wire) == ["twenty characters!!!", ""]
    with pytest.raises(EncodeError):
        s20.encode(["x" * 21])
    with pytest.raises(DecodeError):
        s20.decode(bytes.fromhex("15000000") + bytes(20))
    with pytest.raises(DecodeError):
        s480.decode(bytes(483))
    with pytest.raises(EncodeError):
        t.logix_string_type("BAD", 0, 1)
