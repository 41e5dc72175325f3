"""The fleet dashboard in a real browser: headless Chromium (driven over CDP, tests/helpers.py)
against ``python -m cpppo.server.enip.fleet`` in a subprocess serving 30 ControlLogix, 2 PowerFlex
and 1 Modbus device on 127.0.x addresses sharing one free port.

The fleet table lists the devices and filters them; a device's requests/s rises while our client
reads it; a row's link opens that device's own dashboard, which shows its identity and the value
our client wrote to it (not another device's); a control there faults that device only. The fleet
runs with a web token given to the fleet page as ``?token=``: the device dashboards linked from it
must find it for their controls. A filter typed while a poll is in flight is not lost.

Chromium is required in CI (``CI=true``): there the test fails when it is missing; a local run
without it skips with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cpppo.server.enip import client
from helpers import (
    Cdp,
    all_serving,
    chromium,
    chromium_path,
    fleet_process,
    free_port,
    stop_process,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

PLCS, DRIVES, METERS = 30, 2, 1
DEVICES = PLCS + DRIVES + METERS
PLC_NET, DRIVE_NET, METER_NET = "127.0.81", "127.0.82", "127.0.83"
SERIAL = 0x5000  # every EtherNet/IP device's serial is SERIAL + its index in the fleet
#: The controller the test drills into (index), and another one it must leave alone.
TARGET, OTHER = 7, 8
TARGET_VALUE, OTHER_VALUE = 4321, 1111
TOKEN = "fleet-browser-token"

FLEET = f"""
[[device]]
kind = "controllogix"
name = "plc-{{n:02d}}"
address = "{PLC_NET}.1"
count = {PLCS}
tags = ["SCADA=DINT[10]", "TEXT=SSTRING[8]"]
serial = "{SERIAL:#x} + i"
[device.identity]
"product name" = "1756-L61/B LOGIX5561 #{{n}}"

[[device]]
kind = "powerflex"
name = "drive-{{n}}"
address = "{DRIVE_NET}.1-{DRIVE_NET}.{DRIVES}"
serial = "{SERIAL:#x} + i"

