"""``python -m cpppo.server.enip -w ...``: the web API of a running simulator process, driven over
HTTP while pylogix or our client is connected."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any

import pylogix
import pytest

from cpppo.server.enip import client
from cpppo.server.enip.net.web import web_address

pytestmark = pytest.mark.timeout(60)


def _web_url(server: Any, timeout: float = 10.0) -> str:
    """The dashboard URL the simulator prints (after its address) with ``-A``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.stdout_lines:
            if line.startswith("http://"):
                return line.strip()
        if server.process.poll() is not None:
            break
        time.sleep(0.02)
    raise AssertionError(f"no web URL printed; stderr: {server.errors()}")


def _get(url: str, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Accept": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def web_sim(enip_server_process):
    """``start(*args, env=None)`` -> (server process, web URL) with ``-w 127.0.0.1:0``."""

    def start(*args: str, env: dict | None = None) -> tuple[Any, str]:
        server = enip_server_process("-w", "127.0.0.1:0", *args, env=env)
        return server, _web_url(server)

    return start


def _read(port: int, *ops: str) -> list:
    with client.connector("127.0.0.1", port, timeout=5) as conn:
        return [(r[4], r[5]) for r in conn.synchronous(client.parse_operations(list(ops)))]


def test_spec_session_with_pylogix_connected(web_sim):
    """The spec's walk-through: tags, delay, errors and elements, seen by a connected client."""
    server, url = web_sim("SCADA=INT[1000]")
    status, body = _get(url + "api")
    assert status == 200 and body["command"] == {}
    assert body["data"]["tags"] == {
        "SCADA": {"attribute": "SCADA          INT[1000] == [0, 0, 0, 0, 0, 0, ...]", "error": 0}
    }
    with pylogix.PLC("127.0.0.1", port=server.port) as comm:
        comm.SocketTimeout = 5
        assert comm.Read("SCADA[0]").Status == "Success"
        local = comm.conn.Socket.getsockname()[1]
        status, body = _get(url + "api/connections")
        entry = body["data"]["connections"][f"127_0_0_1_{local}"]
        assert entry["port"] == local and entry["requests"] >= 3
        # error: that tag's accesses fail until reset
        assert _get(url + "api/tags/SCADA/error=8")[1]["command"]["success"]
        assert comm.Read("SCADA[0]").Status == "Service not supported"
        assert comm.Write("SCADA[0]", 1).Status == "Service not supported"
        assert _get(url + "api/tags/SCADA/error/0")[1]["command"]["success"]
        assert comm.Read("SCADA[0]").Value == 0
        # elements: the API and the client see each other's writes
        _get(url + "api/tags/SCADA/attribute[3]=4")
        assert comm.Read("SCADA[3]").Value == 4
        assert comm.Write("SCADA[7]", -9).Status == "Success"
        status, body = _get(url + "api/tags/SCADA/attribute[7]")
        assert body["command"] == {"message": "tags.SCADA.attribute[7]: -9", "success": True}
        # delay: each response waits
        _get(url + "api/options/delay/value/0.3")
        start = time.monotonic()
        assert comm.Read("SCADA[3]").Value == 4
        assert time.monotonic() - start >= 0.3
        _get(url + "api/options/delay/value=0")
    assert server.stop() == 0


def test_delay_range_option(web_sim):
    server, url = web_sim("-d", "0.05-0.1", "SCADA=INT[10]")
    status, body = _get(url + "api/options/delay")
    assert status == 200 and body["data"]["options"]["delay"]["range"] == "0.05-0.1"
    assert _get(url + "api/options/delay/range=0.3-0.35")[1]["command"]["success"]
    start = time.monotonic()
    assert _read(server.port, "SCADA[0]") == [(0, [0])]
    assert time.monotonic() - start >= 0.3  # register session and the read: both delayed
    assert _get(url + "api/options/delay/range=0-0")[1]["command"]["success"]
    start = time.monotonic()
    assert _read(server.port, "SCADA[0]") == [(0, [0])]
    assert time.monotonic() - start < 0.3


def test_eof_drops_clients_which_reconnect(web_sim):
    server, url = web_sim("SCADA=INT[10]")
    comm = pylogix.PLC("127.0.0.1", port=server.port)
    comm.SocketTimeout = 5
    raw = socket.create_connection(server.address, timeout=5)
    try:
        status, body = _get(url + "api/server/control/latency=0.25")
        assert status == 200 and body["data"]["server"]["control"]["latency"] == 0.25
        assert comm.Read("SCADA[0]").Status == "Success"
        name = f"127_0_0_1_{comm.conn.Socket.getsockname()[1]}"
        start = time.monotonic()
        status, body = _get(url + f"api/connections/{name}/eof/true")
        assert time.monotonic() - start < 0.25  # closed within the latency, reply included
        assert body["command"]["success"] and "connections" not in body["data"]
        assert comm.Read("SCADA[0]").Status == "Connection failure"  # it noticed
        assert comm.Read("SCADA[0]").Status == "Success"  # and reconnected
        again = f"127_0_0_1_{comm.conn.Socket.getsockname()[1]}"
        assert again != name
        assert again in _get(url + "api/connections")[1]["data"]["connections"]
        status, body = _get(url + "api/connections/*/eof/true")
        assert status == 200 and body["command"]["message"].count("eof='true' (True)") == 2
        raw.settimeout(1)
        assert raw.recv(1) == b""
        assert _get(url + "api/connections")[1]["data"] == {}
        assert comm.Read("SCADA[0]").Status == "Connection failure"
        assert comm.Read("SCADA[0]").Status == "Success"
    finally:
        comm.Close()
        raw.close()


def test_disable_and_enable(web_sim):
    server, url = web_sim("SCADA=INT[10]")
    with client.connector("127.0.0.1", server.port, timeout=5) as conn:
        ops = client.parse_operations(["SCADA[1]=(INT)11", "SCADA[1]"])
        assert [r[5] for r in conn.synchronous(ops)] == [True, [11]]
        status, body = _get(url + "api/server/control/disable/true")
        assert body["command"]["success"] and body["data"]["server"]["control"]["disable"]
        with pytest.raises(client.CommunicationCeased) as ceased:  # raised since issue 16
            list(conn.synchronous(client.parse_operations(["SCADA[1]"])))
        (result,) = ceased.value.results
        assert isinstance(result[4], client.ClientError)  # its connection was closed
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(server.address, timeout=5)
    status, body = _get(url + "api")
    assert status == 200 and "server.control.disable: the port is closed" in body["alarm"]
    assert _get(url + "api/server/control/disable/false")[1]["command"]["success"]
    deadline = time.monotonic() + 2
    while True:
        try:
            assert _read(server.port, "SCADA[1]") == [(0, [11])]  # the same port, the same tags
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline
            time.sleep(0.02)


def test_done_exits_0_and_frees_the_ports(web_sim):
    server, url = web_sim("SCADA=INT[10]")
    web_port = int(url.rsplit(":", 1)[1].strip("/"))
    with pylogix.PLC("127.0.0.1", port=server.port) as comm:
        assert comm.Read("SCADA[0]").Status == "Success"
        start = time.monotonic()
        status, body = _get(url + "api/server/control/done/true")
        assert status == 200 and body["command"]["success"]
        assert server.process.wait(2) == 0
        assert time.monotonic() - start < 2
    # A new simulator can serve both ports at once.
    again, again_url = web_sim("-a", f"127.0.0.1:{server.port}", "-w", f"127.0.0.1:{web_port}")
    assert again.port == server.port and again_url == url
    assert _get(url + "api/tags/SCADA")[0] == 200


def test_web_token_from_environment_and_option(web_sim):
    server, url = web_sim("SCADA=INT[10]", env={"CPPPO_WEB_TOKEN": "from-env"})
    status, body = _get(url + "api/tags/SCADA/attribute[0]=5")
    assert status == 403 and "needs the web token" in body["command"]["message"]
    assert _get(url + "api/tags/SCADA/attribute[0]")[1]["command"]["message"].endswith(": 0")
    assert _get(url + "api/tags/SCADA/attribute[0]=5&token=from-env")[0] == 403  # not a query
    assert _get(url + "api/tags/SCADA/attribute[0]=5?token=from-env")[0] == 200
    assert _read(server.port, "SCADA[0]") == [(0, [5])]
    server, url = web_sim("SCADA=INT[10]", "--web-token", "opt", env={"CPPPO_WEB_TOKEN": "env"})
    assert _get(url + "api/server/control/done/true?token=env")[0] == 403
    status, _ = _get(url + "api/server/control/done/true", {"Authorization": "Bearer opt"})
    assert status == 200 and server.process.wait(2) == 0


def test_browser_gets_html_and_the_dashboard(web_sim):
    server, url = web_sim("SCADA=INT[10]")
    request = urllib.request.Request(url + "api/tags", headers={"Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/html")
        assert "&quot;SCADA&quot;: {" in response.read().decode()
    with urllib.request.urlopen(url, timeout=5) as response:
        assert b'<script src="/static/dashboard.js" defer>' in response.read()
    with urllib.request.urlopen(url + "state", timeout=5) as response:
        state = json.loads(response.read())
    assert state["address"] == f"127.0.0.1:{server.port}"
    assert [tag["name"] for tag in state["tags"]] == ["SCADA"]


def test_sigterm_as_soon_as_the_url_is_printed_exits_0(web_sim):
    server, _ = web_sim("X=INT")
    assert server.stop() == 0


def test_web_port_in_use_exits_1(enip_server_process):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = enip_server_process("-w", f"127.0.0.1:{port}", "X=INT")
        assert server.process.wait(10) == 1
    assert "cannot start the web API on 127.0.0.1:" in server.errors()
    with socket.socket() as probe:
        probe.bind(server.address)  # the EtherNet/IP port was released too


def test_web_address_defaults_to_the_enip_interface():
    assert web_address(".", "127.0.0.2") == ("127.0.0.2", 80)
    assert web_address(":12345", "127.0.0.2") == ("127.0.0.2", 12345)
    assert web_address("127.0.0.3:8080", "0.0.0.0") == ("127.0.0.3", 8080)
    assert web_address("127.0.0.3", "0.0.0.0") == ("127.0.0.3", 80)
    assert web_address("[::1]:8080", "0.0.0.0") == ("::1", 8080)
    with pytest.raises(ValueError):
        web_address(":http", "0.0.0.0")
