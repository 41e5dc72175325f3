"""Benchmark the ControlLogix simulator: pylogix single-tag reads, ours vs. the original cpppo.

Each server runs in its own process on loopback, serving ``SCADA=INT[1000]``; one pylogix 1.1.6
client (in this process, connected messaging, its defaults) reads the INT ``SCADA[1]``. Per
server it prints:

- reads/s, and the CPU seconds the server and the client used over the same reads (best of
  --repeat runs): the server should not be the bottleneck (less CPU than the client);
- server CPU per read (us);
- user-space instructions per read, counted by valgrind's callgrind (bench/callgrind.py): the
  server is run under callgrind twice, serving N and then M reads, and (total(M) - total(N)) /
  (M - N) is printed. Timings on shared machines swing several-fold; this figure does not.
  Skipped, with a message, when valgrind is not installed (Debian: ``apt-get install valgrind``)
  or with --no-callgrind. callgrind slows Python ~50x: each counted run takes 20-60 s.

and the ratios ours / the original's, measured in the same run.

Peers: "cpppo 5.2.5", the original simulator in its own venv, bench/.venv-cpppo525 (created with
``pip install cpppo==5.2.5 'greenery<3'`` when missing, unless --no-install); if it cannot be
installed or started, the bench says so and prints ours alone.

    python bench/server.py [-n 10000] [--peer-reads 1500] [--repeat 3] [--no-install]
                           [--callgrind-reads 200,1200] [--callgrind-peer-reads 20,120]

Goals: >= 50x the original's reads/s; server CPU < client CPU over >= 10,000 reads; <= 25,000
instructions per read (benchmark figures, not tests).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import callgrind
import cpppo525
from pylogix import PLC

GOAL_RATIO = 50.0
GOAL_INSTRUCTIONS = 25_000
TAG = "SCADA=INT[1000]"
READ = "SCADA[1]"
OURS = [sys.executable, "-m", "cpppo.server.enip"]

# Bounds of a run under callgrind: start-up takes 15-30 s there (longer on a loaded machine).
COUNTED_START = 300.0
COUNTED_READ = 120.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, timeout: float) -> None:
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


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM a server, SIGKILL it if it lingers."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def start(
    command: Sequence[str],
    wrapper: Sequence[str] = (),
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[subprocess.Popen, int]:
    """Start a simulator (``command`` takes ``-a host:port`` and tag definitions) serving
    :data:`TAG` on a free loopback port, under ``wrapper`` if given; (process, port)."""
    port = free_port()
    process = subprocess.Popen(
        [*wrapper, *command, "-a", f"127.0.0.1:{port}", TAG],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_listening(port, process, timeout)
    except BaseException:
        stop_process(process)
        raise
    return process, port


def read(comm: PLC) -> None:
    """One pylogix read of :data:`READ`; RuntimeError unless it succeeds."""
    reply = comm.Read(READ)
    if reply.Status != "Success":
        raise RuntimeError(f"read failed: {reply.Status}")


def measure(port: int, pid: int, reads: int, budget: float) -> dict:
    """pylogix reads of :data:`READ` (at most ``reads``, at most ``budget`` seconds), timed."""
    with PLC("127.0.0.1", port=port) as comm:
        comm.SocketTimeout = 10.0
        read(comm)  # Forward Open and the type probe happen here
        server0, client0 = cpu_seconds(pid), time.process_time()
        began = time.perf_counter()
        done = 0
        while done < reads:
            read(comm)
            done += 1
            if done % 100 == 0 and time.perf_counter() - began > budget:
                break
        elapsed = time.perf_counter() - began
        server, client = cpu_seconds(pid) - server0, time.process_time() - client0
    return {"reads": done, "elapsed": elapsed, "server": server, "client": client}


def best_of(command: Sequence[str], reads: int, budget: float, repeat: int) -> dict:
    """The fastest of ``repeat`` runs of :func:`measure`, each against a fresh server."""
    results = []
    for _ in range(repeat):
        process, port = start(command)
        try:
            results.append(measure(port, process.pid, reads, budget))
        finally:
            stop_process(process)
    return max(results, key=lambda r: r["reads"] / r["elapsed"])


def counted_reads(command: Sequence[str], reads: int, out: Path) -> None:
    """Start the server under callgrind (counts to ``out``), do ``reads`` reads, stop it."""
    process, port = start(
        command, callgrind.wrapper(out), callgrind.environment(), timeout=COUNTED_START
    )
    try:
        with PLC("127.0.0.1", port=port) as comm:
            comm.SocketTimeout = COUNTED_READ
            for _ in range(reads):
                read(comm)
    finally:
        callgrind.stop(process)


def instructions(name: str, command: Sequence[str], counts: tuple[int, int]) -> float | None:
    """Instructions per read of a server (callgrind, N and M reads), or None with a message."""
    n, m = counts
    print(f"{name}: counting instructions under callgrind ({n} and {m} reads) ...", flush=True)
    try:
        return callgrind.per_request(lambda r, out: counted_reads(command, r, out), n, m)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"{name}: instructions not counted ({exc})")
        return None


def ensure_peer(install: bool) -> str | None:
    """The original's python, installing its venv if allowed; None (with a message) if absent."""
    if os.environ.get("PYTHONPATH"):
        print("cpppo 5.2.5: PYTHONPATH is set, and the original's venv would import it; ours alone")
        return None
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


