"""The encapsulation layer (sessions, List*, SendRRData, SendUnitData) with byte vectors, no I/O."""

from __future__ import annotations

import pytest

from cpppo.server.enip import DINT
from cpppo.server.enip.codec import cip, connection, cpf, encap, epath, tags
from cpppo.server.enip.sim.controller import Controller
from cpppo.server.enip.sim.ucmm import Peer, Ucmm


@pytest.fixture
def ucmm() -> Ucmm:
    controller = Controller()
    controller.add_tag("D", DINT, (4,))
    return Ucmm(controller)


def frame(command: int, payload: bytes = b"", session: int = 0, context: bytes = b"\x00" * 8):
    return encap.decode_encap(encap.encode_encap(command, payload, session, 0, context))


def registered(ucmm: Ucmm) -> Peer:
    peer = Peer(("127.0.0.1", 5000), ("127.0.0.1", 44818))
    reply = ucmm.handle(peer, *frame(0x65, b"\x01\x00\x00\x00", context=b"1.1.6   "))
    header, payload = encap.decode_encap(reply)
    assert (header.status, header.context, bytes(payload)) == (0, b"1.1.6   ", b"\x01\x00\x00\x00")
    assert header.session == peer.session != 0
    return peer


def test_register_session_echoes_any_context_and_checks_version(ucmm):
    peer = registered(ucmm)
    # again on the same connection: invalid command
    again = encap.decode_header(ucmm.handle(peer, *frame(0x65, b"\x01\x00\x00\x00")))
    assert again.status == 0x0001
    other = Peer()
    header = encap.decode_header(ucmm.handle(other, *frame(0x65, b"\x02\x00\x00\x00")))
    assert header.status == 0x0069 and other.session == 0
    header = encap.decode_header(ucmm.handle(other, *frame(0x65, b"\x01\x00")))
    assert header.status == 0x0065


def test_requests_need_the_session(ucmm):
    peer = registered(ucmm)
    rd = cip.encode_request(0x4C, epath.encode_epath([{"symbolic": "D"}]), b"\x01\x00")
    reply = ucmm.handle(peer, *frame(0x6F, encap.encode_rr_data(rd), peer.session + 1))
    assert encap.decode_header(reply).status == 0x0064
    reply = ucmm.handle(Peer(), *frame(0x6F, encap.encode_rr_data(rd), 0))
    assert encap.decode_header(reply).status == 0x0064
    reply = ucmm.handle(peer, *frame(0x6F, encap.encode_rr_data(rd), peer.session, b"abcdefgh"))
    header, payload = encap.decode_encap(reply)
    assert (header.command, header.status, header.context) == (0x6F, 0, b"abcdefgh")
    assert bytes(encap.decode_rr_data(payload)) == bytes.fromhex("cc000000c40000000000")
    # a CPF that does not decode: incorrect data
    reply = ucmm.handle(peer, *frame(0x6F, b"\x00\x00\x00\x00\x00\x00\x05\x00", peer.session))
    assert encap.decode_header(reply).status == 0x0003


def test_unknown_command_nop_and_unregister(ucmm):
    peer = registered(ucmm)
    assert encap.decode_header(ucmm.handle(peer, *frame(0x99))).status == 0x0001
    assert ucmm.handle(peer, *frame(0x00, b"anything")) is None
    assert ucmm.handle(peer, *frame(0x66, b"", peer.session)) is None
    assert peer.closing
    ucmm.close(peer)
    assert peer.session == 0 and not ucmm.sessions


