"""Issue 17's acceptance, end to end through ``python -m cpppo.server.enip.fleet``: a 200-device
fleet (160 ControlLogix, 30 PowerFlex, 10 Modbus) on 127.0.x addresses sharing one free port.

pylogix and pycomm3 read and write a sample of the controllers (each device keeps its own values),
ListIdentity on every EtherNet/IP address returns that device's serial, the web API lists the
fleet, stops one device and faults others while the rest serve, a Modbus device answers a register
read, and bad fleet files or arguments get one line naming the entry and exit status 2. Also: a
fleet of controllers from one real L5X export, each with its own values, and ``--member auto``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cpppo.server.enip import client
from cpppo.server.enip.fleet.cli import main, select_member
from cpppo.server.enip.fleet.server import FleetServer
from cpppo.server.enip.fleet.spec import loads_fleet
from helpers import all_serving, fleet_process, free_port, stop_process

pytestmark = pytest.mark.timeout(120)

PLCS, DRIVES, METERS = 160, 30, 10
DEVICES = PLCS + DRIVES + METERS
#: Device addresses: the controllers, the drives and the Modbus meters, each a 127.0.x.y run.
PLC_NET, DRIVE_NET, METER_NET = "127.0.91", "127.0.92", "127.0.93"
SERIAL = 0x1000  # every EtherNet/IP device's serial is SERIAL + its index in the fleet
#: The controllers pylogix and pycomm3 talk to.
SAMPLE = range(0, PLCS, 16)
#: The devices the fault test stops, delays, errors and disables (none in SAMPLE).
STOPPED, DELAYED, ERRORED, DISABLED = 150, 151, 153, 155
POWERFLEX_NAME = "PowerFlex/20-COMM-E"

FLEET = f"""
[[device]]
kind = "controllogix"
name = "plc-{{n:03d}}"
address = "{PLC_NET}.1"
count = {PLCS}
tags = ["SCADA=DINT[10]", "T=REAL"]
serial = "{SERIAL:#x} + i"

[[device]]
kind = "powerflex"
name = "drive-{{n:02d}}"
address = "{DRIVE_NET}.1-{DRIVE_NET}.{DRIVES}"
serial = "{SERIAL:#x} + i"

[[device]]
kind = "modbus"
name = "meter-{{n}}"
address = "{METER_NET}.1"
count = {METERS}
registers = ["40001-40010=7"]
"""


def plc_host(n: int) -> str:
    """The address of controller ``n`` (0-based)."""
    return f"{PLC_NET}.{n + 1}"


@dataclass
class Served:
    """A fleet served by the CLI in a subprocess: its device port and web API's URL."""

    process: subprocess.Popen[str]
    port: int
    url: str

    def get(self, path: str) -> tuple[int, Any]:
        """GET ``path`` of the web API (no token: none is set, and we are not a browser)."""
        request = urllib.request.Request(self.url + path, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def change(self, path: str) -> None:
        """A change via the web API, which must succeed."""
        status, body = self.get(path)
        assert status == 200 and body["command"]["success"], (path, status, body)

    def read(self, host: str, *operations: str, timeout: float = 5.0) -> list[tuple[int, Any]]:
        """Our client's ``(status, value)`` of each operation on ``host``."""
        with client.connector(host, self.port, timeout=timeout) as conn:
            ops = client.parse_operations(list(operations))
            return [(result[4], result[5]) for result in conn.synchronous(ops, timeout=timeout)]


@contextlib.contextmanager
def serve(fleet: Path, port: int, devices: int, *args: str) -> Iterator[Served]:
    """Run the fleet CLI on ``fleet`` until it reports every device serving; always stop it."""
    with fleet_process(fleet, "--port", str(port), "-w", "127.0.0.1:0", *args) as run:
        url = all_serving(run, devices)
        assert url.startswith("http://127.0.0.1:"), url
        yield Served(run.process, port, url)
        assert stop_process(run.process) == 0  # SIGTERM: a clean stop


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The 200-device fleet, served for every test of the module that needs it."""
    path = tmp_path_factory.mktemp("fleet") / "fleet.toml"
    path.write_text(FLEET)
    with serve(path, free_port(), DEVICES) as served:
        yield served


def _refused(host: str, port: int, deadline: float = 3.0) -> bool:
    """True once a TCP connection to host:port is refused (within ``deadline`` seconds)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, port), timeout=1):
                pass
        except ConnectionRefusedError:
            return True
        time.sleep(0.05)
    return False


