"""Benchmark: EtherNet/IP client tag reads against our simulator, in one run, with peers.

Rows (all against one ``python -m cpppo.server.enip`` process on a free loopback port):
  - single-tag synchronous reads/s and the client's CPU per read: our client (unconnected/UCMM
    with busy-poll off and on, connected, simple), pylogix 1.1.6 and pycomm3 1.2.16 (each the
    best of ``--tries`` batches, the clients taking turns);
  - our pipelined tag reads/s: depth 20, Multiple Service Packets of <= 500 bytes, busy-poll off
    and on;
  - ``thruput`` (the CLI, printing every value) of ours and of the ORIGINAL cpppo 5.2.5 client
    (bench/.venv-cpppo525, created if missing) with the same arguments (``SCADA[0-9] -d 20 -m
    500``), TPS as each reports it, the best of ``--tries`` runs each, taking turns.
Ratios: ours / pylogix (goal >= 1.2), ours / pycomm3, pipelined vs the 40,000 reads/s goal, our
thruput / the original's (goal >= 100). Busy-poll rows: the client busy-polls up to
``busy_poll`` seconds on recv before blocking (docs/enip-client.md, "Busy-poll"); "(default)"
marks the library's setting.

    python bench/client.py [--reads 3000] [--pipelined 50000] [--tries 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cpppo525

from cpppo.server.enip import client

TAGS = ["SCADA=INT[1000]", "Volume=REAL", "Temperature=REAL"]

# Runs the original cpppo's thruput module unchanged, except that its connector gets our port
# (the original's thruput has no port option; it always uses 44818).
ORIGINAL_THRUPUT_SHIM = """\
import runpy, sys
port = int(sys.argv.pop(1))
from cpppo.server.enip import client
init = client.connector.__init__
def patched(self, host, _port=None, *args, **kwds):
    return init(self, host, port, *args, **kwds)
client.connector.__init__ = patched
runpy.run_module("cpppo.server.enip.thruput", run_name="__main__")
"""


def start_simulator() -> tuple[subprocess.Popen, int]:
    """Our simulator in a subprocess on 127.0.0.1:<free port>."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cpppo.server.enip", "-a", "127.0.0.1:0", "-A", *TAGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()
    if not line:
        raise SystemExit("the simulator did not start")
    return process, int(line.strip().rpartition(":")[2])


Figures = tuple[float, float]  # (operations/s, client CPU microseconds per operation)


def rounds(clients: dict[str, Callable[[], int] | str], tries: int = 3) -> dict[str, Figures | str]:
    """Each client's best operations/s over ``tries`` rounds, with this process's CPU time per
    operation in that round; clients take turns (so load from elsewhere on the machine hits all
    of them alike). A str is an error, reported as is."""
    best: dict[str, Figures | str] = {
        name: fn for name, fn in clients.items() if isinstance(fn, str)
    }
    for _ in range(tries):
        for name, fn in clients.items():
            if isinstance(fn, str):
                continue
            cpu, begun = time.process_time(), time.perf_counter()
            count = fn()
            elapsed, cpu = time.perf_counter() - begun, time.process_time() - cpu
            previous = best.get(name)
            if not isinstance(previous, tuple) or count / elapsed > previous[0]:
                best[name] = (count / elapsed, cpu / count * 1e6)
    return best


def polling(seconds: float) -> type[client.connector]:
    """Our connector with ``busy_poll`` set to ``seconds``."""
    return type("connector", (client.connector,), {"busy_poll": seconds})


def ours_sync(conn: client.connector, reads: int) -> Callable[[], int]:
    """Synchronous single-tag reads by our connector."""
    ops = list(client.parse_operations(["SCADA[0]"] * reads))

    def run() -> int:
        results = list(conn.synchronous(ops))
        assert all(r[5] == [0] for r in results), results[:3]
        return len(results)

    run()  # warm up (and check)
    return run


def ours_pipelined(conn: client.connector, reads: int, requests: list) -> Callable[[], int]:
    """Pipelined (depth 20) single-tag reads packed into 500-byte Multiple Service Packets."""
    ops = list(client.parse_operations(["SCADA[0]"] * reads))

    def run() -> int:
        results = list(conn.pipeline(ops, depth=20, multiple=500))
        assert all(r[5] == [0] for r in results), results[:3]
        requests[:] = [results[-1][0] + 1]
        return len(results)

    return run


