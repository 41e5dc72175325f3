"""Tag behaviours served: pylogix and pycomm3 read changing values from a simulator started with a
behaviour file (a subprocess on 127.0.0.1, a free port); a client's write follows the tag's
policy (overridden at the next update, or refused with 0x0F); a bad behaviour file stops the
simulator before it serves, with one line naming the entry and exit status 2."""

from __future__ import annotations

import subprocess
import sys
import time

import pycomm3
import pylogix
import pytest

from cpppo.server.enip import client
from helpers import wait_until

pytestmark = pytest.mark.timeout(60)

TANK = """\
rate = 20
[tags]
Tank_Level = "sine(amplitude=40, offset=50, period=4)"
Tank_High = "expr('Tank_Level > 80')"
Pump_Count = "counter(every=0.2)"
Valve_Open = { behaviour = "toggle(every=0.5)", writes = "refuse" }
"""
TAGS = ("Tank_Level=REAL", "Tank_High=BOOL", "Pump_Count=DINT", "Valve_Open=BOOL")


@pytest.fixture
def tank(enip_server_process, tmp_path):
    path = tmp_path / "tank.toml"
    path.write_text(TANK)
    return enip_server_process("--behaviours", str(path), *TAGS)


def sample(read, seconds: float = 1.5, step: float = 0.1) -> list:
    """``read()`` every ``step`` seconds for ``seconds``."""
    values = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        values.append(read())
        time.sleep(step)
    return values


def test_pylogix_reads_changing_values(tank):
    with pylogix.PLC("127.0.0.1", port=tank.port) as comm:
        comm.SocketTimeout = 5.0

        def read():
            results = comm.Read(["Tank_Level", "Tank_High", "Pump_Count", "Valve_Open"])
            assert all(r.Status == "Success" for r in results), results
            return [r.Value for r in results]

        rows = sample(read, 2.5)
    levels = [row[0] for row in rows]
    counts = [row[2] for row in rows]
    assert len(set(levels)) >= len(levels) - 2 and all(9.9 <= v <= 90.1 for v in levels)
    assert max(levels) > 80 and min(levels) < 50
    assert counts == sorted(counts) and counts[-1] - counts[0] >= 8
    assert {row[3] for row in rows} == {True, False}
    # the alarm follows the level (read in the same request, after the same update)
    assert all(row[1] == (row[0] > 80) for row in rows)


def test_pycomm3_reads_changing_values(tank):
    with pycomm3.LogixDriver(f"127.0.0.1:{tank.port}/0") as plc:

        def read():
            tags = plc.read("Tank_Level", "Pump_Count", "Valve_Open")
            assert all(tag.error is None for tag in tags), tags
            return [tag.value for tag in tags]

        rows = sample(read)
    assert len({row[0] for row in rows}) > 5
    counts = [row[1] for row in rows]
    assert counts == sorted(counts) and counts[-1] > counts[0]
    assert {row[2] for row in rows} == {True, False}


def test_writes_to_a_refusing_tag_get_0x0F(tank):
    with pylogix.PLC("127.0.0.1", port=tank.port) as comm:
        comm.SocketTimeout = 5.0
        assert comm.Write("Valve_Open", True).Status == "Privilege violation"
        assert comm.Write("Pump_Count", 5).Status == "Success"  # overridden at the next update
    with pycomm3.LogixDriver(f"127.0.0.1:{tank.port}/0") as plc:
        result = plc.write("Valve_Open", False)
        assert result.error == "Permission denied", result  # pycomm3's words for 0x0F
    with client.connector("127.0.0.1", tank.port, timeout=5) as conn:
        ops = client.parse_operations(["Valve_Open=(BOOL)1", "Tank_Level=(REAL)1.5"])
        assert [r[4] for r in conn.synchronous(ops)] == [0x0F, 0]


def test_a_write_overrides_until_the_next_update(enip_server_process, tmp_path):
    path = tmp_path / "slow.toml"
    path.write_text('rate = 0.5\n[tags]\nSetpoint = "counter(every=3600, start=7)"\n')
    server = enip_server_process("--behaviours", str(path), "Setpoint=DINT")
    with pylogix.PLC("127.0.0.1", port=server.port) as comm:
        comm.SocketTimeout = 5.0
        assert comm.Read("Setpoint").Value == 7
        for _ in range(3):  # an update may fall between the write and the read: try again
            assert comm.Write("Setpoint", 42).Status == "Success"
            written = time.monotonic()
            if comm.Read("Setpoint").Value == 42:
                break
        else:
            pytest.fail("the written value was never read back")
        # the next update (every 2 s) stores the behaviour's value again
        assert wait_until(lambda: comm.Read("Setpoint").Value == 7, timeout=4.5)
        assert time.monotonic() - written < 4.5
        assert set(sample(lambda: comm.Read("Setpoint").Value, 0.5)) == {7}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('Level = "sin(period=1)"', "tags.Level: unknown generator 'sin'"),
        ('Nope = "sine()"', "tags.Nope: no tag 'Nope'"),
        ('Small = "ramp(min=0, max=300)"', "tags.Small: Small (SINT, -128 to 127) cannot hold"),
    ],
)
def test_bad_behaviour_files_exit_2_before_serving(tmp_path, entry, message):
    path = tmp_path / "bad.toml"
    path.write_text(f"[tags]\n{entry}\n")
    argv = [sys.executable, "-m", "cpppo.server.enip", "-a", "127.0.0.1:0", "-A"]
    done = subprocess.run(
        [*argv, "--behaviours", str(path), "Level=REAL", "Small=SINT"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stdout == ""  # never bound, never announced an address
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"enip_server: error: {path}: "), lines
    assert message in lines[0]


def test_bad_behave_option_exits_2(tmp_path):
    argv = [sys.executable, "-m", "cpppo.server.enip", "-a", "127.0.0.1:0", "-A", "Level=REAL"]
    done = subprocess.run(
        [*argv, "--behave", "Level=expr('__import__(1)')"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert (
        done.stderr.count("\n") == 1 and "--behave" in done.stderr and "not allowed" in done.stderr
    )
