"""Byte-vector tests of Connection Manager payloads (cpppo.server.enip.codec.connection)."""

import pytest

from cpppo.server.enip.codec import cip, encap
from cpppo.server.enip.codec.connection import (
    ConnectionFailure,
    ConnectionParameters,
    ForwardClose,
    ForwardCloseReply,
    ForwardOpen,
    ForwardOpenReply,
    UnconnectedSend,
    connection_timeout_us,
    decode_connection_failure,
    decode_connection_parameters,
    decode_forward_close,
    decode_forward_close_reply,
    decode_forward_open,
    decode_forward_open_reply,
    decode_unconnected_send,
    encode_connection_failure,
    encode_connection_parameters,
    encode_forward_close,
    encode_forward_close_reply,
    encode_forward_open,
    encode_forward_open_reply,
    encode_unconnected_send,
    unconnected_timeout_ms,
)
from cpppo.server.enip.codec.errors import DecodeError, EncodeError

# controllogix-SCADA-read-write.pcapng frame 11: Unconnected Send of Get Attributes All on 1/1
US_IDENTITY = bytes.fromhex("52022006240101fa060001022001240101000100")
# frame 14: Unconnected Send of Read Tag Fragmented SCADA[0], 1 element, offset 0
US_READ_FRAG = bytes.fromhex("520220062401059d10005204910553434144410001000000000001000100")


def test_unconnected_send_vectors_from_capture():
    req = cip.decode_request(US_IDENTITY)
    assert req.service == cip.Service.UNCONNECTED_SEND
    assert req.path == list(cip.CONNECTION_MANAGER_PATH)
    us = decode_unconnected_send(req.data)
    assert us == UnconnectedSend(
        0x01, 0xFA, memoryview(bytes.fromhex("010220012401")), us.route_path
    )
    assert us.route_path == [{"port": 1, "link": 0}]
    assert cip.decode_request(us.message).path == [{"class": 1}, {"instance": 1}]
    data = encode_unconnected_send(us.message, us.route_path, 0x01, 0xFA)
    assert cip.encode_request(0x52, cip.CONNECTION_MANAGER_EPATH, data) == US_IDENTITY

    us = decode_unconnected_send(cip.decode_request(US_READ_FRAG).data)
    assert (us.priority_tick, us.timeout_ticks) == (5, 157)
    inner = cip.decode_request(us.message)
    assert inner.service == 0x52 and inner.path == [{"symbolic": "SCADA"}]
    assert cip.decode_read_tag_fragmented(inner.data) == (1, 0)
    assert encode_unconnected_send(us.message, [{"link": 0}, {"port": 1}]) == bytes(
        cip.decode_request(US_READ_FRAG).data
    )
    assert unconnected_timeout_ms(5, 157) == 32 * 157


def test_unconnected_send_odd_message_pad_and_no_route():
    data = encode_unconnected_send(b"\x0e\x01\x20", None, 0x0A, 5)
    assert data.hex() == "0a0503000e012000"
    us = decode_unconnected_send(data)
    assert bytes(us.message) == b"\x0e\x01\x20" and us.route_path is None
    data = encode_unconnected_send(b"\x0e\x01\x20", [{"port": 1, "link": 3}], 0x0A, 5)
    assert data.hex() == "0a0503000e01200001000103"
    assert decode_unconnected_send(data).route_path == [{"port": 1, "link": 3}]
    assert decode_unconnected_send(encode_unconnected_send(b"", [])).route_path == []


@pytest.mark.parametrize(
    "wire",
    [
        "0a05",  # header truncated
        "0a050800010203",  # message runs past the end
        "0a05020001020200",  # route of 2 words runs past the end
        "0a0502000102010001000000",  # bytes after the route path
        "0a05020001020100e000",  # route path with an unknown segment
    ],
)
def test_unconnected_send_rejects(wire):
    with pytest.raises(DecodeError):
        decode_unconnected_send(bytes.fromhex(wire))


