"""``enip_fleet --workers 2``: a 40-device fleet sharded over two worker processes, its one web
API in the parent, and a clean stop that leaves no worker behind.

Devices listen on 127.0.81.x, all on one free port; the parent's web API on 127.0.0.1:0.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from cpppo.server.enip import client
from helpers import all_serving, fleet_process, free_port, stop_process

pytestmark = pytest.mark.timeout(120)

DEVICES = 40
TOKEN = "workers-secret"


def children(pid: int) -> set[int]:
    """Every living descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _get(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _reply(conn: Any) -> Any:
    for _ in range(50):
        if conn.readable(timeout=1.0):
            reply = next(conn)
            if reply is not None:
                return reply
    raise AssertionError("no reply")


@pytest.fixture
def sharded(tmp_path: Path) -> Any:
    port = free_port()
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        textwrap.dedent(
            f"""
            [[device]]
            kind = "controllogix"
            name = "plc-{{n:02d}}"
            address = "127.0.81.1"
            count = {DEVICES}
            port = {port}
            tags = ["SCADA=DINT[10]", "T=REAL"]
            serial = "0x3000 + n"
            """
        )
    )
    args = ("--workers", "2", "-w", "127.0.0.1:0", "--web-token", TOKEN)
    with fleet_process(fleet, *args) as run:
        try:
            yield run.process, port, all_serving(run, DEVICES)
        finally:
            workers = children(run.process.pid)
            stop_process(run.process)
            for pid in workers:  # never leave a worker behind, even when the test failed
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)


def test_sharded_fleet_serves_and_stops_cleanly(sharded: Any) -> None:
    process, port, url = sharded
    workers = children(process.pid)
    assert len(workers) == 2
    for n in range(DEVICES):
        host = f"127.0.81.{n + 1}"
        with client.connector(host, port, timeout=5) as conn:
            results = list(conn.synchronous(client.parse_operations(["SCADA[1]"])))
            assert results[0][5] == [0], host
            conn.list_identity()
            identity = _reply(conn).enip.CIP.list_identity.CPF.item[0].identity_object
            assert identity.serial_number == 0x3000 + n, host
            assert identity.sin_addr == host
    status, summary = _get(url + "api/devices")
    assert status == 200 and summary["devices"] == DEVICES
    assert summary["states"] == {"serving": DEVICES}
    assert [entry["name"] for entry in summary["list"]] == [f"plc-{n:02d}" for n in range(DEVICES)]
    assert {entry["serial"] for entry in summary["list"]} == {0x3000 + n for n in range(DEVICES)}
    assert {worker["state"] for worker in summary["workers"]} == {"serving"}
    # Drill into one device through the parent: the token is the parent's.
    change = url + "api/devices/127.0.81.8/tags/SCADA/attribute[2]=4321"
    status, body = _get(change)
    assert status == 403
    status, body = _get(change, TOKEN)
    assert status == 200 and body["command"]["success"], body
    with client.connector("127.0.81.8", port, timeout=5) as conn:
        results = list(conn.synchronous(client.parse_operations(["SCADA[2]"])))
    assert results[0][5] == [4321]
    with client.connector("127.0.81.9", port, timeout=5) as conn:
        results = list(conn.synchronous(client.parse_operations(["SCADA[2]"])))
    assert results[0][5] == [0]
    status, state = _get(url + "devices/plc-07/state")
    assert status == 200 and state["tags"][0]["values"][2] == 4321 and state["token_required"]
    page = urllib.request.Request(url + "devices/plc-07/", headers={"Accept": "text/html"})
    with urllib.request.urlopen(page, timeout=10) as response:
        assert b'src="/static/dashboard.js"' in response.read()
    status, body = _get(url + "api/devices/127.0.99.1/tags")
    assert status == 404 and "no device" in body["command"]["message"]
    # SIGTERM: exit 0, and no worker left.
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    end = time.monotonic() + 5
    while time.monotonic() < end and any(alive(pid) for pid in workers):
        time.sleep(0.05)
    assert not [pid for pid in workers if alive(pid)]


def test_a_dead_worker_is_reported_and_the_others_serve(sharded: Any) -> None:
    process, port, url = sharded
    workers = sorted(children(process.pid))
    assert len(workers) == 2
    _, summary = _get(url + "api/devices")
    victim = next(w for w in summary["workers"] if w["shard"] == 1)["pid"]
    os.kill(victim, signal.SIGKILL)
    end = time.monotonic() + 10
    states: dict[str, int] = {}
    while time.monotonic() < end:
        _, summary = _get(url + "api/devices")
        states = summary["states"]
        if states.get("failed"):
            break
        time.sleep(0.1)
    assert states == {"serving": DEVICES // 2, "failed": DEVICES // 2}
    failed = [entry for entry in summary["list"] if entry["state"] == "failed"]
    assert {entry["name"] for entry in failed} == {f"plc-{n:02d}" for n in range(1, DEVICES, 2)}
    assert "exited" in failed[0]["error"]
    status, body = _get(url + "api/devices/plc-01/tags")
    assert status == 503 and "exited" in body["command"]["message"]
    with client.connector("127.0.81.1", port, timeout=5) as conn:  # shard 0: device 0
        results = list(conn.synchronous(client.parse_operations(["T"])))
    assert results[0][5] == [0.0]
    status, _ = _get(url + "api/server/control/done/true", TOKEN)
    assert status == 200
    assert process.wait(20) == 0
    assert not [pid for pid in workers if alive(pid)]


def test_workers_stop_when_the_parent_is_killed(sharded: Any) -> None:
    process, _port, _url = sharded
    workers = children(process.pid)
    assert len(workers) == 2
    process.kill()
    process.wait(10)
    end = time.monotonic() + 10
    while time.monotonic() < end and any(alive(pid) for pid in workers):
        time.sleep(0.05)
    assert not [pid for pid in workers if alive(pid)]


def test_a_worker_that_cannot_serve_leaves_the_others(tmp_path: Path) -> None:
    port = free_port()
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        f'[[device]]\nkind = "controllogix"\naddress = "127.0.82.1"\ncount = 2\nport = {port}\n'
    )
    with socket.socket() as taken:  # the second device's port (worker 1's only device) is taken
        taken.bind(("127.0.82.2", port))
        taken.listen()
        with fleet_process(fleet, "--workers", "2", "-w", "127.0.0.1:0") as run:
            assert run.ready == "enip_fleet: 1 of 2 devices serving", run.lines
            assert run.url is not None, run.lines
            status, summary = _get(run.url + "api/devices")
            assert status == 200 and summary["states"] == {"serving": 1, "failed": 1}
            failed = next(entry for entry in summary["list"] if entry["state"] == "failed")
            assert failed["address"] == "127.0.82.2" and "worker 1" in failed["error"]
            with client.connector("127.0.82.1", port, timeout=5) as conn:
                results = list(conn.synchronous(client.parse_operations(["SCADA[0]"])))
            assert results[0][5] == [0]
            workers = children(run.process.pid)
            run.process.send_signal(signal.SIGINT)
            assert run.process.wait(20) == 0
            assert not [pid for pid in workers if alive(pid)]
