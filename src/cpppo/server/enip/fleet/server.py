"""One event loop serving a whole fleet of simulated devices (docs/fleet.md).

:class:`FleetServer` takes a :class:`~.spec.FleetSpec`, builds every device
(:class:`~.devices.DeviceFactory`) and serves each on its own address: an
:class:`~..net.server.EnipServer` (TCP and UDP, ListIdentity answered per address with that
device's identity) for ``controllogix`` and ``powerflex`` devices, a Modbus/TCP server for
``modbus`` ones. The EtherNet/IP servers share one thread pool (a device's blocking user
Attributes still run off the loop) and one socket read buffer.

Each device has its own :class:`~..net.control.ServerControl`: its delay, disable and done (stop)
apply to it alone, and a device that fails to bind or stops leaves the others serving. The
fleet's own ``control.done`` stops them all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from cpppo.misc import NORMAL

from ..net.capacity import FD_RESERVE, raise_fd_limit
from ..net.control import ServerControl
from ..net.server import READ_SIZE, EnipServer
from ..sim.attribute import Attribute
from .behaviours import FleetBehaviours
from .devices import ENIP_KINDS, DeviceFactory, FleetDevice, device_key
from .discovery import FleetDiscovery
from .spec import DeviceSpec, FleetSpec

__all__ = ["RATE_INTERVAL", "FleetServer"]

log = logging.getLogger("enip.fleet")

#: Seconds between samples of each device's request rate.
RATE_INTERVAL = 1.0
#: Devices bound at once while starting (binding is quick; this bounds the burst of sockets).
BIND_BATCH = 256
#: Devices whose failure to start is logged one by one (the rest in one line, by cause).
FAILURES_LOGGED = 10


class FleetServer:
    """Serve the devices of ``spec`` (see the module docstring).

    ``max_clients`` / ``max_sessions``: each EtherNet/IP device's connection and session limits;
    ``workers``: threads of the shared pool for blocking user Attributes; ``idle_timeout`` as
    :class:`EnipServer`'s; ``on_device``: called with each device once built (before it serves:
    the history recorder attaches itself here); ``attribute_class``: the Attribute class of
    every EtherNet/IP device's tags (a blocking one runs in the shared pool, off the loop).

    A device stopped (its ``control.done``) while the fleet serves starts again when its
    ``done`` is cleared: a power cycle that keeps its tag values.
    """

    def __init__(
        self,
        spec: FleetSpec,
        *,
        control: ServerControl | None = None,
        max_clients: int = 128,
        max_sessions: int = 128,
        workers: int = 32,
        idle_timeout: float | None = None,
        tcp: bool = True,
        udp: bool = True,
        on_device: Callable[[FleetDevice], Any] | None = None,
        attribute_class: type[Attribute] = Attribute,
    ) -> None:
        self.spec = spec
        self.control = control if control is not None else ServerControl()
        self.max_clients = max_clients
        self.max_sessions = max_sessions
        self.workers = workers
        self.idle_timeout = idle_timeout
        self.tcp = tcp
        self.udp = udp
        self.on_device = on_device
        self.factory = DeviceFactory(attribute_class)
        #: Every device, in the fleet file's order.
        self.devices: list[FleetDevice] = []
        self._by_key: dict[str, FleetDevice] = {}
        self._by_host: dict[str, list[FleetDevice]] = {}
        self._by_name: dict[str, FleetDevice] = {}
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._read_view = memoryview(bytearray(READ_SIZE))
        self._tasks: dict[FleetDevice, asyncio.Task] = {}
        self._sampler: asyncio.Task | None = None
        #: Every device's tag behaviours, run from one task per rate (made by :meth:`start`).
        self.behaviours: FleetBehaviours | None = None
        self._done: asyncio.Event | None = None
        self._listener: Callable[[str, bool], None] | None = None
        self._stopping = False
        #: Answers broadcast List requests for every device (fleet/discovery.py), when UDP is on.
        self.discovery: FleetDiscovery | None = None
        #: Seconds the start took (building and binding every device).
        self.startup_seconds = 0.0

    # ---- looking devices up ----------------------------------------------------------------
    def find(self, text: str) -> FleetDevice | None:
        """The device named by ``text``: ``host:port``, a host serving one device, or a name."""
        device = self._by_key.get(text) or self._by_name.get(text)
        if device is not None:
            return device
        on_host = self._by_host.get(text.strip("[]"))
        if on_host is not None and len(on_host) == 1:
            return on_host[0]
        return None

    def summary(self) -> dict[str, Any]:
        """The fleet as its web API lists it: totals and one entry per device."""
        devices = [device.summary() for device in self.devices]
        states = Counter(entry["state"] for entry in devices)
        kinds = Counter(entry["kind"] for entry in devices)
        return {
            "devices": len(devices),
            "kinds": dict(kinds),
            "states": dict(states),
            "requests_per_s": round(sum(entry["requests_per_s"] for entry in devices), 1),
            "connections": sum(entry["connections"] for entry in devices),
            "startup_seconds": round(self.startup_seconds, 3),
            "list": devices,
        }

    # ---- building and starting -------------------------------------------------------------
    def build(self, specs: Iterable[DeviceSpec] | None = None) -> list[FleetDevice]:
        """Build the devices (every one of the spec's, or ``specs``); ValueError/OSError name
        the device that could not be built."""
        for spec in self.spec.devices if specs is None else specs:
            try:
                device = self.factory.device(spec)
            except (ValueError, OSError) as exc:
                where = device_key(spec.host, spec.port)
                raise ValueError(f"device[{spec.index}] ({spec.name!r}, {where}): {exc}") from None
            self._add(device)
            if self.on_device is not None:
                self.on_device(device)
        return self.devices

    def _add(self, device: FleetDevice) -> None:
        self.devices.append(device)
        self._by_key[device.key] = device
        self._by_name[device.name] = device
        self._by_host.setdefault(device.spec.host, []).append(device)

    async def start(self) -> list[FleetDevice]:
        """Build (unless :meth:`build` was called) and bind every device; returns those that
        failed to bind (each logged; the others serve)."""
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        if not self.devices:
            self.build()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="fleet-attr"
        )
        self._check_files()
        failed: list[FleetDevice] = []
        for first in range(0, len(self.devices), BIND_BATCH):
            batch = self.devices[first : first + BIND_BATCH]
            results = await asyncio.gather(
                *(self._start_device(device) for device in batch), return_exceptions=True
            )
            for device, result in zip(batch, results):
                if isinstance(result, BaseException):
                    device.state, device.error = "failed", str(result)
                    failed.append(device)
                    if len(failed) <= FAILURES_LOGGED:
                        log.error("%s (%s): cannot serve: %s", device.name, device.key, result)
        if len(failed) > FAILURES_LOGGED:
            causes = Counter(device.error for device in failed[FAILURES_LOGGED:])
            log.error(
                "%d more devices cannot serve: %s",
                len(failed) - FAILURES_LOGGED,
                "; ".join(f"{count} x {cause}" for cause, count in causes.most_common(3)),
            )

        def listener(name: str, value: bool) -> None:
            if name == "done" and value:
                loop.call_soon_threadsafe(self._finish)

        self._listener = listener
        self.control.subscribe(listener)
        if self.udp:
            self.discovery = FleetDiscovery(self.devices)
            await self.discovery.start()
        if self.control.done:
            self._done.set()
        self._sampler = loop.create_task(self._sample())
        self.behaviours = FleetBehaviours(self.devices)
        self.behaviours.start()
        self.startup_seconds = time.perf_counter() - started
        serving = len(self.devices) - len(failed)
        kinds = Counter(device.kind for device in self.devices)
        log.log(
            NORMAL,
            "Fleet %s: %d of %d devices serving (%s) in %.2f s",
            self.spec.path,
            serving,
            len(self.devices),
            ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())),
            self.startup_seconds,
        )
        return failed

    def _check_files(self) -> None:
        """Warn, once, when the open-file limit cannot hold every device's sockets."""
        sockets = sum(
            (self.tcp + self.udp) if device.kind in ENIP_KINDS else 1 for device in self.devices
        )
        files = raise_fd_limit(sockets + FD_RESERVE)
        if sockets + FD_RESERVE > files:
            log.warning(
                "The open-file limit (%d) holds the sockets of about %d of the %d devices:"
                " raise it (ulimit -n; the hard limit) or shard the fleet (--workers)",
                files,
                max(0, files - FD_RESERVE) * len(self.devices) // max(sockets, 1),
                len(self.devices),
            )

    def _finish(self) -> None:
        if self._done is not None:
            self._done.set()

    async def _start_device(self, device: FleetDevice) -> None:
        if device.kind in ENIP_KINDS:
            enip = EnipServer(
                device.controller,
                device.address,
                control=device.control,
                tcp=self.tcp,
                udp=self.udp,
                max_clients=self.max_clients,
                max_sessions=self.max_sessions,
                idle_timeout=self.idle_timeout,
                executor=self._executor,
                read_view=self._read_view,
                announce=False,
                sweeper=False,
                reuse_udp=True,  # beside the discovery socket on 0.0.0.0
            )
            device.enip = enip
            await enip.start()
            task = asyncio.get_running_loop().create_task(enip.serve())
        else:
            await device.modbus.start_async()
            task = asyncio.get_running_loop().create_task(self._modbus_control(device))
        device.state = "disabled" if device.control.disable else "serving"
        self._tasks[device] = task
        task.add_done_callback(functools.partial(self._stopped, device))

    def _stopped(self, device: FleetDevice, _task: asyncio.Task) -> None:
        self._tasks.pop(device, None)
        if device.state != "failed":
            device.state = "stopped"
        if not self._stopping:  # one device stopped while the others serve
            log.log(NORMAL, "%s (%s) stopped; %d devices serving", device.name, device.key,
                    len(self._tasks))  # fmt: skip
            self._await_restart(device)

    def _await_restart(self, device: FleetDevice) -> None:
        """Start ``device`` again when its ``done`` is cleared (by the web API, say)."""
        loop = asyncio.get_running_loop()

        def listener(name: str, value: bool) -> None:
            if name == "done" and not value:
                device.control.unsubscribe(listener)
                loop.call_soon_threadsafe(loop.create_task, self._restart(device))

        device.control.subscribe(listener)

    async def _restart(self, device: FleetDevice) -> None:
        if self._stopping or device in self._tasks:
            return
        try:
            await self._start_device(device)
        except OSError as exc:
            device.state, device.error = "failed", str(exc)
            log.error("%s (%s): cannot serve again: %s", device.name, device.key, exc)
            return
        log.log(NORMAL, "%s (%s) serving again; %d devices serving", device.name, device.key,
                len(self._tasks))  # fmt: skip

    async def _modbus_control(self, device: FleetDevice) -> None:
        """Apply a Modbus device's control: disable closes its port (reopened when cleared),
        done stops it; its delay is a delay fault."""
        control, modbus = device.control, device.modbus
        changed = asyncio.Event()
        loop = asyncio.get_running_loop()

        def listener(_name: str, _value: bool) -> None:
            loop.call_soon_threadsafe(changed.set)

        control.subscribe(listener)
        try:
            serving = True
            if control.disable:
                await modbus.stop_async()
                serving = False
            while not control.done:
                await changed.wait()
                changed.clear()
                if control.done:
                    break
                if control.disable and serving:
                    await modbus.stop_async()
                    serving = False
                elif not control.disable and not serving:
                    await modbus.start_async()
                    serving = True
                device.state = "disabled" if control.disable else "serving"
        finally:
            control.unsubscribe(listener)
            with contextlib.suppress(Exception):
                await modbus.stop_async()

    async def _sample(self) -> None:
        """Sample each device's request rate and state every :data:`RATE_INTERVAL`; sweep the
        EtherNet/IP servers (CIP connection and TCP timeouts) as often as the most demanding
        of them asks: one task for the fleet, not one per device."""
        loop = asyncio.get_running_loop()
        sampled = swept = loop.time()
        while True:
            servers = [device.enip for device in self._tasks if device.enip is not None]
            interval = min((server.sweep_interval() for server in servers), default=RATE_INTERVAL)
            await asyncio.sleep(min(interval, RATE_INTERVAL))
            now = loop.time()
            if now - swept >= interval:
                swept = now
                for server in servers:
                    server.sweep(now)
            if now - sampled >= RATE_INTERVAL:
                elapsed, sampled = now - sampled, now
                for device in self.devices:
                    device.sample(elapsed)
                    if device.state in ("serving", "disabled"):
                        device.state = "disabled" if device.control.disable else "serving"

    # ---- running and stopping --------------------------------------------------------------
    async def serve(self) -> None:
        """Serve until the fleet's ``control.done`` (starting first if need be)."""
        if self._done is None:
            await self.start()
        assert self._done is not None
        try:
            await self._done.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Stop every device and release the thread pool."""
        self._stopping = True
        if self._listener is not None:
            self.control.unsubscribe(self._listener)
            self._listener = None
        if self._sampler is not None:
            self._sampler.cancel()
            self._sampler = None
        if self.behaviours is not None:
            await self.behaviours.stop()
        if self.discovery is not None:
            await self.discovery.stop()
            self.discovery = None
        tasks = list(self._tasks.values())
        for device in list(self._tasks):
            device.control.done = True
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self.control.mark_stopped()