def _identity(host: str, port: int, timeout: float = 2.0) -> Any:
    """The identity object of ``host``'s ListIdentity reply over UDP (None if none came)."""
    with client.client(host, port, timeout=timeout, udp=True) as conn:
        conn.list_identity()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            reply = next(conn, None)
            if reply is not None and "list_identity" in reply.enip.CIP:
                return reply.enip.CIP.list_identity.CPF.item[0].identity_object
    return None


# -- the 200-device fleet ----------------------------------------------------------------------
def test_pylogix_and_pycomm3_each_reach_their_own_device(fleet: Served) -> None:
    import pycomm3
    import pylogix

    for n in SAMPLE:  # pylogix writes SCADA[1] of each sampled controller, and reads it back
        with pylogix.PLC(plc_host(n), port=fleet.port) as plc:
            plc.SocketTimeout = 5.0
            assert plc.Write("SCADA[1]", 1000 + n).Status == "Success", n
            reply = plc.Read("SCADA[1]")
            assert (reply.Status, reply.Value) == ("Success", 1000 + n), n
    for n in SAMPLE:  # pycomm3 reads each one's own value, and writes SCADA[2]
        with pycomm3.LogixDriver(f"{plc_host(n)}:{fleet.port}/0") as plc:
            assert plc.read("SCADA[1]").value == 1000 + n, n
            assert plc.write("SCADA[2]", -2000 - n).error is None, n
    for n in SAMPLE:  # pylogix sees each pycomm3 write on its own device only
        with pylogix.PLC(plc_host(n), port=fleet.port) as plc:
            plc.SocketTimeout = 5.0
            values = plc.Read("SCADA[0]", 3)
            assert (values.Status, values.Value) == ("Success", [0, 1000 + n, -2000 - n]), n
    assert fleet.read(plc_host(1), "SCADA[1-2]") == [(0, [0, 0])]  # not sampled: untouched


def test_list_identity_on_every_address_returns_its_serial(fleet: Served) -> None:
    hosts = [plc_host(n) for n in range(PLCS)]
    hosts += [f"{DRIVE_NET}.{n + 1}" for n in range(DRIVES)]
    for i, host in enumerate(hosts):
        identity = _identity(host, fleet.port)
        assert identity is not None, host
        assert (identity.serial_number, identity.sin_addr) == (SERIAL + i, host)
        if i >= PLCS:
            assert identity.product_name == POWERFLEX_NAME, host
        else:
            assert identity.product_name != POWERFLEX_NAME, host
    # ... and over TCP too, for a few.
    for i in (0, PLCS - 1, PLCS, len(hosts) - 1):
        with client.client(hosts[i], fleet.port, timeout=5) as conn:
            conn.list_identity()
            reply = next(conn)
        assert reply is not None
        assert reply.enip.CIP.list_identity.CPF.item[0].identity_object.serial_number == SERIAL + i


def test_a_modbus_device_answers(fleet: Served) -> None:
    import pymodbus.client as modbus_client

    for n in (0, METERS - 1):
        master = modbus_client.ModbusTcpClient(f"{METER_NET}.{n + 1}", port=fleet.port, timeout=5)
        try:
            assert master.connect()
            reply = master.read_holding_registers(0, count=10, device_id=1)
            assert not reply.isError() and reply.registers == [7] * 10
        finally:
            master.close()


def test_the_web_api_lists_the_fleet(fleet: Served) -> None:
    for path in ("api", "api/devices"):
        status, summary = fleet.get(path)
        assert status == 200 and summary["devices"] == DEVICES
        assert summary["kinds"] == {"controllogix": PLCS, "powerflex": DRIVES, "modbus": METERS}
        assert len(summary["list"]) == DEVICES
    names = [entry["name"] for entry in summary["list"]]
    assert (
        names[0] == "plc-000" and names[PLCS] == "drive-00" and names[-1] == f"meter-{METERS - 1}"
    )
    assert len(set(names)) == DEVICES
    drive = summary["list"][PLCS + 3]
    assert (drive["kind"], drive["address"], drive["port"]) == (
        "powerflex",
        f"{DRIVE_NET}.4",
        fleet.port,
    )
    assert drive["serial"] == SERIAL + PLCS + 3
    assert {"key", "state", "requests_per_s", "connections"} <= set(drive)


