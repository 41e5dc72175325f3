"""The web API (spec 2.1.8) through aiohttp's test client, with the simulator on the same loop.

Each test runs an :class:`EnipServer` and the web application on the test's event loop (as
``main()`` does) and drives the simulator with our client or pylogix in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass
from typing import Any

import pylogix
import pytest

from cpppo.server.enip import client
from cpppo.server.enip.main import build_controller
from cpppo.server.enip.net.control import Delay, ServerControl
from cpppo.server.enip.net.server import EnipServer
from cpppo.server.enip.net.web import make_app, wants_html
from cpppo.server.enip.sim.attribute import Attribute
from cpppo.server.enip.sim.controller import Controller

pytestmark = pytest.mark.timeout(60)

TAGS = ("SCADA=INT[1000]", "TEXT=SSTRING[10]", "R=REAL[4]", "M=DINT[2,3]", "I=INT")


@dataclass
class Sim:
    """A simulator and its web app on the test's loop."""

    controller: Controller
    control: ServerControl
    enip: EnipServer
    http: Any

    @property
    def port(self) -> int:
        return self.enip.port

    async def api(self, url: str, **kwds: Any) -> tuple[int, dict]:
        response = await self.http.get(url, **kwds)
        assert response.content_type == "application/json"
        return response.status, await response.json()

    async def ops(self, *operations: str) -> list[tuple]:
        """Run operations with our client (in a thread); the (sts, val) of each (those the
        connection's failure left unanswered too: CommunicationCeased's results)."""

        def run() -> list[tuple]:
            done: list[tuple] = []
            with client.connector("127.0.0.1", self.port, timeout=5) as conn:
                try:
                    for r in conn.synchronous(client.parse_operations(list(operations))):
                        done.append((r[4], r[5]))
                except client.CommunicationCeased as ceased:
                    done += [(r[4], r[5]) for r in ceased.results]
            return done

        return await asyncio.to_thread(run)


async def _start(aiohttp_client, tags=TAGS, token=None, attribute_class=Attribute, **control):
    controller = build_controller(list(tags), attribute_class=attribute_class)
    server_control = ServerControl(**control)
    enip = EnipServer(controller, ("127.0.0.1", 0), control=server_control, udp=False)
    await enip.start()
    http = await aiohttp_client(
        make_app(controller, server_control, token=token, rate_interval=0.05)
    )
    return Sim(controller, server_control, enip, http)


@pytest.fixture
async def sim(aiohttp_client):
    simulator = await _start(aiohttp_client)
    yield simulator
    await simulator.enip.stop()


@pytest.fixture
async def sim_factory(aiohttp_client):
    started: list[Sim] = []

    async def start(**kwds: Any) -> Sim:
        simulator = await _start(aiohttp_client, **kwds)
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        await simulator.enip.stop()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


async def _closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    def wait() -> bool:
        sock.settimeout(timeout)
        try:
            return sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    return await asyncio.to_thread(wait)


# ---- the spec's examples -------------------------------------------------------------------------
async def test_root_lists_everything_as_the_spec_shows(sim):
    status, body = await sim.api("/api")
    assert status == 200
    assert set(body) == {"alarm", "command", "data", "since", "until"}
    assert body["alarm"] == [] and body["command"] == {} and body["since"] is None
    assert abs(body["until"] - time.time()) < 5
    data = body["data"]
    assert list(data) == ["options", "server", "tags"]  # no connections: no group
    assert data["options"] == {"delay": {"value": 0.0}}
    assert data["server"] == {
        "control": {"disable": False, "done": False, "latency": 0.1, "timeout": 0.2}
    }
    assert data["tags"]["SCADA"] == {
        "attribute": "SCADA          INT[1000] == [0, 0, 0, 0, 0, 0, ...]",
        "error": 0,
    }
    assert data["tags"]["I"]["attribute"] == "I              INT == 0"
    assert data["tags"]["M"]["attribute"] == "M              DINT[2,3] == [0, 0, 0, 0, 0, 0]"
    # The same with a trailing slash, explicit wildcards, and a group wildcard.
    for url in ("/api/", "/api/*", "/api/*/*"):
        assert (await sim.api(url))[1]["data"] == data
    assert list((await sim.api("/api/[st]*"))[1]["data"]) == ["server", "tags"]


