"""The blocking socket transport of the EtherNet/IP client: one TCP (or UDP) connection to a
device, its timeouts and busy-poll, the request builders of the low-level API, and ``next(conn)``.

Public API:
    client(host='localhost', port=44818, timeout=None, udp=False, broadcast=False, ...)
        Request builders ``.register``, ``.unregister``, ``.list_identity``, ``.list_services``,
        ``.list_interfaces``, ``.read``, ``.write``, ``.get_attribute_single``,
        ``.set_attribute_single``, ``.get_attributes_all``, ``.multiple``, ``.unconnected_send``,
        ``.cip_send``, ``.forward_open``, ``.forward_close``; ``.send(frame)``,
        ``.receive(timeout)``, ``.readable(timeout)``; ``next(conn)`` yields each reply as nested
        dicts carrying its ``peer``; ``.busy_poll`` (seconds, default 0: off); a context
        manager.
    DEFAULT_PORT                         44818.

What goes on the wire is encoded by the codec and the sans-IO modules beside this one
(``requests``, ``routing``, ``stream``); this module moves the bytes and keeps the time.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import struct
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from ..codec.cip import (
    MESSAGE_ROUTER_PATH,
    Reply,
    Request,
    Service,
    decode_reply,
    encode_multiple,
    encode_request,
)
from ..codec.encap import (
    ENIP_PORT,
    Command,
    EncapHeader,
    decode_rr_data,
    encode_encap,
    encode_register_session,
    encode_rr_message,
    encode_unit_message,
)
from ..codec.errors import DecodeError
from ..codec.tags import (
    encode_read_tag,
    encode_read_tag_fragmented,
    encode_write_tag,
    encode_write_tag_fragmented,
)
from ..codec.types import STRUCT_CODE
from .errors import BadReply, ClientError, ConnectionClosed, EncapsulationError, ReplyTimeout
from .forward import forward_close_request, forward_open_connection, forward_open_request
from .operations import (
    cip_type,
    parse_path,
    parse_path_elements,
    parse_route_path,
    parse_send_path,
)
from .replies import parse_response
from .requests import encode_values
from .routing import Router
from .stream import ReplyStream

__all__ = ["DEFAULT_PORT", "client"]

_Client = TypeVar("_Client", bound="client")

log = logging.getLogger("enip.cli")

DEFAULT_PORT = ENIP_PORT
# struct timeval for SO_RCVTIMEO/SO_SNDTIMEO (POSIX); None elsewhere (use socket timeouts).
_TIMEVAL = struct.Struct("@ll") if sys.platform.startswith(("linux", "darwin")) else None
# recv flag for one non-blocking attempt (0 where the OS has none: no busy-polling there).
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_RECV_SIZE = 65536


def _cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _path(path: Any) -> list[dict]:
    if isinstance(path, str):
        return parse_path(path)
    return list(path)


def _path_elements(path: Any, elements: Any) -> tuple[list[dict], Any]:
    """A read's or write's path segments and element count: a path string's range
    (``SCADA[0-9]``) counts, as in the original client; else ``elements``."""
    if not isinstance(path, str):
        return list(path), elements
    segments, count = parse_path_elements(path)
    return segments, elements if count is None else count


class client:
    """One EtherNet/IP connection to a device: request builders and reply iteration.

    ``timeout`` (seconds, None = wait forever) bounds the TCP connect and every wait for a reply.
    ``route_path``/``send_path`` (see :func:`~.operations.parse_route_path`) set where CIP requests
    go; both empty (``simple``) sends requests without the Unconnected Send wrapper.
    """

    #: Backplane port 1, slot 0 (the spec writes it ``[{"link": 0}, {"port": 1}]``).
    route_path_default: list[dict] = [{"port": 1, "link": 0}]
    #: The Connection Manager, @6/1.
    send_path_default: list[dict] = [{"class": 6}, {"instance": 1}]
    priority_time_tick_default = 5
    timeout_ticks_default = 157
    #: Longest busy-poll (seconds) for a TCP reply before a blocking receive; 0 (the default)
    #: never spins. Set it (e.g. ``200e-6``) on a host with CPUs to spare talking to a device
    #: that answers that quickly (a local simulator, a fast LAN): such a reply is then picked up
    #: without the sleep and wake-up a blocking receive costs, at the price of a CPU spinning
    #: while it waits. Polling is used only while replies keep coming within it, and only with
    #: more than one CPU. Off by default by measurement: see docs/enip-client.md, "Busy-poll".
    busy_poll = 0.0

    def __init__(
        self,
        host: str = "localhost",
        port: int | None = None,
        timeout: float | None = None,
        udp: bool = False,
        broadcast: bool = False,
        source_address: tuple[str, int] | None = None,
        route_path: Any = None,
        send_path: Any = None,
        priority_time_tick: int | None = None,
        timeout_ticks: int | None = None,
        max_length: int = 0xFFFF,
        **kwds: Any,
    ) -> None:
        if kwds:
            log.debug("client ignores keywords %s", ", ".join(sorted(kwds)))
        self.host = host or "localhost"
        self.port = int(port or DEFAULT_PORT)
        self.timeout = timeout
        self.udp = bool(udp)
        self.broadcast = bool(broadcast)
        route = parse_route_path(route_path)
        send = parse_send_path(send_path)
        self.route_path = [dict(s) for s in self.route_path_default] if route is None else route
        self.send_path = [dict(s) for s in self.send_path_default] if send is None else send
        self.priority_time_tick = (
            self.priority_time_tick_default if priority_time_tick is None else priority_time_tick
        )
        self.timeout_ticks = self.timeout_ticks_default if timeout_ticks is None else timeout_ticks
        self.session = 0
        self.connection: dict | None = None  # set by a successful forward_open
        self.sequence = 0
        self._broken: ClientError | None = None
        self._plans: dict = {}  # what each operation path encodes to (see requests.plan)
        self._router: Router | None = None  # for the routing attributes above (see .router)
        self._sock: socket.socket | None = None
        self._sock_timeout: float | None = None
        #: Busy-poll budget (seconds; 0: never) and whether the last reply came within it.
        self._spin = self.busy_poll if _DONTWAIT and not self.udp and _cpus() > 1 else 0.0
        self._quick = True
        if self.udp:
            family, _, _, _, address = socket.getaddrinfo(
                self.host, self.port, type=socket.SOCK_DGRAM
            )[0]
            sock = socket.socket(family, socket.SOCK_DGRAM)
            if self.broadcast:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            if source_address:
                sock.bind(source_address)
            self.peer = address[:2]
        else:
            sock = socket.create_connection(
                (self.host, self.port), timeout=timeout, source_address=source_address
            )
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.peer = sock.getpeername()[:2]
        if _TIMEVAL is not None:
            sock.settimeout(None)  # blocking; timeouts via SO_RCVTIMEO/SO_SNDTIMEO
        self._sock = sock
        self._stream = ReplyStream(self.peer, f"{self.host}:{self.port}", max_length)
        self._set_timeout(timeout)

    # -- plumbing ----------------------------------------------------------------------------
    def __str__(self) -> str:
        return f"{self.host}:{self.port}[{self.session}]"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self} {'UDP' if self.udp else 'TCP'}>"

    def __enter__(self: _Client) -> _Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        sock = getattr(self, "_sock", None)
        if sock is not None:
            sock.close()

    def _set_timeout(self, timeout: float | None) -> None:
        """Bound each blocking send/recv by ``timeout`` seconds (None: forever).

        Where the OS supports SO_RCVTIMEO/SO_SNDTIMEO the socket stays in blocking mode with
        those options set: a socket with a Python timeout polls before every send and recv,
        doubling the system calls of a transaction.
        """
        sock = self._sock
        if sock is None or timeout == self._sock_timeout:
            return
        if _TIMEVAL is not None:
            seconds = 0.0 if timeout is None else max(timeout, 1e-6)
            whole = int(seconds)
            timeval = _TIMEVAL.pack(whole, int((seconds - whole) * 1e6))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
        else:
            sock.settimeout(timeout)
        self._sock_timeout = timeout

    @property
    def broken(self) -> ClientError | None:
        """The error that ended this connection's usefulness, or None while it is healthy."""
        return self._broken

    @property
    def router(self) -> Router:
        """Routing of unconnected requests by this client's ``route_path``, ``send_path``,
        ``priority_time_tick`` and ``timeout_ticks`` (remade when they are assigned)."""
        router = self._router
        if router is None or not router.made_for(
            self.route_path, self.send_path, self.priority_time_tick, self.timeout_ticks
        ):
            router = self._router = Router(
                self.route_path, self.send_path, self.priority_time_tick, self.timeout_ticks
            )
        return router

    def shutdown(self) -> None:
        """Half-close the TCP connection (no more requests); replies may still be read."""
        if self._sock is not None and not self.udp:
            try:
                self._sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        """Close the socket (idempotent)."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        if self._broken is None:
            self._broken = ConnectionClosed("connection closed by the client")

    def send(self, data: bytes) -> None:
        """Send one encapsulated message (raises ConnectionClosed if that fails)."""
        if self._sock is None:
            raise self._broken or ConnectionClosed("connection closed")
        try:
            if self.udp:
                self._sock.sendto(data, self.peer)
            else:
                self._sock.sendall(data)
        except OSError as exc:
            raise ConnectionClosed(f"send to {self.host}:{self.port} failed: {exc}") from None

    def readable(self, timeout: float | None = None) -> bool:
        """True if a reply is waiting (or arrives within ``timeout`` seconds; None = forever)."""
        if self._stream.frames:
            return True
        if self._sock is None:
            return False
        ready, _, _ = select.select([self._sock], [], [], timeout)
        return bool(ready)

    def receive(self, timeout: float | None = None) -> tuple[EncapHeader, memoryview, Any]:
        """The next whole reply ``(header, payload, peer)``; raises ReplyTimeout after
        ``timeout`` seconds (None = this client's timeout), ConnectionClosed at EOF, BadReply if
        the stream cannot be framed."""
        timeout = self.timeout if timeout is None else timeout
        return self._receive(None if timeout is None else time.monotonic() + timeout)

    def _receive(self, deadline: float | None) -> tuple[EncapHeader, memoryview, Any]:
        stream = self._stream
        while not stream.frames:
            data, peer = self._read(deadline)
            if peer is None:
                stream.feed(data)
            else:
                stream.feed_datagram(data, peer)
        return stream.pop()

    def _read(self, deadline: float | None) -> tuple[bytes, Any]:
        """One receive by ``deadline`` (None: the socket's timeout): ``(data, None)`` from the
        TCP stream, or a UDP datagram and its sender. Raises ReplyTimeout or ConnectionClosed."""
        while True:
            sock = self._sock
            if sock is None:
                raise self._broken or ConnectionClosed("connection closed")
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ReplyTimeout(f"no reply from {self.host}:{self.port} within the timeout")
                if self._sock_timeout is None or remaining < self._sock_timeout * 0.5:
                    self._set_timeout(remaining)
            try:
                if self.udp:
                    return sock.recvfrom(_RECV_SIZE)
                data = self._recv(sock) if self._spin else sock.recv(_RECV_SIZE)
            except (TimeoutError, BlockingIOError):
                if deadline is None:
                    raise ReplyTimeout(f"no reply from {self.host}:{self.port}") from None
                continue
            except OSError as exc:
                raise ConnectionClosed(f"receive from {self.host}:{self.port}: {exc}") from None
            if not data:
                raise ConnectionClosed(f"{self.host}:{self.port} closed the connection")
            return data, None

    def _recv(self, sock: socket.socket) -> bytes:
        """One TCP receive, busy-polling for up to ``busy_poll`` seconds first while replies have
        been coming that quickly (a slower reply turns the polling off until one is quick)."""
        spin = self._spin
        began = time.perf_counter()
        if self._quick:
            end = began + spin
            while True:
                try:
                    return sock.recv(_RECV_SIZE, _DONTWAIT)
                except BlockingIOError:
                    if time.perf_counter() > end:
                        break
        data = sock.recv(_RECV_SIZE)
        self._quick = time.perf_counter() - began <= spin
        return data

    def __iter__(self) -> Iterator[dict | None]:
        return self

    def __next__(self) -> dict | None:
        """The next reply as nested dicts (with ``peer``); None on timeout; StopIteration at EOF."""
        try:
            header, payload, peer = self.receive()
        except ReplyTimeout:
            return None
        except ConnectionClosed:
            raise StopIteration from None
        return parse_response(header, payload, peer)

    # -- encapsulation commands ----------------------------------------------------------------
    def _command(self, command: int, payload: bytes = b"", sender_context: bytes = b"") -> dict:
        self.send(encode_encap(command, payload, self.session, context=sender_context[:8]))
        return {"command": int(command), "payload": payload, "sender_context": sender_context}

    def register(self, timeout: float | None = None, sender_context: bytes = b"") -> dict:
        """Send RegisterSession (the reply carries the session handle; see ``connector``)."""
        return self._command(Command.REGISTER_SESSION, encode_register_session(), sender_context)

    def unregister(self, timeout: float | None = None, sender_context: bytes = b"") -> dict:
        """Send UnRegisterSession (no reply is expected)."""
        return self._command(Command.UNREGISTER_SESSION, b"", sender_context)

    def list_identity(self, timeout: float | None = None, sender_context: bytes = b"") -> dict:
        """Send ListIdentity (TCP or UDP, also broadcast)."""
        return self._command(Command.LIST_IDENTITY, b"", sender_context)

    def list_services(self, timeout: float | None = None, sender_context: bytes = b"") -> dict:
        """Send ListServices."""
        return self._command(Command.LIST_SERVICES, b"", sender_context)

    def list_interfaces(self, timeout: float | None = None, sender_context: bytes = b"") -> dict:
        """Send ListInterfaces."""
        return self._command(Command.LIST_INTERFACES, b"", sender_context)

    # -- CIP requests ----------------------------------------------------------------------------
    def unconnected_send(
        self,
        request: bytes,
        route_path: Any = None,
        send_path: Any = None,
        priority_time_tick: int | None = None,
        timeout_ticks: int | None = None,
    ) -> bytes:
        """Wrap an encoded CIP request in an Unconnected Send to ``send_path`` carrying
        ``route_path`` (defaults: this client's); returns it unchanged when both are empty."""
        return self.router.unconnected_send(
            request, route_path, send_path, priority_time_tick, timeout_ticks
        )

    def cip_send(self, request: bytes, sender_context: bytes = b"", **routing: Any) -> bytes:
        """Send an encoded CIP request: over the CIP connection if one is open (SendUnitData),
        otherwise in SendRRData, wrapped per ``routing`` (route_path, send_path, ...)."""
        if self.connection is not None:
            self.sequence = (self.sequence + 1) & 0xFFFF
            message = encode_unit_message(
                request,
                self.session,
                self.connection["o_t_connection_id"],
                self.sequence,
                sender_context[:8],
            )
        else:
            message = encode_rr_message(
                self.unconnected_send(request, **routing), self.session, sender_context[:8]
            )
        self.send(message)
        return message

    def _request(
        self, service: int, path: Any, data: bytes, send: bool, sender_context: bytes, routing: dict
    ) -> Request:
        path = _path(path)
        message = encode_request(service, path, data)
        if send:
            self.cip_send(message, sender_context, **routing)
        return Request(service, path, data)

    def read(
        self,
        path: Any,
        elements: int = 1,
        offset: int | None = 0,
        send: bool = True,
        sender_context: bytes = b"",
        timeout: float | None = None,
        **routing: Any,
    ) -> Request:
        """Read Tag Fragmented at byte ``offset`` (the default, 0, as the original client), or
        Read Tag (``offset`` None). A path string's range (``SCADA[0-9]``) sets ``elements``."""
        path, elements = _path_elements(path, elements)
        if offset is None:
            return self._request(
                Service.READ_TAG, path, encode_read_tag(elements), send, sender_context, routing
            )
        data = encode_read_tag_fragmented(elements, offset)
        return self._request(Service.READ_TAG_FRAGMENTED, path, data, send, sender_context, routing)

    def write(
        self,
        path: Any,
        data: Any,
        elements: int | None = None,
        offset: int | None = 0,
        tag_type: int | None = None,
        send: bool = True,
        sender_context: bytes = b"",
        timeout: float | None = None,
        **routing: Any,
    ) -> Request:
        """Write Tag Fragmented at byte ``offset`` (the default, 0, as the original client), or
        Write Tag (``offset`` None); ``tag_type`` default INT; ``elements`` default: the path's
        range (``SCADA[0-2]``), else the number of values."""
        typ = cip_type(tag_type or 0xC3)
        values = data if isinstance(data, (list, tuple)) else [data]
        path, count = _path_elements(path, elements)
        if count is None:
            count = len(values)
        raw = encode_values(typ.code, values)
        handle = getattr(typ, "handle", None) if typ.code == STRUCT_CODE else None
        if offset is None:
            body = encode_write_tag(typ.code, count, raw, handle)
            return self._request(Service.WRITE_TAG, path, body, send, sender_context, routing)
        body = encode_write_tag_fragmented(typ.code, count, offset, raw, handle)
        return self._request(
            Service.WRITE_TAG_FRAGMENTED, path, body, send, sender_context, routing
        )

    def get_attribute_single(
        self, path: Any, send: bool = True, sender_context: bytes = b"", **routing: Any
    ) -> Request:
        """Get Attribute Single (0x0E) of ``@class/instance/attribute``."""
        routing.pop("timeout", None)
        return self._request(Service.GET_ATTRIBUTE_SINGLE, path, b"", send, sender_context, routing)

    def get_attributes_all(
        self, path: Any, send: bool = True, sender_context: bytes = b"", **routing: Any
    ) -> Request:
        """Get Attributes All (0x01) of ``@class/instance``."""
        routing.pop("timeout", None)
        return self._request(Service.GET_ATTRIBUTES_ALL, path, b"", send, sender_context, routing)

    def set_attribute_single(
        self,
        path: Any,
        data: Any,
        elements: int | None = None,
        tag_type: int | None = None,
        send: bool = True,
        sender_context: bytes = b"",
        **routing: Any,
    ) -> Request:
        """Set Attribute Single (0x10); ``data`` encoded as ``tag_type`` (default SINT bytes)."""
        routing.pop("timeout", None)
        raw = encode_values(tag_type or 0xC2, data)
        return self._request(Service.SET_ATTRIBUTE_SINGLE, path, raw, send, sender_context, routing)

    def multiple(
        self,
        request: Iterable[bytes | Request],
        path: Any = None,
        send: bool = True,
        sender_context: bytes = b"",
        timeout: float | None = None,
        **routing: Any,
    ) -> Request:
        """A Multiple Service Packet (to the Message Router @2/1 by default) of encoded requests
        (bytes) or ``Request`` tuples."""
        messages = [
            encode_request(r.service, r.path, r.data) if isinstance(r, Request) else bytes(r)
            for r in request
        ]
        return self._request(
            Service.MULTIPLE_SERVICE_PACKET,
            list(MESSAGE_ROUTER_PATH) if path is None else path,
            encode_multiple(messages),
            send,
            sender_context,
            routing,
        )

    def forward_open(
        self,
        connection_path: Any = None,
        size: int = 500,
        rpi_us: int = 2_000_000,
        timeout_multiplier: int = 5,
        vendor_id: int = 0x1337,
        timeout: float | None = None,
    ) -> dict:
        """Open a CIP class 3 connection (Forward Open 0x54) to ``connection_path`` (default: the
        route path + the Message Router @2/1); later CIP requests then use SendUnitData.

        Returns the connection's details; raises ClientError if the device refuses.
        """
        if connection_path is None:
            connection_path = [*self.route_path, *MESSAGE_ROUTER_PATH]
        request, message = forward_open_request(
            _path(connection_path), size, rpi_us, timeout_multiplier, vendor_id
        )
        reply = self._transact_rr(message, timeout)
        self.connection = forward_open_connection(request, reply, size)
        self.sequence = 0
        return dict(self.connection)

    def forward_close(self, timeout: float | None = None) -> Reply | None:
        """Close the CIP connection opened by ``forward_open`` (None if none was open)."""
        conn, self.connection = self.connection, None
        if conn is None:
            return None
        return self._transact_rr(forward_close_request(conn), timeout)

    def _transact_rr(self, message: bytes, timeout: float | None) -> Reply:
        """Send one CIP message in SendRRData (unwrapped) and wait for its reply."""
        timeout = self.timeout if timeout is None else timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        context = b"cpppo_rr"
        self.send(encode_rr_message(message, self.session, context))
        while True:
            header, payload, _ = self._receive(deadline)
            if header.context != context or header.command != Command.SEND_RR_DATA:
                continue
            if header.status:
                raise EncapsulationError(header.status)
            try:
                return decode_reply(decode_rr_data(payload))
            except DecodeError as exc:
                raise BadReply(f"undecodable reply: {exc}") from None
