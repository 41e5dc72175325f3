"""Benchmark tags that move in a fleet (docs/fleet.md "Moving tags").

A fleet of ``--devices`` ControlLogix devices (default 1,000), each with 10 DINT tags of which 5
move (ramp, sine, sawtooth, square, counter; phases differing by device) at ``--rate`` updates a
second (default 10), served on 127.0.x.y addresses. Each mode runs in its own process, which
measures itself over ``--seconds`` (default 10) after a warm-up:

- ``shared``: the fleet's :class:`~cpppo.server.enip.fleet.behaviours.FleetBehaviours`, every
  device's behaviours stepped from one task;
- ``per-device``: one :class:`~cpppo.server.enip.net.behaviour_loop.BehaviourLoop` per device;
- ``still``: no behaviours running (the fleet's own cost, for scale).

Printed per mode: the process's CPU % of one core (utime + stime from ``/proc/<pid>/stat``), the
updates of all devices per second, the fleet's start-up seconds (building and binding every
device), and the event loop's lag: a probe task sleeps 10 ms again and
again, and its worst and 99th-percentile oversleep are shown.

    python bench/fleet_behaviours.py [--devices 1000] [--rate 10] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time

NET = "127.0.60.1"
MOVING = [
    "T0=ramp(min=0, max=1000, period=60, phase={n})",
    "T1=sine(amplitude=100, offset=200, period=30, phase={n})",
    "T2=sawtooth(min=0, max=500, period=20, phase={n})",
    "T3=square(min=0, max=1, period=4, phase={n})",
    "T4=counter(step=1, every=0.1, start={n})",
]


def fleet_text(devices: int, port: int, rate: float) -> str:
    """The fleet file: ``devices`` controllers of 10 DINTs, 5 of them moving."""
    tags = ", ".join(f'"T{k}=DINT"' for k in range(10))
    behave = ", ".join(json.dumps(spec) for spec in MOVING)
    return (
        f'[[device]]\nkind = "controllogix"\nname = "plc-{{n}}"\naddress = "{NET}"\n'
        f"count = {devices}\nport = {port}\ntags = [{tags}]\nbehave = [{behave}]\n"
        f"behaviour_rate = {rate}\n"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid``, in seconds (from /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(mode: str, devices: int, rate: float, seconds: float) -> dict[str, float]:
    """Serve the fleet in this process and measure it (see the module docstring)."""
    from cpppo.server.enip.fleet.server import FleetServer
    from cpppo.server.enip.fleet.spec import loads_fleet
    from cpppo.server.enip.net.behaviour_loop import BehaviourLoop

    spec = loads_fleet(fleet_text(devices, free_port(), rate))
    fleet = FleetServer(spec, udp=False)
    began = time.perf_counter()
    failed = await fleet.start()
    startup = time.perf_counter() - began
    assert not failed, [device.error for device in failed]
    loops: list[BehaviourLoop] = []
    if mode != "shared":
        assert fleet.behaviours is not None
        await fleet.behaviours.stop()
    if mode == "per-device":
        loops = [BehaviourLoop(d.behaviours, d.controller) for d in fleet.devices]
        for behaviour_loop in loops:
            behaviour_loop.start()
    lags: list[float] = []
    measuring = False

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.010)
            if measuring:
                lags.append(loop.time() - before - 0.010)

    probe_task = asyncio.get_running_loop().create_task(probe())
    await asyncio.sleep(2.0)  # warm up
    first = fleet.devices[0].controller
    assert first is not None
    before_value = first.tags.read("T4")
    updates = (
        sum(loop.updates for loop in loops)
        if loops
        else (fleet.behaviours.updates * devices if fleet.behaviours and mode == "shared" else 0)
    )
    pid = os.getpid()
    cpu, wall = cpu_seconds(pid), time.perf_counter()
    measuring = True
    await asyncio.sleep(seconds)
    measuring = False
    cpu, wall = cpu_seconds(pid) - cpu, time.perf_counter() - wall
    done = (
        sum(loop.updates for loop in loops)
        if loops
        else (fleet.behaviours.updates * devices if fleet.behaviours and mode == "shared" else 0)
    )
    moved = first.tags.read("T4") != before_value
    probe_task.cancel()
    for behaviour_loop in loops:
        await behaviour_loop.stop()
    await fleet.stop()
    lags.sort()
    return {
        "startup_s": round(startup, 2),
        "cpu_percent": round(100 * cpu / wall, 1),
        "device_updates_per_s": round((done - updates) / wall),
        "lag_max_ms": round(1000 * lags[-1], 1) if lags else 0.0,
        "lag_p99_ms": round(1000 * lags[int(len(lags) * 0.99)], 1) if lags else 0.0,
        "moved": moved if mode != "still" else not moved,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--mode", choices=("shared", "per-device", "still"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:  # one measurement, in this process
        result = asyncio.run(measure(args.mode, args.devices, args.rate, args.seconds))
        print(json.dumps(result), flush=True)
        return
    print(
        f"{args.devices} devices x 10 DINT tags, 5 moving, at {args.rate:g} Hz;"
        f" measured over {args.seconds:g} s"
    )
    print(
        f"{'mode':<12}{'CPU %':>8}{'updates/s':>11}{'lag max ms':>12}{'lag p99 ms':>12}"
        f"{'start s':>9}"
    )
    for mode in ("shared", "per-device", "still"):
        command = [sys.executable, __file__, "--mode", mode, "--devices", str(args.devices)]
        command += ["--rate", str(args.rate), "--seconds", str(args.seconds)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if done.returncode:
            print(f"{mode}: failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        assert r["moved"], (mode, r)
        print(
            f"{mode:<12}{r['cpu_percent']:>8}{r['device_updates_per_s']:>11}"
            f"{r['lag_max_ms']:>12}{r['lag_p99_ms']:>12}{r['startup_s']:>9}"
        )


if __name__ == "__main__":
    main()
