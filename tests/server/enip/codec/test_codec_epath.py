"""Byte-vector tests of EPATH segments (cpppo.server.enip.codec.epath)."""

import re

import pytest

from cpppo.server.enip.codec import epath
from cpppo.server.enip.codec.errors import DecodeError, EncodeError


@pytest.mark.parametrize(
    ("segments", "padded", "packed"),
    [
        ([{"class": 2}, {"instance": 1}], "20022401", None),
        ([{"class": 6}, {"instance": 1}], "20062401", None),
        ([{"class": 0x6B}, {"instance": 300}], "206b25002c01", "206b252c01"),
        ([{"instance": 0x12345678}], "260078563412", "2678563412"),
        ([{"attribute": 7}], "3007", None),
        ([{"attribute": 0x1234}], "31003412", "313412"),
        ([{"connection": 100}], "2c64", None),
        ([{"connection": 0x100}], "2d000001", "2d0001"),
        ([{"element": 12}], "280c", None),
        ([{"element": 256}], "29000001", "290001"),
        ([{"element": 70000}], "2a0070110100", "2a70110100"),
        ([{"symbolic": "SCADA"}], "910553434144410" + "0", "91055343414441"),
        ([{"symbolic": "Tags"}], "910454616773", None),
        ([{"port": 1, "link": 0}], "0100", None),
        ([{"port": 18, "link": 1}], "0f120001", None),
        (
            [{"port": 2, "link": "130.151.137.105"}],
            "120f" + b"130.151.137.105".hex() + "00",
            None,
        ),
        ([{"port": 2, "link": "10.0.0.10"}], "1209" + b"10.0.0.10".hex() + "00", None),
        (
            [
                {
                    "key": {
                        "vendor": 1,
                        "device_type": 14,
                        "product_code": 54,
                        "major": 20,
                        "minor": 11,
                        "compatibility": True,
                    }
                }
            ],
            "340401000e003600940b",
            None,
        ),
    ],
)
def test_segments_both_ways(segments, padded, packed):
    assert epath.encode_epath(segments).hex() == padded
    assert epath.decode_epath(bytes.fromhex(padded)) == segments
    packed = packed or padded
    assert epath.encode_epath(segments, padded=False).hex() == packed
    assert epath.decode_epath(bytes.fromhex(packed), padded=False) == segments


def test_read_frag_path_from_capture():
    # frame 14 of controllogix-SCADA-read-write.pcapng: 52 04 91 05 'SCADA' 00 ...
    wire = bytes.fromhex("910553434144410028" + "0c")
    assert epath.decode_epath(wire) == [{"symbolic": "SCADA"}, {"element": 12}]


def test_decode_accepts_wider_forms_than_needed():
    # pylogix/pycomm3 may use 16-bit instance segments for small ids; we decode them all
    assert epath.decode_epath(bytes.fromhex("206b25000500")) == [{"class": 0x6B}, {"instance": 5}]
    assert epath.decode_epath(bytes.fromhex("2a0005000000")) == [{"element": 5}]


def test_split_port_and_link_merge():
    # the spec's default route path form [{"link": 0}, {"port": 1}]
    assert epath.encode_epath([{"link": 0}, {"port": 1}]) == b"\x01\x00"
    assert epath.encode_epath([{"port": 1}, {"link": 3}, {"class": 2}]) == b"\x01\x03\x20\x02"
    route, rest = epath.split_route_segments([{"link": 0}, {"port": 1}, {"class": 2}])
    assert route == [{"port": 1, "link": 0}] and rest == [{"class": 2}]


def test_sized_and_route_paths():
    segs = [{"class": 2}, {"instance": 1}]
    assert epath.encode_sized_epath(segs).hex() == "0220022401"
    assert epath.decode_sized_epath(bytes.fromhex("ff0220022401"), 1) == (segs, 6)
    route = [{"port": 1, "link": 0}]
    assert epath.encode_route_path(route).hex() == "01000100"
    assert epath.decode_route_path(bytes.fromhex("01000100")) == (route, 4)
    assert epath.encode_route_path([]) == b"\x00\x00"
    assert epath.decode_route_path(b"\x00\x00") == ([], 2)


