"""Modbus/RTU over a pseudo-terminal pair: simulator and poller on either end, several units."""

from __future__ import annotations

import sys
import time

import pytest
from remote_helpers import PtyRelay

from cpppo.remote.plc import PlcOffline
from cpppo.remote.plc_modbus import poller_modbus, rtu_client
from cpppo.remote.simulator import ModbusSimulator
from helpers import closing_all, wait_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

BAUD = 115200


@pytest.fixture
def line():
    with PtyRelay() as relay:
        yield relay


@pytest.fixture
def rtu_sim(line):
    """``rtu_sim(end, registers, **kw)``: a simulator on end "a" or "b" of the line."""

    def make(end: str, registers, **kw) -> ModbusSimulator:
        sim = ModbusSimulator(registers, address=getattr(line, end), baudrate=BAUD, **kw)
        assert sim.start() == getattr(line, end)
        return sim

    with closing_all(make, ModbusSimulator.stop) as start:
        yield start


@pytest.fixture
def client(line):
    """``client(end, timeout)``: a pymodbus RTU client on that end, closed after the test."""

    def make(end: str, timeout: float = 0.5):
        return rtu_client(getattr(line, end), baudrate=BAUD, timeout=timeout)

    with closing_all(make, lambda c: c.close()) as start:
        yield start


@pytest.mark.parametrize("sim_end, poll_end", [("a", "b"), ("b", "a")])
def test_poller_reads_and_writes_over_rtu(line, rtu_sim, sim_end, poll_end):
    sim = rtu_sim(sim_end, ["40001-40010=7", "1-8=1,0"], units=[17])
    plc = poller_modbus(
        "rtu",
        client=rtu_client(getattr(line, poll_end), baudrate=BAUD, timeout=0.5),
        unit=17,
        rate=0.05,
    )
    try:
        for address in (40001, 40010, 1, 2):
            plc.poll(address)
        wait_for(lambda: plc.read(40010) == 7)
        assert plc.read(1) is True and plc.read(2) is False
        plc.write(40010, [1234])
        plc.write(2, 1)
        assert sim.get(40010) == [1234] and sim.get(2) == [True]
        wait_for(lambda: plc.read(40010) == 1234 and plc.read(2) is True)
        sim.set(40001, 99)
        wait_for(lambda: plc.read(40001) == 99)
    finally:
        plc.close()
    # Request frames crossed the line one way, replies the other way.
    to_sim = "a->b" if poll_end == "a" else "b->a"
    to_poller = "b->a" if poll_end == "a" else "a->b"
    assert line.relayed[to_sim][:2] == b"\x11\x03" or line.relayed[to_sim][:2] == b"\x11\x01"
    assert line.relayed[to_poller][0] == 0x11


def test_multi_drop_units_and_timeouts(line, rtu_sim, client):
    sim = rtu_sim("a", ["40001=5"], units=[1, 2, 3])
    master = client("b", timeout=0.3)
    master.write_register(0, 20, device_id=2)
    assert master.read_holding_registers(0, count=1, device_id=1).registers == [5]
    assert master.read_holding_registers(0, count=1, device_id=2).registers == [20]
    assert sim.get(40001, unit=3) == [5]
    replies = len(line.relayed["a->b"])
    started = time.monotonic()
    with pytest.raises(Exception, match="No response"):
        master.read_holding_registers(0, count=1, device_id=9)  # nobody home: silence
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 2.0  # the client's timeout is honoured, nothing hangs
    assert len(line.relayed["a->b"]) == replies  # the simulator stayed silent
    wait_for(lambda: sim.requests == 4)  # ... though it did see the request
    assert master.read_holding_registers(0, count=1, device_id=3).registers == [5]


def test_frames_found_again_after_line_noise(line, rtu_sim, client):
    sim = rtu_sim("a", ["40001-40002=1,2"], units=[1])
    master = client("b")
    for noise in (b"\xff\x00\x13", b"\x01\x03\x00", b"\x01\x10\x00\x00\x00\x7b", b"\x00" * 40):
        line.inject_to_a(noise)
        time.sleep(0.05)
        assert master.read_holding_registers(0, count=2, device_id=1).registers == [1, 2]
    assert sim.requests == 4


def test_broadcast_writes_every_unit_silently(line, rtu_sim, client):
    sim = rtu_sim("a", ["40001=5"], units=[1, 2])
    master = client("b")
    replies = len(line.relayed["a->b"])
    assert master.write_register(0, 77, device_id=0, no_response_expected=True) is None
    wait_for(lambda: sim.get(40001, unit=1) == [77] and sim.get(40001, unit=2) == [77])
    time.sleep(0.1)
    assert len(line.relayed["a->b"]) == replies


def test_rtu_faults_reach_the_poller(line, rtu_sim):
    sim = rtu_sim("a", ["40001=5"], units=[1], faults=["corrupt:crc"])
    plc = poller_modbus(
        "rtu", client=rtu_client(line.b, baudrate=BAUD, timeout=0.2), unit=1, rate=0.05
    )
    try:
        plc.poll(40001)
        wait_for(lambda: plc.counter >= 2)
        assert not plc.online and plc.read(40001) is None  # every reply fails its CRC
        with pytest.raises(PlcOffline):
            plc.write(40001, 6)
        sim.faults = []
        wait_for(lambda: plc.read(40001) == 6)  # the write got there; only its reply was bad
    finally:
        plc.close()


def test_cli_over_rtu_both_ends(line, run_cli):
    sim = run_cli(
        "cpppo.remote.modbus_sim",
        "-a",
        line.a,
        "--baudrate",
        str(BAUD),
        "-u",
        "5,6",
        "40001-40003=3",
    )
    banner = sim.expect(r"Success; Started Modbus/RTU Simulator; PID = \d+; address = (\S+)")
    assert banner[1] == line.a
    poll = run_cli(
        "cpppo.remote.modbus_poll",
        "-a",
        line.b,
        "--baudrate",
        str(BAUD),
        "-u",
        "6",
        "-R",
        "0.1",
        "40002=42",
        "40001-40003",
    )
    poll.expect(r"40001 == 3 \(was: None\)")
    poll.expect(r"40002 == 42 \(was: None\)")
    poll.expect(r"40003 == 3 \(was: None\)")
    assert poll.interrupt() == 0
    assert sim.interrupt() == 0