async def test_delay_value_all_url_forms_and_response_time(sim):
    expected = {
        "message": "options.delay.value='0.5' (0.5)",
        "success": True,
    }
    for url in (
        "/api/options/delay/value/0.5",
        "/api/options/delay/value=0.5",
        "/api/options/delay?command=value&value=0.5",
        "/api/options/delay?value=0.5",
        "/api?group=options&match=delay&command=value&value=0.5",
    ):
        sim.control.delay.value = 0.0
        status, body = await sim.api(url)
        assert (status, body["command"]) == (200, expected), url
        assert body["data"] == {"options": {"delay": {"value": 0.5}}}
        assert sim.control.delay.value == 0.5
    sim.control.delay.value = 0.0
    await sim.api("/api/options/delay/value=0.3")
    start = time.monotonic()
    assert await sim.ops("SCADA[0]") == [(0, [0])]
    assert time.monotonic() - start >= 0.3
    status, body = await sim.api("/api/options/delay/value")  # a read
    assert body["command"] == {"message": "options.delay.value: 0.3", "success": True}
    assert body["alarm"] == ["options.delay.value: responses delayed 0.3 s"]
    await sim.api("/api/options/delay/value=0")
    start = time.monotonic()
    assert await sim.ops("SCADA[0]") == [(0, [0])]
    assert time.monotonic() - start < 0.3


async def test_delay_range(sim_factory):
    sim = await sim_factory(delay=Delay(0.05, (0.05, 0.1)))
    status, body = await sim.api("/api/options/delay")
    assert body["data"]["options"]["delay"]["range"] == "0.05-0.1"
    status, body = await sim.api("/api/options/delay/range=0.2-0.25")
    assert status == 200 and body["command"]["success"]
    assert body["data"]["options"]["delay"]["range"] == "0.2-0.25"
    start = time.monotonic()
    assert await sim.ops("SCADA[0]", "SCADA[1]") == [(0, [0]), (0, [0])]
    assert 0.4 <= time.monotonic() - start < 1.5
    assert 0.2 <= sim.control.delay.value <= 0.25  # the last delay drawn
    for bad in ("abc", "0.9-0.1", "-1", "1-2-3"):
        status, body = await sim.api(f"/api/options/delay/range={bad}")
        assert status == 400 and body["command"]["success"] is False, bad
        assert "invalid delay" in body["command"]["message"]
    assert sim.control.delay.range == (0.2, 0.25)
    status, body = await sim.api("/api/options/delay/range=none")
    assert body["command"]["success"] and sim.control.delay.range is None
    assert "range" not in body["data"]["options"]["delay"]


# ---- tags ----------------------------------------------------------------------------------------
async def test_tag_error_is_returned_to_clients_until_reset(sim):
    status, body = await sim.api("/api/tags/SCADA/error=8")
    assert (status, body["command"]["success"]) == (200, True)
    assert body["data"]["tags"]["SCADA"]["error"] == 8
    assert body["alarm"] == ["tags.SCADA.error: accesses fail with status 8"]
    results = await sim.ops("SCADA[0]", "SCADA[1]=(INT)5", "TEXT[0]")
    assert [sts for sts, _ in results] == [8, 8, 0]

    def pylogix_read() -> str:
        with pylogix.PLC("127.0.0.1", port=sim.port) as comm:
            return comm.Read("SCADA[1]").Status

    assert await asyncio.to_thread(pylogix_read) == "Service not supported"
    status, body = await sim.api("/api/tags/SCADA/error/0")
    assert body["command"] == {"message": "tags.SCADA.error='0' (0)", "success": True}
    assert await sim.ops("SCADA[1]") == [(0, [0])]  # the refused write did not happen
    assert await asyncio.to_thread(pylogix_read) == "Success"
    for bad in ("256", "-1", "x", "1.5"):
        status, body = await sim.api(f"/api/tags/SCADA/error={bad}")
        assert status == 400 and not body["command"]["success"], bad
    assert sim.controller.tags["SCADA"].attribute.error == 0


