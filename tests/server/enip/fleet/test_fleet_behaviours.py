"""Tags that move in a fleet (issue 17, docs/fleet.md "Moving tags"): the fleet file's behaviour
keys, each device's own behaviours (templates in n), read through our client, refused writes
answered 0x0F, bad behaviours exiting 2 with one line, the web API showing them, and the whole
fleet's behaviours run from one task per update rate."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cpppo.server.enip import client
from cpppo.server.enip.fleet.behaviours import FleetBehaviours
from cpppo.server.enip.fleet.cli import main
from cpppo.server.enip.fleet.server import FleetServer
from cpppo.server.enip.fleet.spec import FleetError, load_fleet, loads_fleet
from cpppo.server.enip.fleet.web import start_fleet_web
from helpers import free_port

NET = "127.0.31"
DEVICES = 3

FLEET = """
[tagsets.tank]
tags = ["Level=DINT", "Count=DINT", "Wave=REAL", "Spare=DINT"]
behave = ["Wave=sine(amplitude=10, period=4, phase={n})"]

[[device]]
kind = "controllogix"
name = "tank-{n}"
address = "NET.1"
count = DEVICES
port = PORT
tagset = "tank"
behave = [
    "Level=expr('{n} * 10 + 5'); writes=refuse",
    "Count=counter(step=1, every=0.1, start={n}000)",
]

[[device]]
kind = "controllogix"
name = "still"
address = "NET.9"
port = PORT
tagset = "tank"
behave = []
behaviour_rate = 20
""".replace("NET", NET).replace("DEVICES", str(DEVICES))


def hosts() -> list[str]:
    return [f"{NET}.{n + 1}" for n in range(DEVICES)] + [f"{NET}.9"]


def operate(host: str, port: int, *operations: str) -> list[tuple[int, Any]]:
    """Our client's ``(status, value)`` of each operation on ``host:port`` (blocking)."""
    with client.connector(host, port, timeout=5.0) as conn:
        ops = client.parse_operations(list(operations))
        return [(result[4], result[5]) for result in conn.synchronous(ops, timeout=5.0)]


def get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@contextlib.asynccontextmanager
async def served(text: str) -> AsyncIterator[tuple[FleetServer, int, str]]:
    """The fleet of ``text`` (PORT replaced) on this loop with its web API; always stopped."""
    port = free_port(hosts(), udp=False)
    fleet = FleetServer(loads_fleet(text.replace("PORT", str(port))), udp=False)
    assert not await fleet.start()
    web = None
    try:
        web = await start_fleet_web(fleet, "127.0.0.1:0")
        yield fleet, port, web.url.rstrip("/")
    finally:
        if web is not None:
            await web.stop()
        await fleet.stop()


# -- the fleet file --------------------------------------------------------------------------
def test_behaviour_keys_expand_per_device_and_tagsets_pass_theirs_on(tmp_path: Path) -> None:
    (tmp_path / "tank.toml").write_text('[tags]\nSpare = "toggle(every=1)"\n')
    (tmp_path / "plant.hst").write_text("")
    path = tmp_path / "fleet.toml"
    path.write_text(
        FLEET.replace("PORT", "44818").replace(
            "behave = []", 'behaviours = "tank.toml"\nreplay = "plant.hst:60:loop"'
        )
    )
    devices = load_fleet(path).devices
    assert [d.behave for d in devices[:2]] == [
        (
            "Wave=sine(amplitude=10, period=4, phase=0)",
            "Level=expr('0 * 10 + 5'); writes=refuse",
            "Count=counter(step=1, every=0.1, start=0000)",
        ),
        (
            "Wave=sine(amplitude=10, period=4, phase=1)",
            "Level=expr('1 * 10 + 5'); writes=refuse",
            "Count=counter(step=1, every=0.1, start=1000)",
        ),
    ]
    still = devices[-1]
    assert still.behave == ("Wave=sine(amplitude=10, period=4, phase=0)",)  # the tagset's
    assert still.behaviours == str(tmp_path / "tank.toml")
    assert still.replay == f"{tmp_path / 'plant.hst'}:60.0:loop"
    assert still.behaviour_rate == 20.0 and devices[0].behaviour_rate is None
    assert devices[0].behaviours is None and devices[0].replay is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('"Level=rampp(period=5)"', "behave 'Level=rampp(period=5)': unknown generator 'rampp'"),
        ('"Level=ramp(peroid={n})"', "behave 'Level=ramp(peroid=0)': ramp() has no argument"),
        ('"Level"', "behave 'Level': expected TAG=GENERATOR(...)"),
        ('"Level=ramp(period={m})"', "unknown field 'm' (use n and i)"),
        ('"Level=ramp(min={)"', "write a literal brace as {{ or }}"),
        ("\"Level=expr('{{1}}')\"", "behave \"Level=expr('{1}')\""),  # {{ is a brace: bad expr
        ('"Level=ramp(period=5); writes=never"', "writes = 'never'"),
        ("7", "behave must be a list of strings"),
    ],
)
def test_a_bad_behave_spec_is_an_error_naming_the_entry(change: str, message: str) -> None:
    text = FLEET.replace("PORT", "44818").replace("behave = []", f"behave = [{change}]")
    with pytest.raises(FleetError) as caught:
        loads_fleet(text)
    assert "device[1]" in str(caught.value) and message in str(caught.value), caught.value


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('behaviours = "absent.toml"', "behaviours file"),
        ('replay = "absent.hst:2"', "replay file"),
        ("behaviour_rate = 0", "behaviour_rate 0"),
    ],
)
def test_bad_behaviour_files_and_rates(entry: str, message: str) -> None:
    text = FLEET.replace("PORT", "44818").replace("behaviour_rate = 20", entry)
    with pytest.raises(FleetError, match="device\\[1\\]") as caught:
        loads_fleet(text)
    assert message in str(caught.value)


