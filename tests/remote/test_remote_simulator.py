"""The Modbus simulator over real loopback sockets, byte for byte, and its fault injection."""

from __future__ import annotations

import socket
import time

import pytest
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU
from remote_helpers import mbap, recv_frame

from cpppo.remote.faults import corrupt
from cpppo.remote.simulator import ModbusSimulator, _RtuFramer

READ_3 = bytes.fromhex("03 0000 0003")  # read holding registers 0..2


def test_reads_defined_registers_and_refuses_the_rest(simulator, connect):
    sim = simulator(["40001-40003=1,2,3", "1-10=1,0", "10001=1", "30001=0x1234"])
    sock = connect(sim)
    sock.sendall(mbap(1, 1, READ_3))
    assert recv_frame(sock) == bytes.fromhex("0001 0000 0009 01 03 06 0001 0002 0003")
    sock.sendall(mbap(2, 1, bytes.fromhex("03 0000 0004")))  # 40004 was never defined
    assert recv_frame(sock) == bytes.fromhex("0002 0000 0003 01 83 02")
    sock.sendall(mbap(3, 1, bytes.fromhex("01 0000 000A")))  # coils 1-10: 1,0,1,0...
    assert recv_frame(sock) == bytes.fromhex("0003 0000 0005 01 01 02 5501")
    sock.sendall(mbap(4, 1, bytes.fromhex("01 0000 000B")))  # coil 11 was never defined
    assert recv_frame(sock) == bytes.fromhex("0004 0000 0003 01 81 02")
    sock.sendall(mbap(5, 1, bytes.fromhex("02 0000 0001")))
    assert recv_frame(sock) == bytes.fromhex("0005 0000 0004 01 02 01 01")
    sock.sendall(mbap(6, 1, bytes.fromhex("04 0000 0001")))
    assert recv_frame(sock) == bytes.fromhex("0006 0000 0005 01 04 02 1234")


def test_writes_change_the_store(simulator, connect):
    sim = simulator(["40001-40003=0", "1-16=0"])
    sock = connect(sim)
    sock.sendall(mbap(1, 1, bytes.fromhex("06 0001 BEEF")))
    assert recv_frame(sock) == bytes.fromhex("0001 0000 0006 01 06 0001 BEEF")
    sock.sendall(mbap(2, 1, bytes.fromhex("10 0000 0002 04 0011 0022")))
    assert recv_frame(sock) == bytes.fromhex("0002 0000 0006 01 10 0000 0002")
    sock.sendall(mbap(3, 1, bytes.fromhex("0F 0002 0003 01 07")))
    assert recv_frame(sock) == bytes.fromhex("0003 0000 0006 01 0F 0002 0003")
    sock.sendall(mbap(4, 1, bytes.fromhex("05 000F FF00")))
    assert recv_frame(sock) == bytes.fromhex("0004 0000 0006 01 05 000F FF00")
    assert sim.get(40001, 3) == [0x11, 0x22, 0]
    assert sim.get(1, 16) == [False, False, True, True, True] + [False] * 10 + [True]
    sock.sendall(mbap(5, 1, bytes.fromhex("06 0003 0001")))  # 40004 does not exist
    assert recv_frame(sock) == bytes.fromhex("0005 0000 0003 01 86 02")


def test_bad_requests_get_exception_replies(simulator, connect):
    sim = simulator(["40001=1"])
    sock = connect(sim)
    sock.sendall(mbap(1, 1, bytes.fromhex("41 0000")))  # no such function
    assert recv_frame(sock) == bytes.fromhex("0001 0000 0003 01 C1 01")
    sock.sendall(mbap(2, 1, bytes.fromhex("03 00")))  # body too short
    assert recv_frame(sock) == bytes.fromhex("0002 0000 0003 01 83 03")
    sock.sendall(mbap(3, 1, bytes.fromhex("03 0000 007E")))  # 126 registers: too many
    assert recv_frame(sock) == bytes.fromhex("0003 0000 0003 01 83 03")


def test_pipelined_requests_are_all_answered_in_order(simulator, connect):
    sim = simulator(["40001-40003=1,2,3"])
    sock = connect(sim)
    sock.sendall(b"".join(mbap(tid, 1, READ_3) for tid in (7, 8, 9)))
    for tid in (7, 8, 9):
        assert recv_frame(sock)[:2] == tid.to_bytes(2, "big")
    sim.faults = ["delay:0-0.1"]
    sock.sendall(b"".join(mbap(tid, 1, READ_3) for tid in range(20, 30)))
    assert [recv_frame(sock)[:2] for _ in range(10)] == [
        t.to_bytes(2, "big") for t in range(20, 30)
    ]


