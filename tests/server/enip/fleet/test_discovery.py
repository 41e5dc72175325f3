"""Broadcast discovery for a fleet (fleet/discovery.py): a ListIdentity that no device's own
socket receives (a broadcast, or a host address no device has) is answered once per device,
from each device's own address with its own identity; a unicast one by that device alone.

On loopback: 20 devices on 127.0.61.x sharing one port, asked at 127.255.255.255 (the loopback
broadcast, delivered to the fleet's 0.0.0.0 socket) and at 127.0.0.1 (no device's address).
Inside a network namespace this test makes (root): pylogix ``PLC().Discover()`` broadcasts to
255.255.255.255 and finds all 10 devices of a ``python -m cpppo.server.enip.fleet`` process.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time

import pytest

from cpppo.server.enip.codec.cpf import IDENTITY, decode_cpf, decode_identity
from cpppo.server.enip.codec.encap import Command, decode_encap, encode_encap
from cpppo.server.enip.fleet import discovery
from cpppo.server.enip.fleet.server import FleetServer
from cpppo.server.enip.fleet.spec import loads_fleet
from helpers import IP, add_interface, fleet_process, free_port, network_namespace, pylogix_discover

HOSTS = tuple(f"127.0.61.{n}" for n in range(1, 21))
SERIAL = 0x5100


def fleet(port: int, extra: str = "") -> FleetServer:
    spec = loads_fleet(
        f"""
