"""The connected-read fast path (TcpConnection.data_received -> Ucmm.fast_unit_read) answers
exactly as the generic path (Ucmm.handle) would, byte for byte and with the same state after,
and declines (the generic path answering) whenever the generic path would answer otherwise.

Two twins get the same requests: one through a TcpConnection (fast path first), one through
``Ucmm.handle`` alone. Their session handles and connection ids come from seeded generators,
so the replies must be equal bytes.
"""

from __future__ import annotations

import random
import time
from types import SimpleNamespace

import pytest

from cpppo.server.enip import DINT, INT
from cpppo.server.enip.codec import cip, connection, encap, epath, tags
from cpppo.server.enip.net.control import ConnectionStats
from cpppo.server.enip.net.tcp import TcpConnection
from cpppo.server.enip.sim.controller import Controller
from cpppo.server.enip.sim.ucmm import Peer, Ucmm

CONTEXT = b"pylogix\x00"


def _controller() -> Controller:
    controller = Controller()
    controller.add_tag("D", DINT, (4,))
    controller.add_tag("SCADA", INT, (1000,))
    controller.connections._rng = random.Random(2)
    return controller


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))


class Twins:
    """The fast-path twin (a TcpConnection on a stand-in server) and the generic one."""

    def __init__(self) -> None:
        self.fast = Ucmm(_controller())
        self.slow = Ucmm(_controller())
        self.fast._rng = random.Random(1)
        self.slow._rng = random.Random(1)
        self.now = 10.0
        server = SimpleNamespace(
            ucmm=self.fast,
            max_size=0xFFFF,
            max_pending=1 << 20,
            loop=SimpleNamespace(time=lambda: self.now),
            clients=SimpleNamespace(touch=lambda c: None, discard=lambda c: None),
            control=SimpleNamespace(delay=SimpleNamespace(active=False)),
        )
        self.tcp = TcpConnection(server)
        self.tcp.transport = _Transport()  # type: ignore[assignment]
        self.tcp.stats = ConnectionStats("127.0.0.1", 5000)
        self.tcp.peer = Peer(("127.0.0.1", 5000), ("127.0.0.1", 44818))
        self.peer = Peer(("127.0.0.1", 5000), ("127.0.0.1", 44818))
        #: What each fast_unit_read call answered (None: declined).
        self.fast_answers: list[bytes | None] = []
        original = self.fast.fast_unit_read

        def spy(*args):
            answer = original(*args)
            self.fast_answers.append(answer)
            return answer

        self.fast.fast_unit_read = spy  # type: ignore[method-assign]

    def send(self, data: bytes) -> bytes | None:
        """Both twins answer ``data`` (one whole message); their replies must be equal."""
        written = self.tcp.transport.written  # type: ignore[union-attr]
        before = len(written)
        self.tcp.data_received(data)
        fast = written[before] if len(written) > before else None
        assert len(written) <= before + 1
        slow = self.slow.handle(self.peer, *encap.decode_encap(data), self.now, True)
        assert fast == slow
        self.same_state()
        return slow

    def same_state(self) -> None:
        a, b = self.fast.controller.connections, self.slow.controller.connections
        assert a.timeouts == b.timeouts and len(a) == len(b)
        for x, y in zip(sorted(a, key=lambda c: c.o_t_id), sorted(b, key=lambda c: c.o_t_id)):
            assert (x.o_t_id, x.t_o_id, x.sequence, x.last_reply, x.requests, x.last) == (
                y.o_t_id, y.t_o_id, y.sequence, y.last_reply, y.requests, y.last,
            )  # fmt: skip
        assert self.tcp.peer.session == self.peer.session

    def both(self, change) -> None:  # type: ignore[no-untyped-def]
        """Apply the same change to both controllers."""
        change(self.fast.controller)
        change(self.slow.controller)


def register(tw: Twins) -> int:
    tw.send(encap.encode_encap(0x65, b"\x01\x00\x00\x00", 0, 0, CONTEXT))
    assert tw.peer.session != 0
    return tw.peer.session


