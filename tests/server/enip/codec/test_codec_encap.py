"""Byte-vector tests of encapsulation and CPF (cpppo.server.enip.codec.encap / .cpf)."""

import pytest

from cpppo.server.enip.codec import cpf, encap
from cpppo.server.enip.codec.encap import Command, EncapFramer, EncapHeader, EncapStatus
from cpppo.server.enip.codec.errors import DecodeError, EncodeError

# From a real ControlLogix session (controllogix-SCADA-read-write.pcapng, frames 4 and 6)
REGISTER_REQ = bytes.fromhex("65000400000000000000000000000000000000000000000001000000")
REGISTER_RPY = bytes.fromhex("65000400011e02110000000000000000000000000000000001000000")
# frame 16: SendRRData reply carrying a Read Tag Fragmented reply
RR_REPLY = bytes.fromhex(
    "6f001800011e021100000000030000000000000000000000"
    "000000000500020000000000b2000800d2000000c3002780"
)


def test_register_session_vectors():
    header, payload = encap.decode_encap(REGISTER_RPY)
    assert header == EncapHeader(0x65, 4, 0x11021E01, 0, bytes(8), 0)
    assert encap.decode_register_session(payload) == encap.RegisterSession(1, 0)
    assert encap.encode_encap(Command.REGISTER_SESSION, encap.encode_register_session()) == (
        REGISTER_REQ
    )
    assert (
        encap.encode_encap(0x65, encap.encode_register_session(), session=0x11021E01)
        == REGISTER_RPY
    )


def test_header_fields_and_context():
    msg = encap.encode_encap(Command.LIST_IDENTITY, b"", context=b"_pycomm_", options=0)
    assert msg.hex() == "630000000000000000000000" + b"_pycomm_".hex() + "00000000"
    assert encap.decode_header(msg).context == b"_pycomm_"
    assert encap.encode_encap(0, b"", context=b"ab")[12:20] == b"ab" + bytes(6)
    with pytest.raises(EncodeError):
        encap.encode_encap(0, b"", context=bytes(9))
    assert EncapStatus.INVALID_LENGTH == 0x65 and EncapStatus.UNSUPPORTED_PROTOCOL == 0x69
    assert Command.SEND_UNIT_DATA == 0x70 and Command.LIST_INTERFACES == 0x64


def test_rr_data_vector():
    header, payload = encap.decode_encap(RR_REPLY)
    assert header.command == Command.SEND_RR_DATA and header.session == 0x11021E01
    assert header.context == bytes.fromhex("0300000000000000")
    cip = encap.decode_rr_data(payload)
    assert bytes(cip) == bytes.fromhex("d2000000c3002780")
    sd = encap.decode_send_data(payload)
    assert (sd.interface, sd.timeout) == (0, 5)
    assert [i.type_id for i in sd.items] == [cpf.NULL, cpf.UNCONNECTED_DATA]
    assert encap.encode_rr_data(cip, timeout=5) == bytes(payload)
    assert encap.encode_rr_message(cip, 0x11021E01, context=header.context, timeout=5) == RR_REPLY
    assert encap.encode_send_data(sd.items, timeout=5) == bytes(payload)


def test_rr_data_with_extra_items():
    items = [(cpf.NULL, b""), (cpf.UNCONNECTED_DATA, b"\x01\x02"), (cpf.SOCKADDR_O_T, bytes(16))]
    assert bytes(encap.decode_rr_data(encap.encode_send_data(items))) == b"\x01\x02"
    with pytest.raises(DecodeError) as info:
        encap.decode_rr_data(encap.encode_send_data([(cpf.NULL, b"")]))
    assert info.value.encap_status == 0x0003


def test_unit_data_vector():
    cip = bytes.fromhex("4c0391055343414441000100")
    payload = encap.encode_unit_data(0x12345678, 7, cip)
    assert payload == bytes.fromhex("00000000 0000 0200 a100 0400 78563412 b100 0e00 0700") + cip
    assert encap.decode_unit_data(payload) == (0x12345678, 7, memoryview(cip))
    msg = encap.encode_unit_message(cip, 0xAABBCCDD, 0x12345678, 7, context=b"ctx")
    header, body = encap.decode_encap(msg)
    assert (header.command, header.session, header.context) == (0x70, 0xAABBCCDD, b"ctx" + bytes(5))
    assert bytes(body) == payload
    # items in the other order still decode (generic path)
    swapped = encap.encode_send_data(
        [(cpf.CONNECTED_DATA, b"\x07\x00" + cip), (cpf.CONNECTED_ADDRESS, b"\x78\x56\x34\x12")]
    )
    cid, seq, data = encap.decode_unit_data(swapped)
    assert (cid, seq, bytes(data)) == (0x12345678, 7, cip)
    with pytest.raises(DecodeError):
        encap.decode_unit_data(encap.encode_send_data([(cpf.CONNECTED_ADDRESS, bytes(4))]))


def test_framer_splits_and_joins():
    stream = REGISTER_RPY + RR_REPLY + REGISTER_REQ
    framer = EncapFramer()
    out = []
    for i in range(0, len(stream), 7):  # odd-sized chunks straddle every boundary
        out.extend(framer.feed(stream[i : i + 7]))
    assert [(h.command, bytes(p)) for h, p in out] == [
        (0x65, REGISTER_RPY[24:]),
        (0x6F, RR_REPLY[24:]),
        (0x65, REGISTER_REQ[24:]),
    ]
    assert framer.buffered == 0
    # all at once, and payload views stay valid after further feeds
    framer2 = EncapFramer()
    frames = framer2.feed(bytearray(stream))
    framer2.feed(b"\x00" * 10)
    assert bytes(frames[1][1]) == RR_REPLY[24:]
    assert framer2.buffered == 10


