"""The poller API: the protocol-free base class, and poller_modbus against the simulator."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from cpppo.remote.addresses import COILS, HOLDING_REGISTERS, INPUT_REGISTERS
from cpppo.remote.plc import PlcError, PlcOffline, poller
from cpppo.remote.plc_modbus import poller_modbus
from helpers import closing_all, wait_for


# -- the base class, with a fake PLC -----------------------------------------------------------
class FakePlc(poller):
    """A PLC in a dict: one request per address; ``down`` makes it unreachable."""

    def __init__(self, store: dict[int, int], rate: float = 0.05) -> None:
        super().__init__("fake", rate=rate)
        self.store = store
        self.down = False
        self.ops: list[tuple[str, int]] = []
        self.gate: threading.Event | None = None
        self.in_read = threading.Event()

    def _plan(self, addresses):
        return [SimpleNamespace(addresses=(a,)) for a in addresses]

    def _read_block(self, block):
        (address,) = block.addresses
        self.ops.append(("read", address))
        self.in_read.set()
        if self.gate is not None:
            self.gate.wait(5)
        if self.down:
            raise PlcOffline("unplugged")
        if address not in self.store:
            raise PlcError("no such address")
        return {address: self.store[address]}

    def _split(self, block):
        return []

    def _check_write(self, address, values):
        if address < 0:
            raise ValueError("negative address")
        return values

    def _write(self, address, values):
        self.ops.append(("write", address))
        if self.down:
            raise PlcOffline("unplugged")
        for offset, value in enumerate(values):
            self.store[address + offset] = value


def test_base_poll_read_write_forget():
    with FakePlc({1: 10, 2: 20}) as plc:
        assert plc.read(1) is None and not plc.online  # nothing polled yet
        plc.poll(1)
        plc.poll(3)  # refused by the PLC
        wait_for(lambda: plc.read(1) == 10)
        assert plc.online and plc.read(3) is None
        wait_for(lambda: plc.failing == {3})
        plc.write(2, [21, 22])
        assert plc.store[3] == 22 and plc.read(2) is None  # not polled
        plc.forget(1)
        assert plc.read(1) is None and plc.polling == {3}
        with pytest.raises(ValueError):
            plc.write(-1, 0)


def test_base_rate_is_only_ever_raised():
    plc = FakePlc({1: 1}, rate=1.0)
    try:
        plc.poll(1, rate=2.0)
        assert plc.rate == 1.0
        plc.poll(1, rate=0.5)
        assert plc.rate == 0.5
        plc.poll(1)
        assert plc.rate == 0.5
        with pytest.raises(ValueError):
            plc.poll(1, rate=-1)
    finally:
        plc.close()


def test_base_offline_and_back():
    with FakePlc({1: 10}) as plc:
        plc.poll(1)
        wait_for(lambda: plc.read(1) == 10)
        plc.down = True
        wait_for(lambda: not plc.online)
        assert plc.read(1) is None
        with pytest.raises(PlcOffline):
            plc.write(1, 5)
        plc.store[1] = 11
        plc.down = False
        wait_for(lambda: plc.read(1) == 11)


def test_base_writes_go_between_poll_requests():
    """A write waits for the request in flight only, not for the rest of the poll cycle."""
    plc = FakePlc({a: a for a in range(1, 6)}, rate=10.0)
    plc.gate = threading.Event()
    try:
        for address in range(1, 6):
            plc.poll(address)
        assert plc.in_read.wait(5)  # the thread is inside a read, holding the PLC
        writer = threading.Thread(target=plc.write, args=(3, 33))
        writer.start()
        time.sleep(0.1)
        assert ("write", 3) not in plc.ops  # the write waits for the read in flight...
        plc.gate.set()
        writer.join(5)
        wait_for(lambda: len([op for op in plc.ops if op[0] == "read"]) >= 5)
        # ...and goes right after it, before the remaining reads of the cycle.
        assert plc.ops.index(("write", 3)) <= 2, plc.ops
    finally:
        plc.gate.set()
        plc.close()


def test_base_load_is_a_fraction_with_a_warm_up_mean():
    plc = FakePlc({})
    plc._account(0.5, 1.0)
    assert plc.load == (0.5, 0.5, 0.5)  # the first cycle is the whole history
    for _ in range(3):
        plc._account(0.5, 1.0)
    assert plc.load == pytest.approx((0.5, 0.5, 0.5))
    for _ in range(600):  # ten minutes of saturated polling
        plc._account(2.0, 1.0)
    one, five, fifteen = plc.load
    assert 0.99 < one <= 1.0 and five < one and fifteen < five and fifteen > 0.5
    plc.close()


def test_base_close_stops_the_thread():
    plc = FakePlc({1: 1})
    plc.poll(1)
    wait_for(lambda: plc.online)
    thread = plc._thread
    plc.close()
    assert thread is not None and not thread.is_alive() and not plc.online


# -- poller_modbus against the simulator -------------------------------------------------------
@pytest.fixture
def poller_for():
    """``poller_for(sim, **kw)`` -> a poller_modbus on the simulator, closed after the test."""

    def make(sim, **kw) -> poller_modbus:
        kw.setdefault("rate", 0.05)
        kw.setdefault("timeout", 0.5)
        return poller_modbus("test", host="127.0.0.1", port=sim.address[1], **kw)

    with closing_all(make, poller_modbus.close) as start:
        yield start


def test_poll_read_write(simulator, poller_for):
    sim = simulator(["40001-40100=99", "1-10=1", "30001=7", "10001=1"])
    plc = poller_for(sim)
    assert plc.read(40001) is None
    for address in (40001, 40100, 400001, 1, 30001, 10001):
        plc.poll(address)
    wait_for(lambda: plc.read(40001) == 99)
    assert plc.read(400001) == 99 and plc.read(40100) == 99
    assert plc.read(1) is True and plc.read(30001) == 7 and plc.read(10001) is True
    plc.write(40001, 123)
    assert sim.get(40001) == [123]
    wait_for(lambda: plc.read(40001) == 123 and plc.read(400001) == 123)
    plc.write(1, 0)
    wait_for(lambda: plc.read(1) is False)
    assert plc.online and plc.counter > 0 and all(0.0 <= x <= 1.0 for x in plc.load)


def test_reads_are_merged_per_table(simulator, poller_for):
    plc = poller_for(simulator(["40001=1"]), reach=100)
    plan = plc._plan([1, 2, 30001, 40001, 40050, 40100, 400001, 40200, 465536])
    assert [(b.table, b.offset, b.count) for b in plan] == [
        (COILS, 0, 2),
        (INPUT_REGISTERS, 0, 1),
        (HOLDING_REGISTERS, 0, 100),
        (HOLDING_REGISTERS, 199, 1),  # 40200 is 100 past 40100: out of reach
        (HOLDING_REGISTERS, 65535, 1),
    ]
    assert plan[2].addresses == (40001, 400001, 40050, 40100)
    assert [len(b.addresses) for b in plc._plan(list(range(40001, 40301)))] == [125, 125, 50]
    plc.reach = 0
    assert len(plc._plan([40001, 40003])) == 2


def test_sparse_polling_costs_the_addresses_used(simulator, poller_for):
    sim = simulator(["400001=1", "465536=2"])
    plc = poller_for(sim)
    plc.poll(400001)
    plc.poll(465536)
    wait_for(lambda: plc.read(465536) == 2)
    assert plc.read(400001) == 1 and plc.failing == set()
    assert [(b.offset, b.count) for b in plc._plan(sorted(plc.polling))] == [(0, 1), (65535, 1)]


def test_refused_addresses_are_split_out(simulator, poller_for):
    sim = simulator(["40001-40050=5", "40060=6"])
    plc = poller_for(sim)
    for address in range(40001, 40101):
        plc.poll(address)
    wait_for(lambda: plc.read(40060) == 6)
    wait_for(lambda: len(plc.failing) == 49)
    assert plc.failing == set(range(40051, 40101)) - {40060}
    assert plc.read(40001) == 5 and plc.read(40050) == 5 and plc.read(40051) is None
    # Settled: each cycle now costs two requests (40001-40050 and 40060).
    assert sorted((b.offset, b.count) for b in plc._plan_cache) == [(0, 50), (59, 1)]


def test_write_errors(simulator, poller_for):
    plc = poller_for(simulator(["40001-40010=0", "1=0"]))
    with pytest.raises(ValueError, match="read-only input registers"):
        plc.write(30001, 1)
    with pytest.raises(ValueError, match="read-only discrete inputs"):
        plc.write(100001, 1)
    with pytest.raises(ValueError, match="outside"):
        plc.write(40001, 65536)
    with pytest.raises(ValueError, match="not 0 or 1"):
        plc.write(1, 2)
    with pytest.raises(ValueError, match="leaves the holding registers range"):
        plc.write(99999, [1, 2])
    with pytest.raises(ValueError, match="not a Modbus address"):
        plc.write(20001, 1)
    with pytest.raises(PlcError, match="illegal data address"):
        plc.write(40011, 1)


def test_large_writes_are_split(simulator, poller_for):
    sim = simulator(["40001-40300=0", "1-2000=0"])
    plc = poller_for(sim)
    functions: list[tuple[int, int]] = []
    execute = plc.client.execute

    def recording(no_response_expected, request):
        functions.append((request.function_code, request.address))
        return execute(no_response_expected, request)

    plc.client.execute = recording
    plc.write(40001, list(range(300)))
    assert sim.get(40001, 125) == list(range(125)) and sim.get(40176, 125) == list(range(175, 300))
    assert functions == [(16, 0), (16, 123), (16, 246)]
    functions.clear()
    plc.write(1, [1] * 2000)
    assert functions == [(15, 0), (15, 1968)] and sim.get(1969, 32) == [True] * 32
    functions.clear()
    plc.write(40001, 7)
    plc.write(1, 0)
    assert functions == [(6, 0), (5, 0)]
    plc.multi = True
    functions.clear()
    plc.write(40001, 8)
    plc.write(1, 1)
    assert functions == [(16, 0), (15, 0)]
    assert sim.get(40001) == [8] and sim.get(1) == [True]


def test_offline_on_faults_and_back(simulator, poller_for):
    sim = simulator(["40001=42"])
    plc = poller_for(sim, timeout=0.15)
    plc.poll(40001)
    wait_for(lambda: plc.read(40001) == 42)
    for faults in (
        ["delay:0.5"],
        ["drop"],
        ["truncate"],
        ["corrupt:transaction"],
        ["corrupt:unit"],
        ["corrupt:protocol"],
        ["corrupt:function"],
    ):
        sim.faults = faults
        wait_for(lambda: not plc.online)
        assert plc.read(40001) is None
        with pytest.raises(PlcOffline):
            plc.write(40001, 1)  # reaches the simulator, but its reply is lost
        sim.set(40001, 42)
        sim.faults = []
        wait_for(lambda: plc.read(40001) == 42)


def test_corrupted_data_is_rejected(simulator, poller_for):
    sim = simulator(["40001=42"], faults=["corrupt:data"])
    plc = poller_for(sim)
    plc.poll(40001)
    # The byte count of every reply is damaged: malformed replies, so the PLC counts as offline.
    wait_for(lambda: plc.counter >= 3)
    assert not plc.online and plc.read(40001) is None
    sim.faults = []
    wait_for(lambda: plc.read(40001) == 42)


def test_killed_and_restarted_simulator(sim_cli):
    """The simulator process dies; the poller reports offline and recovers by itself."""
    proc, port = sim_cli("40001-40010=7")
    plc = poller_modbus("cli", host="127.0.0.1", port=port, rate=0.05, timeout=0.5)
    try:
        plc.poll(40001)
        plc.poll(40010)
        wait_for(lambda: plc.read(40010) == 7, timeout=10)
        plc.write(40001, 1234)
        wait_for(lambda: plc.read(40001) == 1234)
        proc.kill()
        wait_for(lambda: not plc.online)
        assert plc.read(40001) is None and plc.read(40010) is None
        with pytest.raises(PlcOffline):
            plc.write(40001, 1)
        sim_cli("40001-40010=8", address=f"127.0.0.1:{port}")
        wait_for(lambda: plc.read(40001) == 8, timeout=10)
        assert plc.online and plc.read(40010) == 8
    finally:
        plc.close()


def test_load_reflects_slow_replies(simulator, poller_for):
    sim = simulator(["40001=1"], faults=["delay:0.05"])
    plc = poller_for(sim, rate=0.1)
    plc.poll(40001)
    wait_for(lambda: plc.counter >= 8)
    one, five, fifteen = plc.load
    assert 0.25 < one < 0.95 and one == five == fifteen  # warm-up: a plain mean so far