def test_a_client_that_does_not_read_replies_is_throttled(simulator, connect):
    sim = simulator(["40001-40003=1,2,3"])
    sock = connect(sim)
    sock.sendall(b"".join(mbap(tid, 1, READ_3) for tid in range(1, 2001)))  # 24 kB at once
    for tid in range(1, 2001):
        assert recv_frame(sock, timeout=10)[:2] == tid.to_bytes(2, "big")
    assert sim.requests == 2000 and sim.backlog_peak <= 64  # 2000 without the throttle


def test_foreign_protocol_frames_are_skipped_and_unframeable_streams_closed(simulator, connect):
    sim = simulator(["40001-40003=1,2,3"])
    sock = connect(sim)
    foreign = bytes.fromhex("0001 0001 0006 01") + READ_3
    sock.sendall(foreign + mbap(2, 1, READ_3))
    assert recv_frame(sock)[:2] == b"\x00\x02"
    sock.sendall(bytes.fromhex("0003 0000 FFFF 01 03"))  # length 65535 cannot be a Modbus frame
    assert recv_frame(sock) == b""  # closed


def test_units_are_separate_devices_and_others_get_a_gateway_exception(simulator, connect):
    sim = simulator(["40001=5"], units=[1, 2])
    sock = connect(sim)
    sock.sendall(mbap(1, 2, bytes.fromhex("06 0000 0007")))
    recv_frame(sock)
    assert sim.get(40001, unit=1) == [5] and sim.get(40001, unit=2) == [7]
    sock.sendall(mbap(2, 3, READ_3))
    assert recv_frame(sock) == bytes.fromhex("0002 0000 0003 03 83 0B")
    with pytest.raises(ValueError, match="not simulated"):
        sim.get(40001, unit=3)


def test_get_and_set_from_another_thread(simulator, connect):
    sim = simulator(["40001-40002=0", "30001=0", "10001-10002=0", "465536=9"])
    sim.set(40002, 65535)
    sim.set(30001, -2)  # input registers and discrete inputs can be simulated too
    sim.set(10001, [1, 1])
    assert sim.get(40001, 2) == [0, 65535]
    assert sim.get(300001) == [0xFFFE]
    assert sim.get(100001, 2) == [True, True]
    assert sim.get(465536) == [9]
    for bad in (lambda: sim.get(40003), lambda: sim.set(10003, 1), lambda: sim.get(465535)):
        with pytest.raises(KeyError):
            bad()
    with pytest.raises(ValueError):
        sim.set(40001, 70000)


def test_sparse_map_over_the_whole_range(simulator, connect):
    sim = simulator(["40001=1", "465536=2", "1=1", "165536=1"])
    sock = connect(sim)
    sock.sendall(mbap(1, 1, bytes.fromhex("03 FFFF 0001")))
    assert recv_frame(sock) == bytes.fromhex("0001 0000 0005 01 03 02 0002")
    sock.sendall(mbap(2, 1, bytes.fromhex("03 8000 0001")))
    assert recv_frame(sock) == bytes.fromhex("0002 0000 0003 01 83 02")
    sock.sendall(mbap(3, 1, bytes.fromhex("02 FFFF 0001")))
    assert recv_frame(sock) == bytes.fromhex("0003 0000 0004 01 02 01 01")
    sock.sendall(mbap(4, 1, bytes.fromhex("01 0001 0001")))  # coil 2 was never defined
    assert recv_frame(sock) == bytes.fromhex("0004 0000 0003 01 81 02")


def test_busy_port_is_an_oserror(simulator):
    sim = simulator(["40001=1"])
    clash = ModbusSimulator(["40001=1"], address=sim.address)
    with pytest.raises(OSError):
        clash.start()


# -- fault injection ---------------------------------------------------------------------------


def timed_read(sock: socket.socket, tid: int, timeout: float = 3.0) -> tuple[bytes, float]:
    started = time.monotonic()
    sock.sendall(mbap(tid, 1, READ_3))
    return recv_frame(sock, timeout), time.monotonic() - started


def test_fault_delay_value(simulator, connect):
    sim = simulator(["40001-40003=1,2,3"], faults=["delay:0.3"])
    sock = connect(sim)
    reply, elapsed = timed_read(sock, 1)
    assert reply == bytes.fromhex("0001 0000 0009 01 03 06 0001 0002 0003")
    assert 0.3 <= elapsed < 2.0
    sim.faults = []
    reply, elapsed = timed_read(sock, 2)
    assert elapsed < 0.25


