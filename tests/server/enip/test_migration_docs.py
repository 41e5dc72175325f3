"""docs/migrating.md (issue 16): its table lists the intended differences the issue names, and
each of its code examples (the spec's client, parse_operations, pipeline, getattr, low-level,
list_identity, proxy, poll and embedding examples) runs, in a subprocess, against a simulator
on a free loopback port: the ControlLogix or PowerFlex its first line names, or a free port.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cpppo.server.enip.examples.poll_test import add_powerflex

pytestmark = pytest.mark.timeout(180)

PAGE = Path(__file__).resolve().parents[3] / "docs" / "migrating.md"
_BLOCK = re.compile(r"^### (?P<title>.+?)\n.*?^```python\n(?P<code>.*?)^```", re.M | re.S)
_ADDRESS = re.compile(r'^HOST, PORT = "localhost", 44818  # (?P<device>.*)$', re.M)
TAGS = ["SCADA=INT[1000]", "Tag=DINT[10]", "A_Tag=REAL[3]"]

#: What each example prints (a regular expression searched in its output), by its title.
PRINTS = {
    "The client API: `.pipeline`, `.process`": r"Tag\[ 3-5 \] == \[0, 4, 5\]",
    "A pipeline loop (the spec's thruput)": r" 20 operations using +\d+ requests in",
    "Get Attribute operations (the spec's getattr loop)": r"1: Single G_A_S @0x0001/1/7 == \[20",
    "The low-level client: `.write`, `.read`, `next(conn)`": r"0 \[0, 11, 22, 0\]",
    "List Identity (UDP)": r'"enip\.CIP\.list_identity\.CPF\.item\[0\]\.identity_object\.'
    r'product_name": "1756-L61/B LOGIX5561"',
    "A connection that fails": r"failed: ",
    "A proxy for a simple device (`getattr.proxy_simple`)": r"\[456\.7",
    "Polling (`poll.poll` in a thread)": r"Motor Velocity",
    "Embedding the simulator (`main(server=...)`)": r"\(0, \[True, \[1\.5\]\]\)",
}


def _examples() -> list[tuple[str, str]]:
    return [(m["title"], m["code"]) for m in _BLOCK.finditer(PAGE.read_text())]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_example_is_checked():
    titles = [title for title, _ in _examples()]
    assert len(titles) == 10 and set(PRINTS) <= set(titles)


@pytest.mark.parametrize(("title", "code"), _examples(), ids=[t for t, _ in _examples()])
def test_example_runs(enip_simulator_factory, title, code):
    found = _ADDRESS.search(code)
    if found is not None:
        device = found["device"]
        if device.startswith("a ControlLogix"):
            sim = enip_simulator_factory(TAGS)
            port = sim.port
        elif device.startswith("a PowerFlex"):
            sim = enip_simulator_factory(["SCADA=INT[100]"])
            add_powerflex(sim.controller)
            port = sim.port
        else:
            assert device.startswith("a free port"), device
            port = _free_port()
        code = code[: found.start()] + f'HOST, PORT = "127.0.0.1", {port}' + code[found.end() :]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    if title in PRINTS:
        assert re.search(PRINTS[title], done.stdout), done.stdout[-2000:]


def test_the_table_lists_the_issues_differences():
    """The differences issue 16 names are rows of the table."""
    table = PAGE.read_text().split("## Every intended difference", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert len(rows) >= 15
    for row in rows:  # module, old behaviour, new behaviour, why, what to change
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]]
        assert len(cells) == 5 and all(cells[:3]), row
    text = " ".join(rows)
    for needle in (
        "Python 3.10+",
        "greenery 4",
        "pymodbus 3.16",
        "no pytz",
        "pymodbus_fixes",
        "per ~16 KiB buffer",
        "`Scalar[0]`",
        "0x04",
        "web API binding",
        "Origin",
        'did you mean [{"port": 2, "link": "192.168.1.2"}]?',
        "CommunicationCeased",
        "no such parameter",
    ):
        assert needle in text, needle
