"""The client against tiny fake EtherNet/IP servers written here: correct answers (pipelining,
Multiple Service Packets, fragment continuation, chunked writes, routing) and misbehaviour (closing
mid-pipeline, garbage, stalls, wrong contexts, error statuses) -- failures within the timeout,
never a hang."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable

import pytest

from cpppo.server.enip.client import blocking as client
from cpppo.server.enip.client import transport
from cpppo.server.enip.codec.cip import (
    Service,
    decode_multiple,
    decode_request,
    encode_multiple,
    encode_reply,
)
from cpppo.server.enip.codec.connection import decode_unconnected_send
from cpppo.server.enip.codec.encap import (
    Command,
    EncapFramer,
    decode_rr_data,
    encode_encap,
    encode_rr_message,
)
from cpppo.server.enip.codec.tags import (
    decode_read_tag,
    decode_read_tag_fragmented,
    decode_write_tag,
    decode_write_tag_fragmented,
    encode_typed_data,
)
from cpppo.server.enip.codec.types import INT

pytestmark = pytest.mark.timeout(30)

SESSION = 0x12345678
MAX_REPLY = 100  # small, so Read Tag Fragmented needs several requests


class Device:
    """A minimal Logix-like responder over one INT[100] tag 'T' (plus recording of requests)."""

    def __init__(self) -> None:
        self.data = bytearray(INT.encode(list(range(100))))
        self.requests: list[tuple] = []  # (service, path, routed)
        self.stop = threading.Event()  # set when the test ends: stalling behaviours give up

    def answer(self, message: bytes, routed: bool = False) -> bytes:
        req = decode_request(message)
        self.requests.append((req.service, req.path, routed))
        path = req.path
        if req.service == Service.UNCONNECTED_SEND and path == [{"class": 6}, {"instance": 1}]:
            us = decode_unconnected_send(req.data)
            return self.answer(bytes(us.message), routed=us.route_path)
        if req.service == Service.MULTIPLE_SERVICE_PACKET:
            replies = [self.answer(bytes(m)) for m in decode_multiple(req.data)]
            return encode_reply(req.service, 0, (), encode_multiple(replies))
        if path[:1] != [{"symbolic": "T"}]:
            return encode_reply(req.service, 0x05)
        first = path[1]["element"] if len(path) > 1 else 0
        if req.service == Service.READ_TAG:
            n = decode_read_tag(req.data).elements
            raw = bytes(self.data[2 * first : 2 * (first + n)])
            if len(raw) < 2 * n:
                return encode_reply(req.service, 0xFF, (0x2105,))
            return encode_reply(req.service, 0, (), encode_typed_data(0xC3, raw))
        if req.service == Service.READ_TAG_FRAGMENTED:
            rt = decode_read_tag_fragmented(req.data)
            raw = bytes(self.data[2 * first : 2 * (first + rt.elements)])
            chunk = raw[rt.offset : rt.offset + MAX_REPLY]
            status = 0x06 if rt.offset + len(chunk) < len(raw) else 0
            return encode_reply(req.service, status, (), encode_typed_data(0xC3, chunk))
        if req.service == Service.WRITE_TAG:
            wt = decode_write_tag(req.data)
            self.data[2 * first : 2 * (first + wt.elements)] = bytes(wt.data[: 2 * wt.elements])
            return encode_reply(req.service)
        if req.service == Service.WRITE_TAG_FRAGMENTED:
            wf = decode_write_tag_fragmented(req.data)
            at = 2 * first + wf.offset
            self.data[at : at + len(wf.data)] = bytes(wf.data)
            return encode_reply(req.service)
        return encode_reply(req.service, 0x08)


Behaviour = Callable[[socket.socket, Device], None]


def serve_normally(sock: socket.socket, device: Device, limit: int | None = None) -> int:
    """Answer requests; stop after ``limit`` SendRRData replies. Returns replies sent."""
    framer = EncapFramer()
    sent = 0
    while limit is None or sent < limit:
        data = sock.recv(65536)
        if not data:
            return sent
        for header, payload in framer.feed(data):
            if header.command == Command.REGISTER_SESSION:
                reply = encode_encap(header.command, bytes(payload), SESSION, 0, header.context)
                sock.sendall(reply)
            elif header.command == Command.SEND_RR_DATA:
                answer = device.answer(bytes(decode_rr_data(payload)))
                sock.sendall(encode_rr_message(answer, SESSION, header.context))
                sent += 1
                if limit is not None and sent >= limit:
                    return sent
    return sent


class FakeServer:
    """A TCP server on a free loopback port running ``behaviour`` for each connection."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.device = Device()
        self.behaviour = behaviour
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.device.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self.conns.append(conn)
            try:
                self.behaviour(conn, self.device)
            except OSError:
                pass

    def close(self) -> None:
        self.device.stop.set()
        self.listener.close()
        for conn in self.conns:
            conn.close()
        self.thread.join(timeout=5)


