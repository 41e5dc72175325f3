"""Byte-vector tests of CIP requests/replies (cpppo.server.enip.codec.cip)."""

import pytest

from cpppo.server.enip.codec import cip
from cpppo.server.enip.codec.cip import Reply, Request, Service, Status
from cpppo.server.enip.codec.errors import DecodeError, EncodeError


def test_service_codes_and_aliases():
    assert Service.FORWARD_CLOSE == Service.READ_MODIFY_WRITE == 0x4E
    assert Service.UNCONNECTED_SEND == Service.READ_TAG_FRAGMENTED == 0x52
    assert Service.GET_INSTANCE_ATTRIBUTE_LIST == 0x55
    assert Service.LARGE_FORWARD_OPEN == 0x5B
    assert Status.PATH_SEGMENT_ERROR == 4 and Status.GENERAL_ERROR == 0xFF
    assert cip.status_text(0x04) == "Path segment error"
    assert "0x2105" in cip.status_text(0xFF, (0x2105,))
    assert cip.status_text(0x77) == "Unknown status 0x77"


def test_request_vector_from_capture():
    # frame 8 of controllogix-SCADA-read-write.pcapng: Get Attributes All on class 0x66
    wire = bytes.fromhex("010220662401")
    req = cip.decode_request(wire)
    assert req == Request(0x01, [{"class": 0x66}, {"instance": 1}], memoryview(b""))
    assert cip.encode_request(req.service, req.path, req.data) == wire
    assert cip.encode_request(1, b"\x20\x66\x24\x01") == wire
    service, path, data = cip.split_request(wire + b"\x99")
    assert (service, bytes(path), bytes(data)) == (1, b"\x20\x66\x24\x01", b"\x99")


def test_read_tag_request_vector():
    wire = bytes.fromhex("4c04 9105 5343 4144 4100 0100")
    req = cip.decode_request(wire)
    assert req.service == Service.READ_TAG
    assert req.path == [{"symbolic": "SCADA"}]
    assert bytes(req.data) == b"\x01\x00"
    assert cip.encode_request(0x4C, [{"symbolic": "SCADA"}], b"\x01\x00") == wire


@pytest.mark.parametrize(
    ("wire", "status"),
    [("", 0x13), ("4c", 0x13), ("4c02", 0x04), ("4c0391055343", 0x04), ("4c01ee00", 0x04)],
)
def test_request_rejects(wire, status):
    with pytest.raises(DecodeError) as info:
        cip.decode_request(bytes.fromhex(wire))
    assert info.value.status == status


def test_request_encode_errors():
    with pytest.raises(EncodeError):
        cip.encode_request(0x80, [{"class": 1}])
    with pytest.raises(EncodeError):
        cip.encode_request(0x01, b"\x20")


def test_reply_vectors_from_capture():
    # frame 16: Read Tag Fragmented reply, INT 0x8027
    wire = bytes.fromhex("d2000000c3002780")
    rpy = cip.decode_reply(wire)
    assert rpy == Reply(0x52, 0, (), memoryview(bytes.fromhex("c3002780")))
    assert cip.encode_reply(0x52, data=rpy.data) == wire
    # frame 22: Write Tag Fragmented reply
    assert cip.decode_reply(bytes.fromhex("d3000000")) == Reply(0x53, 0, (), memoryview(b""))


def test_reply_with_extended_status():
    wire = cip.encode_reply(0x4D, 0xFF, (0x2107,))
    assert wire.hex() == "cd00ff010721"
    assert cip.decode_reply(wire) == Reply(0x4D, 0xFF, (0x2107,), memoryview(b""))
    wire = cip.encode_reply(0x54, 0x01, (0x0100, 0x0001), b"\xaa")
    assert wire.hex() == "d40001020001" + "0100" + "aa"
    assert cip.decode_reply(wire).ext_status == (0x0100, 0x0001)


