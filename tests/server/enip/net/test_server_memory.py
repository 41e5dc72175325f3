"""Issue 15, defects 3 and 4: a closed connection frees what it held at once (no reference
cycle waits for the garbage collector), and the requests a connection may have waiting (with
``-d``) are bounded in bytes."""

from __future__ import annotations

import gc
import socket
import threading
import time
import tracemalloc
import weakref

import pytest

from cpppo.server.enip.codec import encap
from cpppo.server.enip.codec.encap import Command

pytestmark = pytest.mark.timeout(120)

REGISTER = encap.encode_encap(Command.REGISTER_SESSION, encap.encode_register_session())


def _server(simulator):
    return simulator.thread.server


def _wait(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def _churn(simulator, count: int, half_frame: bytes = b"") -> list[weakref.ref]:
    """Open ``count`` connections that register (and send ``half_frame``), then close them;
    weak references to the server's connection objects."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(simulator.address, timeout=5)
        sock.sendall(REGISTER)
        assert len(sock.recv(100)) == 28
        if half_frame:
            sock.sendall(half_frame)
        socks.append(sock)
    server = _server(simulator)
    assert _wait(lambda: sum(c.stats.received for c in server.connections) >= count * 28)
    if half_frame:
        expected = count * (28 + len(half_frame))
        assert _wait(lambda: sum(c.stats.received for c in server.connections) >= expected)
    refs = [weakref.ref(connection) for connection in server.connections]
    for sock in socks:
        sock.close()
    assert _wait(lambda: not simulator.control.connections and not len(server.connections))
    return refs


def test_closed_connections_are_freed_without_the_garbage_collector(enip_simulator_factory):
    simulator = enip_simulator_factory(["X=DINT"])
    _churn(simulator, 5)  # warm up: lazily created things are not the connections' own
    gc.collect()
    gc.disable()
    try:
        refs = _churn(simulator, 200)
        assert len(refs) == 200
        time.sleep(0.1)
        alive = [ref for ref in refs if ref() is not None]
        assert not alive, f"{len(alive)} of 200 closed connections still held"
    finally:
        gc.enable()


def test_memory_of_half_sent_frames_comes_back_at_close(enip_simulator_factory):
    """250 connections each leave half of a 60 KiB request unsent, then close: under
    ``gc.disable()`` the memory the server allocated for them is freed all the same."""
    simulator = enip_simulator_factory(["X=DINT"])
    half = encap.encode_encap(Command.NOP, bytes(60_000))[:30_000]
    _churn(simulator, 5, half)
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        _churn(simulator, 250, half)
        time.sleep(0.1)
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        gc.enable()
    assert kept < 2_000_000, f"{kept} bytes still held after 250 connections closed"


def test_delayed_requests_are_bounded_in_bytes(enip_simulator_factory):
    """With a response delay, a client streaming large requests has at most ``max_pending``
    bytes (plus one read) of them waiting on the server; the rest waits in the network."""
    simulator = enip_simulator_factory(["X=DINT"])
    simulator.control.delay.value = 0.5
    server = _server(simulator)
    frame = encap.encode_encap(Command.NOP, bytes(60_000))
    sock = socket.create_connection(simulator.address, timeout=5)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)

    def stream() -> None:
        try:
            for _ in range(60):  # 3.6 MB
                sock.sendall(frame)
        except OSError:
            pass

    sender = threading.Thread(target=stream, daemon=True)
    sender.start()
    peak = 0
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        for connection in list(server.connections):
            queued = sum(
                len(item[1]) + 24 for item in list(connection.pending) if type(item) is tuple
            )
            peak = max(peak, queued)
        time.sleep(0.01)
    simulator.control.delay.value = 0
    sock.close()
    sender.join(10)
    assert 0 < peak <= 256 * 1024 + 65536 + 60_024, peak