def test_connection_parameters():
    assert decode_connection_parameters(0x43F4) == ConnectionParameters(500, True, 0, 2, False)
    assert encode_connection_parameters(ConnectionParameters(500)) == 0x43F4
    assert decode_connection_parameters(0x42000FA0, large=True) == ConnectionParameters(4000)
    assert encode_connection_parameters(ConnectionParameters(4002), large=True) == 0x42000FA2
    p = ConnectionParameters(64, False, 1, 1, True)
    assert decode_connection_parameters(encode_connection_parameters(p)) == p
    assert decode_connection_parameters(encode_connection_parameters(p, True), True) == p
    with pytest.raises(EncodeError):
        encode_connection_parameters(ConnectionParameters(512))
    assert connection_timeout_us(2113537, 7) == 2113537 * 512
    assert connection_timeout_us(1000, 0) == 4000


# pycomm3's Large Forward Open as the field notes record it (random ids fixed here)
PYCOMM3_LFO = bytes.fromhex(
    "0a05 00000000 78563412 2704 0910 efbeadde 07 000000"
    "01402000 a00f0042 01402000 a00f0042 a3 03 010020022401"
)


def test_large_forward_open_vector():
    fo = decode_forward_open(PYCOMM3_LFO, large=True)
    assert fo == ForwardOpen(
        priority_tick=0x0A,
        timeout_ticks=5,
        o_t_connection_id=0,
        t_o_connection_id=0x12345678,
        connection_serial=0x0427,
        vendor_id=0x1009,
        originator_serial=0xDEADBEEF,
        timeout_multiplier=7,
        o_t_rpi=0x00204001,
        o_t_parameters=0x42000FA0,
        t_o_rpi=0x00204001,
        t_o_parameters=0x42000FA0,
        transport=0xA3,
        connection_path=[{"port": 1, "link": 0}, {"class": 2}, {"instance": 1}],
        large=True,
    )
    assert (fo.o_t_size, fo.t_o_size) == (4000, 4000)
    assert encode_forward_open(fo) == PYCOMM3_LFO


def test_forward_open_built_by_pylogix():
    from pylogix.lgx_comm import Connection

    class _Parent:
        Micro800 = False
        Route = None
        ConnectionSize = 504
        ProcessorSlot = 0
        SocketTimeout = 5.0
        IPAddress = "127.0.0.1"
        Port = 44818

    conn = Connection(_Parent())
    conn.ConnectionSize = 504
    conn._session_handle = 0x11223344
    packet = conn._build_forward_open_packet()
    header, payload = encap.decode_encap(packet)
    assert header.command == encap.Command.SEND_RR_DATA and header.session == 0x11223344
    req = cip.decode_request(encap.decode_rr_data(payload))
    assert req.service == cip.Service.FORWARD_OPEN
    assert req.path == list(cip.CONNECTION_MANAGER_PATH)
    fo = decode_forward_open(req.data)
    assert (fo.o_t_connection_id, fo.vendor_id, fo.originator_serial) == (0x20000002, 0x1337, 42)
    assert (fo.o_t_size, fo.timeout_multiplier, fo.transport) == (504, 3, 0xA3)
    assert fo.connection_path == [{"port": 1, "link": 0}, {"class": 2}, {"instance": 1}]
    assert encode_forward_open(fo) == bytes(req.data)

    close = conn._build_forward_close_packet()
    req = cip.decode_request(encap.decode_rr_data(encap.decode_encap(close)[1]))
    assert req.service == cip.Service.FORWARD_CLOSE
    fc = decode_forward_close(req.data)
    assert (fc.connection_serial, fc.vendor_id, fc.originator_serial) == (
        fo.connection_serial,
        0x1337,
        42,
    )
    assert fc.connection_path == fo.connection_path
    assert encode_forward_close(fc) == bytes(req.data)

    _Parent.Route = [(2, "10.0.0.10"), (1, 3)]  # through an Ethernet port to slot 3
    conn.ConnectionSize = 4002
    req = cip.decode_request(
        encap.decode_rr_data(encap.decode_encap(conn._build_forward_open_packet())[1])
    )
    assert req.service == cip.Service.LARGE_FORWARD_OPEN
    fo = decode_forward_open(req.data, large=True)
    assert fo.o_t_size == 4002
    assert fo.connection_path == [
        {"port": 2, "link": "10.0.0.10"},
        {"port": 1, "link": 3},
        {"class": 2},
        {"instance": 1},
    ]
    assert encode_forward_open(fo) == bytes(req.data)


