"""Issue 15, defect 5: the web API cannot be driven by other sites' pages (Origin/Referer: 403),
answers only Host names of its own (421: DNS rebinding), logs an oversized request in one line,
and binds loopback for ``-w :PORT`` / ``-w .`` when ``-a`` names no interface."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import urllib.request

import pytest

from cpppo.server.enip.main import build_controller
from cpppo.server.enip.net.control import ServerControl
from cpppo.server.enip.net.web import WebServer, make_app, web_address
from cpppo.server.enip.net.web_guard import HostPolicy, same_origin, split_host

pytestmark = pytest.mark.timeout(60)

CHANGE = "/api/options/delay/value=0.25"


@pytest.fixture
async def web(aiohttp_client):
    """An aiohttp test client of the web app (its own Host is 127.0.0.1:<port>)."""
    controller = build_controller(["X=DINT"])
    control = ServerControl()
    http = await aiohttp_client(make_app(controller, control, allow_hosts=["PLC-Sim"]))
    http.control = control
    return http


# ---- Host (DNS rebinding) -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("attacker.example", 421),
        ("attacker.example:12345", 421),
        ("127.0.0.2", 421),
        ("localhost", 200),
        ("LocalHost:8080", 200),
        ("plc-sim", 200),  # --web-allow-host, in any case
        ("PLC-SIM.:80", 200),
    ],
)
async def test_host_must_name_this_server(web, host, status):
    for path in ("/api", "/", "/state", CHANGE):
        response = await web.get(path, headers={"Host": host})
        assert response.status == status, (path, host)
    assert web.control.delay.value == (0.25 if status == 200 else 0.0)


async def test_a_rebinding_page_cannot_stop_the_simulator(web):
    response = await web.get("/api/server/control/done/true", headers={"Host": "evil.example"})
    assert response.status == 421 and not web.control.done
    assert "not this server's" in (await response.json())["command"]["message"]


# ---- Origin / Referer (cross-site requests) ---------------------------------------------------
async def test_a_change_from_another_origin_is_refused(web):
    own = f"http://{web.host}:{web.port}"
    refused = [
        {"Origin": "http://attacker.example"},
        {"Origin": "null"},
        {"Origin": f"http://{web.host}:{web.port + 1}"},
        {"Origin": f"https://{web.host}:{web.port}"},
        {"Referer": "http://attacker.example/page.html"},
        {"Origin": "http://attacker.example", "Referer": f"{own}/"},
    ]
    for headers in refused:
        response = await web.post(CHANGE, headers=headers)
        assert response.status == 403, headers
        assert "another web site" in (await response.json())["command"]["message"]
        assert (await web.get("/api/options/delay", headers=headers)).status == 200  # reads
    assert web.control.delay.value == 0
    for headers in ({"Origin": own.upper()}, {"Referer": f"{own}/?x"}, {}):
        response = await web.post(CHANGE, headers=headers)
        assert response.status == 200, headers
        web.control.delay.value = 0


def test_same_origin_and_split_host():
    assert split_host("[::1]:8080") == ("::1", 8080)
    assert split_host("Example.COM.") == ("example.com", None)
    assert split_host("host:port") == ("", None)
    assert same_origin(None, None, "x") and not same_origin("null", None, "x")
    assert same_origin("http://LOCALHOST", None, "localhost:80")
    assert same_origin(None, "http://[::1]:9/a", "[::1]:9")
    assert not same_origin("http://localhost:81", None, "localhost")


def test_host_policy():
    policy = HostPolicy(["sim"])
    policy.bind(["127.0.0.1"])
    assert policy.allows("127.0.0.1:1") and policy.allows("SIM") and policy.allows(None)
    assert not policy.allows("10.1.2.3") and not policy.allows("other")
    assert policy.allows("10.1.2.3:80", local="10.1.2.3")  # the address the request came to
    wildcard = HostPolicy()
    wildcard.bind(["0.0.0.0"])
    assert wildcard.allows("127.0.0.1") and not wildcard.allows("rebound.example")


# ---- an oversized request: one line, no traceback ---------------------------------------------
async def test_oversized_requests_log_one_line(caplog):
    caplog.set_level(logging.DEBUG)
    server = WebServer(build_controller(["X=DINT"]), ServerControl())
    host, port = await server.start("127.0.0.1", 0)

    def probe(data: bytes) -> bytes:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(data)
            return sock.recv(100)

    try:
        caplog.clear()
        header = b"GET /api HTTP/1.1\r\nHost: localhost\r\nX-A: " + b"a" * 100_000 + b"\r\n\r\n"
        many = b"GET /api HTTP/1.1\r\nHost: x\r\n" + b"X-B: b\r\n" * 300 + b"\r\n"
        url = b"GET /api?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
        for request in (header, many, url):
            assert (await asyncio.to_thread(probe, request)).startswith(b"HTTP/1.")
    finally:
        await server.stop()
    records = [r for r in caplog.records if r.name.startswith("aiohttp")]
    assert len(records) == 3, [r.getMessage() for r in records]
    for record in records:
        assert record.exc_info is None and "\n" not in record.getMessage()
        assert record.levelno <= logging.INFO
    assert "Traceback" not in caplog.text


# ---- binding ------------------------------------------------------------------------------------
def test_web_address_is_loopback_when_a_names_no_interface():
    assert web_address(".", "") == ("localhost", 80)
    assert web_address(":12345", "") == ("localhost", 12345)
    assert web_address(":12345") == ("localhost", 12345)
    assert web_address(":12345", "0.0.0.0") == ("0.0.0.0", 12345)  # named: all interfaces


def _listening(port: int) -> set[str]:
    """The local addresses listening on TCP ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not os.path.exists(table):
            continue
        with open(table) as rows:
            next(rows)
            for row in rows:
                local, state = row.split()[1], row.split()[3]
                address, _, hexport = local.partition(":")
                if state == "0A" and int(hexport, 16) == port and len(address) == width:
                    found.add(address)
    return found


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads /proc/net/tcp")
def test_web_colon_port_binds_loopback_without_an_interface(enip_server_process):
    server = enip_server_process("-a", ":0", "-w", ":0", "X=DINT")
    deadline = time.monotonic() + 10
    while not any(line.startswith("http://") for line in server.stdout_lines):
        assert time.monotonic() < deadline and server.process.poll() is None, server.errors()
        time.sleep(0.02)
    url = next(line.strip() for line in server.stdout_lines if line.startswith("http://"))
    assert url.startswith("http://localhost:")
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    listening = _listening(port)
    assert listening and listening <= {"0100007F", "00000000000000000000000001000000"}, listening
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=5) as response:
        assert response.status == 200