def pylogix_sync(stack: contextlib.ExitStack, port: int, reads: int) -> Callable[[], int] | str:
    """pylogix's synchronous Read of one tag."""
    try:
        from pylogix import PLC
    except ImportError as exc:
        return f"n/a ({exc})"
    comm = stack.enter_context(PLC("127.0.0.1", port=port))
    if comm.Read("SCADA[0]").Status != "Success":
        return "n/a (read failed)"

    def run() -> int:
        for _ in range(reads):
            comm.Read("SCADA[0]")
        return reads

    return run


def pycomm3_sync(stack: contextlib.ExitStack, port: int, reads: int) -> Callable[[], int] | str:
    """pycomm3's synchronous read of one tag (it needs the tag list and PLC name first)."""
    try:
        from pycomm3 import LogixDriver
    except ImportError as exc:
        return f"n/a ({exc})"
    try:
        plc = stack.enter_context(LogixDriver(f"127.0.0.1:{port}/0"))
        if plc.read("SCADA[0]").error:
            return "n/a (read failed)"
    except Exception as exc:  # pycomm3 raises its own errors when the target lacks a service
        return f"n/a ({type(exc).__name__}: {exc})"

    def run() -> int:
        for _ in range(reads):
            plc.read("SCADA[0]")
        return reads

    return run


_TPS = re.compile(r"(\d+) operations using +(\d+) requests in +([\d.]+)s .*; +([\d.]+) TPS")


def thruput(command: list[str], cwd: Path | None = None, env: dict | None = None) -> float | str:
    """Run a thruput CLI (with ``env`` for its environment, default ours); the TPS its summary
    line reports."""
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=cwd,
            env={**(os.environ if env is None else env), "PYTHONWARNINGS": "ignore"},
        )
    except subprocess.TimeoutExpired:
        return "n/a (timed out)"
    match = _TPS.search(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "")
    if done.returncode or not match:
        return f"n/a (status {done.returncode}: {done.stderr.strip()[-120:]})"
    return float(match.group(4))


def original_python() -> Path | None:
    """The original cpppo 5.2.5's interpreter, creating its venv if missing (needs the index)."""
    try:
        return cpppo525.original_python(timeout=300)
    except cpppo525.Unavailable:
        return None


def higher(a: float | str, b: float | str) -> float | str:
    """The higher of two TPS figures (an error text only if both are)."""
    if isinstance(a, float) and isinstance(b, float):
        return max(a, b)
    return a if isinstance(a, float) else b


def thruputs(port: int, repeat: int, original_repeat: int, tries: int) -> tuple:
    """The best TPS of our ``thruput`` and of the original's over ``tries`` runs each, taking
    turns, with ``SCADA[0-9] -d 20 -m 500``."""
    tags = ["SCADA[0-9]", "-d", "20", "-m", "500"]
    ours: float | str = "n/a"
    original: float | str = "n/a (cannot install cpppo 5.2.5)"
    python = original_python()
    # The original's interpreter must not find our package (a PYTHONPATH given to this bench).
    alone = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with tempfile.TemporaryDirectory() as tmp:
        shim = Path(tmp) / "original_thruput.py"
        shim.write_text(ORIGINAL_THRUPUT_SHIM)
        for _ in range(tries):
            command = [sys.executable, "-m", "cpppo.server.enip.thruput"]
            command += ["-a", f"127.0.0.1:{port}", *tags, "-r", str(repeat)]
            ours = higher(ours, thruput(command))
            if python is not None:
                command = [str(python), str(shim), str(port), "-a", "127.0.0.1", *tags]
                command += ["-r", str(original_repeat)]
                original = higher(original, thruput(command, cwd=Path(tmp), env=alone))
    return ours, original


def rate(value: Figures | float | str) -> float | str:
    """The rate of a measurement (or the error text)."""
    return value[0] if isinstance(value, tuple) else value


def fmt(value: Figures | float | str) -> str:
    """Rate and, for in-process clients, CPU per operation."""
    if isinstance(value, tuple):
        return f"{value[0]:12,.0f} {value[1]:9.1f}"
    if isinstance(value, float):
        return f"{value:12,.0f} {'':9}"
    return f"{value:>22}"