def test_forward_open_small_and_reply():
    fo = ForwardOpen(
        o_t_parameters=0x43F4,
        t_o_parameters=0x43F4,
        connection_path=[{"port": 1, "link": 0}, {"class": 2}, {"instance": 1}],
    )
    wire = encode_forward_open(fo)
    assert len(wire) == 35 + 1 + 6
    assert decode_forward_open(wire) == fo
    reply = ForwardOpenReply(0xAABBCCDD, 0x12345678, 0x0427, 0x1009, 0xDEADBEEF, 2113537, 2113537)
    data = encode_forward_open_reply(reply)
    assert data == bytes.fromhex("ddccbbaa 78563412 2704 0910 efbeadde 01402000 01402000 00 00")
    assert decode_forward_open_reply(data) == reply
    with_app = ForwardOpenReply(1, 2, 3, 4, 5, 6, 7, b"\x01\x02")
    assert decode_forward_open_reply(encode_forward_open_reply(with_app)) == with_app
    with pytest.raises(EncodeError):
        encode_forward_open_reply(ForwardOpenReply(application_reply=b"\x01"))


@pytest.mark.parametrize(
    ("wire", "large"),
    [
        (PYCOMM3_LFO[:30], True),
        (PYCOMM3_LFO, False),  # a large request read as a small one does not line up
        (PYCOMM3_LFO + b"\x00", True),
        (PYCOMM3_LFO[:-1], True),
    ],
)
def test_forward_open_rejects(wire, large):
    with pytest.raises(DecodeError):
        decode_forward_open(wire, large)


def test_forward_open_reply_rejects():
    data = encode_forward_open_reply(ForwardOpenReply())
    for bad in (data[:-1], data + b"\x00", data[:-2] + b"\x01\x00"):
        with pytest.raises(DecodeError):
            decode_forward_open_reply(bad)


def test_forward_close_and_replies():
    fc = ForwardClose(0x0A, 0x0E, 0x0427, 0x1009, 0xDEADBEEF, [{"port": 1, "link": 0}])
    wire = encode_forward_close(fc)
    assert wire == bytes.fromhex("0a0e 2704 0910 efbeadde 01 00 0100")
    assert decode_forward_close(wire) == fc
    for bad in (wire[:9], wire + b"\x00", wire[:-1]):
        with pytest.raises(DecodeError):
            decode_forward_close(bad)
    rpy = ForwardCloseReply(0x0427, 0x1009, 0xDEADBEEF)
    data = encode_forward_close_reply(rpy)
    assert data == bytes.fromhex("2704 0910 efbeadde 00 00")
    assert decode_forward_close_reply(data) == rpy
    for bad in (data[:-1], data + b"\x00\x00"):
        with pytest.raises(DecodeError):
            decode_forward_close_reply(bad)
    fail = ConnectionFailure(0x0427, 0x1009, 0xDEADBEEF, 3)
    data = encode_connection_failure(fail)
    assert data == bytes.fromhex("2704 0910 efbeadde 03 00")
    assert decode_connection_failure(data) == fail
    with pytest.raises(DecodeError):
        decode_connection_failure(data[:-1])
    # a whole failed Forward Open reply: status 0x01, extended 0x0100 (duplicate)
    whole = cip.encode_reply(0x54, 0x01, (0x0100,), data)
    rpy = cip.decode_reply(whole)
    assert (rpy.service, rpy.status, rpy.ext_status) == (0x54, 1, (0x0100,))
    assert decode_connection_failure(rpy.data) == fail


def test_forward_open_encode_errors():
    with pytest.raises(EncodeError):
        encode_forward_open(ForwardOpen(o_t_parameters=0x10000))
    with pytest.raises(EncodeError):
        encode_forward_close(ForwardClose(connection_serial=-1))
