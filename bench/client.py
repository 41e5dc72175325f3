"""Benchmark: EtherNet/IP client tag reads against our simulator, in one run, with peers.

Rows (all against one ``python -m cpppo.server.enip`` process on a free loopback port):
  - single-tag synchronous reads/s: our client (unconnected/UCMM, connected, simple), pylogix
    1.1.6 and pycomm3 1.2.16 (each the best of 3 batches);
  - our pipelined tag reads/s: depth 20, Multiple Service Packets of <= 500 bytes;
  - ``thruput`` (the CLI, printing every value) of ours and of the ORIGINAL cpppo 5.2.5 client
    (bench/.venv-cpppo525, created if missing) with the same arguments, TPS as each reports it.
Ratios: ours / pylogix (goal >= 1.2), ours / pycomm3, pipelined vs the 40,000 reads/s goal, our
thruput / the original's (goal >= 100).

    python bench/client.py [--reads 3000] [--pipelined 50000]
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


def rounds(clients: dict[str, Callable[[], int] | str], tries: int = 3) -> dict[str, float | str]:
    """Best operations/s of each client over ``tries`` rounds, clients taking turns (so load from
    elsewhere on the machine hits all of them alike). A str is an error, reported as is."""
    best: dict[str, float | str] = {
        name: (fn if isinstance(fn, str) else 0.0) for name, fn in clients.items()
    }
    for _ in range(tries):
        for name, fn in clients.items():
            if isinstance(fn, str):
                continue
            begun = time.perf_counter()
            count = fn()
            best[name] = max(best[name], count / (time.perf_counter() - begun))  # type: ignore[type-var]
    return best


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


def thruput(command: list[str], cwd: Path | None = None) -> float | str:
    """Run a thruput CLI; the TPS its summary line reports."""
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=cwd,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
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


def fmt(value: float | str) -> str:
    return f"{value:12,.0f}" if isinstance(value, float) else f"{value:>12}"


def ratio(a: float | str, b: float | str) -> str:
    if isinstance(a, float) and isinstance(b, float) and b:
        return f"{a / b:8.2f}x"
    return f"{'n/a':>9}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=3000, help="synchronous reads per batch")
    ap.add_argument("--pipelined", type=int, default=50000, help="pipelined reads per batch")
    ap.add_argument("--thruput", type=int, default=20000, help="our thruput --repeat")
    ap.add_argument("--original-thruput", type=int, default=1000, help="original --repeat")
    args = ap.parse_args()

    server, port = start_simulator()
    try:
        with contextlib.ExitStack() as stack:
            ucmm = stack.enter_context(client.connector("127.0.0.1", port, timeout=5))
            conn = stack.enter_context(client.implicit("127.0.0.1", port, timeout=5))
            simple = stack.enter_context(
                client.connector("127.0.0.1", port, timeout=5, route_path=[], send_path="")
            )
            sync = rounds(
                {
                    "pylogix": pylogix_sync(stack, port, args.reads),
                    "pycomm3": pycomm3_sync(stack, port, args.reads),
                    "ucmm": ours_sync(ucmm, args.reads),
                    "connected": ours_sync(conn, args.reads),
                    "simple": ours_sync(simple, args.reads),
                }
            )
            requests: list = [1]
            piped = rounds({"piped": ours_pipelined(ucmm, args.pipelined, requests)})["piped"]
        pylogix, pycomm3 = sync["pylogix"], sync["pycomm3"]
        best = max(v for k, v in sync.items() if k in ("ucmm", "connected", "simple"))
        rows: list[tuple[str, float | str, str]] = [
            ("sync reads/s: pylogix 1.1.6", pylogix, ""),
            ("sync reads/s: pycomm3 1.2.16", pycomm3, ""),
            ("sync reads/s: cpppo (UCMM, default)", sync["ucmm"], ratio(sync["ucmm"], pylogix)),
            (
                "sync reads/s: cpppo (connected, -c)",
                sync["connected"],
                ratio(sync["connected"], pylogix),
            ),
            ("sync reads/s: cpppo (simple, -S)", sync["simple"], ratio(sync["simple"], pylogix)),
            ("  best cpppo / pycomm3", best, ratio(best, pycomm3)),
            (
                f"pipelined reads/s: depth 20, MSP 500 ({args.pipelined // requests[0]}/req)",
                piped,
                ratio(piped, 40000.0) + " of 40k goal",
            ),
        ]
        tags = ["SCADA[0-9]", "-d", "20", "-m", "500"]
        ours = thruput(
            [
                sys.executable,
                "-m",
                "cpppo.server.enip.thruput",
                "-a",
                f"127.0.0.1:{port}",
                *tags,
                "-r",
                str(args.thruput),
            ]
        )
        python = original_python()
        if python is None:
            original: float | str = "n/a (cannot install cpppo 5.2.5)"
        else:
            with tempfile.TemporaryDirectory() as tmp:
                shim = Path(tmp) / "original_thruput.py"
                shim.write_text(ORIGINAL_THRUPUT_SHIM)
                original = thruput(
                    [
                        str(python),
                        str(shim),
                        str(port),
                        "-a",
                        "127.0.0.1",
                        *tags,
                        "-r",
                        str(args.original_thruput),
                    ],
                    cwd=Path(tmp),
                )
        rows.append(("thruput TPS (SCADA[0-9] -d 20 -m 500): original cpppo 5.2.5", original, ""))
        rows.append(("thruput TPS (SCADA[0-9] -d 20 -m 500): cpppo", ours, ratio(ours, original)))
    finally:
        server.terminate()
        server.wait(10)

    print(f"{'client -> our simulator (127.0.0.1)':58s} {'rate':>12} {'ratio':>9}")
    print("-" * 82)
    for name, value, note in rows:
        print(f"{name:58s} {fmt(value)} {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
