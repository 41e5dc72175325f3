"""``enip_fleet --history DIR``: one history file per device, holding that device's tag reads and
writes (and no other's) as historize records them, each file (rotated ones too) beginning with
the type header, so that ``enip_server --replay FILE`` serves it again."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from cpppo.history import reader
from cpppo.history.files import opener, parse_record
from cpppo.history.header import TagType, read_types
from cpppo.server.enip import REAL, client
from cpppo.server.enip.fleet.history import FleetHistory, HeaderLogger, file_name
from cpppo.server.enip.fleet.server import FleetServer
from cpppo.server.enip.fleet.spec import loads_fleet
from cpppo.server.enip.sim.controller import Controller
from helpers import free_port

pytestmark = pytest.mark.timeout(60)

HOSTS = ("127.0.17.1", "127.0.17.2", "127.0.17.3")
TYPES = {"Level": TagType("REAL"), "Counts": TagType("DINT", (10,))}


def fleet_text(port: int) -> str:
    return f"""
[fleet]
port = {port}

[[device]]
kind = "controllogix"
name = "plc-{{n}}"
address = "{HOSTS[0]}"
count = {len(HOSTS)}
tags = ["Level=REAL", "Counts=DINT[10]"]
"""


def operate(host: str, port: int, operations: list[str]) -> list:
    """Our client's values for ``operations`` on the device at ``host``."""
    with client.connector(host, port, timeout=5) as conn:
        results = list(conn.synchronous(client.parse_operations(operations)))
    return [value for *_, value in results]


async def run_fleet(history: FleetHistory, port: int, work) -> FleetServer:
    """Serve the fleet with ``history`` attached while ``work()`` runs in a thread."""
    fleet = FleetServer(loads_fleet(fleet_text(port)), on_device=history.attach, udp=False)
    failed = await fleet.start()
    assert not failed
    try:
        await asyncio.to_thread(work)
    finally:
        await fleet.stop()
        history.close()
    return fleet


def records(path) -> list:
    return [(key, payload) for _, key, payload in reader(path, strict=True)]


async def test_each_device_records_its_own_io_and_replays(tmp_path, enip_server_process):
    directory = tmp_path / "history"
    port = free_port(HOSTS)
    history = FleetHistory(directory)

    def work() -> None:
        assert operate(HOSTS[0], port, ["Counts[2-4]=(DINT)7,8,9", "Level=(REAL)1.5"]) == [
            True,
            True,
        ]
        assert operate(HOSTS[1], port, ["Level=(REAL)-2.25", "Counts[0-9]", "Level"]) == [
            True,
            [0] * 10,
            [-2.25],
        ]
        assert operate(HOSTS[0], port, ["Counts[3]", "Level=(REAL)3.5"]) == [[8], True]

    fleet = await run_fleet(history, port, work)
    names = [device.name for device in fleet.devices]
    assert names == ["plc-0", "plc-1", "plc-2"]
    assert sorted(p.name for p in directory.iterdir()) == ["plc-0.hst", "plc-1.hst", "plc-2.hst"]

    first, second, third = (directory / file_name(name) for name in names)
    assert records(first) == [
        (["Counts", [2, 4]], {"write": [7, 8, 9]}),
        (["Level", [0, 0]], {"write": [1.5]}),
        (["Counts", [3, 3]], {"read": [8]}),
        (["Level", [0, 0]], {"write": [3.5]}),
    ]
    assert records(second) == [
        (["Level", [0, 0]], {"write": [-2.25]}),
        (["Counts", [0, 9]], {"read": [0] * 10}),
        (["Level", [0, 0]], {"read": [-2.25]}),
    ]
    assert records(third) == []
    for path in (first, second, third):
        lines = path.read_text().splitlines()
        assert lines[0] == '# types: {"Level": {"type": "REAL", "dims": []}, "Counts": ' + (
            '{"type": "DINT", "dims": [10]}}'
        )
        assert read_types(path, [str(path)]) == TYPES

    # A simulator with no tags of its own replays plc-0's history: its tags are created from
    # the header and end with the last values recorded (of each tag, its last record: the
    # replay applies a tag's latest record at each update, and these came within one).
    replay = enip_server_process("--replay", f"{first}:20")
    deadline = time.monotonic() + 10.0
    values: list = []
    while time.monotonic() < deadline:
        values = operate("127.0.0.1", replay.port, ["Level", "Counts[3]"])
        if values == [[3.5], [8]]:
            break
        time.sleep(0.1)
    assert values == [[3.5], [8]]