def forward_open(tw: Twins, serial: int, t_o_parameters: int = 0x43F8) -> int:
    fo = connection.ForwardOpen(
        t_o_connection_id=0xABCD0000 + serial,
        connection_serial=serial,
        vendor_id=0x1337,
        originator_serial=42,
        timeout_multiplier=0,
        o_t_rpi=250_000,
        o_t_parameters=0x43F8,
        t_o_rpi=250_000,
        t_o_parameters=t_o_parameters,
        connection_path=[{"port": 1, "link": 0}, {"class": 2}, {"instance": 1}],
    )
    rq = cip.encode_request(0x54, cip.CONNECTION_MANAGER_EPATH, connection.encode_forward_open(fo))
    reply = tw.send(encap.encode_encap(0x6F, encap.encode_rr_data(rq), tw.peer.session))
    assert reply is not None
    data = cip.decode_reply(encap.decode_rr_data(encap.decode_encap(reply)[1]))
    return connection.decode_forward_open_reply(data.data).o_t_connection_id


def read_tag(name: str, element: int | None = None, count: int = 1) -> bytes:
    """A Read Tag as pylogix sends it (symbolic segment, then an element segment if indexed)."""
    path: list[dict] = [{"symbolic": name}]
    if element is not None:
        path.append({"element": element})
    return cip.encode_request(0x4C, epath.encode_epath(path), count.to_bytes(2, "little"))


def unit(session: int, cid: int, seq: int, request: bytes) -> bytes:
    return encap.encode_encap(0x70, encap.encode_unit_data(cid, seq, request), session, 0, CONTEXT)


@pytest.fixture
def tw() -> Twins:
    return Twins()


def test_pylogix_reads_match_the_generic_path_byte_for_byte(tw):
    session = register(tw)
    o_t = forward_open(tw, 1)
    seq = iter(range(1, 1000))
    for request in (read_tag("D", 1), read_tag("SCADA", 1), read_tag("D", 0, 4), read_tag("D")):
        tw.send(unit(session, o_t, next(seq), request))  # the first: generic, planned
        assert tw.fast_answers[-1] is None
        for _ in range(3):
            tw.now += 0.1
            reply = tw.send(unit(session, o_t, next(seq), request))
            assert tw.fast_answers[-1] == reply
    # a write (not a planned read) declines; the next read shows the new value
    write = cip.encode_request(
        0x4D,
        epath.encode_epath([{"symbolic": "D"}, {"element": 1}]),
        tags.encode_write_tag(0xC4, 1, (7).to_bytes(4, "little")),
    )
    tw.send(unit(session, o_t, next(seq), write))
    assert tw.fast_answers[-1] is None
    reply = tw.send(unit(session, o_t, next(seq), read_tag("D", 1)))
    assert (
        tw.fast_answers[-1] == reply and reply is not None and reply.endswith(b"\x07\x00\x00\x00")
    )
    # a value changed in memory is read through the plan
    tw.both(lambda c: c.tags["D"].attribute.__setitem__(1, -5))
    reply = tw.send(unit(session, o_t, next(seq), read_tag("D", 1)))
    assert (
        tw.fast_answers[-1] == reply and reply is not None and reply.endswith(b"\xfb\xff\xff\xff")
    )
    assert tw.tcp.stats.requests == len(tw.fast_answers) + 2  # + register, forward open
    assert tw.tcp.stats.received > 0


