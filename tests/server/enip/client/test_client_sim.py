"""The client API against our simulator (in-process, on a free loopback port): every data type,
pipelining, Multiple Service Packets, fragmented transfers, connected mode, routing, UDP."""

from __future__ import annotations

import socket

import pytest

from cpppo.server.enip import client, enip_format
from cpppo.server.enip.tools.getattr import attribute_operations, proxy, proxy_simple

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def conn(enip_simulator):
    with client.connector(enip_simulator.host, enip_simulator.port, timeout=5) as c:
        yield c


def _values(results):
    return [r[5] for r in results]


@pytest.mark.parametrize("fragment", [False, True])
def test_types_roundtrip(conn, fragment):
    """Write then read every elementary type (and the Logix STRING), plain and fragmented."""
    ops = [
        "S[0-2]=(SINT)-128,0,127",
        "S[0-2]",
        "I=(INT)-32768",
        "I",
        "D[8-9]=(DINT)-2147483648,2147483647",
        "D[8-9]",
        "L[1]=(LINT)-9223372036854775808",
        "L[1]",
        "US=(USINT)255",
        "US",
        "UI=(UINT)65535",
        "UI",
        "UD=(UDINT)4294967295",
        "UD",
        "UL=(ULINT)18446744073709551615",
        "UL",
        "R[2-3]=1.5,-2.25",
        "R[2-3]",
        "LR=(LREAL)1e300",
        "LR",
        "B[3-4]=(BOOL)1,0",
        "B[3-4]",
        'TEXT[5]=(SSTRING)"Hello, world!"',
        "TEXT[4-6]",
        'STR[1]=(STRING)"Logix string"',
        "STR[0-2]",
    ]
    results = list(conn.synchronous(client.parse_operations(ops), fragment=fragment))
    assert [r[4] for r in results] == [0] * len(ops), [r[4] for r in results]
    reads = _values(results)[1::2]
    assert reads == [
        [-128, 0, 127],
        [-32768],
        [-2147483648, 2147483647],
        [-(2**63)],
        [255],
        [65535],
        [4294967295],
        [2**64 - 1],
        [1.5, -2.25],
        [1e300],
        [True, False],
        ["", "Hello, world!", ""],
        ["", "Logix string", ""],
    ]
    assert all(v is True for v in _values(results)[0::2])


def test_big_read_plain_partial_and_fragmented(conn):
    """BIG=DINT[5000]: plain Read Tag returns partial data (status 0x06); Read Tag Fragmented
    continues until all 5000 elements arrived."""
    values = list(range(5000))
    write = {"path": "BIG[0]", "method": "write", "tag_type": 0xC4, "data": values}
    (w,) = conn.synchronous(client.parse_operations([write]), fragment=True)
    assert w[4] == 0 and w[5] is True
    (plain,) = conn.synchronous(client.parse_operations(["BIG[0-4999]"]))
    assert plain[4] == 0x06 and 0 < len(plain[5]) < 5000
    assert plain[5] == values[: len(plain[5])]
    (frag,) = conn.synchronous(client.parse_operations(["BIG[0-4999]"]), fragment=True)
    assert frag[4] == 0 and frag[5] == values


def test_errors_are_statuses_not_exceptions(conn):
    """A device's error is a status: unknown tag, beyond the end, type mismatch."""
    ops = ["NOPE", "SCADA[999-1000]", "SCADA[0]=(REAL)1.5", "SCADA[0]"]
    results = list(conn.pipeline(client.parse_operations(ops), depth=4))
    assert [r[5] for r in results[:3]] == [None, None, None]
    assert results[0][4] in (0x04, 0x05)
    assert results[1][4] == (0xFF, [0x2105])
    assert results[2][4] == (0xFF, [0x2107])
    assert results[3][4] == 0 and isinstance(results[3][5], list)


@pytest.mark.parametrize("depth, multiple", [(0, 0), (1, 0), (5, 0), (20, 500), (3, 120)])
def test_pipeline_and_multiple(conn, depth, multiple):
    """Values come back in order at any depth, with or without Multiple Service Packets."""
    writes = [f"SCADA[{i}]={i * 3}" for i in range(60)]
    reads = [f"SCADA[{i}]" for i in range(60)]
    results = list(
        conn.pipeline(client.parse_operations(writes + reads), depth=depth, multiple=multiple)
    )
    assert _values(results) == [True] * 60 + [[i * 3] for i in range(60)]
    requests = len({r[0] for r in results})
    if multiple:
        assert requests <= 120 / 2
        assert all(r[1].startswith("Multi.") for r in results)
    else:
        assert requests == 120