async def test_tag_attribute_elements_read_and_write(sim):
    status, body = await sim.api("/api/tags/SCADA/attribute[3]=4")
    assert body["command"] == {"message": "tags.SCADA.attribute[3]='4' (4)", "success": True}
    assert body["data"]["tags"]["SCADA"]["attribute"] == (
        "SCADA          INT[1000] == [0, 0, 0, 4, 0, 0, ...]"
    )
    assert await sim.ops("SCADA[3]") == [(0, [4])]
    assert await sim.ops("SCADA[5]=(INT)77") == [(0, True)]
    status, body = await sim.api("/api/tags/scada/attribute[5]")  # names match in any case
    assert body["command"] == {"message": "tags.SCADA.attribute[5]: 77", "success": True}
    # Slices take a JSON list; multi-dimensional tags take [i,j]; strings and REALs convert.
    status, body = await sim.api("/api/tags/SCADA/attribute[0:3]=[1,2,3]")
    assert body["command"]["success"]
    assert await sim.ops("SCADA[0-3]") == [(0, [1, 2, 3, 4])]
    assert (await sim.api("/api/tags/M/attribute[1,2]=12"))[1]["command"]["success"]
    assert sim.controller.tags["M"].attribute[5] == 12
    assert (await sim.api("/api/tags/R/attribute[1]=2.5"))[1]["command"]["success"]
    assert (await sim.api("/api/tags/R/attribute[0:2]=[1,2]"))[1]["command"]["success"]
    assert await sim.ops("R[0-1]") == [(0, [1.0, 2.0])]
    assert (await sim.api("/api/tags/TEXT/attribute[2]=Hello, world"))[1]["command"]["success"]
    assert await sim.ops("TEXT[2]") == [(0, ["Hello, world"])]
    status, body = await sim.api("/api/tags/I/attribute=-7")  # a scalar: no index needed
    assert body["command"]["success"] and await sim.ops("I") == [(0, [-7])]
    status, body = await sim.api("/api/tags/I/attribute")
    assert status == 200
    assert body["command"]["message"] == "tags.I.attribute: 'I              INT == -7'"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/api/tags/SCADA/attribute[3]=x", "not a valid int"),
        ("/api/tags/SCADA/attribute[3]=40000", "cannot store 40000"),
        ("/api/tags/SCADA/attribute[1000]=1", "outside SCADA[1000]"),
        ("/api/tags/SCADA/attribute[-1]", "outside SCADA[1000]"),
        ("/api/tags/SCADA/attribute[a]=1", "bad index"),
        ("/api/tags/SCADA/attribute[0:2]=[1]", "JSON list of 2 values"),
        ("/api/tags/SCADA/attribute[0:2]=oops", "not a valid list"),
        ("/api/tags/M/attribute[2,0]", "outside M[2,3]"),
        ("/api/tags/SCADA/attribute=5", "JSON list of 1000 values"),
        ("/api/tags/TEXT/attribute[0]=" + "x" * 300, "cannot store"),
        ("/api/tags/SCADA/bogus=1", "nothing in tags/SCADA has 'bogus'"),
        ("/api/server/control/latency=-1", "latency '-1' must be 0 to 60 seconds"),
        ("/api/server/control/timeout=nan", "must be 0 to 600 seconds"),
        ("/api/server/control/disable=maybe", "not a valid bool"),
        ("/api/options/delay/value=-2", "must be 0 to 3600 seconds"),
        ("/api/options/delay/value=inf", "must be 0 to 3600 seconds"),
    ],
)
async def test_bad_values_are_clear_errors(sim, url, words):
    status, body = await sim.api(url)
    assert status == 400
    assert body["command"]["success"] is False
    assert words in body["command"]["message"], body["command"]["message"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/nothing/here/value=1", 404),
        ("/api/tags/NOPE/error=1", 404),
        ("/api/connections/*/eof/true", 404),  # no connections
        ("/api/tags/SCADA/error?value=1&other=2", 400),
        ("/api/tags/SCADA?a=1&b=2", 400),
        ("/api/tags/SCADA?since=yesterday", 400),
        ("/api/" + "x" * 300, 400),
        ("/api/tags/[/x=1", 404),
        ("/api/tags/SCADA/attribute[%ff]=1", 400),
        ("/api/tags/SCADA/attribute[" + "9" * 400 + "]", 400),
    ],
)
async def test_malformed_requests_never_500(sim, url, status):
    got, body = await sim.api(url)
    assert got == status, body
    assert body["command"]["success"] is False


async def test_wildcards_apply_to_every_match(sim):
    await sim.api("/api/tags/*/error=5")
    assert all(tag.attribute.error == 5 for tag in sim.controller.tags)
    status, body = await sim.api("/api/*/*/error/0")  # every entity that has an 'error'
    assert body["command"]["success"] and len(body["command"]["message"].split("; ")) == 5
    assert all(tag.attribute.error == 0 for tag in sim.controller.tags)
    status, body = await sim.api("/api/tags/S*")
    assert list(body["data"]["tags"]) == ["SCADA"]
    status, body = await sim.api("/api/tags/%3F")  # a literal ? starts the query
    assert sorted(body["data"]["tags"]) == ["I", "M", "R"]
    status, body = await sim.api("/api/tags/*/attribute[5]=1")  # I and R are too short
    assert status == 400 and not body["command"]["success"]
    assert "tags.SCADA.attribute[5]='1' (1)" in body["command"]["message"]
    assert "tags.I.attribute[5]: index [5] is outside I[1]" in body["command"]["message"]
    status, body = await sim.api("/api/tags?since=12.5")
    assert body["since"] == 12.5


