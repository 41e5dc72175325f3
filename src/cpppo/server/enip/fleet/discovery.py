"""Broadcast discovery for a fleet: every device answers a browse, as a plant's devices would.

Each EtherNet/IP device of a fleet binds UDP on its own address, and a socket bound to a unicast
address receives no broadcast: a ListIdentity sent to 255.255.255.255:44818 (RSLinx browsing,
pylogix ``PLC().Discover()``) would find no device. :class:`FleetDiscovery` binds one more UDP
socket per port the devices use, on 0.0.0.0 (SO_REUSEADDR, as the devices' own sockets have, and
SO_BROADCAST), and learns each datagram's destination with IP_PKTINFO. Linux delivers a datagram
addressed to a device to that device's own socket (the most specific bind), so this socket gets
only what no device's socket takes: broadcasts, and datagrams to the host's other addresses.

A List command (ListIdentity, ListServices, ListInterfaces: what a device answers over UDP)
arriving there to a destination that is not a device's address is answered with one reply per
device of that port, each built by the device's own UCMM and sent from the device's own socket,
so its source and its identity's socket address are the device's. Devices on loopback
addresses answer a loopback sender, the others a non-loopback one; a disabled or stopped device
does not answer; a device's response delay is sampled for its reply as on its own UDP path.

The work is bounded: replies go out ``BATCH`` at a time, ``PACE`` seconds apart, so that a
requester's default receive buffer is not overrun by a thousand replies at once; a requester
(address and port) gets at most one answer per ``INTERVAL`` seconds, and at most ``MAX_ANSWERS``
answers are under way at once. Requests refused for that are counted in one log line (at -v)
per second at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
from collections.abc import Iterable
from typing import Any

from ..codec.encap import Command, decode_encap
from ..codec.errors import DecodeError
from .devices import ENIP_KINDS, FleetDevice

__all__ = ["BATCH", "INTERVAL", "MAX_ANSWERS", "PACE", "FleetDiscovery"]

log = logging.getLogger("enip.fleet")

#: Linux's IP_PKTINFO (Python's socket module does not name it everywhere).
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
#: Replies sent in a row before pausing ``PACE`` seconds.
BATCH = 16
#: Seconds between batches of replies.
PACE = 0.004
#: Seconds a requester waits before another of its requests is answered.
INTERVAL = 0.1
#: Answers (each one reply per device) under way at once.
MAX_ANSWERS = 16
#: Datagrams read per readiness callback (others wait for the next turn of the loop).
READ_BURST = 64
#: Commands answered: those a device answers over UDP.
ANSWERED = frozenset((Command.LIST_IDENTITY, Command.LIST_SERVICES, Command.LIST_INTERFACES))
_PKTINFO = struct.Struct("=I4s4s")


def destination(ancillary: Iterable[tuple[int, int, bytes]]) -> str | None:
    """The destination address of a datagram from its IP_PKTINFO ancillary data (or None)."""
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(data) >= _PKTINFO.size:
            return socket.inet_ntoa(_PKTINFO.unpack_from(data)[2])
    return None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FleetDiscovery:
    """Answer broadcast List requests for every EtherNet/IP device of ``devices`` (see the
    module docstring). :meth:`start` binds the sockets, :meth:`stop` closes them."""

    def __init__(self, devices: Iterable[FleetDevice]) -> None:
        #: Per port: the devices (with whether each is on a loopback address) that answer.
        self.ports: dict[int, list[tuple[FleetDevice, bool]]] = {}
        #: Per port: the devices' addresses (a datagram to one of them is not a broadcast).
        self.hosts: dict[int, set[str]] = {}
        wildcard: set[int] = set()
        for device in devices:
            if device.kind not in ENIP_KINDS:
                continue
            host, port = device.address
            if host in ("", "0.0.0.0", "::") or ":" in host:
                wildcard.add(port)  # the device's own socket gets the broadcasts (or IPv6)
                continue
            self.ports.setdefault(port, []).append((device, _is_loopback(host)))
            self.hosts.setdefault(port, set()).add(host)
        for port in wildcard:
            self.ports.pop(port, None)
            self.hosts.pop(port, None)
        self.sockets: dict[int, socket.socket] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        #: Answers under way.
        self.answers: set[asyncio.Task] = set()
        #: loop.time() of each requester's last answer.
        self._last: dict[tuple[str, int], float] = {}
        #: Requests answered, replies sent, requests refused (rate or concurrency), since start.
        self.answered = self.replies = self.refused = 0
        self._reported_refused = 0
        self._reported_at = 0.0

    async def start(self) -> list[int]:
        """Bind a socket on 0.0.0.0 for each port; returns the ports bound (a port that cannot
        be bound is logged and left without discovery)."""
        self.loop = loop = asyncio.get_running_loop()
        if self.ports and not hasattr(socket.socket, "recvmsg"):  # Windows: no IP_PKTINFO read
            log.warning("Fleet discovery unavailable: this platform's sockets have no recvmsg")
            return []
        for port in sorted(self.ports):
            try:
                sock = self._bind(port)
                loop.add_reader(sock.fileno(), self._readable, sock, port)
            except (OSError, NotImplementedError) as exc:
                log.warning("Fleet discovery on 0.0.0.0:%d unavailable: %s", port, exc)
                continue
            self.sockets[port] = sock
            log.info("Fleet discovery on 0.0.0.0:%d for %d devices", port, len(self.ports[port]))
        return sorted(self.sockets)

    @staticmethod
    def _bind(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            sock.setblocking(False)
            sock.bind(("0.0.0.0", port))
        except OSError:
            sock.close()
            raise
        return sock

    async def stop(self) -> None:
        """Close the sockets and end the answers under way."""
        for sock in self.sockets.values():
            if self.loop is not None:
                with contextlib.suppress(Exception):
                    self.loop.remove_reader(sock.fileno())
            sock.close()
        self.sockets.clear()
        answers = list(self.answers)
        for task in answers:
            task.cancel()
        if answers:
            await asyncio.wait(answers, timeout=1.0)
        self._report(force=True)

    # ---- receiving ---------------------------------------------------------------------------
    def _readable(self, sock: socket.socket, port: int) -> None:
        for _ in range(READ_BURST):
            try:
                data, ancillary, _flags, addr = sock.recvmsg(4096, 256)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # an ICMP error reported on a later read, say
                log.debug("Fleet discovery on port %d: %s", port, exc)
                return
            self.received(data, destination(ancillary), addr, port)

    def received(self, data: bytes, dest: str | None, addr: tuple[str, int], port: int) -> None:
        """Answer ``data`` from ``addr`` sent to ``dest`` on ``port``, if it is a List
        request addressed to no device of the fleet."""
        if dest is not None and dest in self.hosts.get(port, ()):
            return  # a device's own address: that device's socket answers it (unless disabled)
        try:
            header, payload = decode_encap(data)
        except DecodeError:
            return
        if header.command not in ANSWERED:
            return
        assert self.loop is not None
        now = self.loop.time()
        requester = (addr[0], addr[1])
        last = self._last.get(requester)
        if (last is not None and now - last < INTERVAL) or len(self.answers) >= MAX_ANSWERS:
            self.refused += 1
            self._report(now)
            return
        if len(self._last) >= 1024:  # forget requesters answered long enough ago
            self._last = {k: t for k, t in self._last.items() if now - t < INTERVAL}
        self._last[requester] = now
        loopback = _is_loopback(addr[0])
        devices = [device for device, on_lo in self.ports.get(port, ()) if on_lo == loopback]
        task = self.loop.create_task(self._answer(devices, header, payload, requester))
        self.answers.add(task)
        task.add_done_callback(self.answers.discard)

    # ---- answering ---------------------------------------------------------------------------
    async def _answer(
        self, devices: list[FleetDevice], header: Any, payload: memoryview, addr: tuple[str, int]
    ) -> None:
        """One reply per device that serves now, from its own socket; ``BATCH`` at a time."""
        assert self.loop is not None
        self.answered += 1
        sent = 0
        for device in devices:
            enip = device.enip
            control = device.control
            if enip is None or control.disable or control.done:
                continue
            transport = enip.udp_transport
            if transport is None or transport.is_closing():
                continue
            try:
                reply = enip.ucmm.handle_datagram(header, payload, enip.address)
            except Exception:
                log.exception("%s: failed to answer a broadcast from %s:%s", device.name, *addr)
                continue
            if reply is None:
                continue
            delay = control.delay.sample() if enip.delaying() else 0.0
            if delay > 0:
                self.loop.call_later(delay, self._send_later, enip, reply, addr)
                continue
            transport.sendto(reply, addr)
            self.replies += 1
            sent += 1
            if sent % BATCH == 0:
                await asyncio.sleep(PACE)

    def _send_later(self, enip: Any, reply: bytes, addr: tuple[str, int]) -> None:
        """Send a delayed reply, unless the device has since closed its socket."""
        transport = enip.udp_transport
        if transport is not None and not transport.is_closing() and not enip.control.disable:
            transport.sendto(reply, addr)
            self.replies += 1

    def _report(self, now: float = 0.0, force: bool = False) -> None:
        """Log the requests refused since the last report, at most once a second."""
        refused = self.refused - self._reported_refused
        if refused and (force or now - self._reported_at >= 1.0):
            log.info(
                "Fleet discovery: refused %d broadcast request(s) (at most one answer per "
                "requester per %g s, %d at once)",
                refused,
                INTERVAL,
                MAX_ANSWERS,
            )
            self._reported_refused = self.refused
            self._reported_at = now