[[device]]
kind = "controllogix"
name = "plc-{{n}}"
address = "{HOSTS[0]}"
count = {len(HOSTS)}
port = {port}
tags = ["X=DINT"]
serial = "{SERIAL} + n"
{extra}
"""
    )
    return FleetServer(spec)


def list_identity(context: bytes = b"browse!!") -> bytes:
    return encode_encap(Command.LIST_IDENTITY, b"", 0, context=context)


async def gather_replies(
    sock: socket.socket, seconds: float, expect: int | None = None
) -> list[tuple[str, int, str]]:
    """(source address, serial, identity socket address) of each reply within ``seconds``
    (sooner once ``expect`` have come)."""
    loop = asyncio.get_running_loop()
    found: list[tuple[str, int, str]] = []
    deadline = loop.time() + seconds
    while loop.time() < deadline and (expect is None or len(found) < expect):
        try:
            data, addr = sock.recvfrom(4096)
        except BlockingIOError:
            await asyncio.sleep(0.005)
            continue
        header, payload = decode_encap(data)
        assert header.command == Command.LIST_IDENTITY
        items = decode_cpf(payload)
        assert items[0].type_id == IDENTITY
        identity = decode_identity(items[0].data)
        found.append((addr[0], identity.serial_number, identity.sin_addr))
    return found


@pytest.fixture
def client():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


async def test_every_device_answers_a_loopback_broadcast(client) -> None:
    port = free_port((*HOSTS, "0.0.0.0"))
    server = fleet(port)
    assert not await server.start()
    try:
        server.devices[-1].control.disable = True  # its port closed
        await asyncio.sleep(0.2)
        assert server.discovery is not None and list(server.discovery.sockets) == [port]
        expected = sorted((h, SERIAL + n, h) for n, h in enumerate(HOSTS[:-1]))
        client.sendto(list_identity(), ("127.255.255.255", port))
        found = await gather_replies(client, 3.0, expect=len(expected))
        found += await gather_replies(client, 0.2)  # and no more
        assert sorted(found) == expected  # one each, from its own address; not the disabled one
        await asyncio.sleep(discovery.INTERVAL)
        client.sendto(list_identity(), ("127.0.0.1", port))  # no device's address: the same
        found = await gather_replies(client, 3.0, expect=len(expected))
        assert sorted(found + await gather_replies(client, 0.2)) == expected
        client.sendto(list_identity(), (HOSTS[4], port))  # unicast: that device alone
        assert await gather_replies(client, 0.5) == [(HOSTS[4], SERIAL + 4, HOSTS[4])]
        client.sendto(list_identity(), (HOSTS[-1], port))  # disabled: nothing
        assert await gather_replies(client, 0.3) == []
        server.devices[-1].control.disable = False  # re-enabled: answers both ways again
        await asyncio.sleep(0.2)
        client.sendto(list_identity(), (HOSTS[-1], port))
        assert await gather_replies(client, 0.5) == [(HOSTS[-1], SERIAL + 19, HOSTS[-1])]
        client.sendto(list_identity(), ("127.255.255.255", port))
        assert len(await gather_replies(client, 3.0, expect=len(HOSTS))) == len(HOSTS)
    finally:
        await server.stop()
    assert server.discovery is None


async def test_a_flood_of_broadcasts_is_answered_once_per_interval(client) -> None:
    port = free_port((*HOSTS, "0.0.0.0"))
    server = fleet(port)
    assert not await server.start()
    try:
        finder = server.discovery
        assert finder is not None
        for _ in range(50):  # 50 requests at once from one requester
            client.sendto(list_identity(), ("127.255.255.255", port))
        found = await gather_replies(client, 1.0)
        assert len(found) == len(HOSTS)  # one answer; the other 49 refused
        assert (finder.answered, finder.refused) == (1, 49)
        # other commands of the device's UDP path are answered; a TCP-only one is not
        client.sendto(encode_encap(Command.REGISTER_SESSION, b"\1\0\0\0", 0), ("127.0.0.1", port))
        await asyncio.sleep(0.2)
        assert finder.answered == 1
    finally:
        await server.stop()


async def test_a_delayed_device_answers_late(client) -> None:
    port = free_port((*HOSTS, "0.0.0.0"))
    server = fleet(port, 'delay = "0.3"')
    assert not await server.start()
    try:
        started = time.monotonic()
        client.sendto(list_identity(), ("127.255.255.255", port))
        assert await gather_replies(client, 0.15) == []
        found = await gather_replies(client, 3.0, expect=len(HOSTS))
        assert len(found) == len(HOSTS) and time.monotonic() - started >= 0.3
    finally:
        await server.stop()


def test_destination_from_pktinfo() -> None:
    data = (5).to_bytes(4, "little") + socket.inet_aton("127.0.0.1") + socket.inet_aton("1.2.3.4")
    assert discovery.destination([(socket.IPPROTO_IP, discovery.IP_PKTINFO, data)]) == "1.2.3.4"
    assert discovery.destination([]) is None


# ---- inside a network namespace: pylogix Discover ------------------------------------------

#: The namespace's client address, and the 10 devices' addresses (all on one interface).
CLIENT_ADDRESS = "10.254.1.1"
DEVICES = tuple(f"10.254.1.{n}" for n in range(10, 20))


@pytest.fixture
def namespace():
    """A fresh network namespace: d0 holding CLIENT_ADDRESS and DEVICES (/24), the limited
    broadcast routed out of d0 from CLIENT_ADDRESS."""
    with network_namespace("cpppo-fleet") as name:
        add_interface(name, [CLIENT_ADDRESS, *DEVICES], "10.254.1.255")
        yield name


@pytest.mark.netns
@pytest.mark.timeout(90)
def test_pylogix_discover_finds_every_fleet_device(namespace, tmp_path) -> None:
    plant = tmp_path / "plant.toml"
    plant.write_text(
        f"""
[[device]]
kind = "controllogix"
name = "plc-{{n}}"
address = "{DEVICES[0]}-{DEVICES[-1]}"
port = 44818
tags = ["X=DINT"]
serial = "0x7700 + n"
"""
    )
    assert IP is not None
    netns = (IP, "netns", "exec", namespace)
    with fleet_process(
        plant, prefix=netns, ready_timeout=30, stderr=subprocess.STDOUT, cwd=str(tmp_path)
    ) as server:
        assert "10 of 10 devices serving" in server.ready, server.lines
        found = pylogix_discover(namespace, CLIENT_ADDRESS, tmp_path)
        assert found["status"] == "Success"
        # one Discover request per address the host name has: each device answers each
        seen = {(d["IPAddress"], int(d["SerialNumber"], 16)) for d in found["devices"]}
        assert seen == {(host, 0x7700 + n) for n, host in enumerate(DEVICES)}, found
        assert len(found["devices"]) % len(DEVICES) == 0