@pytest.fixture
def fake():
    servers: list[FakeServer] = []

    def start(behaviour: Behaviour = serve_normally) -> FakeServer:
        server = FakeServer(behaviour)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def test_read_write_synchronous(fake):
    """Reads and writes (plain services), values and statuses."""
    srv = fake()
    ops = client.parse_operations(["T[1-3]", "T[2]=(INT)99", "T[0-3]", "NOPE", "T[99-100]"])
    with client.connector("127.0.0.1", srv.port, timeout=5) as conn:
        results = list(conn.synchronous(ops))
    values = [r[5] for r in results]
    statuses = [r[4] for r in results]
    assert values == [[1, 2, 3], True, [0, 1, 99, 3], None, None]
    assert statuses == [0, 0, 0, 0x05, (0xFF, [0x2105])]
    assert [r[0] for r in results] == [0, 1, 2, 3, 4]
    assert results[0][1] == "Single Read  Tag  T[1-3]"
    assert results[1][2]["data"] == [99]


def test_default_routing_wraps_in_unconnected_send(fake):
    """By default requests go in an Unconnected Send with route path port 1, link 0; simple
    (route [] and send []) sends them bare."""
    srv = fake()
    with client.connector("127.0.0.1", srv.port, timeout=5) as conn:
        assert conn.process(client.parse_operations(["T"]))[0] == 0
    with client.connector("127.0.0.1", srv.port, timeout=5, route_path=[], send_path="") as conn:
        assert conn.process(client.parse_operations(["T"]))[0] == 0
    reads = [r for r in srv.device.requests if r[0] == Service.READ_TAG]
    assert reads[0][2] == [{"port": 1, "link": 0}]
    assert reads[1][2] is False


def test_fragmented_read_continues_and_write_chunks(fake):
    """A fragmented read of 100 INTs needs two 100-byte fragments; a big fragmented write is
    split; a byte-offset write lands at the right elements. (At depth <= 1 the continuation of
    a read goes before the next operation.)"""
    srv = fake()
    ops = [
        "T[0-99]",
        "T[0-99]=" + ",".join(str(1000 + i) for i in range(100)),
        "T[0-99]",
        "T[0-9]+16=(INT)7,8",
        "T[0-9]",
    ]
    with client.connector("127.0.0.1", srv.port, timeout=5) as conn:
        results = list(conn.pipeline(client.parse_operations(ops), fragment=True, depth=1))
    assert results[0][5] == list(range(100))
    assert results[1][4] == 0 and results[1][5] is True
    assert results[2][5] == [1000 + i for i in range(100)]
    assert results[4][5] == [1000 + i for i in range(8)] + [7, 8]
    fragments = [
        r
        for r in srv.device.requests
        if r[0] == Service.READ_TAG_FRAGMENTED and r[1][0] == {"symbolic": "T"}
    ]
    assert len(fragments) == 2 + 2 + 1


def test_fragmented_reads_deep_pipeline(fake):
    """Continuations of fragmented reads interleave with other requests at depth > 1 and every
    read still gets all its data."""
    srv = fake()
    ops = ["T[0-99]", "T[5-9]", "T[10-89]", "T[0-99]"] * 5
    with client.connector("127.0.0.1", srv.port, timeout=5) as conn:
        results = list(conn.pipeline(client.parse_operations(ops), fragment=True, depth=4))
    expect = [list(range(100)), list(range(5, 10)), list(range(10, 90)), list(range(100))] * 5
    assert [r[5] for r in results] == expect


def test_pipeline_depth_and_multiple(fake):
    """Depth keeps several requests in flight; multiple packs reads into MSPs of <= N bytes."""
    srv = fake()
    ops = [f"T[{i % 100}]" for i in range(200)]
    with client.connector("127.0.0.1", srv.port, timeout=5) as conn:
        results = list(conn.pipeline(client.parse_operations(ops), depth=5, multiple=250))
    assert [r[5] for r in results] == [[i % 100] for i in range(200)]
    requests = results[-1][0] + 1
    assert 200 / requests > 5  # several reads per request
    msp = [r for r in srv.device.requests if r[0] == Service.MULTIPLE_SERVICE_PACKET]
    assert len(msp) == requests
    assert all(dsc.startswith("Multi.") for _, dsc, *_ in results)


def test_index_starts_at_given_sender_context(fake):
    """synchronous(index=N) numbers requests from N."""
    srv = fake()
    with client.connector("127.0.0.1", srv.port, timeout=5) as conn:
        idx = [r[0] for r in conn.synchronous(client.parse_operations(["T", "T"]), index=41)]
    assert idx == [41, 42]