[[device]]
kind = "modbus"
name = "meter-{{n}}"
address = "{METER_NET}.1"
registers = ["40001-40010=7"]
"""


@dataclass
class Served:
    """The fleet CLI in a subprocess: its device port and web API's URL."""

    process: subprocess.Popen[str]
    port: int
    url: str

    def get(self, path: str) -> Any:
        """GET ``path`` of the web API (JSON; it must answer 200)."""
        request = urllib.request.Request(self.url + path, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            return json.loads(response.read())

    def operate(self, host: str, operation: str) -> int:
        """Our client's status of one read or write on ``host``."""
        with client.connector(host, self.port, timeout=5) as conn:
            ops = client.parse_operations([operation])
            return int(next(iter(conn.synchronous(ops, timeout=5)))[4])


@contextlib.contextmanager
def serve(fleet: Path, port: int) -> Iterator[Served]:
    """Run the fleet CLI (web token :data:`TOKEN`) until it reports every device serving; always
    stop it."""
    args = ("--port", str(port), "-w", "127.0.0.1:0", "--web-token", TOKEN)
    with fleet_process(fleet, *args, stderr=subprocess.DEVNULL, start_new_session=True) as run:
        url = all_serving(run, DEVICES)
        assert url.startswith("http://127.0.0.1:"), url
        yield Served(run.process, port, url.rstrip("/"))
        assert stop_process(run.process) == 0  # SIGTERM: a clean stop


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The fleet, served for every test of the module."""
    path = tmp_path_factory.mktemp("fleet") / "fleet.toml"
    path.write_text(FLEET)
    with serve(path, free_port()) as fleet:
        yield fleet


def _read_for(served: Served, host: str, seconds: float, stop: threading.Event) -> int:
    """Our client reads SCADA on ``host`` over one connection: for at most ``seconds`` and
    200,000 requests, or until ``stop``; how many it read."""
    count = 0
    deadline = time.monotonic() + seconds
    with client.connector(host, served.port, timeout=5) as conn:
        while count < 200_000 and time.monotonic() < deadline and not stop.is_set():
            ops = client.parse_operations(["SCADA[0-9]"] * 10)
            for result in conn.synchronous(ops, timeout=5):
                assert result[4] == 0, result
                count += 1
    return count


async def _settle(cdp: Cdp, expression: str, timeout: float) -> Any:
    """Like ``cdp.wait_for``, but also across a navigation (whose context may vanish midway)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(RuntimeError, asyncio.TimeoutError):
            value = await cdp.evaluate(expression)
            if value:
                return value
        assert time.monotonic() < deadline, f"not within {timeout} s: {expression}"
        await asyncio.sleep(0.05)


ROWS = "[...document.querySelectorAll('#devices tbody tr')]"
CELLS = f"{ROWS}.map(row => [...row.cells].map(td => td.textContent))"
HEADERS = "[...document.querySelectorAll('#devices thead th')].map(th => th.textContent)"
VALUES = "(document.querySelector('td.values[data-tag=\"SCADA\"]')?.textContent || '')"


def _filter(text: str) -> str:
    """JavaScript typing ``text`` into the fleet table's filter."""
    return (
        "(() => { const input = document.getElementById('filter');"
        f" input.value = {json.dumps(text)}; input.dispatchEvent(new Event('input')); }})()"
    )


async def test_fleet_dashboard_lists_filters_and_drills_into_one_device(
    served: Served, tmp_path: Path
) -> None:
    browser = chromium_path()
    target, other = f"{PLC_NET}.{TARGET + 1}", f"{PLC_NET}.{OTHER + 1}"
    key = f"{target}:{served.port}"
    # Our client writes a different value to each of two controllers.
    assert served.operate(target, f"SCADA[1]=(DINT){TARGET_VALUE}") == 0
    assert served.operate(other, f"SCADA[1]=(DINT){OTHER_VALUE}") == 0
    url = f"{served.url}/?token={TOKEN}"
    async with chromium(browser, url, str(tmp_path / "profile")) as cdp:
        # The fleet table: every device, with its address, kind, name, state, rate, conns.
        await cdp.wait_for(f"{ROWS}.length === {DEVICES}", 20)
        headers = await cdp.evaluate(HEADERS)
        for column in ("Address", "Kind", "Name", "State", "Requests/s", "Connections"):
            assert column in headers
        rows = {row[0]: dict(zip(headers, row)) for row in await cdp.evaluate(CELLS)}
        assert len(rows) == DEVICES
        assert rows[key]["Kind"] == "controllogix" and rows[key]["Name"] == "plc-07"
        assert rows[key]["State"] == "serving" and rows[key]["Serial"] == "0x5007"
        assert rows[f"{DRIVE_NET}.2:{served.port}"]["Kind"] == "powerflex"
        assert rows[f"{METER_NET}.1:{served.port}"]["Name"] == "meter-0"
        assert sum(row["Kind"] == "controllogix" for row in rows.values()) == PLCS
        assert await cdp.evaluate("document.getElementById('status').textContent") == "live"

        # The filter narrows the table to the one device.
        await cdp.evaluate(_filter("plc-07"))
        await cdp.wait_for(f"{ROWS}.length === 1", 5)
        [row] = await cdp.evaluate(CELLS)
        assert row[0] == key and row[2] == "plc-07"
        page = await cdp.evaluate("document.getElementById('page').textContent")
        assert page == "1-1 of 1"

        # Its requests/s rises in the table while our client reads it (bounded: <= 6 s).
        rate = f"{ROWS}.length === 1 && Number({ROWS}[0].cells[5].textContent)"
        before = await cdp.evaluate(rate)
        stop = threading.Event()
        reads = asyncio.create_task(asyncio.to_thread(_read_for, served, target, 6.0, stop))
        try:
            more = f"({rate}) > Math.max(10, {before})"
            assert await cdp.wait_for(f"{more} && Number({ROWS}[0].cells[6].textContent)", 6)
            shown = await cdp.evaluate(rate)
            connections = await cdp.evaluate(f"Number({ROWS}[0].cells[6].textContent)")
        finally:
            stop.set()
            count = await reads
        assert shown > max(10, before) and connections >= 1 and count > 0

        # The row's link opens that device's own dashboard.
        await cdp.evaluate("document.querySelector('#devices tbody a').click()")
        where = await _settle(
            cdp, "location.pathname.startsWith('/devices/') && location.pathname", 10
        )
        assert where.startswith("/devices/") and where.endswith("/")
        await _settle(
            cdp, f"document.getElementById('product').textContent.endsWith('#{TARGET}')", 10
        )
        product = await cdp.evaluate("document.getElementById('product').textContent")
        assert product == f"1756-L61/B LOGIX5561 #{TARGET}"
        identity = await _settle(cdp, "document.getElementById('identity').textContent", 10)
        assert f"serial {SERIAL + TARGET:#010x}" in identity and f"serving {key}" in identity
        shown = await _settle(cdp, f"{VALUES}.startsWith('0, {TARGET_VALUE}, 0') && {VALUES}", 10)
        assert str(OTHER_VALUE) not in shown

        # A control there (an error code forced onto SCADA) faults that device only.
        await cdp.evaluate(
            "(() => { const input = document.querySelector('tr[data-tag=\"SCADA\"] input');"
            " input.value = '8'; input.dispatchEvent(new Event('change')); })()"
        )
        faulted = "document.querySelector('tr[data-tag=\"SCADA\"]').classList.contains('faulted')"
        assert await cdp.wait_for(faulted, 5)
        assert await asyncio.to_thread(served.operate, target, "SCADA[1]=(DINT)1") == 8
        assert await asyncio.to_thread(served.operate, other, "SCADA[1]=(DINT)2") == 0
        assert await asyncio.to_thread(served.operate, other, "SCADA[0]") == 0
        # The change went through with the token the fleet page was given (else 403).
        assert await cdp.evaluate("document.getElementById('token').value") == TOKEN
        tags = await asyncio.to_thread(served.get, f"/api/devices/{key}/tags/SCADA")
        scada = tags["data"]["tags"]["SCADA"]
        assert scada["error"] == 8 and f"[0, {TARGET_VALUE}, 0," in scada["attribute"]
        tags = await asyncio.to_thread(served.get, f"/api/devices/{other}:{served.port}/tags/SCADA")
        scada = tags["data"]["tags"]["SCADA"]
        assert scada["error"] == 0 and "[0, 2, 0," in scada["attribute"]
        assert cdp.exceptions == []


async def test_a_filter_typed_during_a_poll_is_not_lost(served: Served, tmp_path: Path) -> None:
    browser = chromium_path()
    async with chromium(browser, served.url + "/", str(tmp_path / "profile")) as cdp:
        await cdp.wait_for(f"{ROWS}.length === {DEVICES}", 20)
        # No periodic polls from now on: only the filter's own.
        await cdp.evaluate("for (let id = 1; id < 10000; id++) window.clearInterval(id)")
        # Two keystrokes at once: the second comes while the first one's poll is in flight.
        await cdp.evaluate(f"{_filter('plc-0')}, {_filter('plc-07')}")
        await cdp.wait_for(f"{ROWS}.length === 1 && {ROWS}[0].cells[2].textContent === 'plc-07'", 5)
        await cdp.evaluate(f"{_filter('')}, {_filter('drive')}")
        await cdp.wait_for(f"{ROWS}.length === {DRIVES}", 5)
        kinds = await cdp.evaluate(f"{CELLS}.map(row => row[1])")
        assert kinds == ["powerflex"] * DRIVES
        assert cdp.exceptions == []