async def test_rotated_files_each_begin_with_the_header(tmp_path):
    directory = tmp_path / "history"
    port = free_port(HOSTS)
    history = FleetHistory(directory, rotate_bytes=300, keep=None)
    written = [f"Counts[{i}]=(DINT){i + 100}" for i in range(10)]

    def work() -> None:
        assert operate(HOSTS[2], port, written) == [True] * 10

    await run_fleet(history, port, work)
    path = directory / "plc-2.hst"
    rotated = sorted(directory.glob("plc-2.hst.*"))
    assert len(rotated) >= 3, rotated
    assert all(name.suffix == ".gz" for name in rotated)  # compressed, all finished at close
    found = []
    for name in [path, *rotated]:
        with opener(name, "rt") as f:
            lines = list(f)
        assert lines[0].startswith("# types: "), (name, lines)
        assert read_types(name, [str(name)]) == TYPES
        parsed = [parse_record(line) for line in lines]
        found += [(key, payload) for _, key, payload in filter(None, parsed)]
    expected = [(["Counts", [i, i]], {"write": [i + 100]}) for i in range(10)]
    assert sorted(found) == sorted(expected)  # each record in one file
    assert records(path) == expected  # the history (file and rotations) reads back in order


def test_header_logger_and_file_names(tmp_path):
    """A file holding only its header is never rotated; names are made safe file names."""
    path = tmp_path / "h.hst"
    with HeaderLogger(path, "types: {}", rotate_bytes=10, compress=None) as out:
        out.write(["X", [0, 0]], {"write": [1]})  # larger than rotate_bytes: into this file
        out.write(["X", [0, 0]], {"write": [2]})  # rotates first
    assert path.read_text().startswith("# types: {}\n")
    assert (tmp_path / "h.hst.1").read_text().startswith("# types: {}\n")
    assert not (tmp_path / "h.hst.2").exists()
    assert [p for _, _, p in reader(path)] == [{"write": [1]}, {"write": [2]}]
    assert file_name("plc-001") == "plc-001.hst"
    assert file_name("../etc/x") == "_.._etc_x.hst"
    assert file_name(".hidden") == "_.hidden.hst"


def test_hook_chains_records_plain_values_and_is_removed_at_close(tmp_path):
    """A hook already set still sees every access; values JSON cannot hold are made plain; a
    device without a controller (Modbus) gets no file; close restores the previous hook."""
    seen: list = []
    controller = Controller()
    controller.add_tag("Level", REAL)
    controller.on_access = lambda *access: seen.append(access)
    device = SimpleNamespace(name="a/b", key="127.0.0.1:1", kind="controllogix",
                             controller=controller)  # fmt: skip
    modbus = SimpleNamespace(name="m", key="127.0.0.1:2", kind="modbus", controller=None)
    history = FleetHistory(tmp_path)
    history.attach(device)
    history.attach(modbus)
    tag = controller.tags["Level"]
    controller.on_access(tag, 0, [1.5], "write")
    controller.on_access(SimpleNamespace(name="Udt.Raw"), 0, [b"\x01\x02"], "read")
    history.close()
    assert controller.on_access is not None and controller.on_access.__name__ == "<lambda>"
    assert len(seen) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_b.hst"]
    assert records(tmp_path / "a_b.hst") == [
        (["Level", [0, 0]], {"write": [1.5]}),
        (["Udt.Raw", [0, 0]], {"read": [[1, 2]]}),
    ]


async def test_refused_accesses_are_recorded_as_comments(tmp_path):
    """As historize records a failure: a comment naming the tag and the status; no record."""
    directory = tmp_path / "history"
    port = free_port(HOSTS)
    history = FleetHistory(directory)
    fleet_holder: list[FleetServer] = []

    def work() -> None:
        device = fleet_holder[0].find(HOSTS[0])
        assert device is not None and device.controller is not None
        device.controller.tags["Level"].attribute.error = 0x08
        assert operate(HOSTS[0], port, ["Level", "Counts[1]=(REAL)1.5", "Counts[1]"]) == [
            None,
            None,
            [0],
        ]

    fleet = FleetServer(loads_fleet(fleet_text(port)), on_device=history.attach, udp=False)
    fleet_holder.append(fleet)
    assert not await fleet.start()
    try:
        await asyncio.to_thread(work)
    finally:
        await fleet.stop()
        history.close()
    path = directory / file_name("plc-0")
    assert records(path) == [(["Counts", [1, 1]], {"read": [0]})]
    with opener(path) as lines:
        comments = [line for line in lines if "Exception" in line]
    assert len(comments) == 2, comments
    assert "Tag                Level Exception: status 0x08" in comments[0]
    assert "PLC I/O Write Tag" in comments[1] and "Counts" in comments[1]
    assert "status 0xFF" in comments[1]
