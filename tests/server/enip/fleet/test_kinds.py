"""Each kind of fleet device, over the wire: ControlLogix devices serving one JSON tag database
(each its own values), PowerFlex drives answering the ``ab`` proxy's parameter reads and writes
(each drive its own), and the ``eof`` fault dropping one device's client connection alone."""

from __future__ import annotations

import asyncio
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from cpppo.server.enip import client
from cpppo.server.enip.ab import powerflex_750_series
from cpppo.server.enip.fleet.server import FleetServer
from cpppo.server.enip.fleet.spec import loads_fleet
from cpppo.server.enip.fleet.web import LocalFleet, make_fleet_app
from cpppo.server.enip.importers.json import save_json
from cpppo.server.enip.logix import MemberDef, TagDB
from helpers import free_port

pytestmark = pytest.mark.timeout(60)

PLCS = ("127.0.26.1", "127.0.26.2")
DRIVES = ("127.0.27.1", "127.0.27.2")


def json_tag_db(path: Path) -> Path:
    """A JSON tag database with a structure and a tag of it, and an array."""
    db = TagDB("Line")
    members = [
        MemberDef("Open", "BOOL"),
        MemberDef("Position", "REAL"),
        MemberDef("Cycles", "DINT"),
    ]
    db.define_structure("Valve", members)
    db.add_tag("Valves", "Valve", (4,))
    db.add_tag("Flow", "REAL", (8,), value=[1.5] * 8)
    save_json(db, path)
    return path


async def start(tmp_path: Path) -> tuple[FleetServer, int]:
    port = free_port()
    spec = loads_fleet(
        textwrap.dedent(
            f"""
            [fleet]
            port = {port}
            [tagsets.line]
            tag_db = "{json_tag_db(tmp_path / "line.json")}"
            [[device]]
            kind = "controllogix"
            address = "{PLCS[0]}"
            count = {len(PLCS)}
            tagset = "line"
            [[device]]
            kind = "powerflex"
            name = "drive-{{n}}"
            address = "{DRIVES[0]}"
            count = {len(DRIVES)}
            """
        ),
        path=str(tmp_path / "fleet.toml"),
    )
    fleet = FleetServer(spec, udp=False)
    assert not await fleet.start()
    return fleet, port


def operate(host: str, port: int, *operations: str) -> list[Any]:
    with client.connector(host, port, timeout=5) as conn:
        return [r[5] for r in conn.synchronous(client.parse_operations(list(operations)))]


async def test_devices_of_one_json_tag_database_keep_their_own_values(tmp_path: Path) -> None:
    fleet, port = await start(tmp_path)
    try:
        assert fleet.factory.loaded == [str(tmp_path / "line.json")]  # loaded once
        first = await asyncio.to_thread(
            operate, PLCS[0], port, "Valves[2].Position=(REAL)42.5", "Flow[3]=(REAL)-1", "Flow[2-4]"
        )
        assert first == [True, True, [1.5, -1.0, 1.5]]
        second = await asyncio.to_thread(operate, PLCS[1], port, "Valves[2].Position", "Flow[3]")
        assert second == [[0.0], [1.5]]
        again = await asyncio.to_thread(operate, PLCS[0], port, "Valves[2].Position")
        assert again == [[42.5]]
    finally:
        await fleet.stop()


def drive_values(host: str, port: int, write: str | None = None) -> list[Any]:
    via = powerflex_750_series(host, port=port, timeout=5)
    try:
        if write is not None:
            (ok,) = via.write([write])
            assert ok is True
        return list(via.read(["Output Frequency", "Accel Time 1", "Product Name"]))
    finally:
        via.close_gateway()


async def test_each_powerflex_answers_the_ab_proxy_with_its_own_parameters(
    tmp_path: Path,
) -> None:
    fleet, port = await start(tmp_path)
    try:
        first = await asyncio.to_thread(drive_values, DRIVES[0], port, "Accel Time 1=12")
        assert first[1:] == [[12], ["PowerFlex/20-COMM-E"]]
        assert abs(first[0][0] - 456.78) < 0.01
        second = await asyncio.to_thread(drive_values, DRIVES[1], port)
        assert second[1] == [567]  # the simulated default: the other drive's write is its own
    finally:
        await fleet.stop()


async def test_eof_drops_one_devices_connection_only(tmp_path: Path, aiohttp_client: Any) -> None:
    fleet, port = await start(tmp_path)
    http = await aiohttp_client(make_fleet_app(LocalFleet(fleet)))
    try:
        conns = [await asyncio.to_thread(client.connector, host, port, timeout=3) for host in PLCS]

        def read(conn: Any) -> list[Any]:
            return [r[5] for r in conn.synchronous(client.parse_operations(["Flow[0]"]))]

        for conn in conns:
            assert await asyncio.to_thread(read, conn) == [[1.5]]
        response = await http.get(f"/api/devices/{PLCS[0]}/connections")
        listed = (await response.json())["data"]["connections"]
        assert len(listed) == 1, listed
        (name,) = listed
        response = await http.get(f"/api/devices/{PLCS[0]}/connections/{name}/eof/true")
        assert response.status == 200, await response.text()
        deadline = time.monotonic() + 3
        while fleet.devices[0].connections() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert fleet.devices[0].connections() == 0
        with pytest.raises(client.ClientError):
            await asyncio.to_thread(read, conns[0])
        assert await asyncio.to_thread(read, conns[1]) == [[1.5]]  # the other device's stays
        assert fleet.devices[1].connections() == 1
        for conn in conns:
            conn.close()
    finally:
        await fleet.stop()