@pytest.mark.parametrize("wire", ["", "cc0000", "4c000000", "cc000002010000"])
def test_reply_rejects(wire):
    with pytest.raises(DecodeError):
        cip.decode_reply(bytes.fromhex(wire))


def test_multiple_service_packet_vectors():
    r1 = cip.encode_request(0x4C, [{"symbolic": "A"}], b"\x01\x00")
    r2 = cip.encode_request(0x4C, [{"symbolic": "BB"}], b"\x01\x00")
    body = cip.encode_multiple([r1, r2])
    assert body[:6] == bytes.fromhex("0200 0600 0e00")
    assert body[6:] == r1 + r2
    assert [bytes(m) for m in cip.decode_multiple(body)] == [r1, r2]
    req = cip.encode_request(0x0A, cip.MESSAGE_ROUTER_PATH, body)
    assert req[:6] == bytes.fromhex("0a0220022401")
    assert cip.decode_request(req).path == list(cip.MESSAGE_ROUTER_PATH)
    assert cip.encode_multiple([]) == b"\x00\x00"
    assert cip.decode_multiple(b"\x00\x00") == []


@pytest.mark.parametrize(
    "wire",
    [
        "",
        "ffff",  # 65535 offsets announced, none present: rejected before allocating
        "0200 0600",  # offset table truncated
        "0100 0100",  # offset inside the table
        "0200 0800 0600 0000 0000",  # out of order
        "0100 0900 0000",  # beyond the end
    ],
)
def test_multiple_rejects(wire):
    with pytest.raises(DecodeError):
        cip.decode_multiple(bytes.fromhex(wire))


def test_attribute_ids():
    wire = cip.encode_attribute_ids([1, 2, 3, 5, 6, 8, 10])
    assert wire.hex() == "07000100020003000500060008000a00"
    assert cip.decode_attribute_ids(wire) == [1, 2, 3, 5, 6, 8, 10]
    for bad in ("", "0200 0100", "0100 0100 00"):
        with pytest.raises(DecodeError):
            cip.decode_attribute_ids(bytes.fromhex(bad))


def test_attribute_list_reply():
    # Template 0x6C Get Attribute List reply: attrs 4, 5, 2, 1 (a real STRING template)
    wire = cip.encode_attribute_list_reply(
        [
            (4, 0, b"\x0f\x00\x00\x00"),
            (5, 0, b"\x58\x00\x00\x00"),
            (2, 0, b"\x02\x00"),
            (1, 0, b"\xce\x0f"),
        ]
    )
    assert wire == bytes.fromhex(
        "0400 0400 0000 0f000000 0500 0000 58000000 0200 0000 0200 0100 0000 ce0f"
    )
    sizes = {1: 2, 2: 2, 3: 2, 4: 4, 5: 4}
    got = cip.decode_attribute_list_reply(wire, sizes)
    assert [(a.id, a.status, bytes(a.value)) for a in got] == [
        (4, 0, b"\x0f\x00\x00\x00"),
        (5, 0, b"\x58\x00\x00\x00"),
        (2, 0, b"\x02\x00"),
        (1, 0, b"\xce\x0f"),
    ]
    # a failed attribute carries no value
    wire = cip.encode_attribute_list_reply([(9, 0x14, b"ignored"), (1, 0, b"\x01\x00")])
    assert wire.hex() == "020009001400010000000100"
    got = cip.decode_attribute_list_reply(wire, sizes)
    assert [(a.id, a.status, bytes(a.value)) for a in got] == [(9, 0x14, b""), (1, 0, b"\x01\x00")]
    # unknown size allowed only for the last entry
    got = cip.decode_attribute_list_reply(bytes.fromhex("0100 0700 0000 aabbcc"), {})
    assert bytes(got[0].value) == b"\xaa\xbb\xcc"
    for bad in (
        "",
        "0500 0100",
        "0200 0700 0000 aa 0100 0000 0100",
        "0100 0100 0000 01",
        "0100 0100 0000 010000",
    ):
        with pytest.raises(DecodeError):
            cip.decode_attribute_list_reply(bytes.fromhex(bad), sizes)


