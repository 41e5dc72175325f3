"""Issue 16, item 3: the low-level client API, beside the original cpppo 5.2.5.

One script, written for the original (``conn.read``/``.write``/``.list_identity`` then
``next(conn)``, walking the reply by the original's key paths; ``enip.INT.tag_type``), runs
unchanged with ours and with the original (in its venv, a subprocess) against our loopback
simulator, and prints the same. So does the spec's list_identity snippet (docs/enip-client.md;
its printed output in the spec is Python 2's, so keys and values are compared, not text).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from array import array

import pytest
from original525 import original_json, run_original

from cpppo.server import enip
from cpppo.server.enip import client

pytestmark = pytest.mark.timeout(120)

#: Runs unchanged on the original and on ours: prints what the replies hold, as JSON.
LOW_LEVEL_SCRIPT = """
import json
import sys

from cpppo.server import enip
from cpppo.server.enip import client

host, port = sys.argv[1], int(sys.argv[2])


def reply(conn):
    for _ in range(50):
        if conn.readable(timeout=1.0):
            rpy = next(conn)
            if rpy is not None:
                return rpy
    raise AssertionError("no reply")


out = {}
with client.connector(host=host, port=port, timeout=5) as conn:
    conn.write("SCADA[1-2]", data=[11, 22], tag_type=enip.INT.tag_type)
    rpy = reply(conn)
    req = rpy.enip.CIP.send_data.CPF.item[1].unconnected_send.request
    out["write"] = [req.status, req.write_frag, list(rpy.peer)]
    conn.read("SCADA[0-3]")
    req = reply(conn).enip.CIP.send_data.CPF.item[1].unconnected_send.request
    out["read_frag"] = [req.status, req.read_frag.type, list(req.read_frag.data)]
    conn.read("SCADA[1]", elements=2, offset=None)
    rpy = reply(conn)
    path = "enip.CIP.send_data.CPF.item[1].unconnected_send.request"
    out["read_tag"] = [rpy[path + ".status"], list(rpy[path + ".read_tag.data"])]
    conn.write("R[0]", data=[1.5], tag_type=enip.REAL.tag_type, offset=None)
    req = reply(conn).enip.CIP.send_data.CPF.item[1].unconnected_send.request
    out["write_tag"] = [req.status, req.write_tag]
    conn.read("R[0]")
    req = reply(conn).enip.CIP.send_data.CPF.item[1].unconnected_send.request
    out["read_real"] = [req.read_frag.type, list(req.read_frag.data)]
    conn.get_attribute_single("@1/1/7")
    req = reply(conn).enip.CIP.send_data.CPF.item[1].unconnected_send.request
    out["get_attribute_single"] = list(req.get_attribute_single.data)
    conn.list_identity()
    ident = reply(conn).enip.CIP.list_identity.CPF.item[0].identity_object
    out["identity"] = {k: ident[k] for k in sorted(ident)}
out["tag_types"] = [
    getattr(enip, name).tag_type
    for name in ("BOOL", "SINT", "INT", "DINT", "LINT", "USINT", "UINT", "UDINT", "ULINT",
                 "REAL", "LREAL", "WORD", "DWORD", "SSTRING", "STRING")
]
print(json.dumps(out, sort_keys=True))
"""

#: The spec's list_identity snippet (docs/enip-client.md), with the simulator's port added
#: (the spec's talks to port 44818) and the host required (the spec defaults to broadcast).
LIST_IDENTITY_SNIPPET = """
from __future__ import print_function

import sys

import cpppo
from cpppo.server import enip
from cpppo.server.enip import client

timeout = 1.0
host = sys.argv[1]  # the test always passes a loopback address (the spec's default broadcasts)
with client.client( host=host, port=int(sys.argv[2]), udp=True, broadcast=True ) as conn:
    conn.list_identity( timeout=timeout )
    while conn.readable( timeout=timeout ):
        print( enip.enip_format( next( conn ) ) )