def test_modbus_devices_take_no_behaviours() -> None:
    text = '[[device]]\nkind = "modbus"\naddress = "127.0.31.1"\nregisters = ["40001=0"]\n'
    with pytest.raises(FleetError, match=r"behave .*not for kind 'modbus'"):
        loads_fleet(text + 'behave = ["X=ramp()"]\n')


# -- serving -----------------------------------------------------------------------------------
async def _until(predicate: Any, seconds: float = 5.0) -> Any:
    """Poll ``predicate()`` (blocking, in a thread) until it returns a true value."""
    end = time.monotonic() + seconds
    while True:
        value = await asyncio.to_thread(predicate)
        if value or time.monotonic() > end:
            return value
        await asyncio.sleep(0.1)


async def test_each_device_moves_its_own_values_and_refuses_writes_to_refusing_tags() -> None:
    async with served(FLEET) as (fleet, port, _url):
        for n in range(DEVICES):
            host = f"{NET}.{n + 1}"
            (_, level), (_, first) = await asyncio.to_thread(operate, host, port, "Level", "Count")
            assert level == [n * 10 + 5]
            assert n * 1000 <= first[0] < n * 1000 + 600

            def moved(host: str = host, first: int = first[0]) -> bool:
                return bool(operate(host, port, "Count")[0][1][0] > first)

            assert await _until(moved)
            results = await asyncio.to_thread(
                operate, host, port, "Level=(DINT)77", "Spare=(DINT)77", "Level", "Spare"
            )
            assert results == [(0x0F, None), (0, True), (0, [n * 10 + 5]), (0, [77])]
        # a device whose behaviours override writes: a write stands until the next update
        (status, _), *_ = await asyncio.to_thread(operate, f"{NET}.1", port, "Count=(DINT)-50")
        assert status == 0
        still = await asyncio.to_thread(operate, f"{NET}.9", port, "Level", "Wave")
        assert still[0] == (0, [0]) and still[1][0] == 0  # Level does not move; Wave does
        # one task per update rate (10 Hz: the three tanks; 20 Hz: "still"), not one per device
        names = sorted(t.get_name() for t in asyncio.all_tasks() if "behaviours" in t.get_name())
        assert names == ["fleet-behaviours-10Hz", "fleet-behaviours-20Hz"]
        assert fleet.behaviours is not None and len(fleet.behaviours) == DEVICES + 1


async def test_the_web_api_shows_a_devices_behaviours() -> None:
    async with served(FLEET) as (_fleet, _port, url):
        body = await asyncio.to_thread(get, f"{url}/api/devices/tank-2/tags")
        tags = body["data"]["tags"]
        assert tags["Level"]["behaviour"] == {"Level": "expr('2 * 10 + 5'); writes=refuse"}
        assert "ramp" not in json.dumps(tags) and "start=2000" in json.dumps(tags)
        assert tags["Wave"]["behaviour"] == {"Wave": "sine(amplitude=10, period=4, phase=2)"}
        assert not tags["Spare"].get("behaviour")
        body = await asyncio.to_thread(get, f"{url}/api/devices/{NET}.1:{_port}/tags/Level")
        assert body["data"]["tags"]["Level"]["behaviour"] == {
            "Level": "expr('0 * 10 + 5'); writes=refuse"
        }


async def test_stopping_drops_the_write_guards_and_stops_the_updates() -> None:
    async with served(FLEET) as (fleet, _port, _url):
        device = fleet.devices[0]
        assert device.controller is not None and device.controller.write_guard is not None
        runner = fleet.behaviours
        assert runner is not None
    assert device.controller.write_guard is None
    assert not [t for t in asyncio.all_tasks() if "behaviours" in t.get_name()]
    updates = runner.updates
    await asyncio.sleep(0.3)
    assert runner.updates == updates > 0


async def test_a_stopped_device_keeps_its_values_while_the_others_move() -> None:
    async with served(FLEET) as (fleet, _port, _url):
        first, second = fleet.devices[:2]
        first.control.done = True
        end = time.monotonic() + 5
        while first.state != "stopped" and time.monotonic() < end:
            await asyncio.sleep(0.05)
        assert first.state == "stopped"
        assert first.controller is not None and second.controller is not None
        frozen = first.controller.tags.read("Count")
        moving = second.controller.tags.read("Count")
        await asyncio.sleep(0.5)
        assert first.controller.tags.read("Count") == frozen
        assert second.controller.tags.read("Count") != moving


def test_fleet_behaviours_ignores_devices_without_behaviours() -> None:
    class Device:
        behaviours = None

    assert len(FleetBehaviours([Device()])) == 0


# -- bad behaviours through the command line ------------------------------------------------
def test_bad_behaviours_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fleet.toml"
    for change, where, message in [
        ('"Level=sine(period=5"', "device[1]", "does not parse"),  # when the file is read
        ('"Nope=ramp()"', "device[3] ('still'", "behave 'Nope=ramp()': "),  # when built
        ('"Level=ramp(max=1e12)"', "device[3] ('still'", "cannot hold ramp"),
    ]:
        path.write_text(FLEET.replace("PORT", "44818").replace("behave = []", f"behave=[{change}]"))
        assert main([str(path)]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and err.startswith("enip_fleet: error: "), err
        assert where in err and message in err and str(path) in err, err
    done = subprocess.run(
        [sys.executable, "-m", "cpppo.server.enip.fleet", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "cannot hold ramp" in done.stderr, done.stderr