def test_framer_rejects_impossible_length():
    framer = EncapFramer(max_length=100)
    big = encap.encode_encap(0x6F, bytes(101), context=b"c")
    with pytest.raises(DecodeError) as info:
        framer.feed(REGISTER_REQ + big[:24])
    err = info.value
    assert err.encap_status == EncapStatus.INVALID_LENGTH
    assert err.header.command == 0x6F and err.header.context == b"c" + bytes(7)
    assert [h.command for h, _ in err.frames] == [0x65]


@pytest.mark.parametrize(
    "wire",
    [
        REGISTER_RPY[:23],  # short header
        REGISTER_RPY + b"\x00",  # length mismatch
        REGISTER_RPY[:-1],
    ],
)
def test_decode_encap_rejects(wire):
    with pytest.raises(DecodeError) as info:
        encap.decode_encap(wire)
    assert info.value.encap_status == 0x65


def test_register_session_rejects_bad_length():
    with pytest.raises(DecodeError):
        encap.decode_register_session(b"\x01\x00")


# --- CPF ---


def test_cpf_round_trip_and_vector():
    items = [cpf.CpfItem(cpf.NULL, b""), cpf.CpfItem(cpf.UNCONNECTED_DATA, b"\x01\x02\x03")]
    wire = cpf.encode_cpf(items)
    assert wire == bytes.fromhex("0200 0000 0000 b200 0300 010203")
    assert [(i.type_id, bytes(i.data)) for i in cpf.decode_cpf(wire)] == [
        (0, b""),
        (0xB2, b"\x01\x02\x03"),
    ]
    assert cpf.decode_cpf(b"\x00\x00") == []


@pytest.mark.parametrize(
    "wire",
    [
        "",
        "01",
        "ffff",  # huge count with no room: rejected before any allocation
        "0100b200",  # item header truncated
        "0100b2000500010203",  # item data runs past the end
        "0100000000000000",  # trailing bytes after the items
    ],
)
def test_cpf_rejects_malformed(wire):
    with pytest.raises(DecodeError) as info:
        cpf.decode_cpf(bytes.fromhex(wire))
    assert info.value.encap_status == 0x0003


# ListIdentity reply item from the spec's controller (vendor 1, type 14, code 54, rev 20.11, ...)
IDENTITY_BODY = bytes.fromhex(
    "0100"  # encapsulation version
    "0002af12c0a800c90000000000000000"  # sockaddr 192.168.0.201:44818, big-endian
    "0100 0e00 3600 140b 6031 1a066c00"  # vendor, type, code, revision, status, serial
    "14" + b"1756-L61/B LOGIX5561".hex() + "ff"
)


def test_identity_item():
    item = cpf.decode_identity(IDENTITY_BODY)
    assert item == cpf.IdentityItem(
        version=1,
        sin_family=2,
        sin_port=44818,
        sin_addr="192.168.0.201",
        vendor_id=1,
        device_type=14,
        product_code=54,
        product_revision=2836,
        status_word=12640,
        serial_number=7079450,
        product_name="1756-L61/B LOGIX5561",
        state=255,
    )
    assert (item.major, item.minor) == (20, 11)
    assert cpf.encode_identity(item) == IDENTITY_BODY
    # pylogix parses fixed offsets: vendor at 48 of the whole reply = 6 into this body after CPF
    reply = encap.encode_encap(0x63, cpf.encode_cpf([(cpf.IDENTITY, IDENTITY_BODY)]))
    assert reply[48:50] == b"\x01\x00" and reply[62] == 20 and reply[-1] == 0xFF


@pytest.mark.parametrize("cut", [10, 30, len(IDENTITY_BODY) - 1])
def test_identity_item_rejects_truncated(cut):
    with pytest.raises(DecodeError):
        cpf.decode_identity(IDENTITY_BODY[:cut])


def test_identity_item_encode_errors():
    with pytest.raises(EncodeError):
        cpf.encode_identity(cpf.IdentityItem(product_name="x" * 256))
    with pytest.raises(EncodeError):
        cpf.encode_identity(cpf.IdentityItem(sin_addr="not-an-address"))
    with pytest.raises(EncodeError):
        cpf.encode_identity(cpf.IdentityItem(vendor_id=70000))


def test_services_item():
    body = cpf.encode_services(cpf.ServicesItem())
    assert body == bytes.fromhex("0100 2001") + b"Communications\0\0"
    assert cpf.decode_services(body) == cpf.ServicesItem(1, 0x0120, "Communications")
    with pytest.raises(DecodeError):
        cpf.decode_services(body[:-1])
    with pytest.raises(EncodeError):
        cpf.encode_services(cpf.ServicesItem(service_name="x" * 17))


def test_sockaddr():
    sa = cpf.SockAddr(2, 44818, "127.0.0.1")
    wire = cpf.encode_sockaddr(sa)
    assert wire.hex() == "0002af127f000001" + "00" * 8
    assert cpf.decode_sockaddr(wire) == sa
    with pytest.raises(DecodeError):
        cpf.decode_sockaddr(wire[:15])


def test_encoders_reject_out_of_range_values():
    for call in (
        lambda: encap.encode_rr_message(b"x", session=2**32),
        lambda: encap.encode_unit_message(b"x", 1, connection_id=-1, sequence=0),
        lambda: encap.encode_rr_data(b"x", timeout=70000),
        lambda: encap.encode_unit_data(1, 70000, b"x"),
        lambda: encap.encode_send_data([], interface=-1),
        lambda: encap.encode_encap(0x10000, b""),
        lambda: encap.encode_rr_message(bytes(65520), session=1),
        lambda: cpf.encode_cpf([(cpf.UNCONNECTED_DATA, bytes(65536))]),
    ):
        with pytest.raises(EncodeError):
            call()
