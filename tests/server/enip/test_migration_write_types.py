"""Issue 16, item 1: write type checking as the original cpppo 5.2.5.

The simulator takes a write in a narrower type than the tag (SINT or INT into DINT, integers into
REAL, ...) and answers 0xFF/0x2107 to every other type mismatch, as the original does: every
(tag type, write type) pair gets the same status from ours and from the original (its
simulator, in its venv). The client refuses a value out of its cast's range before sending
anything; a 0x2107 is reported as a type mismatch.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from original525 import original_server, run_original

from cpppo.server.enip import client

pytestmark = pytest.mark.timeout(180)

TAG_TYPES = ("SINT", "INT", "DINT", "LINT", "REAL", "LREAL")
CASTS = ("BOOL", "SINT", "USINT", "INT", "UINT", "DINT", "UDINT", "LINT", "REAL", "LREAL")
TAGS = [f"T{name}={name}[2]" for name in TAG_TYPES]
WIDENS = {  # what each tag type takes besides its own type (the original's table)
    "SINT": {"BOOL", "USINT"},
    "INT": {"BOOL", "SINT", "USINT", "UINT"},
    "DINT": {"BOOL", "SINT", "USINT", "INT", "UINT", "UDINT"},
    "LINT": {"BOOL", "SINT", "USINT", "INT", "UINT", "DINT", "UDINT"},
    "REAL": {"BOOL", "SINT", "USINT", "INT", "UINT", "DINT", "UDINT"},
    "LREAL": {"BOOL", "SINT", "USINT", "INT", "UINT", "DINT", "UDINT", "REAL"},
}
OPERATIONS = [f"T{tag}[1]=({cast})1" for tag in TAG_TYPES for cast in CASTS]


def _statuses(address: tuple[str, int]) -> list:
    with client.connector(*address, timeout=5) as conn:
        return [r[4] for r in conn.synchronous(client.parse_operations(OPERATIONS))]


def test_widening_and_mismatches(enip_simulator_factory):
    sim = enip_simulator_factory(TAGS)
    statuses = dict(zip(OPERATIONS, _statuses(sim.address)))
    for tag in TAG_TYPES:
        for cast in CASTS:
            taken = cast == tag or cast in WIDENS[tag]
            expect = 0 if taken else (0xFF, [0x2107])
            assert statuses[f"T{tag}[1]=({cast})1"] == expect, (tag, cast)


def test_write_types_as_the_original(enip_simulator_factory):
    """Every pair: the same status from our simulator and from the original's."""
    ours = _statuses(enip_simulator_factory(TAGS).address)
    with original_server(*TAGS) as address:
        theirs = _statuses(address)
    assert [(op, s) for op, s in zip(OPERATIONS, ours)] == [
        (op, s) for op, s in zip(OPERATIONS, theirs)
    ]


def test_int_into_sint_is_refused_and_reported_as_a_type_mismatch(enip_simulator_factory):
    """``S[0]=5`` (an INT, the client's default) into a SINT tag: 0xFF/0x2107, printed by the
    client as a type mismatch (exit 1); the tag keeps its value."""
    sim = enip_simulator_factory(["S=SINT[2]"])
    command = [sys.executable, "-m", "cpppo.server.enip.client", "-a", f"{sim.host}:{sim.port}"]
    done = subprocess.run([*command, "-p", "S[0]=5"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "S[ 0-0 ] <= None: Status 0xFF (General error (0x2107 Type mismatch" in done.stdout
    assert sim.controller.tags["S"].attribute[0] == 0


@pytest.mark.parametrize("value", ["300", "-129"])
def test_client_refuses_out_of_range_before_sending(value):
    """``S[0]=(SINT)300``: one line naming the range, exit 2; no connection is even made."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        command = [sys.executable, "-m", "cpppo.server.enip.client", "-a", f"127.0.0.1:{port}"]
        done = subprocess.run(
            [*command, f"S[0]=(SINT){value}"], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 2
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and f"{value} is out of range for SINT" in lines[0]
        with pytest.raises(TimeoutError):
            listener.accept()


def test_client_range_beside_the_original():
    """The original client refuses the value too, with a traceback of an AssertionError."""
    code = (
        "import sys\nfrom cpppo.server.enip import client\n"
        "try:\n    list(client.parse_operations(['S[0]=(SINT)300']))\n"
        "except AssertionError as exc:\n    print('refused:', exc)\n"
    )
    assert "not in range" in run_original(code)
