"""The simulator's network layer: one asyncio event loop serving TCP and UDP EtherNet/IP.

:class:`EnipServer` binds a TCP listener and a UDP socket on the same address and feeds the
framed encapsulation messages to a :class:`~.ucmm.Ucmm` (pure) for one controller (each client
connection is a :class:`~.tcp.TcpConnection`). Requests of one connection are answered in order;
a request reaching a user Attribute that may block runs in a worker thread while other
connections carry on. The fault controls of a :class:`~.control.ServerControl` apply here:
response delay, disable (close the port and every connection), done (stop), per-connection EOF.

Limits (see :mod:`.capacity`): at most ``max_clients`` connections and ``max_sessions``
sessions; a connection that registers no session within ``registration_grace`` seconds, or
sends nothing for the TCP/IP object's Encapsulation Inactivity Timeout (attribute 13), is
closed; when the table is full the longest-idle connection without a session makes room for a
newcomer, and only when there is none is the newcomer refused (its socket closed at once).

:class:`ServerThread` runs an EnipServer on its own loop in a background thread (tests, embedding).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import logging
import os
import socket
import threading
from collections.abc import Callable, Coroutine
from dataclasses import astuple
from typing import Any, TypeVar

from cpppo import misc
from cpppo.misc import NORMAL

from ..codec.encap import ENIP_PORT
from ..sim.ucmm import Ucmm
from .capacity import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_SESSIONS,
    FD_RESERVE,
    REGISTRATION_GRACE,
    ClientTable,
    raise_fd_limit,
)
from .control import ServerControl
from .tcp import TcpConnection, UdpEndpoint

__all__ = ["DEFAULT_PORT", "EnipServer", "ServerThread", "parse_address", "run"]

log = logging.getLogger("enip.srv")
T = TypeVar("T")

DEFAULT_PORT = ENIP_PORT
#: Bytes of requests a connection may have waiting (behind a slow or delayed one) before it
#: stops reading.
PENDING_BYTES = 256 * 1024
#: Bytes read from a socket at a time (into one buffer per server, shared by its connections).
READ_SIZE = 65536
#: Connections the kernel may hold waiting to be accepted (capped by net.core.somaxconn): a burst
#: of clients beyond it would wait for SYN retransmissions, seconds apart.
BACKLOG = 4096
#: How often (at most, seconds) connections are checked for their timeouts.
SWEEP_INTERVAL = 1.0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when the optional ``fast`` extra is installed (and not disabled by
    ``CPPPO_UVLOOP=0``), else None for the standard loop."""
    if os.environ.get("CPPPO_UVLOOP", "1") in ("0", "no", "false"):
        return None
    try:
        import uvloop  # type: ignore[import-not-found]
    except ImportError:
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, on uvloop when it is installed (the ``fast`` extra)."""
    factory = _loop_factory()
    if factory is None:
        return asyncio.run(main)
    loop = factory()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def parse_address(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """Parse ``[interface][:port]`` (``[::1]:port`` for IPv6); ValueError if malformed."""
    return misc.parse_address(text, default_port, bare_ipv6=False)


class EnipServer:
    """Serve one controller on ``address`` over TCP and/or UDP, under a ServerControl.

    ``max_size`` bounds an encapsulated request's payload (larger: status 0x65 and close);
    ``max_clients`` bounds simultaneous TCP connections and ``max_sessions`` registered sessions
    (a RegisterSession beyond it is answered 0x0002 and its connection closed); ``workers`` is
    the size of the thread pool for user Attributes that may block; ``registration_grace``
    (seconds, 0: never) closes a connection that has registered no session that long after it
    was accepted; ``idle_timeout`` (seconds; None: the controller's TCP/IP attribute 13, read
    as it changes; 0: never) closes a connection that has sent nothing for that long;
    ``max_pending`` bounds the bytes of requests a connection may have waiting.

    Servers sharing one loop (a fleet) may share ``executor`` (the thread pool; the server then
    leaves shutting it down to its owner) and ``read_view`` (the socket read buffer);
    ``announce`` False logs the start at INFO rather than NORMAL; ``sweeper`` False leaves
    calling :meth:`sweep` to the owner (one task for a fleet's servers, not one each);
    ``reuse_udp`` sets SO_REUSEADDR on the UDP socket, so that a socket on 0.0.0.0 of the same
    port (a fleet's broadcast discovery) can be bound beside it (Linux requires it of both).
    """

    def __init__(
        self,
        controller: Any,
        address: tuple[str, int] = ("", DEFAULT_PORT),
        *,
        control: ServerControl | None = None,
        tcp: bool = True,
        udp: bool = True,
        max_size: int = 0xFFFF,
        max_clients: int = DEFAULT_MAX_CONNECTIONS,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        workers: int = 32,
        idle_timeout: float | None = None,
        registration_grace: float = REGISTRATION_GRACE,
        max_pending: int = PENDING_BYTES,
        executor: concurrent.futures.ThreadPoolExecutor | None = None,
        read_view: memoryview | None = None,
        announce: bool = True,
        sweeper: bool = True,
        reuse_udp: bool = False,
    ) -> None:
        if not (tcp or udp):
            raise ValueError("at least one of TCP and UDP must be enabled")
        if max_clients < 1 or max_sessions < 1 or max_pending < 1:
            raise ValueError("max_clients, max_sessions and max_pending must be positive")
        self.controller = controller
        self.ucmm = Ucmm(controller, max_sessions)
        self.host = address[0] or "0.0.0.0"
        self.port = address[1]
        self.control = control if control is not None else ServerControl()
        self.tcp = tcp
        self.udp = udp
        self.max_size = max_size
        self.max_clients = max_clients
        self.max_pending = max_pending
        self.workers = workers
        self.idle_timeout = idle_timeout
        self.registration_grace = registration_grace
        #: The TCP connections being served (bounded by ``max_clients``).
        self.clients: ClientTable[TcpConnection] = ClientTable(max_clients)
        #: The read buffer of every connection (a read is copied out of it at once).
        self.read_view = memoryview(bytearray(READ_SIZE)) if read_view is None else read_view
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.executor: concurrent.futures.ThreadPoolExecutor | None = executor
        self._own_executor = executor is None
        self.announce = announce
        self.sweeper = sweeper
        self.reuse_udp = reuse_udp
        self._reported: tuple[int, ...] = ()
        self._tcp_server: asyncio.AbstractServer | None = None
        self._udp_transport: asyncio.DatagramTransport | None = None
        self._done: asyncio.Event | None = None
        self._local_cache: dict[str, str] = {}
        self._listener: Callable[[str, bool], None] | None = None
        self._sweeper: asyncio.Task | None = None

    @property
    def connections(self) -> ClientTable[TcpConnection]:
        """The TCP connections being served (iterable, sized)."""
        return self.clients

    @property
    def inactivity_timeout(self) -> float:
        """Seconds without traffic before a connection is closed (0: never): ``idle_timeout``,
        else the Encapsulation Inactivity Timeout of the controller's TCP/IP object."""
        if self.idle_timeout is not None:
            return self.idle_timeout
        tcpip = getattr(self.controller, "tcpip", None)
        return float(getattr(tcpip, "inactivity_timeout", 0))

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port)."""
        return (self.host, self.port)

    def delaying(self) -> bool:
        """True when responses are to be delayed."""
        return self.control.delay.active

    def local_for(self, addr: tuple[str, int]) -> tuple[str, int]:
        """The local address a UDP request from ``addr`` arrived on (for ListIdentity)."""
        if self.host not in ("0.0.0.0", ""):
            return (self.host, self.port)
        peer = addr[0]
        local = self._local_cache.get(peer)
        if local is None:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                    probe.connect((peer, self.port or DEFAULT_PORT))  # sends nothing
                    local = probe.getsockname()[0]
            except OSError:
                local = "0.0.0.0"
            if len(self._local_cache) > 256:
                self._local_cache.clear()
            self._local_cache[peer] = local
        return (local, self.port)

    # ---- binding -----------------------------------------------------------------------------
    async def _bind(self) -> None:
        loop = self.loop
        attempts = 20 if self.port == 0 else 1
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        for attempt in range(attempts):
            port = self.port
            try:
                if self.tcp:
                    self._tcp_server = await loop.create_server(
                        lambda: TcpConnection(self),
                        self.host,
                        port,
                        reuse_address=True,
                        backlog=BACKLOG,
                        family=family,
                    )
                    sockets = self._tcp_server.sockets
                    if not sockets:  # asyncio skips an address whose socket() failed
                        self._tcp_server.close()
                        self._tcp_server = None
                        socket.socket(family, socket.SOCK_STREAM).close()  # raises the cause
                        raise OSError(f"no TCP socket could be made for {self.host}:{port}")
                    port = sockets[0].getsockname()[1]
                if self.udp:
                    transport, _ = await loop.create_datagram_endpoint(
                        lambda: UdpEndpoint(self), sock=await self._udp_socket(port)
                    )
                    self._udp_transport = transport  # type: ignore[assignment]
                    port = transport.get_extra_info("sockname")[1]
            except OSError as exc:
                await self._unbind()
                if exc.errno == errno.EADDRINUSE and attempt + 1 < attempts:
                    continue
                raise
            self.port = port
            return

    async def _udp_socket(self, port: int) -> socket.socket:
        """The UDP socket bound to (host, port) (the host resolved as asyncio would):
        SO_BROADCAST on IPv4, SO_REUSEADDR if ``reuse_udp``."""
        infos = await self.loop.getaddrinfo(self.host, port, type=socket.SOCK_DGRAM)
        family, kind, proto, _, sockaddr = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            if family == socket.AF_INET:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            if self.reuse_udp:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setblocking(False)
            sock.bind(sockaddr)
        except OSError:
            sock.close()
            raise
        return sock

    @property
    def udp_transport(self) -> asyncio.DatagramTransport | None:
        """The UDP transport while bound (None when disabled, stopped or ``udp`` is off)."""
        return self._udp_transport

    async def _unbind(self) -> None:
        if self._tcp_server is not None:
            self._tcp_server.close()
            await self._tcp_server.wait_closed()
            self._tcp_server = None
        if self._udp_transport is not None:
            self._udp_transport.close()
            self._udp_transport = None

    # ---- running -----------------------------------------------------------------------------
    async def start(self) -> tuple[str, int]:
        """Bind the sockets and begin serving; returns the bound (host, port)."""
        self.loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        files = raise_fd_limit()
        if self.max_clients + FD_RESERVE > files:
            self.clients.max_connections = max(1, files - FD_RESERVE)
            log.warning(
                "Open file limit %d: serving at most %d TCP connections, not %d",
                files,
                self.clients.max_connections,
                self.max_clients,
            )
        if self._own_executor:
            self.executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=self.workers, thread_name_prefix="enip-attr"
            )
        if not self.control.disable:
            await self._bind()
        loop = self.loop

        def listener(name: str, value: bool) -> None:
            loop.call_soon_threadsafe(self._changed, name, value)

        self._listener = listener
        self.control.subscribe(listener)
        self._reported = astuple(self.clients.counters)
        if self.sweeper:
            self._sweeper = loop.create_task(self._sweep())
        if self.control.done:
            self._done.set()
        self.control.mark_started(self.address)
        log.log(
            25 if self.announce else logging.INFO,
            "EtherNet/IP Simulator serving %s:%d (%s) on %s",
            self.host,
            self.port,
            "+".join(p for p, on in (("TCP", self.tcp), ("UDP", self.udp)) if on),
            type(loop).__module__.split(".")[0],
        )
        return self.address

    def _changed(self, name: str, value: bool) -> None:
        if name == "done" and value and self._done is not None:
            self._done.set()
        elif name == "disable":
            self.loop.create_task(self._apply_disable(value))

    async def _apply_disable(self, disable: bool) -> None:
        if disable:
            await self._unbind()
            for connection in list(self.connections):
                connection.close()
            log.log(25, "EtherNet/IP Simulator disabled")
        elif self._tcp_server is None and self._udp_transport is None:
            try:
                await self._bind()
                log.log(25, "EtherNet/IP Simulator re-enabled on %s:%d", self.host, self.port)
            except OSError as exc:
                log.error("Cannot re-enable the simulator on %s:%d: %s", self.host, self.port, exc)

    def sweep_interval(self) -> float:
        """Seconds between sweeps: a quarter of the shortest timeout, 0.05 to 1 s."""
        timeouts = [t for t in (self.registration_grace, self.inactivity_timeout) if t > 0]
        return min([SWEEP_INTERVAL, *(max(0.05, t / 4) for t in timeouts)])

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval())
            self.sweep(self.loop.time())

    def sweep(self, now: float) -> None:
        """Expire CIP connections; close connections overdue for their timeouts; log the
        closes and refusals since the last sweep as one line per cause (at -v). Called every
        ``sweep_interval()`` seconds by the server's own task, or by its owner (a fleet) when
        started with ``sweeper=False``."""
        clients = self.clients
        for connection in self.controller.connections.expire(now):
            log.info("Connection 0x%08x timed out", connection.o_t_id)
        if clients:
            overdue = clients.overdue(now, self.registration_grace, self.inactivity_timeout)
            for client, cause in overdue:
                log.info("Closing %s:%s: %s", *client.peer.peer, cause)
                client.close()
        counters = astuple(clients.counters)
        if counters != self._reported:
            self._report(self._reported, counters)
            self._reported = counters

    def _report(self, before: tuple[int, ...], after: tuple[int, ...]) -> None:
        evicted, refused, unregistered, inactive = (b - a for a, b in zip(before, after))
        where = f"{self.host}:{self.port}"
        table = f"{len(self.clients)}/{self.clients.max_connections} connections"
        if unregistered:
            log.log(
                NORMAL,
                "%s: closed %d connection(s) that registered no session within %g s",
                where,
                unregistered,
                self.registration_grace,
            )
        if inactive:
            log.log(
                NORMAL,
                "%s: closed %d connection(s) idle for the encapsulation inactivity timeout (%g s)",
                where,
                inactive,
                self.inactivity_timeout,
            )
        if evicted:
            log.log(
                NORMAL,
                "%s: closed %d idle connection(s) without a session to admit new ones (%s)",
                where,
                evicted,
                table,
            )
        if refused:
            log.log(
                NORMAL,
                "%s: refused %d connection(s): %s, every one with a session",
                where,
                refused,
                table,
            )

    async def serve(self) -> None:
        """Serve until ``control.done`` is set (binding first if ``start`` was not called)."""
        if self._done is None:
            await self.start()
        assert self._done is not None
        try:
            await self._done.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Close the sockets and every connection; release the worker threads."""
        if self._listener is not None:
            self.control.unsubscribe(self._listener)
            self._listener = None
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        await self._unbind()
        # Handlers still running (a slow user Attribute) get up to control.timeout to finish.
        busy = [c.task for c in self.connections if c.task is not None]
        for connection in list(self.connections):
            connection.close()
        await asyncio.sleep(0)
        if busy and self.control.timeout > 0:
            await asyncio.wait(busy, timeout=self.control.timeout)
        if self.executor is not None and self._own_executor:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None
        self.control.mark_stopped()


class ServerThread:
    """Run an :class:`EnipServer` for ``controller`` in a background thread with its own loop.

    ``with ServerThread(controller, ("127.0.0.1", 0)) as server: server.address`` -- the
    address is bound when ``start()`` returns; ``stop()`` (or leaving the block) sets
    ``control.done`` and joins the thread.
    """

    def __init__(self, controller: Any, address: tuple[str, int] = ("127.0.0.1", 0), **kwds: Any):
        self.control: ServerControl = kwds.pop("control", None) or ServerControl()
        self.server = EnipServer(controller, address, control=self.control, **kwds)
        self.controller = controller
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port)."""
        return self.server.address

    def start(self, timeout: float = 10.0) -> tuple[str, int]:
        """Start serving; returns the bound address (raises what binding raised)."""
        self._thread = threading.Thread(target=self._run, name="enip-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the EtherNet/IP server did not start")
        if self._error is not None:
            raise self._error
        return self.address

    def _run(self) -> None:
        async def main() -> None:
            try:
                await self.server.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            await self.server.serve()

        try:
            run(main())
        except BaseException as exc:  # pragma: no cover - reported to the starter
            self._error = exc
            self._ready.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and join the thread."""
        self.control.done = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
