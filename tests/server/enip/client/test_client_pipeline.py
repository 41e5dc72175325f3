"""The sans-IO request pipeline driven with literal byte vectors: operations in, frames out;
reply bytes in, results out (MSP batching, fragment continuation, depth, out-of-order and unknown
sender contexts, error statuses, a failed connection). No sockets."""

from __future__ import annotations

import struct

import pytest

from cpppo.server.enip.client.errors import (
    BadReply,
    ConnectionClosed,
    EncapsulationError,
    ReplyTimeout,
)
from cpppo.server.enip.client.pipeline import FAIL_LIMIT, Pipeline
from cpppo.server.enip.client.routing import Router
from cpppo.server.enip.client.stream import ReplyStream

SESSION = 0x12345678
SESSION_BYTES = "78563412"

# Read Tag T[n], 1 element: service 0x4C, 3 path words (symbolic 'T' + pad, element n), count 1.
READ_T1 = "4c03 91015400 2801 0100"


def hexbytes(text: str) -> bytes:
    """Bytes from hex digits with any spaces."""
    return bytes.fromhex(text.replace(" ", ""))


def rr_frame(cip: str, context: str = "0", status: int = 0) -> bytes:
    """A SendRRData message (request or reply) around a CIP message given in hex."""
    body = hexbytes(cip)
    payload = struct.pack("<IHHHHHH", 0, 0, 2, 0, 0, 0xB2, len(body)) + body
    head = struct.pack("<HHII8sI", 0x6F, len(payload), SESSION, status, context.encode(), 0)
    return head + payload


def test_one_read_frame_out_reply_in():
    """One read: the exact SendRRData frame out (context "0"), the reply in, the result out."""
    pipe = Pipeline(["T[1]"], session=SESSION)
    [frame] = pipe.requests()
    header = "6f00 1a00" + SESSION_BYTES + "00000000 3000000000000000 00000000"
    send_rr_data = "00000000 0000 0200 0000 0000 b200 0a00"  # NULL address, 0xB2 data item
    assert frame == hexbytes(header + send_rr_data + READ_T1)
    assert frame == rr_frame(READ_T1)
    assert pipe.requests() == []  # depth 1: one in flight
    assert list(pipe.in_flight) == [b"0"] and not pipe.finished and pipe.results() == []
    pipe.receive_data(rr_frame("cc000000 c300 0100"))
    [(idx, dsc, op, reply, sts, val)] = pipe.results()
    assert (idx, dsc, sts, val) == (0, "Single Read  Tag  T[1-1]", 0, [1])
    assert op["path"] == [{"symbolic": "T"}, {"element": 1}]
    assert reply.service == 0x4C and reply.status == 0
    assert pipe.requests() == [] and not pipe.in_flight and pipe.finished


def test_default_route_wraps_in_unconnected_send():
    """A Router with the default route (port 1, link 0) and send path (@6/1) wraps the request
    in an Unconnected Send: tick 5, 157 ticks, message size, message, route path."""
    router = Router([{"port": 1, "link": 0}], [{"class": 6}, {"instance": 1}], 5, 157)
    pipe = Pipeline(["T[1]"], session=SESSION, router=router, index=7)
    unconnected_send = "5202 20062401 059d 0a00" + READ_T1 + "0100 0100"
    assert pipe.requests() == [rr_frame(unconnected_send, context="7")]
    pipe.receive_data(rr_frame("cc000000 c300 0100", context="7"))
    assert [r[0] for r in pipe.results()] == [7]


def test_an_operation_routed_its_own_way():
    """An operation with its own route path is wrapped for it, and is not packed together with
    operations using the defaults."""
    router = Router([{"port": 1, "link": 0}], [{"class": 6}, {"instance": 1}], 5, 157)
    ops = ["T[1]", {"path": [{"symbolic": "T"}, {"element": 1}], "route_path": "1/3"}]
    first, second = Pipeline(ops, router=router, depth=2, multiple=500).requests()
    assert first.endswith(hexbytes("0100 0100")) and second.endswith(hexbytes("0100 0103"))