def _summary_state(fleet: Served, name: str, want: str, deadline: float = 5.0) -> str:
    """Device ``name``'s state in /api/devices, once it is ``want`` (or at the deadline)."""
    end = time.monotonic() + deadline
    while True:
        _, summary = fleet.get("api/devices")
        state = next(entry["state"] for entry in summary["list"] if entry["name"] == name)
        if state == want or time.monotonic() > end:
            return str(state)
        time.sleep(0.2)


def test_stopping_and_faulting_devices_leaves_the_others_serving(fleet: Served) -> None:
    stopped, delayed = plc_host(STOPPED), plc_host(DELAYED)
    errored, disabled = plc_host(ERRORED), plc_host(DISABLED)
    assert fleet.read(stopped, "T") == [(0, [0.0])]
    fleet.change(f"api/devices/{stopped}/server/control/done/true")
    fleet.change(f"api/devices/plc-{DELAYED:03d}/options/delay/value=0.5")
    fleet.change(f"api/devices/{errored}:{fleet.port}/tags/SCADA/error=8")
    fleet.change(f"api/devices/{disabled}/server/control/disable/true")
    try:
        assert _refused(stopped, fleet.port)
        assert _refused(disabled, fleet.port)
        started = time.monotonic()
        assert fleet.read(delayed, "T") == [(0, [0.0])]
        assert time.monotonic() - started >= 0.45  # the delay is there (not a speed test)
        status, value = fleet.read(errored, "SCADA[0]")[0]
        assert status == 8 and value is None
        assert fleet.read(errored, "T") == [(0, [0.0])]  # its other tags serve
        for n in range(0, PLCS, 10):  # the rest serve, with their own values
            if n not in (STOPPED, DELAYED, ERRORED, DISABLED):
                want = [1000 + n] if n in SAMPLE else [0]
                assert fleet.read(plc_host(n), "SCADA[1]") == [(0, want)], n
        assert _identity(f"{DRIVE_NET}.{DRIVES}", fleet.port) is not None
        assert _summary_state(fleet, f"plc-{STOPPED:03d}", "stopped") == "stopped"
        _, summary = fleet.get("api/devices")
        assert summary["devices"] == DEVICES and len(summary["list"]) == DEVICES
        states = {entry["name"]: entry["state"] for entry in summary["list"]}
        assert states[f"plc-{DISABLED:03d}"] == "disabled"
        assert states[f"plc-{DELAYED:03d}"] == "serving" and states["meter-0"] == "serving"
        assert summary["states"]["stopped"] == 1
    finally:  # the faults cleared, those devices serve again (the stopped one stays stopped)
        fleet.get(f"api/devices/plc-{DELAYED:03d}/options/delay/value=0")
        fleet.get(f"api/devices/{errored}/tags/SCADA/error=0")
        fleet.get(f"api/devices/{disabled}/server/control/disable/false")
    assert fleet.read(errored, "SCADA[0]") == [(0, [0])]
    end = time.monotonic() + 3
    while time.monotonic() < end and _refused(disabled, fleet.port, 0.05):
        time.sleep(0.05)
    assert fleet.read(disabled, "T") == [(0, [0.0])]
    assert _refused(stopped, fleet.port, 0.5)