# ---- connections ---------------------------------------------------------------------------------
async def test_connections_listing_and_eof_within_latency(sim):
    def pylogix_session(comm: Any) -> int:
        assert comm.Read("SCADA[0]").Status == "Success"
        return comm.conn.Socket.getsockname()[1]

    comm = pylogix.PLC("127.0.0.1", port=sim.port)
    other = _connect(sim.port)
    try:
        port = await asyncio.to_thread(pylogix_session, comm)
        name = f"127_0_0_1_{port}"
        status, body = await sim.api("/api/connections")
        connections = body["data"]["connections"]
        assert set(connections) == {name, f"127_0_0_1_{other.getsockname()[1]}"}
        entry = connections[name]
        assert entry["interface"] == "127.0.0.1" and entry["port"] == port
        assert entry["eof"] is False and entry["requests"] >= 3 and entry["received"] > 50
        # eof on one connection: gone within the latency; the other stays.
        sim.control.latency = 0.5
        start = time.monotonic()
        status, body = await sim.api(f"/api/connections/{name}/eof/true")
        assert time.monotonic() - start < 0.5
        assert body["command"] == {
            "message": f"connections.{name}.eof='true' (True)",
            "success": True,
        }
        assert name not in sim.control.connections
        assert list(body["data"]) == []  # its data is gone: it closed before the reply
        # pylogix notices on its next request and reconnects on the one after.
        statuses = [(await asyncio.to_thread(comm.Read, "SCADA[0]")).Status for _ in range(2)]
        assert statuses == ["Connection failure", "Success"]
        assert len(sim.control.connections) == 2
        # eof on all of them
        status, body = await sim.api("/api/connections/*/eof/true")
        assert body["command"]["success"] and body["command"]["message"].count("eof=") == 2
        assert await _closed_by_peer(other, 0.5)
        assert not sim.control.connections
        status, body = await sim.api("/api/connections")
        assert (body["data"], body["command"]) == ({}, None)
        assert await asyncio.to_thread(lambda: comm.Read("SCADA[0]").Status) == "Connection failure"
        status, body = await sim.api("/api/connections/*/port=5")
        assert status == 404  # nothing to match any more
    finally:
        comm.Close()
        other.close()


async def test_connection_fields_are_read_only(sim):
    sock = _connect(sim.port)
    try:
        for _ in range(100):
            if sim.control.connections:
                break
            await asyncio.sleep(0.01)
        status, body = await sim.api("/api/connections/*/requests=5")
        assert status == 400 and "requests is read-only" in body["command"]["message"]
        status, body = await sim.api("/api/connections/*/eof/false")
        assert body["command"]["success"] and len(sim.control.connections) == 1
    finally:
        sock.close()


# ---- server control ------------------------------------------------------------------------------
async def test_disable_closes_port_and_connections_enable_reopens(sim):
    sock = _connect(sim.port)
    assert await sim.ops("SCADA[0]") == [(0, [0])]
    start = time.monotonic()
    status, body = await sim.api("/api/server/control/disable/true")
    assert body["command"] == {"message": "server.control.disable='true' (True)", "success": True}
    assert body["data"]["server"]["control"]["disable"] is True
    assert time.monotonic() - start < sim.control.latency + 0.1
    assert await _closed_by_peer(sock, sim.control.latency)
    sock.close()
    for _ in range(50):  # the port closes on the loop, right after the reply
        try:
            _connect(sim.port).close()
        except ConnectionRefusedError:
            break
        await asyncio.sleep(0.01)
    with pytest.raises(ConnectionRefusedError):
        _connect(sim.port)
    status, body = await sim.api("/api")
    assert "server.control.disable: the port is closed" in body["alarm"]
    status, body = await sim.api("/api/server/control/disable=false")
    assert status == 200 and body["command"]["success"]
    for _ in range(50):
        try:
            _connect(sim.port).close()
            break
        except ConnectionRefusedError:
            await asyncio.sleep(0.01)
    assert await sim.ops("SCADA[0]") == [(0, [0])]