def test_multiple_service_packet_batching_and_reply_split():
    """Three reads fit one Multiple Service Packet to the Message Router; its reply is split
    back over the three operations."""
    pipe = Pipeline(["T[0]", "T[1]", "T[2]"], session=SESSION, multiple=500)
    msp = (
        "0a02 20022401 0300 0800 1200 1c00"  # MSP to @2/1: 3 requests at offsets 8, 18, 28
        "4c03 91015400 2800 0100" + READ_T1 + "4c03 91015400 2802 0100"
    )
    assert pipe.requests() == [rr_frame(msp)]
    assert pipe.requests() == []
    reply = (
        "8a000000 0300 0800 1000 1800 cc000000 c300 0000  cc000000 c300 0100  cc000000 c300 0200"
    )
    pipe.receive_data(rr_frame(reply))
    out = pipe.results()
    assert [(r[0], r[4], r[5]) for r in out] == [(0, 0, [0]), (0, 0, [1]), (0, 0, [2])]
    assert all(r[1].startswith("Multi. Read  Tag  T[") for r in out)
    assert pipe.requests() == [] and pipe.finished


def test_multiple_size_limit_splits_packets():
    """A 100-byte limit holds two of these reads per packet (68 + 10 + 12 request bytes), so
    five reads take three requests with contexts 0, 1, 2."""
    pipe = Pipeline([f"T[{i}]" for i in range(5)], session=SESSION, multiple=100, depth=5)
    frames = pipe.requests()
    assert [f[12:20].rstrip(b"\0") for f in frames] == [b"0", b"1", b"2"]
    assert [f[40 + 6] for f in frames[:2]] == [2, 2]  # MSP request counts
    assert frames[2][40] == 0x4C  # the last one alone: a plain Read Tag


def test_depth_limits_requests_in_flight_and_out_of_order_replies():
    """Depth 2: two frames, then none until a reply; replies answered out of order still give
    results in issue order."""
    pipe = Pipeline(["T[0]", "T[1]", "T[2]"], session=SESSION, depth=2)
    first, second = pipe.requests()
    assert pipe.requests() == [] and list(pipe.in_flight) == [b"0", b"1"]
    assert first[12:13] == b"0" and second[12:13] == b"1"
    pipe.receive_data(rr_frame("cc000000 c300 0b00", context="1"))
    assert pipe.results() == []  # T[0] not answered yet
    [third] = pipe.requests()
    assert third[12:13] == b"2"
    pipe.receive_data(rr_frame("cc000000 c300 1600", context="2"))
    pipe.receive_data(rr_frame("cc000000 c300 0000", context="0"))
    assert [(r[0], r[5]) for r in pipe.results()] == [(0, [0]), (1, [11]), (2, [22])]
    assert not pipe.finished  # until requests() finds no more operations
    assert pipe.requests() == [] and pipe.finished


def test_receive_data_in_any_split():
    """Replies fed one byte at a time, or two in one chunk, are framed the same."""
    data = rr_frame("cc000000 c300 0500", "0") + rr_frame("cc000000 c300 0600", "1")
    for chunk in (1, 7, len(data)):
        pipe = Pipeline(["T[0]", "T[1]"], session=SESSION, depth=2)
        pipe.requests()
        for i in range(0, len(data), chunk):
            pipe.receive_data(data[i : i + chunk])
        assert [r[5] for r in pipe.results()] == [[5], [6]]


def test_fragmented_read_continues_at_the_next_offset():
    """Read Tag Fragmented: a partial reply (status 0x06) makes the next request continue at
    the offset of the bytes received; the value joins both fragments."""
    pipe = Pipeline(["T[0-3]"], session=SESSION, fragment=True)
    assert pipe.requests() == [rr_frame("5203 91015400 2800 0400 00000000")]
    pipe.receive_data(rr_frame("d2000600 c300 0000 0100"))
    assert pipe.results() == []
    assert pipe.requests() == [rr_frame("5203 91015400 2800 0400 04000000", context="1")]
    pipe.receive_data(rr_frame("d2000000 c300 0200 0300", context="1"))
    [result] = pipe.results()
    assert result[0] == 0 and result[1] == "Single Read  Frag T[0-3]"
    assert result[4:] == (0, [0, 1, 2, 3])


