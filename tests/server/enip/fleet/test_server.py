"""FleetServer's own duties: one task sweeps every device's timeouts (an idle connection is
closed, a connection that registers no session too), and one device stopping leaves the rest."""

from __future__ import annotations

import asyncio
import time

from cpppo.server.enip import client
from cpppo.server.enip.codec.encap import Command, encode_encap, encode_register_session
from cpppo.server.enip.fleet.server import FleetServer
from cpppo.server.enip.fleet.spec import loads_fleet
from cpppo.server.enip.sim.attribute import Attribute
from helpers import free_port

HOSTS = ("127.0.24.1", "127.0.24.2", "127.0.24.3")


def fleet(port: int, **options: object) -> FleetServer:
    spec = loads_fleet(
        f"""
[[device]]
kind = "controllogix"
address = "{HOSTS[0]}"
count = {len(HOSTS)}
port = {port}
tags = ["X=DINT", "Y=DINT"]
"""
    )
    return FleetServer(spec, udp=False, **options)  # type: ignore[arg-type]


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """True when the peer closes the stream within ``seconds`` (b'' read)."""
    try:
        return await asyncio.wait_for(reader.read(100), seconds) == b""
    except asyncio.TimeoutError:
        return False


async def test_one_sweep_closes_idle_connections_of_every_device() -> None:
    port = free_port(HOSTS, udp=False)
    server = fleet(port, idle_timeout=0.4)
    assert not await server.start()
    try:
        assert all(device.enip._sweeper is None for device in server.devices)  # no task each
        streams = [await asyncio.open_connection(host, port) for host in HOSTS]
        for reader, writer in streams:
            writer.write(encode_encap(Command.REGISTER_SESSION, encode_register_session(), 0))
            await writer.drain()
            assert len(await reader.readexactly(28)) == 28
        results = await asyncio.gather(*(closed_within(r, 3.0) for r, _ in streams))
        assert results == [True, True, True]
        assert sum(device.connections() for device in server.devices) == 0
        for _, writer in streams:
            writer.close()
    finally:
        await server.stop()


async def test_stopping_one_device_leaves_the_others() -> None:
    port = free_port(HOSTS, udp=False)
    server = fleet(port)
    assert not await server.start()
    try:
        first, second, third = server.devices
        second.control.done = True
        for _ in range(100):
            if second.state == "stopped":
                break
            await asyncio.sleep(0.02)
        assert (first.state, second.state, third.state) == ("serving", "stopped", "serving")
        try:
            _, writer = await asyncio.open_connection(HOSTS[1], port)
        except OSError:
            pass
        else:
            writer.close()
            raise AssertionError("a stopped device accepted a connection")
        for host in (HOSTS[0], HOSTS[2]):
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
        assert server.summary()["states"] == {"serving": 2, "stopped": 1}
    finally:
        await server.stop()


async def test_a_stopped_device_serves_again_when_done_is_cleared() -> None:
    """A power cycle: done stops the device, clearing done starts it again with its values."""
    port = free_port(HOSTS, udp=False)
    server = fleet(port)
    assert not await server.start()
    try:
        device = server.devices[0]
        device.controller.tags.write("X", 1234)
        device.control.done = True
        for _ in range(100):
            if device.state == "stopped":
                break
            await asyncio.sleep(0.02)
        assert device.state == "stopped"
        device.control.done = False
        for _ in range(100):
            if device.state == "serving":
                break
            await asyncio.sleep(0.02)
        assert device.state == "serving"
        value = await asyncio.to_thread(read_x, HOSTS[0], port)
        assert value == [1234]
        device.control.done = True  # and it stops again, as the first time
        for _ in range(100):
            if device.state == "stopped":
                break
            await asyncio.sleep(0.02)
        assert device.state == "stopped"
    finally:
        await server.stop()


def read_x(host: str, port: int) -> list:
    """Tag X of the device at ``host``, read by our client."""
    with client.connector(host, port, timeout=5) as conn:
        ((*_, value),) = conn.synchronous(client.parse_operations(["X"]))
    return value


class SlowAttribute(Attribute):
    """A user Attribute whose reads block (as the spec's weather example does)."""

    def __getitem__(self, key: int | slice) -> object:
        if self.name == "X":
            time.sleep(1.0)
        return super().__getitem__(key)


async def test_a_blocking_attribute_of_one_device_stalls_no_other() -> None:
    """Blocking user Attributes run in the fleet's thread pool: while a read of one device
    waits a second, a read of another device is answered at once."""
    port = free_port(HOSTS, udp=False)
    server = fleet(port, attribute_class=SlowAttribute)
    assert not await server.start()
    try:
        slow = asyncio.create_task(asyncio.to_thread(read_x, HOSTS[0], port))
        await asyncio.sleep(0.2)  # the slow read is under way
        started = time.monotonic()
        quick = await asyncio.to_thread(read_y, HOSTS[1], port)
        assert quick == [0]
        assert time.monotonic() - started < 0.6, "the other device waited for the slow one"
        assert not slow.done()
        assert await slow == [0]
    finally:
        await server.stop()


def read_y(host: str, port: int) -> list:
    """Tag Y (not slow) of the device at ``host``."""
    with client.connector(host, port, timeout=5) as conn:
        ((*_, value),) = conn.synchronous(client.parse_operations(["Y"]))
    return value


def test_an_open_file_limit_too_low_is_named_and_the_failures_summed(tmp_path) -> None:
    """With room for the sockets of only some devices, the fleet says so once, serves those
    it can, logs a few failures one by one and the rest in one line by cause."""
    import signal
    import subprocess
    import sys

    port = free_port(("127.0.25.1",), udp=False)
    path = tmp_path / "fleet.toml"
    path.write_text(
        f'[[device]]\nkind = "controllogix"\naddress = "127.0.25.1"\ncount = 80\nport = {port}\n'
        'tags = ["X=DINT"]\n'
    )

    # The child lowers its own limit before it runs the fleet (no preexec_fn in a threaded
    # test runner).
    run = (
        "import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (120, 120));"
        " sys.argv[0] = 'enip_fleet';"
        " runpy.run_module('cpppo.server.enip.fleet', run_name='__main__', alter_sys=True)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", run, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        served = int(ready.split()[1])
        assert ready.endswith("of 80 devices serving\n") and 0 < served < 80, ready
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "The open-file limit (120) holds the sockets of about" in stderr
    assert stderr.count("cannot serve: [Errno 24]") == 10
    assert f"{80 - served - 10} more devices cannot serve:" in stderr
    assert "Traceback" not in stderr
