"""The asyncio server over real loopback sockets: framing, UDP, fault controls, statistics."""

from __future__ import annotations

import socket
import time

import pytest

from cpppo.server.enip.codec import cip, cpf, encap, epath, tags
from cpppo.server.enip.codec.encap import Command


def read(name: str, elements: int = 1) -> bytes:
    return cip.encode_request(
        0x4C, epath.encode_epath([{"symbolic": name}]), tags.encode_read_tag(elements)
    )


def rr_message(session: int, message: bytes, context: bytes = b"") -> bytes:
    return encap.encode_encap(
        Command.SEND_RR_DATA, encap.encode_rr_data(message), session, 0, context
    )


def test_byte_by_byte_and_pipelined_frames(enip_simulator, enip_raw_client):
    client = enip_raw_client(enip_simulator.address)
    session = client.register()
    enip_simulator.controller.tags["I"].attribute[0] = 1234
    message = rr_message(session, read("I"), b"one")
    for i in range(len(message)):
        client.send(message[i : i + 1])
        time.sleep(0.0005 if i % 16 == 0 else 0)
    header, payload = client.receive()
    assert header.context == b"one\0\0\0\0\0"
    assert bytes(encap.decode_rr_data(payload)) == bytes.fromhex("cc000000c300d204")
    # three requests in one segment, answered in order
    client.send(b"".join(rr_message(session, read("I"), bytes([i])) for i in range(3)))
    contexts = [client.receive()[0].context[0] for _ in range(3)]
    assert contexts == [0, 1, 2]


def test_oversized_frame_is_answered_0x65_and_closed(enip_simulator_factory, enip_raw_client):
    simulator = enip_simulator_factory(["X=DINT"], max_size=600)
    client = enip_raw_client(simulator.address)
    client.register()
    client.send(encap.encode_encap(0x6F, b"", client.session)[:2] + (5000).to_bytes(2, "little")
                + encap.encode_encap(0x6F, b"", client.session)[4:])  # fmt: skip
    header, payload = client.receive()
    assert (header.command, header.status, payload) == (0x6F, 0x65, b"")
    assert client.receive() is None  # then the server closes


def test_udp_list_identity_unicast(enip_simulator):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(2)
        udp.sendto(encap.encode_encap(0x63, b"", 0, 0, b"HiMom\0\0\0"), enip_simulator.address)
        data, peer = udp.recvfrom(1024)
    header, payload = encap.decode_encap(data)
    assert peer == enip_simulator.address and header.context == b"HiMom\0\0\0"
    identity = cpf.decode_identity(cpf.decode_cpf(payload)[0].data)
    assert (identity.sin_addr, identity.sin_port) == enip_simulator.address
    assert identity.product_name == "1756-L61/B LOGIX5561" and identity.serial_number == 7079450


def test_list_services_over_tcp_and_udp_ignores_others(enip_simulator, enip_raw_client):
    client = enip_raw_client(enip_simulator.address)
    _, payload = client.request(Command.LIST_SERVICES)
    item = cpf.decode_cpf(payload)[0]
    assert cpf.decode_services(item.data).service_name == "Communications"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(0.3)
        udp.sendto(encap.encode_encap(0x65, b"\x01\x00\x00\x00"), enip_simulator.address)
        udp.sendto(b"garbage", enip_simulator.address)
        udp.sendto(encap.encode_encap(0x04), enip_simulator.address)
        data, _ = udp.recvfrom(1024)  # only the ListServices is answered
        assert encap.decode_header(data).command == 0x04
        with pytest.raises(TimeoutError):
            udp.recvfrom(1024)


def test_connection_statistics_and_eof(enip_simulator, enip_raw_client):
    client = enip_raw_client(enip_simulator.address)
    client.register()
    client.rr(read("I"))
    name = f"127_0_0_1_{client.sock.getsockname()[1]}"
    stats = enip_simulator.control.connections[name]
    assert (stats.interface, stats.port, stats.requests, stats.eof) == (
        "127.0.0.1",
        client.sock.getsockname()[1],
        2,
        False,
    )
    assert stats.received == 28 + 24 + len(encap.encode_rr_data(read("I")))
    stats.eof = True
    assert client.closed()
    deadline = time.monotonic() + 2
    while name in enip_simulator.control.connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert name not in enip_simulator.control.connections


def test_delay_disable_and_done(enip_simulator, enip_raw_client):
    control = enip_simulator.control
    client = enip_raw_client(enip_simulator.address)
    client.register()
    control.delay.value = 0.3
    began = time.monotonic()
    assert client.rr(read("I")).status == 0
    assert time.monotonic() - began >= 0.29
    control.delay.value = 0.0
    began = time.monotonic()
    client.rr(read("I"))
    assert time.monotonic() - began < 0.2
    # disable: every connection closes and the port refuses new ones
    control.disable = True
    assert client.closed()
    deadline = time.monotonic() + 2
    with pytest.raises(OSError):
        while time.monotonic() < deadline:
            socket.create_connection(enip_simulator.address, timeout=0.5).close()
            time.sleep(0.02)
    control.disable = False
    deadline = time.monotonic() + 2
    while True:
        try:
            again = enip_raw_client(enip_simulator.address)
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    again.register()
    assert again.rr(read("I")).status == 0
    # done: the server stops
    control.done = True
    assert control.wait_stopped(5)
    assert again.closed()


def test_tcp_or_udp_can_be_turned_off(enip_simulator_factory):
    udp_only = enip_simulator_factory(["X=DINT"], tcp=False)
    with pytest.raises(OSError):
        socket.create_connection(udp_only.address, timeout=1).close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(2)
        udp.sendto(encap.encode_encap(0x63), udp_only.address)
        assert encap.decode_header(udp.recvfrom(1024)[0]).command == 0x63
    tcp_only = enip_simulator_factory(["X=DINT"], udp=False)
    socket.create_connection(tcp_only.address, timeout=1).close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(0.3)
        udp.sendto(encap.encode_encap(0x63), tcp_only.address)
        with pytest.raises(OSError):
            udp.recvfrom(1024)


def test_connected_session_over_tcp(enip_simulator, enip_raw_client):
    client = enip_raw_client(enip_simulator.address)
    client.register()
    assert client.forward_open(size=504).status == 0
    enip_simulator.controller.tags["BIG"].attribute[0:5000] = list(range(5000))
    reply = client.unit(read("BIG", 5000))
    assert reply.status == 0x06 and len(reply.data) == 2 + (504 - 2 - 4 - 2) // 4 * 4
    # UnRegisterSession closes the connection and drops its CIP connections
    client.send(encap.encode_encap(Command.UNREGISTER_SESSION, b"", client.session))
    assert client.receive() is None
    deadline = time.monotonic() + 2
    while len(enip_simulator.controller.connections) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(enip_simulator.controller.connections) == 0


def test_idle_connections_are_closed(enip_simulator_factory, enip_raw_client):
    simulator = enip_simulator_factory(["X=DINT"], idle_timeout=0.5)
    idle = enip_raw_client(simulator.address)
    busy = enip_raw_client(simulator.address)
    busy.register()
    began = time.monotonic()
    while time.monotonic() - began < 1.6:
        assert busy.rr(read("X")).status == 0
        time.sleep(0.1)
    assert idle.closed(timeout=2.0)
    assert time.monotonic() - began >= 0.5
    assert busy.rr(read("X")).status == 0  # the busy one is still served