def test_cip_error_statuses_are_results():
    """A device's error status (and extended status) is the operation's result, not an error
    of the pipeline: the next operation goes on."""
    pipe = Pipeline(["NOPE", "T[99]", "T[1]"], session=SESSION)
    pipe.requests()
    pipe.receive_data(rr_frame("cc000500"))  # path destination unknown
    pipe.requests()
    pipe.receive_data(rr_frame("cc00ff01 0521", context="1"))  # 0xFF, extended 0x2105
    pipe.requests()
    pipe.receive_data(rr_frame("cc000000 c300 0100", context="2"))
    out = pipe.results()
    assert [(r[4], r[5]) for r in out] == [(0x05, None), ((0xFF, [0x2105]), None), (0, [1])]
    assert pipe.broken is None


def test_embedded_service_error_in_a_multiple_service_packet():
    """MSP reply status 0x1E: each part gets its own status."""
    pipe = Pipeline(["T[0]", "NOPE"], session=SESSION, multiple=500)
    pipe.requests()
    reply = "8a001e00 0200 0600 0e00 cc000000 c300 0900 cc000500"
    pipe.receive_data(rr_frame(reply))
    assert [(r[4], r[5]) for r in pipe.results()] == [(0, [9]), (0x05, None)]


def test_encapsulation_status_fails_that_request_only():
    """A non-zero encapsulation status fails the operations of that request (EncapsulationError
    with the status); the pipeline goes on."""
    pipe = Pipeline(["T[0]", "T[1]"], session=SESSION)
    pipe.requests()
    pipe.receive_data(rr_frame("", status=0x0064))
    pipe.requests()
    pipe.receive_data(rr_frame("cc000000 c300 0100", context="1"))
    first, second = pipe.results()
    assert isinstance(first[4], EncapsulationError) and first[4].status == 0x64
    assert first[5] is None and second[5] == [1]


def test_unknown_sender_context_breaks_the_pipeline():
    """A reply to no request in flight: BadReply for every operation left, even those not yet
    taken from the operations; the pipeline is finished."""
    pipe = Pipeline(["T[0]", "T[1]", "T[2]"], session=SESSION, depth=2)
    pipe.requests()
    pipe.receive_data(rr_frame("cc000000 c300 0000", context="99"))
    assert isinstance(pipe.broken, BadReply) and "99" in str(pipe.broken)
    out = pipe.results()
    assert [r[0] for r in out] == [0, 1, 2]
    assert all(r[5] is None and r[4] is pipe.broken for r in out)
    assert pipe.requests() == [] and pipe.finished


@pytest.mark.parametrize(
    "garbage",
    [
        b"\xff" * 30,  # no such encapsulation command
        hexbytes("6f00 0002") + bytes(20),  # a payload longer than the stream allows
    ],
)
def test_garbage_breaks_the_pipeline(garbage):
    """Bytes that cannot be framed end the pipeline with BadReply."""
    pipe = Pipeline(["T[0]"], session=SESSION, stream=ReplyStream(max_length=500))
    pipe.requests()
    pipe.receive_data(garbage)
    [result] = pipe.results()
    assert isinstance(result[4], BadReply) and pipe.finished


def test_unframeable_header_after_a_good_reply():
    """A good reply followed, in the same bytes, by an unframeable header: the reply is applied,
    then the pipeline breaks."""
    pipe = Pipeline(["T[0]", "T[1]"], SESSION, depth=2, stream=ReplyStream(None, "dev", 500))
    pipe.requests()
    pipe.receive_data(rr_frame("cc000000 c300 0700") + hexbytes("6f00 0002") + bytes(20))
    first, second = pipe.results()
    assert first[5] == [7]
    assert isinstance(second[4], BadReply) and "unframeable reply from dev" in str(second[4])


def unit_reply(sequence: int, cip: str) -> bytes:
    """A SendUnitData reply: connected address and connected data (sequence + CIP in hex)."""
    body = struct.pack("<H", sequence) + hexbytes(cip)
    payload = struct.pack("<IHHHHIHH", 0, 0, 2, 0xA1, 4, 0x55667788, 0xB1, len(body)) + body
    return struct.pack("<HHII8sI", 0x70, len(payload), SESSION, 0, b"", 0) + payload


