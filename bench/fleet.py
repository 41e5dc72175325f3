"""Benchmark fleet mode: a plant's worth of simulated devices in one process (docs/fleet.md).

Each scenario writes a fleet file in a temporary folder, starts
``python -m cpppo.server.enip.fleet`` on it (every device on its own 127.0.x.y address, all on
one free port) and prints:

- start-up: seconds from the process's start to its ready line (every device bound);
- RSS of the fleet's process(es) once serving, in all and per device;
- a sweep: our client, from this process, opens a TCP connection to every device, registers a
  session and sends ListIdentity and a Read Tag of one tag together (the sans-IO ``Pipeline``
  for the read; up to ``--concurrency`` devices at a time from one selector loop); each device's
  serial and value are checked. Printed: the sweep's seconds and devices/s.

Scenarios: ``--devices`` ControlLogix devices with 10 tags each (goals: start < 5 s, RSS < 150
MiB, sweep < 2 s for 1,000); the same fleet sharded over ``--workers`` worker processes; and
``--l5x-devices`` devices serving one generated 10,000-tag L5X export (goal: 100 in < 300 MiB).
For scale, the same run measures the RSS of one ``enip_server`` process serving the same tags
(10 tags, or the L5X export: the one-process-per-device alternative) and, for the 10 tags and
where bench/.venv-cpppo525 can be made, one original cpppo 5.2.5 simulator; the ratio column
compares their RSS with the fleet's per device.

    python bench/fleet.py [--devices 1000] [--workers 2] [--l5x-devices 100] [--concurrency 200]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cpppo.server.enip.client.pipeline import Pipeline
from cpppo.server.enip.codec.cpf import decode_cpf, decode_identity
from cpppo.server.enip.codec.encap import (
    Command,
    EncapFramer,
    decode_register_session,
    encode_encap,
    encode_register_session,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))

GOALS = {"start": 5.0, "rss": 150.0, "sweep": 2.0, "l5x_rss": 300.0}
TAGS = [f"T{i}=DINT[10]" for i in range(10)]
SERIAL_BASE = 0x10000


def free_port() -> int:
    """A port free for TCP and UDP on every address (0.0.0.0), so on each 127.0.x.y a fleet's
    devices bind (bench/fleet_discovery.py uses it too)."""
    for _ in range(50):
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("0.0.0.0", 0))
            port = int(tcp.getsockname()[1])
            try:
                udp.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port")


def addresses(count: int, first: str = "127.0.1.1") -> list[str]:
    """``count`` consecutive IPv4 addresses from ``first``."""
    import ipaddress

    start = int(ipaddress.IPv4Address(first))
    return [str(ipaddress.IPv4Address(start + n)) for n in range(count)]


def rss_mib(pid: int) -> float:
    """Resident set size of process ``pid`` (MiB)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
    return found


@contextlib.contextmanager
def fleet_process(path: Path, port: int, *extra: str) -> Iterator[tuple[subprocess.Popen, float]]:
    """Run the fleet on ``path``; yields (process, seconds until its ready line)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "cpppo.server.enip.fleet", str(path), "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if "devices serving" not in line:
            raise SystemExit(f"the fleet did not start: {line!r} {process.stderr.read()[-2000:]}")
        yield process, time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the sweep ------------------------------------------------------------------------------


@dataclass
class _Visit:
    """One device's visit in the sweep: connect, register, ListIdentity + Read Tag, close."""

    host: str
    sock: socket.socket
    framer: EncapFramer = field(default_factory=EncapFramer)
    pipe: Pipeline | None = None
    serial: int | None = None
    value: object = None
    error: str = ""


@dataclass
class Sweep:
    """What a sweep found: seconds, devices answering fully, serials seen by address, failures."""

    seconds: float
    ok: int
    serials: dict[str, int]
    failures: list[str]