def pair(text: str) -> tuple[int, int]:
    """``"N,M"`` -> (N, M) with 0 <= N < M (argparse type)."""
    n, _, m = text.partition(",")
    counts = int(n), int(m)
    if not 0 <= counts[0] < counts[1]:
        raise argparse.ArgumentTypeError(f"need N,M with 0 <= N < M, not {text!r}")
    return counts


def figures(r: dict, instr: float | None) -> dict:
    """A result's figures for the table: reads/s, server us per read, instructions per read."""
    return {
        "rate": r["reads"] / r["elapsed"],
        "cpu": 1e6 * r["server"] / r["reads"],
        "instr": instr,
    }


def row(name: str, r: dict, instr: float | None) -> str:
    """One server's line of the table."""
    f = figures(r, instr)
    counted = "-" if instr is None else f"{instr:,.0f}"
    return (
        f"{name:<14} {r['reads']:>8} {r['elapsed']:>8.2f} {f['rate']:>10.0f} "
        f"{r['server']:>10.2f} {r['client']:>10.2f} {f['cpu']:>12.1f} {counted:>12}"
    )


def ratio_row(ours: dict, peer: dict) -> str:
    """The ours / original line of the table (reads/s, server CPU and instructions per read)."""
    a, b = ours, peer
    counted = "-" if a["instr"] is None or b["instr"] is None else f"{a['instr'] / b['instr']:.2g}x"
    return (
        f"{'ours / 5.2.5':<14} {'':>8} {'':>8} {a['rate'] / b['rate']:>9.1f}x "
        f"{'':>10} {'':>10} {a['cpu'] / b['cpu']:>11.2g}x {counted:>12}"
    )


def main() -> int:
    """Run the benchmark and print its table; 0."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-n", "--reads", type=int, default=10_000, help="reads against ours")
    ap.add_argument("--peer-reads", type=int, default=1_500, help="reads against cpppo 5.2.5")
    ap.add_argument("--peer-seconds", type=float, default=15.0, help="time limit for the peer")
    ap.add_argument("--repeat", type=int, default=3, help="runs per server (best is shown)")
    ap.add_argument("--no-install", action="store_true", help="do not create the peer's venv")
    ap.add_argument(
        "--callgrind-reads", type=pair, default=(200, 1200), metavar="N,M", help="ours, counted"
    )
    ap.add_argument(
        "--callgrind-peer-reads",
        type=pair,
        default=(20, 120),
        metavar="N,M",
        help="cpppo 5.2.5, counted (~20 M instructions, ~0.4 s a read under callgrind)",
    )
    ap.add_argument("--no-callgrind", action="store_true", help="do not count instructions")
    args = ap.parse_args()

    count = not args.no_callgrind
    if count and callgrind.valgrind() is None:
        print("valgrind is not installed (Debian: apt-get install valgrind): instructions per")
        print("read are not counted; wall-clock figures only")
        count = False

    ours = best_of(OURS, args.reads, 600.0, args.repeat)
    ours_instr = instructions("cpppo (ours)", OURS, args.callgrind_reads) if count else None
    peer, peer_instr = None, None
    python = ensure_peer(not args.no_install)
    if python is not None:
        command = [python, "-W", "ignore", "-m", "cpppo.server.enip"]
        try:
            peer = best_of(command, args.peer_reads, args.peer_seconds, max(1, args.repeat - 1))
        except (RuntimeError, OSError) as exc:
            print(f"cpppo 5.2.5: cannot be measured ({exc}); ours alone")
        if peer is not None and count:
            peer_instr = instructions("cpppo 5.2.5", command, args.callgrind_peer_reads)

    from cpppo.server.enip.net.server import _loop_factory

    loop = "uvloop" if _loop_factory() is not None else "the standard asyncio loop"
    print()
    print(f"pylogix 1.1.6 single-tag reads ({READ} of {TAG}) over loopback")
    print(f"our simulator runs on {loop} (uvloop comes with the 'fast' extra)")
    print(
        f"{'server':<14} {'reads':>8} {'seconds':>8} {'reads/s':>10} "
        f"{'server CPU':>10} {'client CPU':>10} {'srv us/read':>12} {'instr/read':>12}"
    )
    print(row("cpppo (ours)", ours, ours_instr))
    if peer is not None:
        print(row("cpppo 5.2.5", peer, peer_instr))
        print(ratio_row(figures(ours, ours_instr), figures(peer, peer_instr)))
        ratio = (ours["reads"] / ours["elapsed"]) / (peer["reads"] / peer["elapsed"])
        verdict = "meets" if ratio >= GOAL_RATIO else "misses"
        print(f"\nours / cpppo 5.2.5 reads/s: {ratio:.1f}x ({verdict} the {GOAL_RATIO:.0f}x goal)")
    if count:
        print(
            "instr/read: user-space instructions per read under callgrind, "
            "(total(M reads) - total(N reads)) / (M - N); "
            "ours N,M = {},{}, cpppo 5.2.5 N,M = {},{}".format(
                *args.callgrind_reads, *args.callgrind_peer_reads
            )
        )
    if ours_instr is not None:
        verdict = "meets" if ours_instr <= GOAL_INSTRUCTIONS else "misses"
        print(
            f"ours: {ours_instr:,.0f} instructions per read "
            f"({verdict} the goal of <= {GOAL_INSTRUCTIONS:,})"
        )
    bottleneck = "client" if ours["server"] < ours["client"] else "SERVER"
    print(
        f"over {ours['reads']} reads our server used {ours['server']:.2f} s CPU, "
        f"the pylogix client {ours['client']:.2f} s: the {bottleneck} is the bottleneck"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
