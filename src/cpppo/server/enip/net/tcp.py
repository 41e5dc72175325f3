"""One EtherNet/IP client connection over TCP, and the UDP endpoint of the List* commands.

:class:`TcpConnection` frames the byte stream, answers requests in order (on the loop, or in a
worker thread for a user Attribute that may block), applies the response delay, and keeps what
it holds bounded:

- one read buffer per server, shared by its connections (a read is copied out at once);
- at most one incomplete request in the framer (the server's ``max_size``);
- requests waiting behind a slow or delayed one counted in bytes: past ``max_pending`` bytes the
  connection stops reading until half of them are answered;
- replies not yet taken by the client: past the transport's high-water mark the connection
  stops reading and answers nothing more until they drain.

A connection answers at most ``FAIR_BATCH`` requests in a row before the others get their turn,
so one client pipelining thousands of requests does not stall the rest.

It holds no reference cycle, so everything it holds is freed when it closes, without waiting
for the garbage collector (the web API's ``eof`` reaches it through a weak reference).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import weakref
from typing import Any

from ..codec.encap import (
    HEADER,
    UNIT_FRAME_SIZE,
    EncapFramer,
    EncapStatus,
    decode_encap,
    decode_unit_frame,
)
from ..codec.errors import DecodeError
from ..sim.device import WouldBlock
from ..sim.ucmm import Peer
from .control import ConnectionStats, connection_name

__all__ = ["ENCAP_HEADER_SIZE", "TcpConnection", "UdpEndpoint"]

log = logging.getLogger("enip.srv")

#: Bytes a queued request costs beyond its payload (its encapsulation header).
ENCAP_HEADER_SIZE = HEADER.size
#: Seconds a closed connection may take to deliver its last replies before it is reset.
LINGER = 5.0
#: Requests of one connection answered in a row before the others get their turn.
FAIR_BATCH = 16


def _request_close(loop: asyncio.AbstractEventLoop, ref: weakref.ref[TcpConnection]) -> None:
    """``ConnectionStats.eof = True`` from any thread: close the connection if it still exists."""
    connection = ref()
    if connection is not None:
        loop.call_soon_threadsafe(connection.close)


class TcpConnection(asyncio.BufferedProtocol):
    """One client connection: framing, in-order processing, faults, limits and statistics."""

    def __init__(self, server: Any) -> None:
        #: The :class:`~.server.EnipServer` that accepted it.
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.framer = EncapFramer(server.max_size)
        #: Requests (header, payload) waiting, or the DecodeError that ends the stream.
        self.pending: collections.deque[Any] = collections.deque()
        #: Bytes of the requests in ``pending``.
        self.pending_bytes = 0
        self.task: asyncio.Task | None = None
        self.peer = Peer()
        self.stats: ConnectionStats | None = None
        self.name = ""
        self.closed = False
        self.paused = False
        self.write_paused = False
        self._drained: asyncio.Future[None] | None = None
        #: loop.time() when accepted, and of the last bytes received.
        self.opened = self.last = 0.0

    # ---- what the client table asks ----------------------------------------------------------
    def has_session(self) -> bool:
        """True once the client has registered a session."""
        return self.peer.session != 0

    def busy(self) -> bool:
        """True while requests are being answered off the fast path (delayed or slow)."""
        return self.task is not None

    # ---- lifecycle ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        server = self.server
        loop = server.loop
        self.opened = self.last = loop.time()
        admitted, victim = (False, None) if server.control.disable else server.clients.admit(self)
        if victim is not None:
            victim.close()
        if not admitted:  # refused: closed at once, never held
            self.closed = True
            transport.close()
            return
        peername = transport.get_extra_info("peername") or ("", 0)
        sockname = transport.get_extra_info("sockname") or ("0.0.0.0", server.port)
        self.peer = Peer((peername[0], peername[1]), (sockname[0], sockname[1]))
        self.name = connection_name(peername[0], peername[1])
        self.stats = ConnectionStats(
            peername[0],
            peername[1],
            _on_eof=functools.partial(_request_close, loop, weakref.ref(self)),
        )
        server.control.connections[self.name] = self.stats
        log.info("EtherNet/IP connection from %s:%s", peername[0], peername[1])

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        server = self.server
        server.clients.discard(self)
        stats = self.stats
        if stats is not None:
            stats._eof = True
            stats._on_eof = None
            if server.control.connections.get(self.name) is stats:
                del server.control.connections[self.name]
                server.control.requests_closed += stats.requests
            log.info("EtherNet/IP connection from %s:%s closed", *self.peer.peer)
        server.ucmm.close(self.peer)
        self.pending.clear()
        self.pending_bytes = 0
        self._wake()

    def close(self) -> None:
        """Close the connection after the replies already written; a client that does not take
        them within ``LINGER`` seconds is reset."""
        transport = self.transport
        if transport is not None and not self.closed:
            self.closed = True
            self.server.clients.discard(self)
            transport.close()
            if transport.get_write_buffer_size():
                self.server.loop.call_later(LINGER, transport.abort)

    def pause_writing(self) -> None:
        self.write_paused = True
        self._pause()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake()
        self._resume()

    def _wake(self) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _pause(self) -> None:
        if not self.paused and self.transport is not None and not self.closed:
            self.paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        if (
            self.paused
            and not self.write_paused
            and self.pending_bytes <= self.server.max_pending // 2
            and self.transport is not None
            and not self.closed
        ):
            self.paused = False
            self.transport.resume_reading()

    # ---- data --------------------------------------------------------------------------------
    def get_buffer(self, sizehint: int) -> memoryview:
        return self.server.read_view

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self.server.read_view[:nbytes]))

    def data_received(self, data: bytes | bytearray) -> None:
        if self.closed:
            return
        stats = self.stats
        assert stats is not None
        stats.received += len(data)
        server = self.server
        self.last = now = server.loop.time()
        server.clients.touch(self)
        # Behind a request still being answered (queued, delayed or off the loop in a worker),
        # new ones wait their turn: one connection's replies go in its requests' order.
        waiting = (
            self.task is not None
            or self.pending
            or self.write_paused
            or server.control.delay.active
        )
        framer = self.framer
        if not waiting and type(data) is bytes and not framer.buffered:
            # The fast path: one whole SendUnitData of the common shape, a planned Read Tag.
            unit = decode_unit_frame(data, framer.max_length)
            if unit is not None:
                session, context, cid, sequence = unit
                reply = server.ucmm.fast_unit_read(
                    self.peer, session, cid, sequence, data[UNIT_FRAME_SIZE:], context, now
                )
                if reply is not None:
                    stats.requests += 1
                    self.transport.write(reply)  # type: ignore[union-attr]
                    if self.write_paused:  # as the loop below: not reading
                        self._queue([], None)
                    return
        error = None
        try:
            frames = framer.feed(data)
        except DecodeError as exc:
            frames, error = exc.frames, exc
        if waiting:
            self._queue(frames, error)
            return
        handle = server.ucmm.handle
        peer = self.peer
        write = self.transport.write  # type: ignore[union-attr]
        done = 0  # a counter, not enumerate(): cheaper for the usual one request a read
        for header, payload in frames:
            try:
                reply = handle(peer, header, payload, now, True)
            except WouldBlock:
                self._queue(frames[done:], error)
                return
            except Exception:
                log.exception("Failed to process a request from %s:%s", *peer.peer)
                self.close()
                return
            done += 1  # noqa: SIM113
            stats.requests += 1
            if reply is not None:
                write(reply)
            if peer.closing:
                self.close()
                return
            if self.write_paused or done == FAIR_BATCH:  # not reading; or others' turn
                self._queue(frames[done:], error)
                return
        if error is not None:
            self._fatal(error)

    def _queue(self, frames: list[Any], error: DecodeError | None) -> None:
        """Queue requests to be answered in order by the worker (pausing reading when full)."""
        self.pending.extend(frames)
        self.pending_bytes += sum(ENCAP_HEADER_SIZE + len(payload) for _, payload in frames)
        if error is not None:
            self.pending.append(error)
        if self.pending_bytes >= self.server.max_pending:
            self._pause()
        if self.task is None and not self.closed:
            self.task = self.server.loop.create_task(self._work())

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

    async def _writable(self) -> None:
        """Wait until the client has taken the replies written so far (or the end)."""
        if self._drained is None:
            self._drained = self.server.loop.create_future()
        await self._drained

    async def _work(self) -> None:
        """Answer waiting requests in order: delays, slow requests off the loop, back-pressure."""
        server = self.server
        loop = server.loop
        handle = server.ucmm.handle
        turn = 0
        try:
            while self.pending and not self.closed:
                if self.write_paused:
                    await self._writable()
                    continue
                turn += 1
                if turn % FAIR_BATCH == 0:
                    await asyncio.sleep(0)  # let other connections be answered
                    continue
                item = self.pending.popleft()
                if isinstance(item, DecodeError):
                    self._fatal(item)
                    return
                header, payload = item
                self.pending_bytes -= ENCAP_HEADER_SIZE + len(payload)
                self._resume()
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


class UdpEndpoint(asyncio.DatagramProtocol):
    """ListIdentity / ListServices / ListInterfaces over UDP, answered to the sender."""

    def __init__(self, server: Any) -> None:
        #: The :class:`~.server.EnipServer` it answers for.
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