def sweep(hosts: list[str], port: int, tag: str, concurrency: int, timeout: float) -> Sweep:
    """Visit every host (see :class:`_Visit`), ``concurrency`` at a time, within ``timeout``."""
    selector = selectors.DefaultSelector()
    waiting = list(reversed(hosts))
    active: dict[socket.socket, _Visit] = {}
    serials: dict[str, int] = {}
    failures: list[str] = []
    ok = 0
    started = time.perf_counter()
    deadline = started + timeout

    def finish(visit: _Visit) -> None:
        nonlocal ok
        selector.unregister(visit.sock)
        visit.sock.close()
        del active[visit.sock]
        if visit.error:
            failures.append(f"{visit.host}: {visit.error}")
        else:
            ok += 1
            assert visit.serial is not None
            serials[visit.host] = visit.serial

    while (waiting or active) and time.perf_counter() < deadline:
        while waiting and len(active) < concurrency:
            host = waiting.pop()
            sock = socket.socket()
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect_ex((host, port))
            visit = active[sock] = _Visit(host, sock)
            selector.register(sock, selectors.EVENT_WRITE, visit)
        for key, events in selector.select(0.5):
            visit = key.data
            try:
                if events & selectors.EVENT_WRITE:  # connected (or refused)
                    error = visit.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if error:
                        raise OSError(error, os.strerror(error))
                    visit.sock.send(
                        encode_encap(Command.REGISTER_SESSION, encode_register_session(), 0)
                    )
                    selector.modify(visit.sock, selectors.EVENT_READ, visit)
                    continue
                data = visit.sock.recv(65536)
                if not data:
                    raise OSError("closed by the device")
                for header, payload in visit.framer.feed(data):
                    if header.status:
                        raise OSError(f"encapsulation status 0x{header.status:04x}")
                    if header.command == Command.REGISTER_SESSION:
                        decode_register_session(payload)
                        visit.pipe = Pipeline([tag], session=header.session)
                        frames = [encode_encap(Command.LIST_IDENTITY, b"", header.session)]
                        visit.sock.send(b"".join(frames + visit.pipe.requests()))
                    elif header.command == Command.LIST_IDENTITY:
                        visit.serial = decode_identity(decode_cpf(payload)[0].data).serial_number
                    elif visit.pipe is not None:
                        visit.pipe.receive_frame(header, payload)
                        for *_, status, value in visit.pipe.results():
                            if status:
                                raise OSError(f"read status {status}")
                            visit.value = value
                if visit.serial is not None and visit.value is not None:
                    finish(visit)
            except (OSError, ValueError) as exc:
                visit.error = str(exc)
                finish(visit)
    for visit in list(active.values()):
        visit.error = "no answer within the sweep's time"
        finish(visit)
    failures.extend(f"{host}: not visited" for host in waiting)
    return Sweep(time.perf_counter() - started, ok, serials, failures)


# -- scenarios --------------------------------------------------------------------------------


@dataclass
class Row:
    """A scenario's figures."""

    name: str
    devices: int
    start: float
    rss: float
    swept: Sweep | None = None
    #: RSS (MiB) of one enip_server process serving the same tags: the one-process-per-device
    #: alternative.
    single: float = 0.0
    notes: list[str] = field(default_factory=list)


def controllogix_fleet(folder: Path, count: int) -> tuple[Path, list[str]]:
    """A fleet file of ``count`` ControlLogix devices with 10 tags each."""
    hosts = addresses(count)
    text = (
        "[[device]]\n"
        'kind = "controllogix"\n'
        'name = "plc-{n:04d}"\n'
        f'address = "{hosts[0]}"\n'
        f"count = {count}\n"
        f"tags = {TAGS!r}\n".replace("'", '"')
        + f'serial = "{SERIAL_BASE} + n"\n'
    )
    path = folder / f"fleet-{count}.toml"
    path.write_text(text)
    return path, hosts


def l5x_fleet(folder: Path, count: int, tags: int) -> tuple[Path, list[str], str]:
    """A fleet file of ``count`` devices serving one generated ``tags``-tag L5X export; the
    name of a controller-scope DINT tag it has."""
    import l5x as l5x_bench  # bench/l5x.py: the export generator

    export = folder / "Bench.L5X"
    export.write_text(l5x_bench.export(tags, 10), encoding="utf-8")
    hosts = addresses(count, "127.0.5.1")
    path = folder / f"fleet-l5x-{count}.toml"
    path.write_text(
        "[[device]]\n"
        'kind = "controllogix"\n'
        'name = "big-{n:03d}"\n'
        f'address = "{hosts[0]}"\n'
        f"count = {count}\n"
        f'l5x = "{export}"\n'
        f'serial = "{SERIAL_BASE} + n"\n'
    )
    return path, hosts, "Tag0"  # the export's first tag: a controller-scope DINT


def run_fleet(name: str, path: Path, hosts: list[str], tag: str, args: argparse.Namespace,
              *extra: str) -> Row:  # fmt: skip
    """Start the fleet, measure it, sweep it twice (the best is kept), stop it."""
    port = free_port()
    with fleet_process(path, port, *extra) as (process, start):
        time.sleep(0.5)  # let the start-up's garbage go
        pids = [process.pid, *children(process.pid)]
        rss = sum(rss_mib(pid) for pid in pids)
        best: Sweep | None = None
        for _ in range(2):
            result = sweep(hosts, port, tag, args.concurrency, args.timeout)
            if (
                best is None
                or result.ok > best.ok
                or (result.ok == best.ok and result.seconds < best.seconds)
            ):
                best = result
    row = Row(name, len(hosts), start, rss, best)
    assert best is not None
    wrong = [h for h, s in best.serials.items() if s != SERIAL_BASE + hosts.index(h)]
    if wrong:
        row.notes.append(f"{len(wrong)} wrong serials, e.g. {wrong[:3]}")
    if best.failures:
        row.notes.append(f"{len(best.failures)} failed, e.g. {best.failures[:3]}")
    return row


