"""Modbus/TCP throughput: cpppo's poller_modbus vs a raw pymodbus client, same simulator, one run.

Both read 100 holding registers (40001-40100) per request, as fast as they can, from one
``modbus_sim`` started here as a separate process on 127.0.0.1 (a free port). Every loop is
bounded in requests and seconds. Rounds alternate between the contenders; the table shows the
median rate and the ratio to the raw client (goal: poller >= 1.0x).

    python bench/modbus.py [--rounds 5] [--seconds 2.0]
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import subprocess
import sys
import time

from pymodbus.client import ModbusTcpClient

from cpppo.remote.plc_modbus import poller_modbus

MAX_REQUESTS = 100_000  # per round, whatever the time allows
COUNT = 100


def start_simulator() -> tuple[subprocess.Popen, int]:
    """``modbus_sim -a 127.0.0.1:0 40001-40100=99`` in its own process, and its port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cpppo.remote.modbus_sim", "-a", "127.0.0.1:0", "40001-40100=99"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"address = 127\.0\.0\.1:(\d+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"modbus_sim did not start: {line!r}")
    return proc, int(match[1])


def raw_round(port: int, seconds: float) -> tuple[int, float]:
    """A pymodbus sync client reading 100 registers in a loop: (requests, seconds)."""
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
    client.connect()
    client.read_holding_registers(0, count=COUNT)  # connected and warm
    requests = 0
    started = time.perf_counter()
    deadline = started + seconds
    while requests < MAX_REQUESTS and time.perf_counter() < deadline:
        response = client.read_holding_registers(0, count=COUNT)
        assert response.registers[99] == 99
        requests += 1
    elapsed = time.perf_counter() - started
    client.close()
    return requests, elapsed


def poller_round(port: int, seconds: float) -> tuple[int, float]:
    """poller_modbus polling 40001-40100 with rate 0 (back to back): (requests, seconds)."""
    plc = poller_modbus("bench", host="127.0.0.1", port=port, rate=0.0, timeout=2)
    try:
        for address in range(40001, 40001 + COUNT):
            plc.poll(address)
        deadline = time.monotonic() + 5
        while plc.read(40100) != 99:  # connected and warm
            if time.monotonic() > deadline:
                raise SystemExit("poller_modbus never came online")
            time.sleep(0.01)
        first = plc.counter
        started = time.perf_counter()
        while plc.counter - first < MAX_REQUESTS and time.perf_counter() - started < seconds:
            time.sleep(0.01)
        requests = plc.counter - first
        elapsed = time.perf_counter() - started
        assert plc.online and plc.read(40100) == 99
    finally:
        plc.close()
    return requests, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL + 1)
    proc, port = start_simulator()
    rates: dict[str, list[float]] = {
        "pymodbus ModbusTcpClient (raw)": [],
        "cpppo poller_modbus": [],
    }
    try:
        for _ in range(args.rounds):
            for name, run in zip(rates, (raw_round, poller_round)):
                requests, elapsed = run(port, args.seconds)
                rates[name].append(requests / elapsed)
    finally:
        proc.kill()
        proc.wait()
    raw = statistics.median(rates["pymodbus ModbusTcpClient (raw)"])
    print(
        f"Modbus/TCP: read 100 holding registers, modbus_sim in its own process, "
        f"{args.rounds} alternating rounds of {args.seconds:g} s (median)"
    )
    print(f"{'client':34} {'req/s':>9} {'min':>9} {'max':>9} {'ratio':>7}")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:34} {median:9.0f} {min(values):9.0f} {max(values):9.0f} {median / raw:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