def test_fault_delay_range(simulator, connect):
    sim = simulator(["40001-40003=1,2,3"], faults=["delay:0.1-0.3"], seed=3)
    sock = connect(sim)
    elapsed = [timed_read(sock, tid)[1] for tid in range(1, 6)]
    assert all(0.1 <= e < 1.5 for e in elapsed), elapsed
    # The delays of a seeded range are reproducible: the same seed draws the same ones.
    sim.faults = ["delay:0.1-0.3"]
    first = [sim.injector.decide().delay for _ in range(5)]
    sim.faults = ["delay:0.1-0.3"]
    assert [sim.injector.decide().delay for _ in range(5)] == first
    assert all(0.1 <= d <= 0.3 for d in first) and len(set(first)) == 5


def test_fault_drop(simulator, connect):
    sim = simulator(["40001-40003=1,2,3"], faults=["drop"])
    sock = connect(sim)
    sock.sendall(mbap(1, 1, READ_3))
    with pytest.raises(socket.timeout):
        recv_frame(sock, timeout=0.5)
    assert sim.requests == 1  # the request did arrive; its reply was dropped
    sim.faults = []
    assert timed_read(sock, 2)[0][:2] == b"\x00\x02"


def test_fault_truncate(simulator, connect):
    sim = simulator(["40001-40003=1,2,3"], faults=["truncate:10"])
    sock = connect(sim)
    sock.sendall(mbap(1, 1, READ_3))
    sock.settimeout(0.5)
    received = b""
    with pytest.raises(socket.timeout):
        while True:
            received += sock.recv(100)
    assert received == bytes.fromhex("0001 0000 0009 01 03 06 00")
    sim.faults = ["truncate"]
    sock.sendall(mbap(2, 1, READ_3))
    time.sleep(0.3)
    assert sock.recv(100) == bytes.fromhex("0002 0000 0009 01")  # 7 of 15 bytes


@pytest.mark.parametrize("field", ["transaction", "protocol", "length", "unit", "function", "data"])
def test_fault_corrupt(simulator, connect, field):
    sim = simulator(["40001-40003=1,2,3"], faults=[f"corrupt:{field}"])
    sock = connect(sim)
    good = bytes.fromhex("0001 0000 0009 01 03 06 0001 0002 0003")
    sock.sendall(mbap(1, 1, READ_3))
    sock.settimeout(1.0)
    received = sock.recv(100)
    assert received == corrupt(good, field, rtu=False) and received != good
    if field == "unit":
        assert received == bytes.fromhex("0001 0000 0009 FE 03 06 0001 0002 0003")


def test_faults_with_a_probability_hit_some_replies(simulator, connect):
    sim = simulator(["40001-40003=1,2,3"], faults=["corrupt:data@0.5"], seed=7)
    sock = connect(sim)
    damaged = 0
    for tid in range(1, 41):
        reply = timed_read(sock, tid)[0]
        damaged += reply[8] != 0x06
    assert 8 <= damaged <= 32


def test_fault_on_tcp_must_name_a_tcp_field():
    with pytest.raises(ValueError, match="no crc field"):
        ModbusSimulator(["40001=1"], faults=["corrupt:crc"])


# -- Modbus/RTU framing (sans-IO) --------------------------------------------------------------

REQUEST = bytes.fromhex("11 03 006B 0003")
REQUEST += FramerRTU.compute_CRC(REQUEST).to_bytes(2, "big")


def decode(data: bytes) -> tuple[int, int, bytes]:
    used, unit, _, body = _RtuFramer(DecodePDU(True)).decode(data)
    return used, unit, body


def test_rtu_framer_finds_frames_after_noise():
    assert decode(REQUEST) == (8, 0x11, REQUEST[1:-2])
    assert decode(b"\xff\x00\x13" + REQUEST) == (11, 0x11, REQUEST[1:-2])
    # A partial frame followed by the whole frame: the partial one fails its CRC.
    assert decode(REQUEST[:4] + REQUEST) == (12, 0x11, REQUEST[1:-2])
    # Two frames: one at a time, the second left for the next call.
    assert decode(REQUEST + REQUEST)[0] == 8


def test_rtu_framer_waits_for_more_and_drops_garbage():
    assert decode(REQUEST[:5]) == (0, 0, b"")  # could still become a frame
    assert decode(bytes(6)) == (3, 0, b"")  # no function code 0: keeps only a possible start
    used, _, body = decode(b"\xff\xff\xff" + REQUEST[:6])
    assert (used, body) == (3, b"")  # garbage before the candidate frame is dropped