async def test_latency_and_timeout_settings(sim):
    status, body = await sim.api("/api/server/control/latency=0.05")
    assert body["command"] == {"message": "server.control.latency='0.05' (0.05)", "success": True}
    status, body = await sim.api("/api/server/control/timeout/1.5")
    assert status == 200
    assert body["data"]["server"]["control"]["timeout"] == 1.5
    assert (sim.control.latency, sim.control.timeout) == (0.05, 1.5)


class SlowAttribute(Attribute):
    """Reads take 0.5 s (a user Attribute doing I/O); records when each read finished."""

    finished: list[float] = []

    def __getitem__(self, key: Any) -> Any:
        time.sleep(0.5)
        value = super().__getitem__(key)
        SlowAttribute.finished.append(time.monotonic())
        return value


@pytest.mark.parametrize("timeout", [2.0, 0.05])
async def test_timeout_bounds_how_long_stop_waits_for_a_handler(aiohttp_client, timeout):
    """``timeout``: how long a connection's handler may take to finish once the server stops."""
    sim = await _start(aiohttp_client, tags=("SLOW=DINT",), attribute_class=SlowAttribute)
    SlowAttribute.finished.clear()
    await sim.api(f"/api/server/control/timeout={timeout}")
    reading = asyncio.ensure_future(sim.ops("SLOW"))
    for _ in range(200):
        if any(c.task is not None for c in sim.enip.connections):
            break
        await asyncio.sleep(0.005)
    start = time.monotonic()
    await sim.enip.stop()
    stopped = time.monotonic()
    if timeout > 1:
        assert SlowAttribute.finished and SlowAttribute.finished[0] <= stopped
        assert stopped - start < 0.6
    else:
        assert stopped - start < 0.3 and not SlowAttribute.finished
    results = await reading
    assert results[0][0] != 0  # the client's connection was closed under it


async def test_done_via_api(sim):
    status, body = await sim.api("/api/server/control/done/true")
    assert status == 200 and body["command"]["success"] and sim.control.done
    assert body["alarm"][0] == "server.control.done: the simulator is stopping"


# ---- token, HTML, dashboard ----------------------------------------------------------------------
async def test_token_guards_every_change_but_not_reads(sim_factory):
    sim = await sim_factory(token="s3cret")
    for url in ("/api/options/delay/value=1", "/api/tags/SCADA/attribute[0]=1"):
        for kwds in ({}, {"params": {"token": "wrong"}}, {"headers": {"Authorization": "x"}}):
            response = await sim.http.get(url, **kwds)
            body = await response.json()
            assert response.status == 403, (url, kwds)
            assert "needs the web token" in body["command"]["message"]
    assert sim.control.delay.value == 0 and sim.controller.tags["SCADA"].attribute[0] == 0
    status, body = await sim.api("/api/tags/SCADA/attribute[0]")
    assert status == 200 and body["command"]["success"]
    status, body = await sim.api("/api/options/delay/value=1", params={"token": "s3cret"})
    assert status == 200 and sim.control.delay.value == 1.0
    status, body = await sim.api(
        "/api/options/delay/value=0", headers={"Authorization": "Bearer s3cret"}
    )
    assert status == 200 and sim.control.delay.value == 0.0
    response = await sim.http.post("/api/server/control?command=done&value=true")
    assert response.status == 403 and not sim.control.done
    state = await (await sim.http.get("/state")).json()
    assert state["token_required"] is True


async def test_browser_gets_html_rendering(sim):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = await sim.http.get("/api/tags/SCADA", headers={"Accept": accept})
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    assert "<pre>" in page and "&quot;attribute&quot;: &quot;SCADA" in page
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    status, body = await sim.api("/api/tags/SCADA", headers={"Accept": "*/*"})
    assert status == 200 and list(body["data"]["tags"]) == ["SCADA"]
    assert wants_html("text/html") and not wants_html("application/json, text/html;q=0.5")
    assert not wants_html("") and not wants_html("*/*") and not wants_html("text/html;q=0")


