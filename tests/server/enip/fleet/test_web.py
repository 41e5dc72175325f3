"""The fleet's web API (fleet/web.py) over a FleetServer on the test's loop: the summary, one
device's API (tags, delay, disable), a Modbus device's control, and the Host/Origin/token guards.

Devices listen on their own 127.0.x addresses, all on one free port; reads go through our client
(in a thread, so the loop keeps serving).
"""

from __future__ import annotations

import asyncio
import textwrap
import time
from typing import Any

import pytest

from cpppo.server.enip import client
from cpppo.server.enip.fleet.server import FleetServer
from cpppo.server.enip.fleet.spec import loads_fleet
from cpppo.server.enip.fleet.web import LocalFleet, make_fleet_app
from helpers import free_port

pytestmark = pytest.mark.timeout(60)

TOKEN = "fleet-secret"


def fleet_text(port: int) -> str:
    return textwrap.dedent(
        f"""
        [[device]]
        kind = "controllogix"
        name = "plc-{{n}}"
        address = "127.0.71.1"
        count = 3
        port = {port}
        tags = ["SCADA=DINT[10]", "T=REAL"]
        serial = "0x2000 + n"

        [[device]]
        kind = "modbus"
        name = "meter"
        address = "127.0.72.1"
        port = {port}
        registers = ["40001-40010=7"]
        """
    )


class Fleet:
    """A fleet on the test's loop and its web app's test client."""

    def __init__(self, fleet: FleetServer, http: Any, port: int) -> None:
        self.fleet = fleet
        self.http = http
        self.port = port

    async def get(self, url: str, **kwds: Any) -> tuple[int, dict]:
        response = await self.http.get(url, **kwds)
        assert response.content_type == "application/json", await response.text()
        return response.status, await response.json()

    async def state(self, name: str, want: str, deadline: float = 5.0) -> str:
        """Device ``name``'s state in the summary, once it is ``want`` (or at the deadline)."""
        end = time.monotonic() + deadline
        while True:
            _, summary = await self.get(f"/api/devices?q={name}")
            state = str(summary["list"][0]["state"])
            if state == want or time.monotonic() > end:
                return state
            await asyncio.sleep(0.1)

    async def read(self, host: str, *operations: str, timeout: float = 5.0) -> list[Any]:
        """Our client's results of ``operations`` on ``host`` (in a thread)."""

        def run() -> list[Any]:
            with client.connector(host, self.port, timeout=timeout) as conn:
                ops = client.parse_operations(list(operations))
                return [result[5] for result in conn.synchronous(ops)]

        return await asyncio.to_thread(run)


async def _start(aiohttp_client: Any, token: str | None = None) -> Fleet:
    port = free_port()
    spec = loads_fleet(fleet_text(port), path="fleet.toml")
    fleet = FleetServer(spec, udp=False)
    failed = await fleet.start()
    assert not failed, [device.error for device in failed]
    http = await aiohttp_client(make_fleet_app(LocalFleet(fleet), token=token))
    return Fleet(fleet, http, port)


@pytest.fixture
async def served(aiohttp_client: Any) -> Any:
    fleet = await _start(aiohttp_client, TOKEN)
    try:
        yield fleet
    finally:
        await fleet.fleet.stop()


