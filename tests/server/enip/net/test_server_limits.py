"""Issue 15, defects 1, 2 and 6: idle clients cannot lock others out, the timeouts of the
standard (TCP/IP attribute 13, the registration grace period), the connection and session
tables' capacity, the per-session CIP connection cap, and connected replies that fit the
connection."""

from __future__ import annotations

import resource
import socket
import time

import pytest

from cpppo.server.enip.codec import cip, encap, epath, tags
from cpppo.server.enip.codec.encap import Command
from helpers import unavailable

pytestmark = pytest.mark.timeout(120)

TCPIP_13 = epath.encode_epath([{"class": 0xF5}, {"instance": 1}, {"attribute": 13}])


def read_tag(name: str, elements: int = 1) -> bytes:
    path = epath.encode_epath([{"symbolic": name}])
    return cip.encode_request(0x4C, path, tags.encode_read_tag(elements))


def _silent(address, count: int) -> list[socket.socket]:
    return [socket.create_connection(address, timeout=5) for _ in range(count)]


def _closed(sock: socket.socket, timeout: float = 3.0) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _wait(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# ---- defect 1: silent connections ------------------------------------------------------------
def test_silent_connections_make_room_for_a_new_client(enip_simulator_factory, enip_raw_client):
    """A full table of connections that send nothing: the longest-idle makes room."""
    simulator = enip_simulator_factory(["X=DINT"], max_clients=20)
    silent = _silent(simulator.address, 20)
    try:
        with enip_raw_client(simulator.address) as newcomer:
            newcomer.register()
            assert newcomer.rr(read_tag("X")).status == 0
        assert _closed(silent[0])  # the longest idle went first
        assert not _closed(silent[-1], 0.2)
    finally:
        for sock in silent:
            sock.close()


def test_a_connection_without_a_session_is_closed_after_the_grace_period(
    enip_simulator_factory, enip_raw_client, caplog
):
    simulator = enip_simulator_factory(["X=DINT"], registration_grace=0.4)
    caplog.set_level("NORMAL", logger="enip.srv")
    began = time.monotonic()
    with (
        socket.create_connection(simulator.address) as silent,
        enip_raw_client(simulator.address) as ok,
    ):
        ok.register()
        assert _closed(silent, 3.0)
        assert time.monotonic() - began >= 0.4
        time.sleep(0.5)
        assert ok.rr(read_tag("X")).status == 0  # a registered client stays
    assert _wait(lambda: "registered no session within 0.4 s" in caplog.text)


def test_refused_when_every_connection_has_a_session(enip_simulator_factory, enip_raw_client):
    """Only when no connection is without a session is a newcomer refused: closed at once."""
    simulator = enip_simulator_factory(["X=DINT"], max_clients=3)
    clients = [enip_raw_client(simulator.address) for _ in range(3)]
    try:
        for client in clients:
            client.register()
        with socket.create_connection(simulator.address, timeout=5) as refused:
            assert _closed(refused, 2.0)
        assert simulator.thread.server.clients.counters.refused == 1
        assert all(client.rr(read_tag("X")).status == 0 for client in clients)
    finally:
        for client in clients:
            client.close()


# ---- the encapsulation inactivity timeout (TCP/IP attribute 13) -------------------------------
def test_attribute_13_is_served_settable_and_closes_idle_connections(
    enip_simulator, enip_raw_client, caplog
):
    caplog.set_level("NORMAL", logger="enip.srv")
    with (
        enip_raw_client(enip_simulator.address) as admin,
        enip_raw_client(enip_simulator.address) as idle,
    ):
        admin.register()
        idle.register()
        reply = admin.rr(cip.encode_request(0x0E, TCPIP_13))
        assert reply.status == 0 and bytes(reply.data) == (120).to_bytes(2, "little")
        gaa = admin.rr(cip.encode_request(0x01, TCPIP_13[:4])).data
        singles = b"".join(
            bytes(admin.rr(cip.encode_request(0x0E, TCPIP_13[:4] + bytes([0x30, i]))).data)
            for i in range(1, 7)
        )
        assert bytes(gaa) == singles  # Get Attributes All stays attributes 1-6
        assert admin.rr(cip.encode_request(0x10, TCPIP_13, (3601).to_bytes(2, "little"))).status
        assert admin.rr(cip.encode_request(0x10, TCPIP_13, (1).to_bytes(2, "little"))).status == 0
        began = time.monotonic()
        for _ in range(10):  # the admin keeps talking; the idle one does not
            assert admin.rr(read_tag("SCADA")).status == 0
            time.sleep(0.2)
        assert _closed(idle.sock, 2.0)
        assert time.monotonic() - began >= 1.0
        assert admin.rr(cip.encode_request(0x10, TCPIP_13, bytes(2))).status == 0  # 0: never
        assert enip_simulator.controller.tcpip.inactivity_timeout == 0
    assert _wait(lambda: "encapsulation inactivity timeout (1 s)" in caplog.text)


def test_config_sets_attribute_13(enip_server_process, enip_raw_client, tmp_path):
    config = tmp_path / "cpppo.cfg"
    config.write_text("[TCPIP]\nEncapsulation Inactivity Timeout = 1\n")
    server = enip_server_process("--no-config", "-c", str(config), "X=DINT")
    with enip_raw_client(server.address) as idle:
        idle.register()
        reply = idle.rr(cip.encode_request(0x0E, TCPIP_13))
        assert bytes(reply.data) == (1).to_bytes(2, "little")
        assert _closed(idle.sock, 3.0)


# ---- defect 2: idle sessions ------------------------------------------------------------------
def test_session_table_full_refuses_by_closing_and_idle_sessions_expire(
    enip_simulator_factory, enip_raw_client
):
    simulator = enip_simulator_factory(["X=DINT"], max_sessions=4, idle_timeout=1.0)
    holders = [enip_raw_client(simulator.address) for _ in range(4)]
    try:
        for holder in holders:
            holder.register()
        with enip_raw_client(simulator.address) as late:
            header, _ = late.request(Command.REGISTER_SESSION, encap.encode_register_session())
            assert header.status == 0x0002
            assert late.closed(2.0)  # refused, and not kept open
        time.sleep(1.6)  # the holders say nothing: the inactivity timeout frees their sessions
        with enip_raw_client(simulator.address) as later:
            assert later.register()
            assert later.rr(read_tag("X")).status == 0
        assert all(holder.closed(0.5) for holder in holders)
    finally:
        for holder in holders:
            holder.close()


def test_4000_connections_and_sessions(enip_simulator_factory, enip_raw_client):
    """The default capacity: 4,000 connections, each with a session, all served at once."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 9000:
        unavailable(f"the hard open file limit {hard} is below 2 x 4,000 + headroom")
    simulator = enip_simulator_factory(["X=DINT"])
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= min(hard, 9000)  # raised at start
    socks = []
    request = encap.encode_encap(Command.REGISTER_SESSION, encap.encode_register_session())
    try:
        for _ in range(4000):
            sock = socket.create_connection(simulator.address, timeout=10)
            sock.sendall(request)
            socks.append(sock)
        framer = encap.EncapFramer()
        statuses = []
        for sock in socks:
            frames: list = []
            while not frames:
                data = sock.recv(100)
                assert data, "a connection was closed"
                frames = framer.feed(data)
            statuses.append(frames[0][0].status)
        assert statuses == [0] * 4000
        assert len(simulator.thread.server.ucmm.sessions) == 4000
        with enip_raw_client(simulator.address) as extra:  # 4,001st: no idle session-less victim
            assert extra.closed(2.0)
    finally:
        for sock in socks:
            sock.close()


# ---- defect 6: per-session CIP connections, connected reply size ------------------------------
def test_per_session_cip_connection_cap(enip_simulator, enip_raw_client):
    enip_simulator.controller.connections.per_session = 2
    with (
        enip_raw_client(enip_simulator.address) as one,
        enip_raw_client(enip_simulator.address) as two,
    ):
        one.register()
        two.register()
        assert one.forward_open(serial=1).status == 0
        assert one.forward_open(serial=2).status == 0
        refused = one.forward_open(serial=3)
        assert refused.status == 0x01 and refused.ext_status[0] == 0x0113
        assert two.forward_open(serial=4).status == 0  # another session is not held back


@pytest.mark.parametrize("size", [8, 12, 20])
def test_connected_replies_never_exceed_the_t_o_size(enip_simulator, enip_raw_client, size):
    identity = epath.encode_epath([{"class": 1}, {"instance": 1}])
    tcpip = epath.encode_epath([{"class": 0xF5}, {"instance": 1}])
    requests = [
        cip.encode_request(0x01, identity),  # Get Attributes All: ~40 bytes
        cip.encode_request(0x03, tcpip, b"\x03\x00\x01\x00\x05\x00\x06\x00"),  # Get Attr List
        read_tag("SCADA", 100),
    ]
    with enip_raw_client(enip_simulator.address) as client:
        client.register()
        assert client.forward_open(size=size).status == 0
        for request in requests:
            client.sequence = (client.sequence + 1) & 0xFFFF
            payload = encap.encode_unit_data(client.o_t_id, client.sequence, request)
            _, reply = client.request(Command.SEND_UNIT_DATA, payload)
            _, _, data = encap.decode_unit_data(reply)
            assert 2 + len(data) <= size
            assert cip.decode_reply(data).status in (0x06, 0x11)
        assert client.forward_open(size=504, serial=99).status == 0
        reply = client.unit(requests[0])
        assert reply.status == 0 and len(reply.data) > 20  # the same request fits a larger one