def test_connected_requests_use_send_unit_data_and_sequence_numbers():
    """Over a CIP connection: SendUnitData with the connection id and the next sequence number;
    replies are matched by sequence number."""
    pipe = Pipeline(["T[1]", "T[0]"], session=SESSION, connection_id=0x11223344, sequence=7)
    [frame] = pipe.requests()
    header = "7000 2000" + SESSION_BYTES + "00000000 3000000000000000 00000000"
    send_unit_data = "00000000 0000 0200 a100 0400 44332211 b100 0c00 0800"  # sequence 8
    assert frame == hexbytes(header + send_unit_data + READ_T1)
    assert pipe.sequence == 8
    pipe.receive_data(unit_reply(8, "cc000000 c300 0100"))
    [second] = pipe.requests()
    assert second[44:46] == b"\x09\x00"  # sequence 9
    pipe.receive_data(unit_reply(9, "cc000000 c300 0000"))
    assert [r[5] for r in pipe.results()] == [[1], [0]]
    bad = Pipeline(["T[1]"], session=SESSION, connection_id=1)
    bad.requests()
    bad.receive_data(rr_frame("cc000000 c300 0100"))  # SendRRData on a connection
    assert isinstance(bad.broken, BadReply) and "0x006F" in str(bad.broken)


def test_fail_ends_everything_left_with_the_transports_error():
    """The transport's error (a timeout here) fails the request in flight and all operations
    after it, with their indices."""
    pipe = Pipeline(["T[0]", "T[1]", "T[2]"], session=SESSION)
    pipe.requests()
    pipe.receive_data(rr_frame("cc000000 c300 0000"))
    pipe.requests()
    error = ReplyTimeout("no reply")
    pipe.fail(error)
    out = pipe.results()
    assert [r[5] for r in out] == [[0], None, None]
    assert out[1][4] is error and out[2][4] is error
    assert [r[0] for r in out] == [0, 1, 2] and pipe.finished


def test_unsent_frames_give_their_indices_back():
    """Frames that could not be sent count as never issued: their operations and all after
    them take the index of the first of them."""
    pipe = Pipeline([f"T[{i}]" for i in range(5)], session=SESSION, depth=3)
    assert len(pipe.requests()) == 3
    pipe.receive_data(rr_frame("cc000000 c300 0000"))
    assert len(pipe.requests()) == 1  # index 3
    pipe.fail(ConnectionClosed("send failed"), unsent=1)
    assert [r[0] for r in pipe.results()] == [0, 1, 2, 3, 3]
    burst = Pipeline([f"T[{i}]" for i in range(4)], session=SESSION, depth=3)
    burst.requests()
    burst.fail(ConnectionClosed("send failed"), unsent=3)
    assert [r[0] for r in burst.results()] == [0, 0, 0, 0]


def test_an_operation_that_cannot_be_encoded_fails_alone():
    """Data that does not fit its type fails that operation before anything is sent; the next
    operation is the first request."""
    path = [{"symbolic": "T"}, {"element": 1}]
    pipe = Pipeline([{"path": path, "data": [1 << 40], "tag_type": 0xC3}, "T[1]"], SESSION)
    assert pipe.requests() == [rr_frame(READ_T1)]
    [failed] = pipe.results()
    assert (failed[0], failed[5]) == (0, None) and isinstance(failed[4], ValueError)
    pipe.receive_data(rr_frame("cc000000 c300 0100"))
    [result] = pipe.results()
    assert result[4:] == (0, [1])


def test_a_failure_takes_a_bounded_number_of_operations_from_an_endless_source():
    """fail() fails what is in flight and what is waiting, then at most FAIL_LIMIT operations
    not yet taken: a generator that never ends is left where it stands (no hang, no growth)."""
    taken = 0

    def endless():
        nonlocal taken
        while True:
            taken += 1
            yield "T[0]"

    pipe = Pipeline(endless(), session=SESSION, depth=2)
    assert len(pipe.requests()) == 2
    error = ConnectionClosed("gone")
    pipe.fail(error)
    out = pipe.results()
    assert pipe.finished and pipe.broken is error
    assert len(out) == 2 + FAIL_LIMIT == taken
    assert all(r[4] is error and r[5] is None for r in out)