def test_process_results_operate_validating(fake, capsys):
    """process counts failures; operate(printing) prints the spec's lines; writes' values are
    the data written when validating."""
    srv = fake()
    with client.connector("127.0.0.1", srv.port, timeout=5) as conn:
        failures, values = conn.process(client.parse_operations(["T[1]=5", "T[1]", "X"]))
        assert (failures, values) == (1, [True, [5], None])
        out = list(
            conn.operate(client.parse_operations(["T[1-2]=5,6", "T[1-2]", "T"]), printing=True)
        )
    assert [o[5] for o in out] == [[5, 6], [5, 6], [0]]
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["T[ 1-2 ] <= [5, 6]", "T[ 1-2 ] == [5, 6]", "T == [0]"]


def _close_after(n: int) -> Behaviour:
    def behave(sock: socket.socket, device: Device) -> None:
        serve_normally(sock, device, limit=n)
        sock.shutdown(socket.SHUT_WR)  # a FIN after the replies (close() could send a RST)
        device.stop.wait(1)

    return behave


def _garbage_after(n: int, garbage: bytes) -> Behaviour:
    def behave(sock: socket.socket, device: Device) -> None:
        serve_normally(sock, device, limit=n)
        sock.recv(65536)
        sock.sendall(garbage)
        device.stop.wait(3)

    return behave


def _stall_after(n: int) -> Behaviour:
    def behave(sock: socket.socket, device: Device) -> None:
        serve_normally(sock, device, limit=n)
        device.stop.wait(5)

    return behave


def _run_faulty(port: int, depth: int, timeout: float = 0.5, n: int = 10) -> tuple[list, float]:
    """Run ``n`` reads into a failing connection: the pipeline yields those completed, then
    raises CommunicationCeased (issue 16), whose operations left are appended to the results."""
    begun = time.monotonic()
    results = []
    ops = client.parse_operations(["T[1]"] * n)
    with (
        client.connector("127.0.0.1", port, timeout=timeout) as conn,
        pytest.raises(client.CommunicationCeased) as ceased,
    ):
        for result in conn.pipeline(ops, depth=depth):
            results.append(result)
    assert ceased.value.__cause__ is ceased.value.error
    results += ceased.value.results
    return results, time.monotonic() - begun


@pytest.mark.parametrize("depth", [0, 1, 4])
def test_server_closes_mid_pipeline(fake, depth):
    """The server closes after 3 replies: 3 succeed, the rest fail with ConnectionClosed."""
    srv = fake(_close_after(3))
    results, elapsed = _run_faulty(srv.port, depth)
    assert [r[5] for r in results[:3]] == [[1]] * 3
    assert len(results) == 10
    assert all(r[5] is None and isinstance(r[4], client.ConnectionClosed) for r in results[3:])
    assert elapsed < 2


@pytest.mark.parametrize(
    "garbage",
    [
        b"\xff" * 64,  # an impossible encapsulation length
        encode_encap(Command.SEND_RR_DATA, b"\x00\x01\x02", SESSION, 0, b"0"),  # bad CPF
        encode_encap(Command.SEND_RR_DATA, b"", SESSION, 0, b"99999"),  # unknown context
    ],
)
def test_server_sends_garbage(fake, garbage):
    """Garbage after 2 replies: the rest fail with BadReply, promptly."""
    srv = fake(_garbage_after(2, garbage))
    results, elapsed = _run_faulty(srv.port, depth=2)
    assert [r[5] for r in results[:2]] == [[1]] * 2
    assert len(results) == 10
    assert all(r[5] is None and isinstance(r[4], client.ClientError) for r in results[2:])
    assert any(isinstance(r[4], client.BadReply) for r in results[2:])
    assert elapsed < 2


@pytest.mark.parametrize("depth", [0, 3])
def test_server_stalls(fake, depth):
    """A server that stops answering: failures within the timeout, then the rest fail at once."""
    srv = fake(_stall_after(2))
    results, elapsed = _run_faulty(srv.port, depth, timeout=0.5)
    assert [r[5] for r in results[:2]] == [[1]] * 2
    assert all(isinstance(r[4], client.ReplyTimeout) for r in results[2:])
    assert 0.4 < elapsed < 2.5


def test_encapsulation_error_status(fake):
    """An encapsulation error status fails that request (EncapsulationError), then EOF the rest."""

    def behave(sock: socket.socket, device: Device) -> None:
        serve_normally(sock, device, limit=1)
        framer = EncapFramer()
        ((header, _),) = framer.feed(sock.recv(65536))
        sock.sendall(encode_encap(header.command, b"", SESSION, 0x0008, header.context))
        sock.close()

    srv = fake(behave)
    results, _ = _run_faulty(srv.port, depth=0, n=4)
    assert results[0][5] == [1]
    assert isinstance(results[1][4], client.EncapsulationError) and results[1][4].status == 8
    assert all(isinstance(r[4], client.ConnectionClosed) for r in results[2:])