def test_process_results_operate(conn, capsys):
    """process() -> (failures, values); operate(validating) gives the data written."""
    failures, values = conn.process(client.parse_operations(["D[0-1]=(DINT)7,8", "D[0-1]", "X"]))
    assert failures == 1 and values == [True, [7, 8], None]
    assert list(conn.results(client.parse_operations(["D[1]"]))) == [[8]]
    out = list(conn.operate(client.parse_operations(["D[2]=(DINT)9"]), validating=True))
    assert out[0][5] == [9]
    assert capsys.readouterr().out == ""


def test_connected_mode(enip_simulator):
    """Forward Open, reads/writes by SendUnitData (pipelined, MSP), Forward Close on close."""
    with client.connector(enip_simulator.host, enip_simulator.port, timeout=5, connected=True) as c:
        assert c.connection and c.connection["o_t_connection_id"]
        ops = client.parse_operations(["SCADA[5]=55", "SCADA[5]", "SCADA[0-9]"] * 10)
        results = list(c.pipeline(ops, depth=4, multiple=300))
        assert [r[4] for r in results] == [0] * 30
        assert results[1][5] == [55]
    with client.implicit(enip_simulator.host, enip_simulator.port, timeout=5) as c:
        assert _values(c.synchronous(client.parse_operations(["SCADA[5]"]))) == [[55]]


def test_simple_device_routing(enip_simulator_factory):
    """A simulator that accepts no route path: the default (routed) request fails, -S works."""
    sim = enip_simulator_factory(route_path=False)
    with client.connector(sim.host, sim.port, timeout=5) as c:
        (r,) = c.synchronous(client.parse_operations(["SCADA[0]"]))
        assert r[5] is None and r[4]
    with client.connector(sim.host, sim.port, timeout=5, route_path=[], send_path="") as c:
        assert _values(c.synchronous(client.parse_operations(["SCADA[0]"]))) == [[0]]
    # per-operation routing overrides the connector's
    with client.connector(sim.host, sim.port, timeout=5) as c:
        ops = client.parse_operations(["SCADA[0]"], route_path=[], send_path=[])
        assert _values(c.synchronous(ops)) == [[0]]


def test_route_path_checked(enip_simulator_factory):
    """A simulator requiring route path 1/0 accepts ours (the default) and refuses 1/3."""
    sim = enip_simulator_factory(route_path=[{"port": 1, "link": 0}])
    with client.connector(sim.host, sim.port, timeout=5) as c:
        assert _values(c.synchronous(client.parse_operations(["SCADA[0]"]))) == [[0]]
    with client.connector(sim.host, sim.port, timeout=5, route_path="1/3") as c:
        (r,) = c.synchronous(client.parse_operations(["SCADA[0]"]))
        assert r[5] is None


def test_get_attributes(conn):
    """Get Attributes All / Single through attribute_operations: raw bytes as the spec shows."""
    results = list(conn.pipeline(attribute_operations(["@1/1", "@1/1/7"]), depth=2))
    identity, name = _values(results)
    assert identity[:6] == [1, 0, 14, 0, 54, 0]
    assert bytes(name[1:]).decode() == "1756-L61/B LOGIX5561" and name[0] == 20
    assert results[0][1] == "Single G_A_A @0x0001/1"
    assert results[1][1] == "Single G_A_S @0x0001/1/7"


def test_raw_client_requests(enip_simulator):
    """The low-level client: register by hand, read and list_identity, next() replies."""
    with client.client(enip_simulator.host, enip_simulator.port, timeout=5) as c:
        c.register()
        reply = next(c)
        assert reply["enip"]["command"] == 0x65 and reply["enip"]["session_handle"]
        c.session = reply["enip"]["session_handle"]
        c.list_identity()
        assert c.readable(timeout=5)
        ident = next(c)
        obj = ident["enip"]["CIP"]["list_identity"]["CPF"]["item"][0]["identity_object"]
        assert obj["product_name"] == "1756-L61/B LOGIX5561"
        assert '"enip.CIP.list_identity.CPF.item[0].identity_object.vendor_id": 1' in (
            enip_format(ident)
        )


def test_udp_list_identity_with_broadcast_option(enip_simulator):
    """UDP List Identity to 127.0.0.1 with SO_BROADCAST set (as broadcast mode does)."""
    with client.client(
        enip_simulator.host, enip_simulator.port, timeout=5, udp=True, broadcast=True
    ) as c:
        assert c._sock.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST)
        c.list_identity()
        assert c.readable(timeout=5)
        reply = next(c)
    assert reply["peer"] == (enip_simulator.host, enip_simulator.port)
    item = reply["enip"]["CIP"]["list_identity"]["CPF"]["item"][0]["identity_object"]
    assert item["vendor_id"] == 1 and item["product_code"] == 54


