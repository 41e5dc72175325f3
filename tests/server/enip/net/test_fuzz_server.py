"""Malformed input over a real socket: hypothesis builds frames from valid requests, then mutates
lengths, counts, segment types, sessions and commands. Every frame must get an answer (a status)
or a clean close within 1 s; the server's memory stays bounded; a valid request is answered
afterwards. At least 10,000 frames per run.
"""

from __future__ import annotations

import os
import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpppo.server.enip.codec import cip, connection, encap, epath, tags

FRAMES_PER_EXAMPLE = 50
EXAMPLES = 200  # x 50 = 10,000 frames
MAX_SIZE = 4000  # the server's -s: larger encapsulated requests are refused with 0x65


def _path(name: str, *elements: int) -> bytes:
    return epath.encode_epath([{"symbolic": name}, *({"element": e} for e in elements)])


def _read(name: str, *elements: int, count: int = 1) -> bytes:
    return cip.encode_request(0x4C, _path(name, *elements), tags.encode_read_tag(count))


def _templates(session: int, o_t: int) -> list[tuple[int, bytes]]:
    """Valid (command, payload) pairs of every kind the simulator serves."""
    write = cip.encode_request(0x4D, _path("D", 1), tags.encode_write_tag(0xC4, 2, bytes(8)))
    frag = cip.encode_request(0x52, _path("BIG"), tags.encode_read_tag_fragmented(500, 40))
    wfrag = cip.encode_request(
        0x53, _path("BIG"), tags.encode_write_tag_fragmented(0xC4, 4, 4, bytes(8))
    )
    rmw = cip.encode_request(0x4E, _path("D", 2), tags.encode_read_modify_write(4, 1, 0xFFFF))
    msp = cip.encode_request(
        0x0A, cip.MESSAGE_ROUTER_EPATH, cip.encode_multiple([_read("D", 1), write, _read("S")])
    )
    ucmm = cip.encode_request(
        0x52,
        cip.CONNECTION_MANAGER_EPATH,
        connection.encode_unconnected_send(_read("BIG", 3, count=20), [{"port": 1, "link": 0}]),
    )
    gaa = cip.encode_request(0x01, epath.encode_epath([{"class": 1}, {"instance": 1}]))
    gal = cip.encode_request(
        0x03,
        epath.encode_epath([{"class": 0xF5}, {"instance": 1}]),
        b"\x03\x00\x01\x00\x05\x00\x06\x00",
    )
    fo = connection.ForwardOpen(
        t_o_connection_id=1,
        connection_serial=session & 0xFFFF,
        vendor_id=1,
        originator_serial=o_t,
        timeout_multiplier=0,
        o_t_rpi=100_000,
        o_t_parameters=0x43F8,
        t_o_rpi=100_000,
        t_o_parameters=0x43F8,
        connection_path=[{"port": 1, "link": 0}, {"class": 2}, {"instance": 1}],
    )
    fopen = cip.encode_request(
        0x54, cip.CONNECTION_MANAGER_EPATH, connection.encode_forward_open(fo)
    )
    fclose = cip.encode_request(
        0x4E,
        cip.CONNECTION_MANAGER_EPATH,
        connection.encode_forward_close(connection.ForwardClose(connection_serial=3)),
    )
    rr = [_read("D", 3), write, frag, wfrag, rmw, msp, ucmm, gaa, gal, fopen, fclose]
    unit = [_read("BIG", 0, count=1000), write, msp, rmw, gaa]
    out = [(0x6F, encap.encode_rr_data(message)) for message in rr]
    out += [(0x70, encap.encode_unit_data(o_t, i, message)) for i, message in enumerate(unit)]
    out += [(0x63, b""), (0x04, b""), (0x64, b""), (0x65, b"\x01\x00\x00\x00"), (0x00, b"x")]
    return out


SEGMENT_BYTES = [0x00, 0x10, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x28, 0x29, 0x2A, 0x2B,
                 0x2C, 0x30, 0x31, 0x34, 0x3F, 0x40, 0x80, 0x91, 0x92, 0xE0, 0xFF]  # fmt: skip