"""


def _ours(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _hexload(text: str) -> bytes:
    """The bytes of the original's ``hexload`` dump (``00000000:  01 02 ...  |..|`` lines)."""
    data = bytearray()
    for line in text.splitlines():
        if ":" in line:
            hexes = line.split(":", 1)[1].split("|")[0]
            data += bytes.fromhex(hexes)
    return bytes(data)


def _ours_formatted(text: str) -> dict:
    """Our enip_format output (JSON; bytes shown as their repr), with the bytes read back."""
    values = json.loads(text)
    for key, value in values.items():
        if isinstance(value, str) and re.match(r"b['\"]", value):
            values[key] = ast.literal_eval(value)
    values["peer"] = tuple(values["peer"])
    return values


def _theirs_formatted(text: str) -> dict:
    """The original's enip_format output (a Python literal with ``array('B', hexload(...))``)."""
    values = eval(text, {"array": lambda code, data: bytes(array(code, data)), "hexload": _hexload})
    return dict(values)


def test_tag_type_beside_code():
    """``enip.INT.tag_type`` and friends, as in the original, equal ``.code``."""
    for name in ("BOOL", "SINT", "INT", "DINT", "LINT", "REAL", "LREAL", "SSTRING", "STRING"):
        typ = getattr(enip, name)
        assert typ.tag_type == typ.code == typ().tag_type
    assert (enip.INT.tag_type, enip.DINT.tag_type, enip.REAL.tag_type) == (0xC3, 0xC4, 0xCA)


def test_next_gives_a_dotdict(enip_simulator):
    """In-process: next(conn) is a dotdict walked by attribute and by dotted key."""
    with client.connector(enip_simulator.host, enip_simulator.port, timeout=5) as conn:
        conn.read("SCADA[0-1]")
        rpy = next(conn)
        conn.read("NOPE")
        failed = next(conn).enip.CIP.send_data.CPF.item[1].unconnected_send.request
    req = rpy.enip.CIP.send_data.CPF.item[1].unconnected_send.request
    assert (req.status, req.read_frag.type, req.read_frag.data) == (0, 0xC3, [0, 0])
    assert rpy["enip.CIP.send_data.CPF.item[1].unconnected_send.request.read_frag.data"] == [0, 0]
    assert rpy.peer == enip_simulator.address
    assert failed.status and "read_frag" not in failed  # an error carries no data


def test_low_level_script_as_the_original(enip_simulator):
    """The same script prints the same with ours and with the original."""
    address = (enip_simulator.host, str(enip_simulator.port))
    ours = json.loads(_ours(LOW_LEVEL_SCRIPT, *address))
    assert ours["write"] == [0, True, list(enip_simulator.address)]
    assert ours["read_frag"] == [0, 0xC3, [0, 11, 22, 0]]
    assert ours["read_tag"] == [0, [11, 22]] and ours["write_tag"] == [0, True]
    assert ours["read_real"] == [0xCA, [1.5]]
    assert bytes(ours["get_attribute_single"][1:]) == b"1756-L61/B LOGIX5561"
    assert ours["identity"]["product_name"] == "1756-L61/B LOGIX5561"
    theirs = original_json(LOW_LEVEL_SCRIPT, *address)
    assert theirs == ours


def test_list_identity_snippet_as_the_original(enip_simulator):
    """The spec's list_identity snippet: the same keys, in the same order, and values."""
    address = (enip_simulator.host, str(enip_simulator.port))
    ours = _ours_formatted(_ours(LIST_IDENTITY_SNIPPET, *address))
    identity = "enip.CIP.list_identity.CPF.item[0].identity_object."
    assert ours[identity + "product_name"] == "1756-L61/B LOGIX5561"
    assert ours[identity + "sin_port"] == enip_simulator.port
    assert ours["peer"] == enip_simulator.address and ours["enip.command"] == 0x63
    theirs = _theirs_formatted(run_original(LIST_IDENTITY_SNIPPET, *address))
    assert list(ours) == list(theirs)
    assert ours == theirs