def _rss_of(argv: list[str], ready: str | None, settle: float) -> float:
    """RSS (MiB) of the process ``argv`` once it prints a line (``ready`` None: after
    ``settle`` seconds), then stopped."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        if ready is not None:
            assert process.stdout is not None
            process.stdout.readline()
        time.sleep(settle)
        return rss_mib(process.pid)
    finally:
        process.terminate()
        process.wait(10)


def single_rss(*tags: str) -> float:
    """RSS of one enip_server process serving ``tags`` (definitions, or --l5x FILE)."""
    argv = [sys.executable, "-m", "cpppo.server.enip", "-a", f"127.0.0.1:{free_port()}", "-A"]
    return _rss_of([*argv, *tags], "ready", 0.5)


def original_rss() -> float | None:
    """RSS of one original cpppo 5.2.5 simulator serving the 10 tags (None when its venv
    cannot be made)."""
    try:
        import cpppo525

        python = cpppo525.original_python()
    except cpppo525.Unavailable:  # no network for its install: reported as n/a
        return None
    argv = [str(python), "-m", "cpppo.server.enip", "-a", f"127.0.0.1:{free_port()}", *TAGS]
    return _rss_of(argv, None, 2.0)


def _met(value: float, goal: str) -> str:
    return "met" if value < GOALS[goal] else "MISSED"


def report(rows: list[Row], original: float | None) -> None:
    """Print the table: each row's RSS per device against one process per device serving the
    same tags (``Row.single``), and the original cpppo's for the 10-tag rows."""
    print(
        f"{'scenario':<34} {'devices':>7} {'start s':>8} {'RSS MiB':>8} {'KiB/dev':>8}"
        f" {'sweep s':>8} {'dev/s':>7} {'ok':>5}  per-device RSS vs one process each"
    )
    for row in rows:
        per = row.rss * 1024 / row.devices
        swept = row.swept
        one = row.single
        ratio = f"{one * 1024 / per:5.0f}x less than enip_server ({one:.1f} MiB)"
        if original is not None and not row.name.startswith("l5x"):
            ratio += f", {original * 1024 / per:.0f}x less than cpppo 5.2.5 ({original:.1f} MiB)"
        sweep_s = (
            f"{swept.seconds:8.2f} {swept.ok / swept.seconds:7.0f} {swept.ok:5d}" if swept else ""
        )
        print(
            f"{row.name:<34} {row.devices:7d} {row.start:8.2f} {row.rss:8.1f} {per:8.1f}"
            f" {sweep_s}  {ratio}"
        )
        for note in row.notes:
            print(f"    {note}")
    print()
    for row in rows:
        if (
            row.name.startswith("controllogix")
            and row.devices == 1000
            and "workers" not in row.name
        ):
            swept = row.swept
            swept_ok = swept is not None and swept.ok == row.devices
            seconds = swept.seconds if swept is not None else float("nan")
            print(
                f"goals, {row.devices} ControlLogix x 10 tags in one process:"
                f" start {row.start:.2f} s (< {GOALS['start']:g}: {_met(row.start, 'start')}),"
                f" RSS {row.rss:.1f} MiB (< {GOALS['rss']:g}: {_met(row.rss, 'rss')}),"
                f" sweep {seconds:.2f} s (< {GOALS['sweep']:g}:"
                f" {_met(seconds, 'sweep') if swept_ok else 'MISSED'})"
            )
        if row.name.startswith("l5x"):
            print(
                f"goal, {row.devices} devices of one 10,000-tag L5X: RSS {row.rss:.1f} MiB"
                f" (< {GOALS['l5x_rss']:g}: {_met(row.rss, 'l5x_rss')})"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="0: no sharded scenario")
    parser.add_argument("--l5x-devices", type=int, default=100, help="0: no L5X scenario")
    parser.add_argument("--l5x-tags", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a sweep may take")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        folder = Path(tmp)
        path, hosts = controllogix_fleet(folder, args.devices)
        rows.append(run_fleet("controllogix x 10 tags", path, hosts, "T0[0]", args))
        if args.workers > 1:
            name = f"controllogix x 10 tags, {args.workers} workers"
            extra = ("--workers", str(args.workers))
            rows.append(run_fleet(name, path, hosts, "T0[0]", args, *extra))
        if args.l5x_devices:
            path, hosts, tag = l5x_fleet(folder, args.l5x_devices, args.l5x_tags)
            name = f"l5x {args.l5x_tags:,}-tag export"
            rows.append(run_fleet(name, path, hosts, tag, args))
            rows[-1].single = single_rss("--l5x", str(folder / "Bench.L5X"))
        ten = single_rss(*TAGS)
        for row in rows:
            row.single = row.single or ten
    report(rows, original_rss())
    return 0


if __name__ == "__main__":
    sys.exit(main())