async def _refused(host: str, port: int, deadline: float = 3.0) -> bool:
    """True once a TCP connection to host:port is refused (within ``deadline`` seconds)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            _reader, writer = await asyncio.open_connection(host, port)
        except ConnectionRefusedError:
            return True
        writer.close()
        await asyncio.sleep(0.05)
    return False


async def test_summary_lists_every_device(served: Fleet) -> None:
    for url in ("/api", "/api/devices"):
        status, summary = await served.get(url)
        assert status == 200
        assert summary["devices"] == 4
        assert summary["kinds"] == {"controllogix": 3, "modbus": 1}
        listed = {entry["key"]: entry for entry in summary["list"]}
        assert set(listed) == {f"127.0.71.{n}:{served.port}" for n in (1, 2, 3)} | {
            f"127.0.72.1:{served.port}"
        }
        plc = listed[f"127.0.71.2:{served.port}"]
        assert (plc["kind"], plc["name"], plc["serial"]) == ("controllogix", "plc-1", 0x2001)
        assert (plc["address"], plc["port"], plc["state"]) == ("127.0.71.2", served.port, "serving")
        assert {"requests_per_s", "connections"} <= set(plc)
        meter = listed[f"127.0.72.1:{served.port}"]
        assert (meter["kind"], meter["name"], meter["serial"]) == ("modbus", "meter", None)
    status, found = await served.get("/api/devices?q=modbus")
    assert [entry["name"] for entry in found["list"]] == ["meter"] and found["matched"] == 1
    status, window = await served.get("/api/devices?offset=1&limit=2")
    assert [entry["name"] for entry in window["list"]] == ["plc-1", "plc-2"]
    response = await served.http.get("/api/devices", headers={"Accept": "text/html"})
    assert response.content_type == "text/html" and "plc-2" in await response.text()


async def test_drill_in_writes_one_device_only(served: Fleet) -> None:
    change = f"/api/devices/127.0.71.2/tags/SCADA/attribute[3]=1234?token={TOKEN}"
    status, body = await served.get(change)
    assert status == 200 and body["command"]["success"], body
    assert await served.read("127.0.71.2", "SCADA[3]") == [[1234]]
    assert await served.read("127.0.71.1", "SCADA[3]") == [[0]]
    # By name and by host:port; a write over EtherNet/IP shows in that device's API alone.
    await served.read("127.0.71.3", "SCADA[4]=(DINT)77")
    status, body = await served.get("/api/devices/plc-2/tags/SCADA/attribute[4]")
    assert body["command"]["message"].endswith(": 77"), body
    key = f"127.0.71.1:{served.port}"
    status, body = await served.get(f"/api/devices/{key}/tags/SCADA/attribute[4]")
    assert body["command"]["message"].endswith(": 0"), body
    # The device's dashboard and its state poll, under /devices/<key>/.
    page = await served.http.get("/devices/plc-1/")
    assert page.status == 200 and 'src="/static/dashboard.js"' in await page.text()
    status, state = await served.get("/devices/127.0.71.2/state")
    assert state["tags"][0]["values"][3] == 1234 and state["identity"]["serial"] == "0x00002001"
    status, body = await served.get(f"/devices/plc-0/api/tags/T/error=8?token={TOKEN}")
    assert status == 200 and "tags.T.error" in body["alarm"][0]


async def test_disable_one_device_others_serve(served: Fleet) -> None:
    status, body = await served.get(
        f"/api/devices/127.0.71.1/server/control/disable/true?token={TOKEN}"
    )
    assert status == 200 and body["command"]["success"], body
    assert await _refused("127.0.71.1", served.port)
    assert await served.read("127.0.71.2", "T") == [[0.0]]
    assert await served.state("plc-0", "disabled") == "disabled"  # sampled each second
    await served.get(f"/api/devices/127.0.71.1/server/control/disable/false?token={TOKEN}")
    assert await served.read("127.0.71.1", "T") == [[0.0]]


async def test_delay_one_device(served: Fleet) -> None:
    status, body = await served.get(f"/api/devices/plc-2/options/delay/value=0.5?token={TOKEN}")
    assert status == 200 and body["data"]["options"]["delay"]["value"] == 0.5
    started = time.monotonic()
    assert await served.read("127.0.71.3", "T") == [[0.0]]
    assert time.monotonic() - started >= 0.45
    _, undelayed = await served.get("/api/devices/plc-1/options/delay")
    assert undelayed["data"]["options"]["delay"]["value"] == 0.0


async def test_guards(served: Fleet) -> None:
    change = "/api/devices/plc-0/tags/SCADA/attribute[0]=9"
    status, body = await served.get(change)  # no token
    assert status == 403 and "token" in body["command"]["message"]
    status, body = await served.get(change, headers={"Authorization": "Bearer wrong"})
    assert status == 403
    status, body = await served.get(
        f"{change}?token={TOKEN}", headers={"Origin": "http://evil.example"}
    )
    assert status == 403 and "another web site" in body["command"]["message"]
    cross = {"Sec-Fetch-Site": "cross-site"}
    status, body = await served.get(f"{change}?token={TOKEN}", headers=cross)
    assert status == 403
    for url in ("/api", "/", "/api/devices/plc-0/tags", "/devices/plc-0/state"):
        response = await served.http.get(url, headers={"Host": "evil.example"})
        assert response.status == 421, url
    assert await served.read("127.0.71.1", "SCADA[0]") == [[0]]
    status, body = await served.get(change, headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and await served.read("127.0.71.1", "SCADA[0]") == [[9]]


async def test_unknown_device(served: Fleet) -> None:
    for key in ("127.0.99.1", f"127.0.71.1:{served.port + 1}", "nothing"):
        for url in (f"/api/devices/{key}/tags", f"/devices/{key}/state"):
            status, body = await served.get(url)
            assert status == 404 and f"no device {key!r}" in body["command"]["message"], body
    status, body = await served.get("/api/elsewhere")
    assert status == 404 and "/api/devices/<key>" in body["command"]["message"]


async def test_modbus_device_control(served: Fleet) -> None:
    meter = "/api/devices/meter"
    status, body = await served.get(f"{meter}/tags")
    assert status == 400 and "Modbus device" in body["command"]["message"]
    status, body = await served.get(f"{meter}/options/delay/value=1?token={TOKEN}")
    assert status == 400
    status, body = await served.get(meter)
    assert status == 200 and body["data"]["server"]["control"]["disable"] is False
    response = await served.http.get("/devices/meter/")
    assert response.status == 404
    status, body = await served.get(f"{meter}/server/control/disable/true?token={TOKEN}")
    assert status == 200 and body["command"]["success"], body
    assert await _refused("127.0.72.1", served.port)
    assert await served.read("127.0.71.1", "T") == [[0.0]]
    status, body = await served.get(f"{meter}/server/control/disable/false?token={TOKEN}")
    assert status == 200
    end = time.monotonic() + 3
    while time.monotonic() < end and await _refused("127.0.72.1", served.port, 0.05):
        await asyncio.sleep(0.05)
    _reader, writer = await asyncio.open_connection("127.0.72.1", served.port)
    writer.close()
    status, body = await served.get(f"{meter}/server/control/done/true?token={TOKEN}")
    assert status == 200
    assert await served.state("meter", "stopped") == "stopped"
    assert await served.read("127.0.71.3", "T") == [[0.0]]


async def test_fleet_done_stops_every_device(aiohttp_client: Any) -> None:
    served = await _start(aiohttp_client)
    try:
        status, _ = await served.get("/api/server/control/delay=1")
        assert status == 400
        status, _ = await served.get("/api/server/control/done/true")
        assert status == 200 and served.fleet.control.done
        await asyncio.wait_for(served.fleet.serve(), 10)
        assert {device.state for device in served.fleet.devices} == {"stopped"}
    finally:
        await served.fleet.stop()


async def test_dashboards(served: Fleet) -> None:
    page = await served.http.get("/")
    text = await page.text()
    assert page.status == 200 and '<script src="/static/fleet.js"' in text
    assert "http" not in text.split("<body>")[0]  # nothing from elsewhere
    for name, kind in (("fleet.js", "text/javascript"), ("fleet.css", "text/css")):
        response = await served.http.get(f"/static/{name}")
        assert response.status == 200 and response.content_type == kind
    script = await (await served.http.get("/static/fleet.js")).text()
    assert 'fetch("api/devices?' in script and "http" not in script
    # The device dashboard's script asks for state and api/ relative to its page.
    script = await (await served.http.get("/static/dashboard.js")).text()
    assert 'let url = "state";' in script and 'const url = "api/" +' in script
    response = await served.http.get("/devices/plc-1", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/devices/plc-1/"
    response = await served.http.get("/static/nothing.js")
    assert response.status == 404