def test_proxy_parameters(enip_simulator):
    """proxy: named parameters decoded to typed values; lazy reads; close_gateway re-opens."""
    via = proxy(enip_simulator.host, port=enip_simulator.port, timeout=5)
    with via:
        identity, name, tcpip = via.read(["Identity", "Product Name", "TCPIP"])
    assert identity == [1, 14, 54, 2836, 12640, 7079450, "1756-L61/B LOGIX5561", 255]
    assert name == ["1756-L61/B LOGIX5561"]
    assert tcpip[3] == [{"class": 246}, {"instance": 1}]
    assert len(tcpip) == 11 and all(isinstance(a, str) for a in tcpip[4:9])
    assert via.identity["product_name"] == "1756-L61/B LOGIX5561"
    (value,) = via.read([("@1/1/1", "INT")])
    assert value == [1]
    reader = via.read(["SCADA[3-4]"])  # a tag: Read Tag, native type
    assert next(reader) == [0, 0]
    via.close_gateway(exc=RuntimeError("test"))
    assert via.gateway is None
    (value,) = via.read("Product Name")
    assert value == ["1756-L61/B LOGIX5561"]
    via.close_gateway()


def test_proxy_simple_against_routed_simulator(enip_simulator_factory):
    """proxy_simple sends no Unconnected Send; a simple simulator answers it."""
    sim = enip_simulator_factory(route_path=False)
    via = proxy_simple(sim.host, port=sim.port, timeout=5)
    with via:
        (name,) = via.read("Product Name")
    assert name == ["1756-L61/B LOGIX5561"]
    via.close_gateway()


def test_proxy_failure_raises_where_taken(enip_simulator_factory):
    """A proxy whose device went away raises when the value is taken; close_gateway recovers."""
    sim = enip_simulator_factory()
    via = proxy(sim.host, port=sim.port, timeout=1)
    with via:
        assert list(via.read("Product Name")) == [["1756-L61/B LOGIX5561"]]
    sim.stop()
    with pytest.raises((client.ClientError, OSError)), via:
        list(via.read("Product Name"))
    assert via.gateway is None


def test_spec_list_identity_snippet(enip_simulator, capsys):
    """Spec 2.1.5: client.client(host, udp=True, broadcast=True); list_identity; while
    readable(): print(enip_format(next(conn))) -- to 127.0.0.1 (never a real broadcast)."""
    timeout = 1.0
    with client.client(
        host=enip_simulator.host, port=enip_simulator.port, udp=True, broadcast=True
    ) as conn:
        conn.list_identity(timeout=timeout)
        while conn.readable(timeout=timeout):
            print(enip_format(next(conn)))
    out = capsys.readouterr().out
    assert out.count('"enip.command": 99') == 1
    assert '"enip.CIP.list_identity.CPF.item[0].identity_object.product_name": ' in out


def test_request_builders(enip_simulator):
    """read/write/get_attributes_all built with send=False, sent in one Multiple Service Packet;
    unconnected_send wraps (or not) as routed."""
    with client.connector(enip_simulator.host, enip_simulator.port, timeout=5) as c:
        w = c.write("SCADA[10]", [5, 6], tag_type=0xC3, offset=None, send=False)
        r = c.read("SCADA[10]", elements=2, offset=None, send=False)
        g = c.get_attributes_all("@1/1", send=False)
        c.multiple([w, r, g], sender_context=b"msp")
        reply = next(c)
    assert reply["enip"]["sender_context"]["input"].rstrip(b"\0") == b"msp"
    msp = reply["enip"]["CIP"]["send_data"]["CPF"]["item"][1]["unconnected_send"]["request"]
    inner = msp["multiple"]["request"]
    assert [x["service"] for x in inner] == [0xCD, 0xCC, 0x81]
    assert [x["status"] for x in inner] == [0, 0, 0]
    assert inner[1]["data"] == bytes([0xC3, 0, 5, 0, 6, 0])
    with client.client(enip_simulator.host, enip_simulator.port, route_path=[], send_path="") as c:
        assert c.unconnected_send(b"\x0e\x02\x20\x01") == b"\x0e\x02\x20\x01"
    with client.client(enip_simulator.host, enip_simulator.port) as c:
        wrapped = c.unconnected_send(b"\x0e\x02\x20\x01")
    assert wrapped[:6] == bytes([0x52, 0x02, 0x20, 0x06, 0x24, 0x01])
    assert wrapped.endswith(bytes([0x01, 0x00, 0x01, 0x00]))  # route: 1 word, port 1, link 0


def test_repeated_operations_share_their_path(conn):
    """parse_operations(tags * n) parses each distinct string once: separate dicts sharing a
    path, which the connector encodes once; the values are still all right."""
    ops = list(client.parse_operations(["SCADA[1-2]", "SCADA[3]=7"] * 3))
    assert ops[0] is not ops[2] and ops[0]["path"] is ops[2]["path"]
    assert ops[1]["data"] is not ops[3]["data"]
    assert _values(conn.pipeline(ops, depth=3)) == [[0, 0], True] * 3