async def test_dashboard_page_files_and_state(sim):
    response = await sim.http.get("/")
    page = await response.text()
    assert response.status == 200 and response.content_type == "text/html"
    assert '<script src="/static/dashboard.js"' in page and "http" not in page.split("<body>")[0]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    for name, kind in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        response = await sim.http.get(f"/static/{name}")
        assert response.status == 200 and response.content_type == kind
    for name in ("../web.py", "missing.js", "%2e%2e%2fweb.py"):
        assert (await sim.http.get(f"/static/{name}")).status == 404
    await sim.ops("SCADA[2]=(INT)42", "SCADA[0-9]", 'TEXT[0]=(SSTRING)"x"')
    await asyncio.sleep(0.2)  # a few rate samples (every 0.05 s here)
    response = await sim.http.get("/state", params={"tag": "SCADA", "start": "1", "count": "3"})
    state = await response.json()
    assert state["identity"]["product_name"] == "1756-L61/B LOGIX5561"
    assert state["identity"]["revision"] == "20.11"
    assert state["address"] == f"127.0.0.1:{sim.port}"
    scada = next(tag for tag in state["tags"] if tag["name"] == "SCADA")
    assert scada == {
        "name": "SCADA",
        "type": "INT[1000]",
        "elements": 1000,
        "error": 0,
        "values": [0, 0, 42, 0, 0, 0, 0, 0],
    }
    assert state["detail"] == {"tag": "SCADA", "start": 1, "elements": 1000, "values": [0, 42, 0]}
    assert state["rate"]["total"] >= 3 and any(rate > 0 for _, rate in state["rate"]["samples"])
    assert state["control"]["disable"] is False and state["delay"] == {"value": 0.0}
    assert json.dumps(state)  # plain JSON
    response = await sim.http.get("/state", params={"start": "x"})
    assert response.status == 400
    state = await (await sim.http.get("/state", params={"tag": "NOPE"})).json()
    assert state["detail"] == {"tag": "NOPE", "error": "no tag 'NOPE'"}


class CountingAttribute(Attribute):
    """Counts the reads that reach its own ``__getitem__`` (as a historizing Attribute logs)."""

    reads: list[Any] = []

    def __getitem__(self, key: Any) -> Any:
        CountingAttribute.reads.append(key)
        return super().__getitem__(key)


async def test_looking_does_not_call_a_custom_attribute(aiohttp_client):
    """The rendering and the dashboard show stored values; an explicit read is a real read."""
    sim = await _start(aiohttp_client, tags=("C=DINT[4]",), attribute_class=CountingAttribute)
    try:
        assert await sim.ops("C[1]=(DINT)5") == [(0, True)]
        CountingAttribute.reads.clear()
        status, body = await sim.api("/api")
        assert body["data"]["tags"]["C"]["attribute"] == "C              DINT[4] == [0, 5, 0, 0]"
        state = await (await sim.http.get("/state", params={"tag": "C"})).json()
        assert state["tags"][0]["values"] == [0, 5, 0, 0]
        assert state["detail"]["values"] == [0, 5, 0, 0]
        assert CountingAttribute.reads == []
        status, body = await sim.api("/api/tags/C/attribute[1]")
        assert status == 200 and body["command"]["message"] == "tags.C.attribute[1]: 5"
        assert CountingAttribute.reads == [1]
    finally:
        await sim.enip.stop()


async def test_browser_requests_for_other_sites_never_change_anything(sim):
    """An image or link on another site's page (``Sec-Fetch-Site: cross-site``) is refused."""
    for site in ("cross-site", "same-site"):
        headers = {"Sec-Fetch-Site": site}
        status, body = await sim.api("/api/server/control/done/true", headers=headers)
        assert status == 403 and "another web site" in body["command"]["message"]
        assert (await sim.api("/api/server/control/done", headers=headers))[0] == 200  # a read
    assert not sim.control.done
    for site in ("same-origin", "none"):  # the dashboard; a URL typed into the address bar
        headers = {"Sec-Fetch-Site": site}
        status, body = await sim.api("/api/options/delay/value=0.25", headers=headers)
        assert status == 200 and sim.control.delay.value == 0.25
        sim.control.delay.value = 0


class FailingAttribute(Attribute):
    """A user Attribute whose reads fail (its data source is down)."""

    def __getitem__(self, key: Any) -> Any:
        raise OSError("sensor offline")


async def test_a_failing_custom_attribute_is_reported_not_500(aiohttp_client):
    sim = await _start(aiohttp_client, tags=("F=DINT[2]",), attribute_class=FailingAttribute)
    try:
        status, body = await sim.api("/api/tags/F/attribute[1]")
        assert status == 400 and body["command"] == {
            "message": "tags.F.attribute[1]: OSError: sensor offline",
            "success": False,
        }
        assert body["data"]["tags"]["F"]["attribute"] == "F              DINT[2] == [0, 0]"
    finally:
        await sim.enip.stop()