position = st.integers(0, 1 << 16)
mutation = st.one_of(
    st.tuples(st.just("flip"), position, st.integers(0, 255)),
    st.tuples(st.just("truncate"), position),
    st.tuples(st.just("extend"), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("u16"), position, st.integers(0, 0xFFFF)),
    st.tuples(st.just("segment"), position, st.sampled_from(SEGMENT_BYTES)),
    st.tuples(st.just("session"), st.integers(0, 0xFFFFFFFF)),
    st.tuples(st.just("command"), st.sampled_from([0x01, 0x05, 0x63, 0x6F, 0x70, 0x72, 0xFFFF])),
    st.tuples(st.just("huge"), st.integers(MAX_SIZE - 23, 0xFFFF)),
    st.tuples(st.just("random"), st.binary(max_size=300)),
)
frame = st.tuples(st.integers(0, 19), st.lists(mutation, max_size=3))


def build(template: tuple[int, bytes], mutations: list, session: int) -> tuple[int, bytes, bool]:
    """Apply mutations; return (command, whole message, complete) -- incomplete if 'huge'."""
    command, payload = template
    data = bytearray(payload)
    announced = None
    for kind, *args in mutations:
        if kind == "flip" and data:
            data[args[0] % len(data)] = args[1]
        elif kind == "truncate":
            del data[args[0] % (len(data) + 1) :]
        elif kind == "extend":
            data += args[0]
        elif kind == "u16" and len(data) >= 2:
            at = args[0] % (len(data) - 1)
            data[at : at + 2] = struct.pack("<H", args[1])
        elif kind == "segment" and data:
            data[args[0] % len(data)] = args[1]
        elif kind == "session":
            session = args[0]
        elif kind == "command":
            command = args[0]
        elif kind == "huge":
            announced = args[0]
        elif kind == "random":
            data = bytearray(args[0])
    header = encap.HEADER.pack(
        command, len(data) if announced is None else announced, session, 0, b"fuzzing!", 0
    )
    return command, header + bytes(data), announced is None


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc for memory")
def test_fuzzed_frames_get_a_status_or_a_clean_close(enip_server_process, enip_raw_client):
    server = enip_server_process(
        "-s", str(MAX_SIZE), "D=DINT[10]", "S=SSTRING[4]", "BIG=DINT[2000]"
    )
    state = {"client": None, "frames": 0, "closes": 0, "answers": 0}

    def fresh():
        if state["client"] is not None:
            state["client"].close()
        client = enip_raw_client(server.address, timeout=1.0)
        client.register()
        client.t_o_id = 0x77
        assert (
            client.forward_open(size=504, multiplier=7, serial=state["frames"] & 0xFFFF).status == 0
        )
        state["client"] = client
        state["templates"] = _templates(client.session, client.o_t_id)

    fresh()
    baseline = None

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(frame, min_size=FRAMES_PER_EXAMPLE, max_size=FRAMES_PER_EXAMPLE))
    def run(frames):
        for index, mutations in frames:
            client = state["client"]
            template = state["templates"][index]
            command, message, complete = build(template, mutations, client.session)
            client.send(message)
            state["frames"] += 1
            if command == 0x00 and complete:
                continue  # NOP: no reply by definition
            began = time.monotonic()
            try:
                reply = client.receive(timeout=1.0)
            except (ConnectionResetError, BrokenPipeError):
                reply = None
            except TimeoutError:
                raise AssertionError(f"no answer within 1 s to {message.hex()}") from None
            assert time.monotonic() - began < 1.0
            if reply is None:
                state["closes"] += 1
                fresh()
            else:
                state["answers"] += 1

    started = time.monotonic()
    run()
    baseline = rss_kib(server.pid)
    run_frames = state["frames"]
    assert run_frames >= 10_000, run_frames
    # memory: a second batch of the same frames does not grow the server
    run()
    grown = rss_kib(server.pid) - baseline
    assert grown < 8 * 1024, f"server RSS grew by {grown} KiB"
    # the server still answers a valid request
    fresh()
    reply = state["client"].rr(_read("D", 3))
    assert reply.status == 0 and bytes(reply.data)[:2] == b"\xc4\x00"
    assert state["answers"] > 5_000 and state["closes"] > 10
    assert time.monotonic() - started < 120
    # no request made the server fail internally (it logs a traceback when one does)
    assert server.stop() == 0
    assert "Traceback" not in server.errors()
