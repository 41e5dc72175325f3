"""Interop: our client against the ORIGINAL cpppo 5.2.5 simulator (its own venv, on loopback).

The venv is ``bench/.venv-cpppo525`` (``pip install cpppo==5.2.5 'greenery<3'``); this module
creates it when missing (needs the package index). If it cannot be created the tests are
SKIPPED with the reason shown (``pytest -ra``) -- they never pass without having run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from cpppo.server.enip import client
from cpppo.server.enip.tools.getattr import attribute_operations, proxy
from helpers import stop_process, unavailable

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[4]


def _bench_module(name: str) -> ModuleType:
    """``bench/<name>.py``, loaded by path (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def original_python() -> Path:
    """The original cpppo's interpreter, creating its venv once (under a lock) if needed."""
    cpppo525 = _bench_module("cpppo525")
    try:
        return cpppo525.original_python(timeout=240)
    except cpppo525.Unavailable as exc:
        unavailable(f"cannot install the original cpppo 5.2.5: {exc}")


@pytest.fixture(scope="module")
def original():
    """The original simulator (SCADA=INT[1000], TEXT=SSTRING[100]) on a free loopback port."""
    python = original_python()
    tags = ["SCADA=INT[1000]", "TEXT=SSTRING[100]", "R=REAL[4]", "D=DINT[300]"]
    process = subprocess.Popen(
        [str(python), "-m", "cpppo.server.enip", "-a", "127.0.0.1:0", "-A", *tags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=str(ROOT / "bench"),
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        port = None
        for _ in range(4):
            line = process.stdout.readline()
            match = re.search(r"TCP Server address = \('([\d.]+)', (\d+)\)", line)
            if match:
                port = int(match.group(2))
                break
        assert port, "the original simulator did not report its address"
        yield "127.0.0.1", port
    finally:
        stop_process(process, 10)
        process.stdout.close()


@pytest.mark.parametrize("fragment", [False, True])
@pytest.mark.parametrize("depth, multiple", [(0, 0), (5, 500)])
def test_tags_read_write(original, fragment, depth, multiple):
    """Write and read INT, SSTRING, REAL and DINT tags (plain/fragmented, pipelined/MSP)."""
    ops = [
        "SCADA[1-3]=11,22,33",
        "SCADA[0-4]",
        'TEXT[2]=(SSTRING)"interop"',
        "TEXT[1-3]",
        "R[0-1]=1.5,2.5",
        "R[0-1]",
        "D[250-252]=(DINT)-1,0,70000",
        "D[250-252]",
    ]
    with client.connector(*original, timeout=10) as conn:
        results = list(
            conn.pipeline(
                client.parse_operations(ops), fragment=fragment, depth=depth, multiple=multiple
            )
        )
    assert [r[4] for r in results] == [0] * len(ops)
    assert [r[5] for r in results][1::2] == [
        [0, 11, 22, 33, 0],
        ["", "interop", ""],
        [1.5, 2.5],
        [-1, 0, 70000],
    ]


def test_large_fragmented_read(original):
    """D=DINT[300] (1200 bytes) needs several Read Tag Fragmented replies from the original."""
    with client.connector(*original, timeout=10) as conn:
        (write,) = conn.synchronous(
            client.parse_operations(
                [{"path": "D[0]", "tag_type": 0xC4, "data": list(range(300)), "method": "write"}]
            ),
            fragment=True,
        )
        assert write[4] == 0
        (read,) = conn.synchronous(client.parse_operations(["D[0-299]"]), fragment=True)
    assert read[4] == 0 and read[5] == list(range(300))


def test_identity_get_attributes(original):
    """Get Attributes All / Single of the Identity, and the proxy's typed Identity parameter."""
    with client.connector(*original, timeout=10) as conn:
        results = list(conn.synchronous(attribute_operations(["@1/1", "@1/1/7"])))
    assert results[0][5][:6] == [1, 0, 14, 0, 54, 0]
    assert bytes(results[1][5][1:]).decode() == "1756-L61/B LOGIX5561"
    via = proxy(original[0], port=original[1], timeout=10)
    with via:
        identity, name = via.read(["Identity", "Product Name"])
    via.close_gateway()
    assert identity == [1, 14, 54, 2836, 12640, 7079450, "1756-L61/B LOGIX5561", 255]
    assert name == ["1756-L61/B LOGIX5561"]


def test_list_identity_and_connected(original):
    """List Identity over TCP, and a Forward Open (connected) session on the original."""
    with client.connector(*original, timeout=10) as conn:
        conn.list_identity()
        reply = next(conn)
        item = reply["enip"]["CIP"]["list_identity"]["CPF"]["item"][0]["identity_object"]
        assert item["product_name"] == "1756-L61/B LOGIX5561"
    with client.connector(*original, timeout=10, connected=True) as conn:
        results = list(conn.synchronous(client.parse_operations(["SCADA[7]=7", "SCADA[7]"])))
    assert [r[5] for r in results] == [True, [7]]


def test_unknown_tag_fails_without_hanging(original):
    """The original answers an unknown tag with an encapsulation error and closes the session:
    that operation fails and the rest raise CommunicationCeased (issue 16), promptly; a new
    connection works."""
    results = []
    ops = client.parse_operations(["NOPE[0]", "SCADA[0]"])
    with client.connector(*original, timeout=5) as conn, pytest.raises(client.CommunicationCeased):
        for result in conn.synchronous(ops):
            results.append(result)
    assert results[0][5] is None and results[0][4]
    with client.connector(*original, timeout=5) as conn:
        assert [r[5] for r in conn.synchronous(client.parse_operations(["SCADA[1]"]))] == [[11]]