@pytest.mark.parametrize(
    "wire",
    [
        "20",  # 8-bit class without its value
        "2100",  # 16-bit class truncated
        "220001",  # 32-bit truncated
        "23",  # reserved logical format
        "9105414243",  # symbolic runs past end
        "9100",  # empty symbolic name
        "910141",  # odd symbolic without pad (padded)
        "12",  # extended port without size
        "120541",  # extended link runs past
        "1200",  # empty link address
        "0f1200",  # extended port number, link missing
        "00",  # port 0 is reserved
        "0100" + "e0",  # unknown segment type
        "38",  # unsupported logical type (service id)
        "3403",  # electronic key truncated
        "340501000e003600940b",  # key format 5
        "120f" + b"130.151.137.105".hex(),  # padded port segment lacks pad
    ],
)
def test_decode_rejects_malformed(wire):
    with pytest.raises(DecodeError) as info:
        epath.decode_epath(bytes.fromhex(wire))
    assert info.value.status == 0x04


def test_sized_paths_reject_overruns():
    for wire, decode in (
        ("", epath.decode_sized_epath),
        ("0320022401", epath.decode_sized_epath),
        ("00", epath.decode_route_path),
        ("02000100", epath.decode_route_path),
    ):
        with pytest.raises(DecodeError):
            decode(bytes.fromhex(wire))


@pytest.mark.parametrize(
    "segments",
    [
        [{"class": -1}],
        [{"instance": 2**32}],
        [{"class": "2"}],
        [{"class": True}],
        [{"symbolic": ""}],
        [{"symbolic": "x" * 256}],
        [{"symbolic": "\u20ac"}],
        [{"port": 0, "link": 1}],
        [{"port": 1, "link": 256}],
        [{"port": 1, "link": ""}],
        [{"port": 1}],
        [{"bogus": 1}],
        [{"class": 1, "instance": 2}],
        ["class"],
        [{"key": {"vendor": 1}}],
    ],
)
def test_encode_rejects(segments):
    with pytest.raises(EncodeError):
        epath.encode_epath(segments)


def test_too_long_sized_path():
    with pytest.raises(EncodeError):
        epath.encode_sized_epath([{"symbolic": "x" * 255}, {"symbolic": "y" * 255}])


@pytest.mark.parametrize(
    ("value", "expect"),
    [
        (None, None),
        (False, []),
        (0, []),
        *[(text, []) for text in ("", " 0 ", "false", "No", "none", "null", "[]")],
        ("1/0", [{"port": 1, "link": 0}]),
        ("0x1/010", [{"port": 1, "link": 10}]),
        ("1/0/2/10.0.0.1", [{"port": 1, "link": 0}, {"port": 2, "link": "10.0.0.1"}]),
        (' [{"link": 0, "port": 1}] ', [{"port": 1, "link": 0}]),
        ('{"port": 1, "link": 3}', [{"port": 1, "link": 3}]),
        ('[{"link": 0}, {"port": 1}]', [{"port": 1, "link": 0}]),
        ([{"port": 2, "link": "10.0.0.1"}], [{"port": 2, "link": "10.0.0.1"}]),
        ({"port": 1, "link": 0}, [{"port": 1, "link": 0}]),
    ],
)
def test_parse_route_path(value, expect):
    """Every route-path form the simulator's and the client's command lines accept."""
    assert epath.parse_route_path(value) == expect
    if expect:
        assert epath.decode_route_path(epath.encode_route_path(expect))[0] == expect


@pytest.mark.parametrize(
    "value",
    [
        "1",
        "x/0",
        "[{bad",
        "[1, 2]",
        '[{"class": 1}]',
        '[{"port": 1}]',
        '[{"link": 0}, {"link": 1}]',
        '[{"port": 70000, "link": 0}]',
        '[{"port": true, "link": 0}]',
        '[{"port": 1, "link": null}]',
        5.5,
    ],
)
def test_parse_route_path_rejects(value):
    with pytest.raises(EncodeError, match="route path"):
        epath.parse_route_path(value)


@pytest.mark.parametrize(
    ("value", "meant"),
    [
        ('[{"link": 0, "port": "192.168.1.2"}]', '[{"port": 2, "link": "192.168.1.2"}]'),
        ({"link": 3, "port": "plc.example"}, '[{"port": 2, "link": "plc.example"}]'),
        (
            '[{"port": 1, "link": 0}, {"link": 0}, {"port": "10.0.0.9"}]',
            '[{"port": 1, "link": 0}, {"port": 2, "link": "10.0.0.9"}]',
        ),
    ],
)
def test_parse_route_path_swapped(value, meant):
    """The spec's swapped form (an address as the port) is refused, naming the form meant."""
    with pytest.raises(EncodeError, match=re.escape(f"did you mean {meant}?")):
        epath.parse_route_path(value)