def ratio(a: Figures | float | str, b: Figures | float | str) -> str:
    a, b = rate(a), rate(b)
    if isinstance(a, float) and isinstance(b, float) and b:
        return f"{a / b:8.2f}x"
    return f"{'n/a':>9}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=3000, help="synchronous reads per batch")
    ap.add_argument("--pipelined", type=int, default=50000, help="pipelined reads per batch")
    ap.add_argument("--tries", type=int, default=3, help="batches per client (best counts)")
    ap.add_argument("--busy-poll", type=float, default=200e-6, help="busy-poll seconds when on")
    ap.add_argument("--thruput", type=int, default=20000, help="our thruput --repeat")
    ap.add_argument("--original-thruput", type=int, default=300, help="original's --repeat")
    args = ap.parse_args()
    default = client.client.busy_poll
    off = "busy-poll off" + (" (default)" if not default else "")
    on = f"busy-poll {args.busy_poll * 1e6:.0f} us" + (
        " (default)" if default == args.busy_poll else ""
    )

    server, port = start_simulator()
    try:
        with contextlib.ExitStack() as stack:
            ucmm_off = stack.enter_context(polling(0.0)("127.0.0.1", port, timeout=5))
            ucmm_on = stack.enter_context(polling(args.busy_poll)("127.0.0.1", port, timeout=5))
            conn = stack.enter_context(client.implicit("127.0.0.1", port, timeout=5))
            simple = stack.enter_context(
                client.connector("127.0.0.1", port, timeout=5, route_path=[], send_path="")
            )
            sync = rounds(
                {
                    "pylogix": pylogix_sync(stack, port, args.reads),
                    "pycomm3": pycomm3_sync(stack, port, args.reads),
                    "off": ours_sync(ucmm_off, args.reads),
                    "on": ours_sync(ucmm_on, args.reads),
                    "connected": ours_sync(conn, args.reads),
                    "simple": ours_sync(simple, args.reads),
                },
                args.tries,
            )
            requests: list = [1]
            piped = rounds(
                {
                    "off": ours_pipelined(ucmm_off, args.pipelined, requests),
                    "on": ours_pipelined(ucmm_on, args.pipelined, requests),
                },
                args.tries,
            )
        pylogix, pycomm3 = sync["pylogix"], sync["pycomm3"]
        best = max(
            (v for k, v in sync.items() if k in ("off", "on", "connected", "simple")),
            key=lambda v: rate(v) if isinstance(v, tuple) else 0.0,
        )
        per_request = args.pipelined // requests[0]
        rows: list[tuple[str, Figures | float | str, str]] = [
            ("sync reads/s: pylogix 1.1.6", pylogix, ""),
            ("sync reads/s: pycomm3 1.2.16", pycomm3, ""),
            (f"sync reads/s: cpppo (UCMM, {off})", sync["off"], ratio(sync["off"], pylogix)),
            (f"sync reads/s: cpppo (UCMM, {on})", sync["on"], ratio(sync["on"], pylogix)),
            (
                "sync reads/s: cpppo (connected, -c)",
                sync["connected"],
                ratio(sync["connected"], pylogix),
            ),
            ("sync reads/s: cpppo (simple, -S)", sync["simple"], ratio(sync["simple"], pylogix)),
            ("  best cpppo / pycomm3", best, ratio(best, pycomm3)),
            (
                f"pipelined reads/s: -d 20, MSP 500 ({per_request}/req), {off}",
                piped["off"],
                ratio(piped["off"], 40000.0) + " of 40k goal",
            ),
            (
                f"pipelined reads/s: -d 20, MSP 500 ({per_request}/req), {on}",
                piped["on"],
                ratio(piped["on"], 40000.0) + " of 40k goal",
            ),
        ]
        ours, original = thruputs(port, args.thruput, args.original_thruput, args.tries)
        rows.append(("thruput TPS (SCADA[0-9] -d 20 -m 500): original cpppo 5.2.5", original, ""))
        rows.append(("thruput TPS (SCADA[0-9] -d 20 -m 500): cpppo", ours, ratio(ours, original)))
    finally:
        server.terminate()
        server.wait(10)

    print(f"{'client -> our simulator (127.0.0.1)':72s} {'rate':>12} {'CPU us/op':>9} {'ratio':>9}")
    print("-" * 106)
    for name, value, note in rows:
        print(f"{name:72s} {fmt(value)} {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