# -- a fleet of one real L5X export ------------------------------------------------------------
def test_devices_of_one_l5x_keep_their_own_values(tmp_path: Path, shared_data: Path) -> None:
    l5x = shared_data / "pycomm3.L5X"
    fleet = tmp_path / "l5x.toml"
    fleet.write_text(
        textwrap.dedent(
            f"""
            [[device]]
            kind = "controllogix"
            address = "127.0.94.1"
            count = 5
            l5x = {json.dumps(str(l5x))}
            serial = "0x5000 + n"
            """
        )
    )
    with serve(fleet, free_port(), 5) as served:
        hosts = [f"127.0.94.{n + 1}" for n in range(5)]
        assert served.read(hosts[2], "write_dint1=(DINT)4242") == [(0, True)]
        for n, host in enumerate(hosts):
            want = 4242 if n == 2 else 0
            assert served.read(host, "write_dint1", "read_dint_ary1[3]") == [
                (0, [want]),
                (0, [300]),
            ], host
            assert _identity(host, served.port).serial_number == 0x5000 + n
        import pycomm3

        for n in (0, 2):  # a real client, through the export's UDTs, sees the same
            with pycomm3.LogixDriver(f"{hosts[n]}:{served.port}/0") as plc:
                assert plc.read("read_nested_udt1.udt1.dint").value == 10
                assert plc.read("write_dint1").value == (4242 if n == 2 else 0)
        status, summary = served.get("api/devices")
        assert status == 200 and summary["states"] == {"serving": 5}


# -- bad input ----------------------------------------------------------------------------------
DEVICE = '[[device]]\nkind = "controllogix"\n'


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            f'{DEVICE}address = "127.0.95.1"\n{DEVICE}name = "b"\naddress = "127.0.95.1"\n',
            "device[1]",
            "127.0.95.1:1 is also device[0]",
        ),
        (
            '[[device]]\nkind = "plc5"\naddress = "127.0.95.1"\n',
            "device[0]",
            "kind 'plc5' is not one of",
        ),
        (f'{DEVICE}address = "127.0.95.9-127.0.95.1"\n', "device[0]", "ends before it starts"),
        (
            f'{DEVICE}address = "127.0.95.1"\ntagset = "line"\n',
            "device[0]",
            "unknown tagset 'line'",
        ),
        (
            f'{DEVICE}address = "127.0.95.1"\nl5x = "missing.L5X"\n',
            "device[0]",
            "missing.L5X' does not exist",
        ),
    ],
    ids=["duplicate-address", "unknown-kind", "bad-range", "unknown-tagset", "missing-l5x"],
)
def test_bad_fleet_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, where: str, message: str
) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    assert main([str(path), "--port", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("enip_fleet: error: "), err
    assert str(path) in err and where in err and message in err, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers"),
        (["--member", "999"], "--member 999"),
        (["--member", "seven"], "--member 'seven'"),
    ],
)
def test_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(f'{DEVICE}address = "127.0.95.1"\ncount = 3\n')
    assert main([str(path), *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("enip_fleet: error: "), err
    assert message in err, err


def test_bad_input_through_the_command_line(tmp_path: Path) -> None:
    """The real process: exit status 2, one line, no traceback; a missing file likewise."""
    path = tmp_path / "fleet.toml"
    path.write_text(f'{DEVICE}address = "127.0.95.1"\n{DEVICE}address = "127.0.95.1"\n')
    for fleet in (path, tmp_path / "absent.toml"):
        done = subprocess.run(
            [sys.executable, "-m", "cpppo.server.enip.fleet", str(fleet)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and done.stdout == "", done
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith("enip_fleet: error: ") and fleet.name in done.stderr


# -- --member auto -------------------------------------------------------------------------------
async def test_member_auto_serves_the_numbered_device_on_the_bind_address() -> None:
    spec = loads_fleet(
        '[[device]]\nkind = "controllogix"\nname = "plc-{n}"\naddress = "127.0.96.1"\n'
        'count = 10\nserial = "0x6000 + n"\n',
        path="fleet.toml",
        port=free_port(),
    )
    member = select_member(spec, "auto", "127.0.96.200", hostname="plant-7")
    assert len(member.devices) == 1
    device = member.devices[0]
    assert (device.name, device.host, device.port) == (
        "plc-7",
        "127.0.96.200",
        spec.devices[7].port,
    )
    with pytest.raises(ValueError, match="ends in no number"):
        select_member(spec, "auto", "127.0.96.200", hostname="plant")
    served = FleetServer(member)
    failed = await served.start()
    try:
        assert not failed, [d.error for d in failed]
        identity = await asyncio.to_thread(_identity, "127.0.96.200", device.port)
        assert identity is not None and identity.serial_number == 0x6007
    finally:
        await served.stop()
