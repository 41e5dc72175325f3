"""Benchmark the ControlLogix simulator: pylogix single-tag reads/s, ours vs. the original cpppo.

Each server runs in its own process on loopback, serving ``SCADA=DINT[1000]``; one pylogix 1.1.6
client (in this process, connected messaging, its defaults) reads ``SCADA[1]`` in a loop. The
CPU seconds used by the server process and by the client over the same reads are printed too:
the server should not be the bottleneck (less CPU than the client).

Peers measured in the same run:
- "cpppo 5.2.5": the original simulator in its own venv, bench/.venv-cpppo525 (created with
  ``pip install cpppo==5.2.5 'greenery<3'`` when missing, unless --no-install); if it cannot be
  installed or started, the bench says so and prints ours alone.

    python bench/server.py [-n 10000] [--peer-reads 1500] [--repeat 3] [--no-install]

Goal: >= 50x the original's reads/s, and server CPU < client CPU over >= 10,000 reads.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time

import cpppo525
from pylogix import PLC

GOAL_RATIO = 50.0
TAG = "SCADA=DINT[1000]"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1 (for the peer, which cannot print it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port (or the process dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")


def start_ours() -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "cpppo.server.enip", "-a", "127.0.0.1:0", "-A", TAG],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline() if process.stdout else ""
    if not line:
        raise RuntimeError("our simulator did not start")
    return process, int(line.strip().rpartition(":")[2])


def ensure_peer(install: bool) -> str | None:
    """The original's python, installing its venv if allowed; None (with a message) if absent."""
    if cpppo525.installed() is None:
        if not install:
            print("cpppo 5.2.5: no venv at bench/.venv-cpppo525 (--no-install); ours alone")
            return None
        print("cpppo 5.2.5: creating bench/.venv-cpppo525 ...", flush=True)
    try:
        return str(cpppo525.original_python())
    except cpppo525.Unavailable as exc:
        print(f"cpppo 5.2.5: cannot be installed ({exc}); ours alone")
        return None


def start_peer(python: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [python, "-W", "ignore", "-m", "cpppo.server.enip", "-a", f"127.0.0.1:{port}", TAG],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_listening(port, process)
    return process, port


def measure(port: int, pid: int, reads: int, budget: float) -> dict:
    """pylogix reads of SCADA[1] (at most ``reads``, at most ``budget`` seconds)."""
    with PLC("127.0.0.1", port=port) as comm:
        comm.SocketTimeout = 10.0
        first = comm.Read("SCADA[1]")  # Forward Open and the type probe happen here
        if first.Status != "Success":
            raise RuntimeError(f"read failed: {first.Status}")
        server0, client0 = cpu_seconds(pid), time.process_time()
        began = time.perf_counter()
        done = 0
        while done < reads:
            reply = comm.Read("SCADA[1]")
            if reply.Status != "Success":
                raise RuntimeError(f"read failed: {reply.Status}")
            done += 1
            if done % 100 == 0 and time.perf_counter() - began > budget:
                break
        elapsed = time.perf_counter() - began
        server, client = cpu_seconds(pid) - server0, time.process_time() - client0
    return {"reads": done, "elapsed": elapsed, "server": server, "client": client}


def best_of(start, stop, reads: int, budget: float, repeat: int) -> dict:
    results = []
    for _ in range(repeat):
        process, port = start()
        try:
            results.append(measure(port, process.pid, reads, budget))
        finally:
            stop(process)
    return max(results, key=lambda r: r["reads"] / r["elapsed"])


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    if process.stdout:
        process.stdout.close()


def row(name: str, r: dict) -> str:
    rate = r["reads"] / r["elapsed"]
    per_read = 1e6 * r["server"] / r["reads"]
    return (
        f"{name:<14} {r['reads']:>8} {r['elapsed']:>8.2f} {rate:>10.0f} "
        f"{r['server']:>10.2f} {r['client']:>10.2f} {per_read:>12.1f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-n", "--reads", type=int, default=10_000, help="reads against ours")
    ap.add_argument("--peer-reads", type=int, default=1_500, help="reads against cpppo 5.2.5")
    ap.add_argument("--peer-seconds", type=float, default=15.0, help="time limit for the peer")
    ap.add_argument("--repeat", type=int, default=3, help="runs per server (best is shown)")
    ap.add_argument("--no-install", action="store_true", help="do not create the peer's venv")
    args = ap.parse_args()

    ours = best_of(start_ours, stop_process, args.reads, 600.0, args.repeat)
    peer = None
    python = ensure_peer(not args.no_install)
    if python is not None:
        try:
            peer = best_of(
                lambda: start_peer(python),
                stop_process,
                args.peer_reads,
                args.peer_seconds,
                max(1, args.repeat - 1),
            )
        except (RuntimeError, OSError) as exc:
            print(f"cpppo 5.2.5: cannot be measured ({exc}); ours alone")

    from cpppo.server.enip.net.server import _loop_factory

    loop = "uvloop" if _loop_factory() is not None else "the standard asyncio loop"
    print()
    print("pylogix 1.1.6 single-tag reads (SCADA[1] of SCADA=DINT[1000]) over loopback")
    print(f"our simulator runs on {loop} (uvloop comes with the 'fast' extra)")
    print(
        f"{'server':<14} {'reads':>8} {'seconds':>8} {'reads/s':>10} "
        f"{'server CPU':>10} {'client CPU':>10} {'srv us/read':>12}"
    )
    print(row("cpppo (ours)", ours))
    if peer is not None:
        print(row("cpppo 5.2.5", peer))
        ratio = (ours["reads"] / ours["elapsed"]) / (peer["reads"] / peer["elapsed"])
        verdict = "meets" if ratio >= GOAL_RATIO else "misses"
        print(f"\nours / cpppo 5.2.5: {ratio:.1f}x ({verdict} the {GOAL_RATIO:.0f}x goal)")
    bottleneck = "client" if ours["server"] < ours["client"] else "SERVER"
    print(
        f"over {ours['reads']} reads our server used {ours['server']:.2f} s CPU, "
        f"the pylogix client {ours['client']:.2f} s: the {bottleneck} is the bottleneck"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
