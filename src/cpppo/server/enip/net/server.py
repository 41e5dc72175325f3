"""The simulator's network layer: one asyncio event loop serving TCP and UDP EtherNet/IP.

:class:`EnipServer` binds a TCP listener and a UDP socket on the same address and feeds the
framed encapsulation messages to a :class:`~.ucmm.Ucmm` (pure) for one controller. Requests of
one connection are answered in order; a request reaching a user Attribute that may block runs in
a worker thread while other connections carry on. The fault controls of a
:class:`~.control.ServerControl` apply here: response delay, disable (close the port and every
connection), done (stop), per-connection EOF.

:class:`ServerThread` runs an EnipServer on its own loop in a background thread (tests, embedding).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import errno
import functools
import logging
import os
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from cpppo import misc

from ..codec.encap import HEADER, EncapFramer, EncapStatus, decode_encap
from ..codec.errors import DecodeError
from ..sim.device import WouldBlock
from ..sim.ucmm import Peer, Ucmm
from .control import ConnectionStats, ServerControl, connection_name

__all__ = ["DEFAULT_PORT", "EnipServer", "ServerThread", "parse_address", "run"]

log = logging.getLogger("enip.srv")
T = TypeVar("T")

DEFAULT_PORT = 44818
#: Frames a connection may have waiting (behind a slow request) before reading pauses.
PENDING_LIMIT = 64
#: How often open CIP connections are checked for their inactivity timeout (seconds).
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


#: Bytes read from a socket at a time (into one preallocated buffer per connection).
READ_SIZE = 65536


class _TcpConnection(asyncio.BufferedProtocol):
    """One client connection: framing, in-order processing, faults and statistics.

    A BufferedProtocol: the transport reads into our buffer, sparing the large allocation (and
    its mmap/munmap system calls) a plain Protocol costs on every read.
    """

    def __init__(self, server: EnipServer) -> None:
        self.server = server
        self._buffer = bytearray(READ_SIZE)
        self._view = memoryview(self._buffer)
        self.transport: asyncio.Transport | None = None
        self.framer = EncapFramer(server.max_size)
        self.pending: collections.deque[Any] = collections.deque()
        self.task: asyncio.Task | None = None
        self.peer = Peer()
        self.stats: ConnectionStats | None = None
        self.name = ""
        self.closed = False
        self.paused = False
        self.write_paused = False
        #: loop.time() of the last bytes received (for the idle timeout).
        self.last = 0.0

    # ---- lifecycle -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        server = self.server
        if len(server.connections) >= server.max_clients or server.control.disable:
            transport.abort()
            self.closed = True
            return
        peername = transport.get_extra_info("peername") or ("", 0)
        sockname = transport.get_extra_info("sockname") or ("0.0.0.0", server.port)
        self.peer = Peer((peername[0], peername[1]), (sockname[0], sockname[1]))
        self.last = server.loop.time()
        self.name = connection_name(peername[0], peername[1])
        loop = server.loop
        self.stats = ConnectionStats(
            peername[0], peername[1], _on_eof=lambda: loop.call_soon_threadsafe(self.close)
        )
        server.connections.add(self)
        server.control.connections[self.name] = self.stats
        log.info("EtherNet/IP connection from %s:%s", peername[0], peername[1])

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        server = self.server
        server.connections.discard(self)
        if self.stats is not None:
            self.stats._eof = True
            if server.control.connections.get(self.name) is self.stats:
                del server.control.connections[self.name]
                server.control.requests_closed += self.stats.requests
        server.ucmm.close(self.peer)
        self.pending.clear()
        log.info("EtherNet/IP connection from %s:%s closed", *self.peer.peer)

    def close(self) -> None:
        """Close the connection (after any reply already written)."""
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def pause_writing(self) -> None:
        self.write_paused = True
        self._pause()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._resume()

    def _pause(self) -> None:
        if not self.paused and self.transport is not None and not self.closed:
            self.paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        if (
            self.paused
            and not self.write_paused
            and len(self.pending) < PENDING_LIMIT // 2
            and self.transport is not None
            and not self.closed
        ):
            self.paused = False
            self.transport.resume_reading()

    # ---- data -------------------------------------------------------------------------------
    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self._view[:nbytes]))

    def data_received(self, data: bytes | bytearray) -> None:
        if self.closed:
            return
        assert self.stats is not None
        self.stats.received += len(data)
        self.last = now = self.server.loop.time()
        error = None
        try:
            frames = self.framer.feed(data)
        except DecodeError as exc:
            frames, error = exc.frames, exc
        if self.pending or self.server.delaying():
            self.pending.extend(frames)
            if error is not None:
                self.pending.append(error)
            self._start_worker()
            return
        handle = self.server.ucmm.handle
        peer = self.peer
        write = self.transport.write  # type: ignore[union-attr]
        for i, (header, payload) in enumerate(frames):
            try:
                reply = handle(peer, header, payload, now, True)
            except WouldBlock:
                self.pending.extend(frames[i:])
                if error is not None:
                    self.pending.append(error)
                self._start_worker()
                return
            except Exception:
                log.exception("Failed to process a request from %s:%s", *peer.peer)
                self.close()
                return
            self.stats.requests += 1
            if reply is not None:
                write(reply)
            if peer.closing:
                self.close()
                return
        if error is not None:
            self._fatal(error)

    def _fatal(self, error: DecodeError) -> None:
        """A stream that cannot be framed: answer with the encapsulation status, then close."""
        header = error.header
        if header is not None and self.transport is not None and not self.closed:
            self.transport.write(
                HEADER.pack(
                    header.command,
                    0,
                    header.session,
                    error.encap_status or EncapStatus.INVALID_LENGTH,
                    header.context,
                    header.options,
                )
            )
        log.info("Closing %s:%s: %s", *self.peer.peer, error)
        self.close()

    def _start_worker(self) -> None:
        if len(self.pending) >= PENDING_LIMIT:
            self._pause()
        if self.task is None and not self.closed:
            self.task = self.server.loop.create_task(self._work())

    async def _work(self) -> None:
        """Process waiting frames in order: delays, and slow requests off the loop."""
        server = self.server
        loop = server.loop
        handle = server.ucmm.handle
        try:
            while self.pending and not self.closed:
                item = self.pending.popleft()
                self._resume()
                if isinstance(item, DecodeError):
                    self._fatal(item)
                    return
                header, payload = item
                now = loop.time()
                if server.delaying():
                    delay = server.control.delay.sample()
                    if delay > 0:
                        await asyncio.sleep(delay)
                        if self.closed:
                            return
                try:
                    reply = handle(self.peer, header, payload, now, True)
                except WouldBlock:
                    call = functools.partial(handle, self.peer, header, payload, now, False)
                    reply = await loop.run_in_executor(server.executor, call)
                    if self.closed:
                        return
                assert self.stats is not None and self.transport is not None
                self.stats.requests += 1
                if reply is not None:
                    self.transport.write(reply)
                if self.peer.closing:
                    self.close()
                    return
        except Exception:
            log.exception("Failed to process a request from %s:%s", *self.peer.peer)
            self.close()
        finally:
            self.task = None


class _UdpEndpoint(asyncio.DatagramProtocol):
    """ListIdentity / ListServices / ListInterfaces over UDP, answered to the sender."""

    def __init__(self, server: EnipServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            header, payload = decode_encap(data)
        except DecodeError:
            return
        try:
            reply = self.server.ucmm.handle_datagram(header, payload, self.server.local_for(addr))
        except Exception:
            log.exception("Failed to answer a datagram from %s:%s", *addr[:2])
            return
        if reply is not None and self.transport is not None:
            delay = self.server.control.delay.sample() if self.server.delaying() else 0.0
            if delay > 0:
                self.server.loop.call_later(delay, self.transport.sendto, reply, addr)
            else:
                self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)


class EnipServer:
    """Serve one controller on ``address`` over TCP and/or UDP, under a ServerControl.

    ``max_size`` bounds an encapsulated request's payload (larger: status 0x65 and close);
    ``max_clients`` bounds simultaneous TCP connections; ``workers`` is the size of the thread
    pool for user Attributes that may block; ``idle_timeout`` (seconds, None: never) closes a
    TCP connection that has sent nothing for that long.
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
        max_clients: int = 1000,
        workers: int = 32,
        idle_timeout: float | None = None,
    ) -> None:
        if not (tcp or udp):
            raise ValueError("at least one of TCP and UDP must be enabled")
        self.controller = controller
        self.ucmm = Ucmm(controller)
        self.host = address[0] or "0.0.0.0"
        self.port = address[1]
        self.control = control if control is not None else ServerControl()
        self.tcp = tcp
        self.udp = udp
        self.max_size = max_size
        self.max_clients = max_clients
        self.workers = workers
        self.idle_timeout = idle_timeout
        self.connections: set[_TcpConnection] = set()
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._tcp_server: asyncio.AbstractServer | None = None
        self._udp_transport: asyncio.DatagramTransport | None = None
        self._done: asyncio.Event | None = None
        self._local_cache: dict[str, str] = {}
        self._listener: Callable[[str, bool], None] | None = None
        self._sweeper: asyncio.Task | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port)."""
        return (self.host, self.port)

    def delaying(self) -> bool:
        """True when responses are to be delayed."""
        delay = self.control.delay
        return delay.value > 0 or delay.range is not None

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
        for attempt in range(attempts):
            port = self.port
            try:
                if self.tcp:
                    self._tcp_server = await loop.create_server(
                        lambda: _TcpConnection(self),
                        self.host,
                        port,
                        reuse_address=True,
                        family=socket.AF_INET6 if ":" in self.host else socket.AF_INET,
                    )
                    port = self._tcp_server.sockets[0].getsockname()[1]
                if self.udp:
                    transport, _ = await loop.create_datagram_endpoint(
                        lambda: _UdpEndpoint(self),
                        local_addr=(self.host, port),
                        allow_broadcast=":" not in self.host,
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
        self._sweeper = loop.create_task(self._sweep())
        if self.control.done:
            self._done.set()
        self.control.mark_started(self.address)
        log.log(
            25,
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

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            now = self.loop.time()
            for connection in self.controller.connections.expire(now):
                log.info("Connection 0x%08x timed out", connection.o_t_id)
            if self.idle_timeout is not None:
                for client in list(self.connections):
                    if now - client.last > self.idle_timeout and not client.task:
                        log.info("Closing idle connection from %s:%s", *client.peer.peer)
                        client.close()

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
        if self.executor is not None:
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