def test_list_identity_services_interfaces(ucmm):
    peer = Peer(("127.0.0.1", 5000), ("127.0.0.5", 44818))
    header, payload = encap.decode_encap(
        ucmm.handle(peer, *frame(0x63, context=b"HiMom\x00\x00\x00"))
    )
    assert header.context == b"HiMom\x00\x00\x00"
    [item] = cpf.decode_cpf(payload)
    identity = cpf.decode_identity(item.data)
    assert (identity.sin_addr, identity.sin_port, identity.product_name) == (
        "127.0.0.5",
        44818,
        "1756-L61/B LOGIX5561",
    )
    assert (identity.vendor_id, identity.device_type, identity.product_revision) == (1, 14, 2836)
    header, payload = encap.decode_encap(ucmm.handle(peer, *frame(0x04)))
    [item] = cpf.decode_cpf(payload)
    services = cpf.decode_services(item.data)
    assert (item.type_id, services.service_name, services.capability) == (
        0x100,
        "Communications",
        0x20,
    )
    header, payload = encap.decode_encap(ucmm.handle(peer, *frame(0x64)))
    assert bytes(payload) == b"\x00\x00"
    # UDP answers only the List* commands
    assert ucmm.handle_datagram(*frame(0x65, b"\x01\x00\x00\x00"), ("127.0.0.1", 1)) is None
    reply = ucmm.handle_datagram(*frame(0x63), ("127.0.0.9", 2222))
    identity = cpf.decode_identity(cpf.decode_cpf(encap.decode_encap(reply)[1])[0].data)
    assert (identity.sin_addr, identity.sin_port) == ("127.0.0.9", 2222)


def open_connection(ucmm: Ucmm, peer: Peer, now: float = 0.0) -> int:
    fo = connection.ForwardOpen(
        t_o_connection_id=0xABCD,
        connection_serial=5,
        vendor_id=6,
        originator_serial=7,
        timeout_multiplier=0,
        o_t_rpi=250_000,
        o_t_parameters=0x43F8,
        t_o_rpi=250_000,
        t_o_parameters=0x43F8,
        connection_path=[{"port": 1, "link": 0}, {"class": 2}, {"instance": 1}],
    )
    rq = cip.encode_request(0x54, cip.CONNECTION_MANAGER_EPATH, connection.encode_forward_open(fo))
    reply = ucmm.handle(peer, *frame(0x6F, encap.encode_rr_data(rq), peer.session), now=now)
    data = cip.decode_reply(encap.decode_rr_data(encap.decode_encap(reply)[1]))
    return connection.decode_forward_open_reply(data.data).o_t_connection_id


def test_send_unit_data_sequence_and_timeout(ucmm):
    peer = registered(ucmm)
    o_t = open_connection(ucmm, peer, now=10.0)
    path = epath.encode_epath([{"symbolic": "D"}, {"element": 1}])
    write = cip.encode_request(0x4E, path, tags.encode_read_modify_write(4, 1, 0xFFFFFFFF))
    reply = ucmm.handle(
        peer, *frame(0x70, encap.encode_unit_data(o_t, 1, write), peer.session), 10.5
    )
    cid, seq, data = encap.decode_unit_data(encap.decode_encap(reply)[1])
    assert (cid, seq, bytes(data)) == (0xABCD, 1, bytes.fromhex("ce000000"))
    # the same sequence count again is a retransmission: same reply, not executed twice
    again = ucmm.handle(
        peer, *frame(0x70, encap.encode_unit_data(o_t, 1, write), peer.session), 10.6
    )
    assert again == reply and ucmm.controller.tags["D"].attribute[1] == 1
    ucmm.handle(peer, *frame(0x70, encap.encode_unit_data(o_t, 2, write), peer.session), 10.7)
    assert ucmm.controller.tags["D"].attribute[1] == 1  # OR 1 twice is still 1
    # 250 ms x 4 = 1 s of silence drops the connection: then "connection not found"
    late = ucmm.handle(
        peer, *frame(0x70, encap.encode_unit_data(o_t, 3, write), peer.session), 11.8
    )
    cid, seq, data = encap.decode_unit_data(encap.decode_encap(late)[1])
    assert cip.decode_reply(data)[1:3] == (0x01, (0x0107,))


def test_closing_a_session_drops_its_connections(ucmm):
    peer = registered(ucmm)
    open_connection(ucmm, peer)
    assert len(ucmm.controller.connections) == 1
    ucmm.close(peer)
    assert len(ucmm.controller.connections) == 0