def test_the_fast_path_declines_what_the_generic_path_answers_otherwise(tw):
    session = register(tw)
    o_t = forward_open(tw, 1)
    small = forward_open(tw, 2, t_o_parameters=0x4280)  # replies of at most 126 bytes
    seq = iter(range(1, 1000))
    rd = read_tag("D", 1)
    tw.send(unit(session, o_t, next(seq), rd))
    s = next(seq)
    tw.send(unit(session, o_t, s, rd))
    assert tw.fast_answers[-1] is not None
    # a retransmission (same sequence count): the last reply again, by the generic path
    tw.send(unit(session, o_t, s, rd))
    assert tw.fast_answers[-1] is None
    # a forced error on the tag's Attribute
    tw.both(lambda c: setattr(c.tags["D"].attribute, "error", 0x08))
    reply = tw.send(unit(session, o_t, next(seq), rd))
    assert tw.fast_answers[-1] is None and reply is not None
    assert encap.decode_unit_data(encap.decode_encap(reply)[1])[2][2] == 0x08
    tw.both(lambda c: setattr(c.tags["D"].attribute, "error", 0))
    tw.send(unit(session, o_t, next(seq), rd))
    assert tw.fast_answers[-1] is not None
    # a wrong session: INVALID_SESSION from the generic path
    reply = tw.send(unit(session + 1, o_t, next(seq), rd))
    assert tw.fast_answers[-1] is None and encap.decode_header(reply).status == 0x64
    # an unknown connection id: connection not found
    tw.send(unit(session, o_t ^ 0x5A5A, next(seq), rd))
    assert tw.fast_answers[-1] is None
    # a reply larger than the connection allows (planned through the larger one)
    big = read_tag("SCADA", 0, 100)
    tw.send(unit(session, o_t, next(seq), big))
    tw.send(unit(session, o_t, next(seq), big))
    assert tw.fast_answers[-1] is not None
    tw.send(unit(session, small, next(seq), big))
    assert tw.fast_answers[-1] is None
    # the tag database changed: plans are stale until read again
    tw.both(lambda c: c.add_tag("NEW", DINT))
    tw.send(unit(session, o_t, next(seq), rd))
    assert tw.fast_answers[-1] is None
    tw.send(unit(session, o_t, next(seq), rd))
    assert tw.fast_answers[-1] is not None
    # every access reported (on_access): no plans
    tw.both(lambda c: setattr(c, "on_access", lambda *a: None))
    tw.send(unit(session, o_t, next(seq), rd))
    tw.send(unit(session, o_t, next(seq), rd))
    assert tw.fast_answers[-2:] == [None, None]
    tw.both(lambda c: setattr(c, "on_access", None))
    tw.send(unit(session, o_t, next(seq), rd))
    tw.send(unit(session, o_t, next(seq), rd))
    assert tw.fast_answers[-1] is not None
    # the connection times out (250 ms x 4 of silence): dropped, counted once
    tw.now += 1.5
    tw.send(unit(session, o_t, next(seq), rd))
    assert tw.fast_answers[-1] is None
    assert tw.fast.controller.connections.timeouts == 1
    # the session closes: its connections are dropped, requests refused
    o_t = forward_open(tw, 3)
    tw.send(unit(session, o_t, next(seq), rd))
    tw.send(unit(session, o_t, next(seq), rd))
    assert tw.fast_answers[-1] is not None
    tw.fast.close(tw.tcp.peer)
    tw.slow.close(tw.peer)
    reply = tw.send(unit(session, o_t, next(seq), rd))
    assert tw.fast_answers[-1] is None and encap.decode_header(reply).status == 0x64


def test_only_a_whole_common_shaped_message_takes_the_fast_path(tw):
    session = register(tw)
    o_t = forward_open(tw, 1)
    rd = read_tag("D", 1)
    tw.send(unit(session, o_t, 1, rd))
    calls = len(tw.fast_answers)
    # two messages in one read: both answered, in order, by the generic loop
    data = unit(session, o_t, 2, rd) + unit(session, o_t, 3, rd)
    tw.tcp.data_received(data)
    assert len(tw.fast_answers) == calls
    # a message split over two reads: the generic path frames it
    data = unit(session, o_t, 4, rd)
    tw.tcp.data_received(data[:10])
    tw.tcp.data_received(data[10:])
    assert len(tw.fast_answers) == calls
    # a nonzero encapsulation status or a different item shape: not the fast path
    odd = bytearray(unit(session, o_t, 5, rd))
    odd[8] = 1
    tw.tcp.data_received(bytes(odd))
    assert len(tw.fast_answers) == calls
    written = tw.tcp.transport.written
    replies = [encap.decode_unit_data(encap.decode_encap(w)[1]) for w in written[-4:]]
    assert [seq for _, seq, _ in replies] == [2, 3, 4, 5]
    answers = {bytes(data) for _, _, data in replies}
    assert len(answers) == 1 and answers.pop()[:4] == bytes.fromhex("cc000000")


def test_pylogix_reads_through_the_fast_path(enip_simulator, monkeypatch):
    import pylogix

    answers: list[bytes | None] = []
    original = Ucmm.fast_unit_read

    def spy(self, *args):  # type: ignore[no-untyped-def]
        answer = original(self, *args)
        answers.append(answer)
        return answer

    monkeypatch.setattr(Ucmm, "fast_unit_read", spy)
    with pylogix.PLC("127.0.0.1", port=enip_simulator.port) as comm:
        comm.SocketTimeout = 5.0
        for value in (11, -22, 33):
            assert comm.Write("D[2]", value).Status == "Success"
            deadline = time.monotonic() + 5
            for _ in range(3):
                reply = comm.Read("D[2]")
                assert (reply.Status, reply.Value) == ("Success", value)
            assert time.monotonic() < deadline
    assert sum(a is not None for a in answers) >= 6