def test_set_attribute_list():
    wire = cip.encode_set_attribute_list([(3, b"\x01\x00"), (4, b"\x02\x00\x00\x00")])
    assert wire.hex() == "020003000100040002000000"
    got = cip.decode_set_attribute_list(wire, {3: 2, 4: 4})
    assert [(i, bytes(v)) for i, v in got] == [(3, b"\x01\x00"), (4, b"\x02\x00\x00\x00")]
    reply = cip.encode_set_attribute_list_reply([(3, 0), (4, 0x0E)])
    assert reply.hex() == "02000300000004000e00"
    assert cip.decode_set_attribute_list_reply(reply) == [(3, 0), (4, 0x0E)]
    for bad in ("", "0300 0100", "0300 0300 0100 0900 01 0300 0100", "0100 0300 010000"):
        with pytest.raises(DecodeError):
            cip.decode_set_attribute_list(bytes.fromhex(bad), {3: 2})
    with pytest.raises(DecodeError):
        cip.decode_set_attribute_list_reply(bytes.fromhex("0200 0300 0000"))


def test_type_refs():
    assert cip.encode_type(0xC4) == b"\xc4\x00"
    assert cip.encode_type(0x02A0, 0x0FCE) == bytes.fromhex("a002ce0f")
    assert cip.decode_type(bytes.fromhex("a002ce0f01")) == (cip.TypeRef(0x02A0, 0x0FCE), 4)
    assert cip.decode_type(bytes.fromhex("ffc400"), 1) == (cip.TypeRef(0xC4), 3)
    with pytest.raises(EncodeError):
        cip.encode_type(0x02A0)
    for bad in ("", "c4", "a002ce"):
        with pytest.raises(DecodeError):
            cip.decode_type(bytes.fromhex(bad))


# spec 2.1.6: getattr '@1/1' of the simulated controller (Get Attributes All on Identity 1/1)
# fmt: off
SPEC_IDENTITY_GAA = bytes([
    1, 0, 14, 0, 54, 0, 20, 11, 96, 49, 26, 6, 108, 0, 20, 49, 55, 53, 54, 45, 76, 54, 49, 47,
    66, 32, 76, 79, 71, 73, 88, 53, 53, 54, 49, 255, 0, 0, 0,
])
# fmt: on


def test_identity_get_attributes_all_spec_bytes():
    from cpppo.server.enip.codec.identity import (
        IdentityAttributes,
        decode_identity_attributes,
        encode_identity_attributes,
    )

    ident = IdentityAttributes(1, 14, 54, 2836, 12640, 7079450, "1756-L61/B LOGIX5561", 255, 0, 0)
    assert encode_identity_attributes(ident) == SPEC_IDENTITY_GAA
    assert decode_identity_attributes(SPEC_IDENTITY_GAA) == ident
    # the spec's poll output lists the first eight
    assert list(ident[:8]) == [1, 14, 54, 2836, 12640, 7079450, "1756-L61/B LOGIX5561", 255]
    # a real 1756-L61 (controllogix-SCADA-read-write.pcapng frame 13) stops after the name
    short = SPEC_IDENTITY_GAA[:35]
    assert decode_identity_attributes(short) == ident._replace(
        state=None, configuration_consistency=None, heartbeat_interval=None
    )
    assert encode_identity_attributes(decode_identity_attributes(short)) == short
    for bad in (SPEC_IDENTITY_GAA[:14], SPEC_IDENTITY_GAA[:30], SPEC_IDENTITY_GAA + b"\x00"):
        with pytest.raises(DecodeError):
            decode_identity_attributes(bad)
    with pytest.raises(EncodeError):
        encode_identity_attributes(ident._replace(product_name="x" * 256))
    with pytest.raises(EncodeError):
        encode_identity_attributes(ident._replace(vendor_id=-1))
