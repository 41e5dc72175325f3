"""Record a plant and replay it: ``python -m cpppo.history record`` polls a simulator with tag
behaviours into one history with a type header; a second simulator ``--replay``-ing it (tags
made from the header) serves the same series at the same relative times, within one update
period; it loops at a speed when asked; a headerless history replays only into defined tags."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time

import pytest

from cpppo.history import logger, reader, timestamp
from cpppo.history.__main__ import main as history_main
from cpppo.history.header import TagType, read_types
from cpppo.server.enip import client

pytestmark = pytest.mark.timeout(90)

#: The replaying simulator's update period (its default rate, 10 Hz).
PERIOD = 0.1
PLANT = (
    "--behave",
    "Count=counter(every=0.25)",
    "--behave",
    "Level=sine(amplitude=10, offset=20, period=2)",
    "--behave",
    "Run=toggle(every=0.5)",
    "Count=DINT",
    "Level=REAL",
    "Run=BOOL",
    "Spare=INT[4]",
)


def poll(port: int, tags: list[str], seconds: float, step: float) -> list[tuple[float, list]]:
    """(monotonic time, values) of reading ``tags`` every ``step`` seconds for ``seconds``."""
    rows = []
    operations = list(client.parse_operations(tags))
    with client.connector("127.0.0.1", port, timeout=5) as conn:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            values = [r[5] for r in conn.synchronous(operations)]
            rows.append((time.monotonic(), [v[0] if isinstance(v, list) else v for v in values]))
            time.sleep(step)
    return rows


def changes(rows: list[tuple[float, list]], column: int) -> list[tuple[float, object]]:
    """(time, value) where ``column`` takes a new value (its first appearance)."""
    found: list[tuple[float, object]] = []
    for when, values in rows:
        if not found or values[column] != found[-1][1]:
            found.append((when, values[column]))
    return found


def test_record_then_replay_into_a_second_simulator(enip_server_process, tmp_path):
    path = tmp_path / "plant.hst"
    plant = enip_server_process(*PLANT)
    address = f"127.0.0.1:{plant.port}"
    # a record every 0.25 s: longer than the replay's update period, so each is served
    argv = ["record", "-a", address, "-i", "0.25", "-n", "16", "-o", str(path)]
    assert history_main([*argv, "Count", "Level", "Run", "Spare[1-2]"]) == 0
    plant.stop()
    assert read_types(path) == {
        "Count": TagType("DINT"),
        "Level": TagType("REAL"),
        "Run": TagType("BOOL"),
        "Spare": TagType("INT", (3,)),
    }
    records = list(reader(path, strict=True))
    assert len(records) == 4 * 16
    recorded = {name: [] for name in ("Count", "Level", "Run")}
    for when, key, payload in records:
        if key[0] in recorded:
            assert key[1] == [0, 0]
            recorded[key[0]].append((when.value, payload["read"][0]))
        else:
            assert key == ["Spare", [1, 2]] and payload == {"read": [0, 0]}
    counts = [value for _, value in recorded["Count"]]
    assert counts == sorted(counts) and counts[-1] - counts[0] >= 12

    # A second simulator, with no tags of its own, replays the history.
    replay = enip_server_process("--replay", str(path))
    rows = poll(replay.port, ["Count", "Level", "Run", "Spare[0-2]"], 4.5, 0.01)
    assert rows[-1][1][3] == 0
    for column, name in enumerate(("Count", "Level", "Run")):
        expected = changes([(t, [v]) for t, v in recorded[name]], 0)
        seen = changes(rows, column)[1:]  # the first is whatever was served when polling began
        # the values come back exactly (a REAL is the float32 recorded), in the same order:
        # all of them from where the polling began to the end of the recording
        values = [value for _, value in expected]
        first = len(values) - len(seen)
        assert [value for _, value in seen] == values[first:], name
        assert len(seen) >= len(expected) * 3 // 4, name
        # the same relative times: one offset (the replay's start) within one update period
        offsets = [s[0] - e[0] for s, e in zip(seen, expected[first:])]
        middle = (max(offsets) + min(offsets)) / 2
        assert all(abs(offset - middle) <= PERIOD for offset in offsets), (name, offsets)


def test_replay_loops_and_runs_at_speed(enip_server_process, tmp_path):
    path = tmp_path / "steps.hst"
    start = timestamp("2024-03-10 08:00:00")
    with logger(path) as history:
        history.comment('types: {"Step": {"type": "DINT", "dims": []}}', stamp=False)
        for i in range(4):
            history.write(["Step", [0, 0]], {"read": [i]}, now=start + i)
    server = enip_server_process("--replay", f"{path}:4:loop", "--behaviour-rate", "50")
    rows = poll(server.port, ["Step"], 2.2, 0.01)
    values = [value for _, value in changes(rows, 0)]
    # 4 records a second apart at 4x: a loop of 1 s (3 s and one more interval, over 4)
    assert values[:1] in ([0], [1], [2], [3]) and len(values) >= 7
    assert all((b - a) % 4 == 1 for a, b in itertools.pairwise(values)), values


def test_headerless_history_replays_only_into_defined_tags(enip_server_process, tmp_path):
    path = tmp_path / "old.hst"
    with logger(path) as history:  # as historize wrote them before type headers
        for i in range(3):
            history.write(["Tag_Name", [0, 3]], {"write": [i, i, i, i]})
            history.write(["Flow", [0, 0]], {"read": [1.5 * i]})
    argv = [sys.executable, "-m", "cpppo.server.enip", "-a", "127.0.0.1:0", "-A"]
    done = subprocess.run(
        [*argv, "--replay", str(path), "Tag_Name=INT[10]"], capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"enip_server: error: --replay {path}: tag 'Flow' is not defined and the history's type"
        " header does not name it (define it, eg. on the command line)"
    ]
    server = enip_server_process("--replay", f"{path}:1000", "Tag_Name=INT[10]", "Flow=REAL")
    rows = poll(server.port, ["Tag_Name[0-4]", "Flow"], 0.5, 0.05)
    assert rows[-1][1] == [2, 3.0]
    with client.connector("127.0.0.1", server.port, timeout=5) as conn:
        ops = client.parse_operations(["Tag_Name[0-4]"])
        assert [r[5] for r in conn.synchronous(ops)] == [[2, 2, 2, 2, 0]]