def test_register_refused(fake):
    """A RegisterSession reply with an error status raises at connect (never hangs)."""

    def behave(sock: socket.socket, device: Device) -> None:
        header, _ = EncapFramer().feed(sock.recv(65536))[0]
        sock.sendall(encode_encap(header.command, b"", 0, 0x0069, header.context))

    srv = fake(behave)
    with pytest.raises(client.EncapsulationError):
        client.connector("127.0.0.1", srv.port, timeout=1)


def test_register_stall_times_out(fake):
    """A server that never answers RegisterSession: ReplyTimeout within the timeout."""
    srv = fake(lambda sock, device: device.stop.wait(3))
    begun = time.monotonic()
    with pytest.raises(client.ReplyTimeout):
        client.connector("127.0.0.1", srv.port, timeout=0.3)
    assert time.monotonic() - begun < 1.5


def test_local_encoding_error_fails_only_that_operation(fake):
    """A dict operation whose data does not fit its type fails locally; the others run."""
    srv = fake()
    ops = [{"path": "T[1]", "data": [1 << 40], "tag_type": 0xC3}, "T[1]"]
    with client.connector("127.0.0.1", srv.port, timeout=5) as conn:
        results = list(conn.synchronous(client.parse_operations(ops)))
    assert results[0][5] is None and isinstance(results[0][4], ValueError)
    assert results[1][5] == [1]


def test_raw_client_next_and_readable(fake):
    """The low-level client: send a read by hand, check readable(), next() gives the reply."""
    srv = fake()
    with client.connector("127.0.0.1", srv.port, timeout=2) as conn:
        assert not conn.readable(timeout=0.05)
        conn.read("T[3]", elements=2, offset=None, sender_context=b"hello")  # Read Tag
        assert conn.readable(timeout=2)
        response = next(conn)
    assert response["peer"] == ("127.0.0.1", srv.port)
    assert response["enip"]["sender_context"]["input"].rstrip(b"\0") == b"hello"
    item = response["enip"]["CIP"]["send_data"]["CPF"]["item"][1]
    reply = item["unconnected_send"]["request"]
    assert reply["service"] == 0xCC and reply["status"] == 0
    assert reply["data"] == struct.pack("<Hhh", 0xC3, 3, 4)


class _CountingSocket:
    """A client socket proxy recording, per receive call, whether it was non-blocking."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.calls: list[bool] = []

    def recv(self, size: int, flags: int = 0) -> bytes:
        self.calls.append(bool(flags & socket.MSG_DONTWAIT))
        return self.sock.recv(size, flags)

    def __getattr__(self, name: str):
        return getattr(self.sock, name)


@pytest.mark.skipif(not hasattr(socket, "MSG_DONTWAIT"), reason="no MSG_DONTWAIT on this OS")
def test_busy_poll_only_while_replies_are_quick(fake, monkeypatch):
    """Quick replies are busy-polled for; a reply slower than ``busy_poll`` turns polling off
    (the next receive blocks at once) until a reply comes quickly again; values stay right."""
    delays = iter([0.0, 0.0, 0.3] + [0.0] * 20)

    def behave(sock: socket.socket, device: Device) -> None:
        framer = EncapFramer()
        while True:
            data = sock.recv(65536)
            if not data:
                return
            for header, payload in framer.feed(data):
                if header.command == Command.REGISTER_SESSION:
                    sock.sendall(encode_encap(header.command, bytes(payload), SESSION, 0))
                elif header.command == Command.SEND_RR_DATA:
                    time.sleep(next(delays, 0.0))
                    answer = device.answer(bytes(decode_rr_data(payload)))
                    sock.sendall(encode_rr_message(answer, SESSION, header.context))

    srv = fake(behave)
    monkeypatch.setattr(transport, "_cpus", lambda: 2)

    class Polling(client.connector):
        busy_poll = 0.05

    with Polling("127.0.0.1", srv.port, timeout=5) as conn:
        proxy = conn._sock = _CountingSocket(conn._sock)  # type: ignore[assignment]
        per_read = []
        for i in range(8):
            proxy.calls.clear()
            [result] = conn.synchronous(client.parse_operations([f"T[{i}]"]))
            assert result[5] == [i]
            per_read.append(list(proxy.calls))
    assert per_read[0][0]  # polled for the first reply
    assert per_read[2][0] and per_read[2][-1] is False  # polled, gave up, then blocked
    assert per_read[3] == [False]  # after the slow reply: straight to a blocking receive
    assert any(calls[0] for calls in per_read[4:])  # quick replies turn polling back on
