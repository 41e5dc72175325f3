"""EtherNet/IP CIP client (spec 2.1.4-2.1.5): blocking sockets, a generator API, pipelining.

Public API:
    client(host='localhost', port=44818, timeout=None, udp=False, broadcast=False, ...)
        One TCP (or UDP) connection. Request builders ``.register``, ``.list_identity``,
        ``.list_services``, ``.list_interfaces``, ``.read``, ``.write``, ``.get_attribute_single``,
        ``.set_attribute_single``, ``.get_attributes_all``, ``.multiple``, ``.unconnected_send``,
        ``.forward_open``, ``.forward_close``; ``.readable(timeout)``; ``next(conn)`` yields each
        reply as nested dicts carrying its ``peer``; a context manager.
    connector(host=..., port=..., timeout=..., udp=False, broadcast=False, connected=False, ...)
        A client that registers a session (TCP) on creation and runs sequences of operations:
        ``.synchronous``, ``.pipeline(depth=1)``, ``.operate(depth=0, validating=False,
        printing=False)``, ``.results``, ``.process`` -> ``(failures, transactions)``. Each yields
        ``(idx, dsc, req, rpy, sts, val)``. ``connected=True`` opens a CIP connection (Forward
        Open) and sends requests with SendUnitData; ``implicit`` is such a connector.
    parse_operations, format_path       re-exported from :mod:`cpppo.server.enip.operations`.
    ClientError, ReplyTimeout, ConnectionClosed, BadReply, EncapsulationError
        the statuses of operations that got no (usable) reply.
    main(argv=None)                     the ``enip_client`` command line.

A device's error status never raises: the operation is yielded with ``val`` None and ``sts`` the
status (an int, or ``(status, [ext, ...])``). When the connection fails (timeout, closed, garbage)
every affected operation is yielded with ``sts`` one of the exceptions above; later operations fail
at once instead of waiting again.
"""

from __future__ import annotations

import logging
import os
import random
import select
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from cpppo.misc import NORMAL

from ..codec.cip import (
    CONNECTION_MANAGER_EPATH,
    MESSAGE_ROUTER_PATH,
    Reply,
    Request,
    Service,
    decode_multiple,
    decode_reply,
    encode_multiple,
    encode_request,
)
from ..codec.connection import (
    ConnectionParameters,
    ForwardClose,
    ForwardOpen,
    decode_connection_failure,
    decode_forward_open_reply,
    encode_connection_parameters,
    encode_forward_close,
    encode_forward_open,
    encode_unconnected_send,
)
from ..codec.encap import (
    Command,
    EncapFramer,
    EncapHeader,
    decode_encap,
    decode_rr_data,
    decode_unit_data,
    encode_encap,
    encode_register_session,
    encode_rr_message,
    encode_unit_message,
)
from ..codec.epath import encode_epath, encode_route_path
from ..codec.errors import DecodeError, EncodeError
from ..codec.status import EncapStatus, Status
from ..codec.tags import (
    encode_read_tag,
    encode_read_tag_fragmented,
    encode_write_tag,
    encode_write_tag_fragmented,
)
from ..codec.types import STRUCT_CODE
from . import operations as _operations
from .operations import (
    OperationError,
    cip_type,
    format_path,
    parse_operations,
    parse_path,
    parse_route_path,
    parse_send_path,
)
from .replies import parse_response, reply_status, status_string
from .requests import SUMMARY_NAMES, Operation, Part, encode_values, plan

__all__ = [
    "DEFAULT_PORT",
    "BadReply",
    "ClientError",
    "ConnectionClosed",
    "EncapsulationError",
    "ReplyTimeout",
    "client",
    "connector",
    "format_path",
    "implicit",
    "parse_operations",
]

log = logging.getLogger("enip.cli")

DEFAULT_PORT = 44818
_MESSAGE_ROUTER_EPATH = encode_epath(MESSAGE_ROUTER_PATH)
_COMMANDS = frozenset(int(c) for c in Command)
# A Multiple Service Packet reply whose parts are worth reading (0x1E: one of them failed).
_MSP_OK = (Status.SUCCESS, Status.EMBEDDED_SERVICE_ERROR)
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


class ClientError(Exception):
    """The connection to the device failed; operations affected carry it as their status."""


class ReplyTimeout(ClientError, TimeoutError):
    """No reply within the timeout."""


class ConnectionClosed(ClientError, ConnectionError):
    """The device closed the connection (or it could not be written to)."""


class BadReply(ClientError):
    """A reply that cannot be decoded or does not answer the request it claims to."""


class EncapsulationError(BadReply):
    """A reply with a non-zero encapsulation status (``.status``)."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message or f"encapsulation status 0x{status:04X}")
        self.status = status


def _command_of(data: bytes) -> int:
    """The encapsulation command at the start of ``data`` (0 if fewer than 2 bytes)."""
    return data[0] | data[1] << 8 if len(data) > 1 else 0


def _path(path: Any) -> list[dict]:
    if isinstance(path, str):
        return parse_path(path)
    return list(path)


def _context(index: int) -> bytes:
    """The sender context of request ``index``: its decimal digits (as the original client did)."""
    return str(index % 100_000_000).encode()


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
    #: Longest busy-poll (seconds) for a TCP reply before blocking. A reply that comes this
    #: quickly (a local simulator, a fast LAN) is picked up without the sleep and wake-up a
    #: blocking receive costs (tens of microseconds, more in a VM). Used only while replies keep
    #: coming within it and on a host with more than one CPU; 0 disables it.
    busy_poll = 200e-6

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
        self._framer = EncapFramer(max_length)
        self._frames: deque = deque()
        self._broken: ClientError | None = None
        self._plans: dict = {}  # what each operation path encodes to (see client_requests.plan)
        self._default_wrap: tuple | None = None  # the default Unconnected Send, pre-encoded
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
        self._set_timeout(timeout)

    # -- plumbing ----------------------------------------------------------------------------
    def __str__(self) -> str:
        return f"{self.host}:{self.port}[{self.session}]"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self} {'UDP' if self.udp else 'TCP'}>"

    def __enter__(self) -> client:
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
        if self._frames:
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
        frames = self._frames
        while not frames:
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
                    data, peer = sock.recvfrom(65536)
                    try:
                        header, payload = decode_encap(data)
                    except DecodeError as exc:
                        log.warning("Ignoring undecodable datagram from %s: %s", peer, exc)
                        continue
                    frames.append((header, payload, peer[:2]))
                    break
                data = self._recv(sock) if self._spin else sock.recv(_RECV_SIZE)
            except (TimeoutError, BlockingIOError):
                if deadline is None:
                    raise ReplyTimeout(f"no reply from {self.host}:{self.port}") from None
                continue
            except OSError as exc:
                raise ConnectionClosed(f"receive from {self.host}:{self.port}: {exc}") from None
            if not data:
                raise ConnectionClosed(f"{self.host}:{self.port} closed the connection")
            if not self._framer.buffered and _command_of(data) not in _COMMANDS:
                # A message must start here; an unknown command means the stream is garbage.
                raise BadReply(f"garbage from {self.peer}: {bytes(data[:24]).hex()}")
            try:
                for header, payload in self._framer.feed(data):
                    frames.append((header, payload, self.peer))
            except DecodeError as exc:
                for header, payload in exc.frames:
                    frames.append((header, payload, self.peer))
                if not frames:
                    raise BadReply(
                        f"unframeable reply from {self.host}:{self.port}: {exc}"
                    ) from None
                self._frames.append((None, exc, self.peer))
        header, payload, peer = frames.popleft()
        if header is None:
            raise BadReply(f"unframeable reply from {self.host}:{self.port}: {payload}")
        return header, payload, peer

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
        route = self.route_path if route_path is None else parse_route_path(route_path)
        send = self.send_path if send_path is None else parse_send_path(send_path)
        if not route and not send:
            return bytes(request)
        tick = self.priority_time_tick if priority_time_tick is None else priority_time_tick
        ticks = self.timeout_ticks if timeout_ticks is None else timeout_ticks
        data = encode_unconnected_send(request, route or None, tick, ticks)
        return encode_request(Service.UNCONNECTED_SEND, send, data)

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
        offset: int | None = None,
        send: bool = True,
        sender_context: bytes = b"",
        timeout: float | None = None,
        **routing: Any,
    ) -> Request:
        """Read Tag (``offset`` None) or Read Tag Fragmented (an int byte offset)."""
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
        offset: int | None = None,
        tag_type: int | None = None,
        send: bool = True,
        sender_context: bytes = b"",
        timeout: float | None = None,
        **routing: Any,
    ) -> Request:
        """Write Tag (``offset`` None) or Write Tag Fragmented; ``tag_type`` default INT."""
        typ = cip_type(tag_type or 0xC3)
        values = data if isinstance(data, (list, tuple)) else [data]
        count = len(values) if elements is None else elements
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
        path = _path(connection_path)
        params = encode_connection_parameters(ConnectionParameters(size))
        fo = ForwardOpen(
            priority_tick=0x0A,
            timeout_ticks=5,
            o_t_connection_id=0,
            t_o_connection_id=random.randint(1, 0x7FFFFFFF),
            connection_serial=random.randint(1, 0xFFFF),
            vendor_id=vendor_id,
            originator_serial=random.randint(1, 0x7FFFFFFF),
            timeout_multiplier=timeout_multiplier,
            o_t_rpi=rpi_us,
            o_t_parameters=params,
            t_o_rpi=rpi_us,
            t_o_parameters=params,
            transport=0xA3,
            connection_path=path,
        )
        message = encode_request(
            Service.FORWARD_OPEN, CONNECTION_MANAGER_EPATH, encode_forward_open(fo)
        )
        reply = self._transact_rr(message, timeout)
        if reply.service != Service.FORWARD_OPEN or reply.status != Status.SUCCESS:
            detail = ""
            if reply.status and len(reply.data) == 10:
                detail = f" ({decode_connection_failure(reply.data)})"
            raise ClientError(f"Forward Open refused: {status_string(reply_status(reply))}{detail}")
        fo_reply = decode_forward_open_reply(reply.data)
        self.connection = {
            "o_t_connection_id": fo_reply.o_t_connection_id,
            "t_o_connection_id": fo_reply.t_o_connection_id,
            "connection_serial": fo.connection_serial,
            "vendor_id": fo.vendor_id,
            "originator_serial": fo.originator_serial,
            "connection_path": path,
            "size": size,
        }
        self.sequence = 0
        return dict(self.connection)

    def forward_close(self, timeout: float | None = None) -> Reply | None:
        """Close the CIP connection opened by ``forward_open`` (None if none was open)."""
        conn, self.connection = self.connection, None
        if conn is None:
            return None
        fc = ForwardClose(
            priority_tick=0x0A,
            timeout_ticks=5,
            connection_serial=conn["connection_serial"],
            vendor_id=conn["vendor_id"],
            originator_serial=conn["originator_serial"],
            connection_path=conn["connection_path"],
        )
        message = encode_request(
            Service.FORWARD_CLOSE, CONNECTION_MANAGER_EPATH, encode_forward_close(fc)
        )
        return self._transact_rr(message, timeout)

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


class _Request:
    """One encapsulated request in flight: its index and the parts it carries."""

    __slots__ = ("index", "multiple", "parts")

    def __init__(self, index: int, parts: list[Part], multiple: bool) -> None:
        self.index = index
        self.parts = parts
        self.multiple = multiple


class connector(client):
    """A client that registers a session and runs sequences of operations (see module doc)."""

    def __init__(
        self,
        host: str = "localhost",
        port: int | None = None,
        timeout: float | None = None,
        connected: bool = False,
        **kwds: Any,
    ) -> None:
        super().__init__(host=host, port=port, timeout=timeout, **kwds)
        try:
            if not self.udp:
                self._register(timeout)
                if connected:
                    self.forward_open(timeout=timeout)
        except BaseException:
            self.close()
            raise

    def _register(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        self.register(sender_context=b"register")
        header, _, _ = self._receive(deadline)
        if header.command != Command.REGISTER_SESSION or header.status or not header.session:
            raise EncapsulationError(
                header.status or EncapStatus.INCORRECT_DATA,
                f"RegisterSession refused by {self.host}:{self.port}: "
                f"command 0x{header.command:04X}, status 0x{header.status:04X}",
            )
        self.session = header.session

    def close(self) -> None:
        """Forward Close (if connected), UnRegisterSession, then close the socket."""
        if self._sock is not None and not self.udp and self._broken is None:
            try:
                if self.connection is not None:
                    self.forward_close(timeout=min(self.timeout or 1.0, 1.0))
                if self.session:
                    self.unregister()
            except (ClientError, OSError) as exc:
                log.info("Closing %r: %s", self, exc)
        super().close()

    # -- the engine -----------------------------------------------------------------------------
    def _routing(self, op: dict) -> tuple | None:
        """Routing of an operation: None for the connector's defaults, else a comparable key."""
        get = op.get
        if (
            get("route_path") is None
            and get("send_path") is None
            and get("priority_time_tick") is None
            and get("timeout_ticks") is None
        ):
            return None
        route = parse_route_path(op.get("route_path"))
        send = parse_send_path(op.get("send_path"))
        return (
            repr(self.route_path if route is None else route),
            repr(self.send_path if send is None else send),
            op.get("priority_time_tick"),
            op.get("timeout_ticks"),
            route,
            send,
        )

    def _wrap(self, message: bytes, routing: tuple | None) -> bytes:
        if self.connection is not None:
            return message
        if routing is not None:
            return self.unconnected_send(
                message,
                route_path=routing[4] if routing[4] is not None else self.route_path,
                send_path=routing[5] if routing[5] is not None else self.send_path,
                priority_time_tick=routing[2],
                timeout_ticks=routing[3],
            )
        wrap = self._default_wrap
        if (
            wrap is None
            or wrap[0] is not self.route_path
            or wrap[1] is not self.send_path
            or wrap[2] != self.priority_time_tick
            or wrap[3] != self.timeout_ticks
        ):
            # Pre-encode the send path and route path of the default Unconnected Send.
            route = encode_route_path(self.route_path) if self.route_path else b""
            simple = not self.route_path and not self.send_path
            wrap = self._default_wrap = (
                self.route_path,
                self.send_path,
                self.priority_time_tick,
                self.timeout_ticks,
                simple,
                encode_epath(self.send_path),
                route,
            )
        if wrap[4]:
            return message
        data = encode_unconnected_send(message, None, wrap[2], wrap[3])
        return encode_request(Service.UNCONNECTED_SEND, wrap[5], data + wrap[6])

    def _run(
        self,
        operations: Iterable[Any],
        index: int,
        fragment: bool,
        multiple: int,
        timeout: float | None,
        depth: int,
    ) -> Iterator[tuple]:
        """Issue ``operations`` keeping up to ``max(1, depth)`` requests in flight; yield each
        operation's 6-tuple in order as it completes."""
        timeout = self.timeout if timeout is None else timeout
        limit = max(1, int(depth or 0))
        multiple = int(multiple or 0)
        source = iter(operations)
        waiting: deque[tuple[Part, tuple | None]] = deque()  # parts ready to send
        order: deque[Operation] = deque()  # operations in issue order
        inflight: dict[Any, _Request] = {}
        exhausted = False
        connected = self.connection is not None
        plans = self._plans

        def pull() -> bool:
            """Plan the next operation into ``waiting``; False when there are no more."""
            nonlocal exhausted
            try:
                op = next(source)
            except StopIteration:
                exhausted = True
                return False
            if isinstance(op, str):
                op = _operations.parse_operation(op)
            try:
                oper, parts = plan(op, None, fragment, multiple, plans)
            except (EncodeError, OperationError) as exc:
                oper = Operation(op, index, "", f"Single ?? {op.get('path')!r}")
                oper.fail(exc)
                order.append(oper)
                return True
            order.append(oper)
            get = op.get
            routing = (
                None
                if get("route_path") is None
                and get("send_path") is None
                and get("priority_time_tick") is None
                and get("timeout_ticks") is None
                else self._routing(op)
            )
            if len(parts) == 1:
                waiting.append((parts[0], routing))
            else:
                waiting.extend((part, routing) for part in parts)
            return True

        while True:
            # Issue requests while there is room in the pipeline.
            while len(inflight) < limit and self._broken is None:
                if not waiting and (exhausted or not pull()):
                    break
                if not waiting:
                    continue
                part, routing = waiting.popleft()
                batch = [part]
                if multiple:
                    req_size = 68 + part.request_size
                    rpy_size = 68 + part.reply_size
                    while waiting or (not exhausted and pull()):
                        if not waiting:
                            continue
                        nxt, nrouting = waiting[0]
                        if (
                            nrouting != routing
                            or req_size + nxt.request_size + 2 > multiple
                            or rpy_size + nxt.reply_size + 2 > multiple
                        ):
                            break
                        waiting.popleft()
                        batch.append(nxt)
                        req_size += nxt.request_size + 2
                        rpy_size += nxt.reply_size + 2
                use_msp = len(batch) > 1
                if use_msp:
                    message = encode_request(
                        Service.MULTIPLE_SERVICE_PACKET,
                        _MESSAGE_ROUTER_EPATH,
                        encode_multiple([p.message for p in batch]),
                    )
                else:
                    message = part.message
                for p in batch:
                    if p.owner.index is None:
                        p.owner.index = index
                context = _context(index)
                try:
                    wrapped = self._wrap(message, routing)
                    if connected:
                        self.sequence = (self.sequence + 1) & 0xFFFF
                        key: Any = self.sequence
                        frame = encode_unit_message(
                            wrapped,
                            self.session,
                            self.connection["o_t_connection_id"],  # type: ignore[index]
                            self.sequence,
                            context,
                        )
                    else:
                        key = context
                        frame = encode_rr_message(wrapped, self.session, context)
                    self.send(frame)
                except (EncodeError, OperationError) as exc:
                    for p in batch:
                        p.owner.fail(exc)
                    index += 1
                    continue
                except ClientError as exc:
                    self._broken = exc
                    for p in batch:
                        p.owner.fail(exc)
                    break
                inflight[key] = _Request(index, batch, use_msp)
                index += 1

            # Yield the operations that are complete, in order.
            while order and order[0].done:
                o = order.popleft()
                yield (o.index, o.descr, o.op, o.reply, o.status, o.value)

            if self._broken is not None:
                error = self._broken
                for request in inflight.values():
                    for p in request.parts:
                        p.owner.fail(error)
                inflight.clear()
                for p, _ in waiting:
                    p.owner.fail(error)
                waiting.clear()
                while pull():
                    for p, _ in waiting:
                        p.owner.fail(error)
                    waiting.clear()
                for oper in order:
                    if oper.index is None:
                        oper.index = index
                while order and order[0].done:
                    yield order.popleft().result()
                if order:  # cannot happen: every operation was failed above
                    raise RuntimeError("pipeline operations left incomplete")
                return

            if not inflight:
                if exhausted and not waiting:
                    while order and order[0].done:
                        yield order.popleft().result()
                    return
                continue

            # Receive one reply and apply it.
            try:
                header, payload, _ = self._receive(
                    None if timeout is None else time.monotonic() + timeout
                )
            except ClientError as exc:
                self._broken = exc
                continue
            try:
                if connected:
                    if header.command != Command.SEND_UNIT_DATA:
                        raise BadReply(f"unexpected command 0x{header.command:04X}")
                    _, key, cip = decode_unit_data(payload)
                else:
                    if header.command != Command.SEND_RR_DATA:
                        raise BadReply(f"unexpected command 0x{header.command:04X}")
                    key = bytes(header.context).rstrip(b"\0")
                    cip = None
                request = inflight.pop(key, None)
                if request is None:
                    raise BadReply(f"reply to no request in flight (context {key!r})")
            except (BadReply, DecodeError) as exc:
                self._broken = exc if isinstance(exc, BadReply) else BadReply(str(exc))
                continue
            if header.status:
                error = EncapsulationError(header.status)
                for p in request.parts:
                    p.owner.fail(error)
                continue
            try:
                if cip is None:
                    cip = decode_rr_data(payload)
                reply = decode_reply(cip)
            except DecodeError as exc:
                error = BadReply(f"undecodable reply: {exc}")
                for p in request.parts:
                    p.owner.fail(error)
                continue
            self._apply(request, reply, waiting)

    def _apply(self, request: _Request, reply: Reply, waiting: deque) -> None:
        """Distribute one decoded reply over the parts of its request."""
        parts = request.parts
        if request.multiple:
            if reply.service != Service.MULTIPLE_SERVICE_PACKET or reply.status not in _MSP_OK:
                status = reply_status(reply) if reply.status else BadReply("mismatched reply")
                for p in parts:
                    p.owner.fail(status, reply)
                return
            try:
                replies = [decode_reply(m) for m in decode_multiple(reply.data)]
                if len(replies) != len(parts):
                    raise DecodeError(f"{len(replies)} replies to {len(parts)} requests")
            except DecodeError as exc:
                error = BadReply(f"undecodable Multiple Service Packet reply: {exc}")
                for p in parts:
                    p.owner.fail(error, reply)
                return
        else:
            replies = [reply]
        if len(parts) == 1:
            p, r = parts[0], replies[0]
            if r.service == p.message[0]:
                follow = p.owner.complete(p, r)
                if follow is not None:
                    waiting.appendleft((follow, self._routing(p.owner.op)))
                return
        for p, r in zip(parts, replies):
            if r.service != p.message[0]:
                if r.status:  # e.g. an Unconnected Send routing failure
                    p.owner.fail(reply_status(r), r)
                else:
                    p.owner.fail(BadReply(f"reply to service 0x{r.service:02X}"), r)
                continue
            follow = p.owner.complete(p, r)
            if follow is not None:
                waiting.appendleft((follow, self._routing(p.owner.op)))

    # -- the public generators ---------------------------------------------------------------------
    def synchronous(
        self,
        operations: Iterable[Any],
        index: int = 0,
        fragment: bool = False,
        multiple: int = 0,
        timeout: float | None = None,
    ) -> Iterator[tuple]:
        """Issue each request and wait for its reply before the next; yield each operation's
        ``(idx, dsc, req, rpy, sts, val)``. ``index`` is the first sender context."""
        return self._run(operations, index, fragment, multiple, timeout, 0)

    def pipeline(
        self,
        operations: Iterable[Any],
        index: int = 0,
        fragment: bool = False,
        multiple: int = 0,
        timeout: float | None = None,
        depth: int = 1,
    ) -> Iterator[tuple]:
        """Like ``synchronous``, with up to ``depth`` requests in flight."""
        return self._run(operations, index, fragment, multiple, timeout, depth)

    def validate(self, harvested: Iterable[tuple], printing: bool = False) -> Iterator[tuple]:
        """Log (and print, if ``printing``) a line per operation, e.g. ``SCADA[ 1-1 ] == [0]``,
        and yield each tuple with a write's value replaced by the data written."""
        for idx, dsc, req, rpy, sts, val in harvested:
            line, val = _summary_line(req, sts, val)
            log.log(NORMAL if not sts else logging.WARNING, "%s", line)
            if printing:
                print(line, flush=True)
            yield idx, dsc, req, rpy, sts, val

    def operate(
        self,
        operations: Iterable[Any],
        depth: int = 0,
        printing: bool = False,
        validating: bool = False,
        **kwds: Any,
    ) -> Iterator[tuple]:
        """Pipeline (``depth`` > 0) or run synchronously, optionally through ``validate``."""
        harvested = (
            self.pipeline(operations, depth=depth, **kwds)
            if depth
            else self.synchronous(operations, **kwds)
        )
        if printing or validating:
            harvested = self.validate(harvested, printing=printing)
        return harvested

    def results(self, operations: Iterable[Any], **kwds: Any) -> Iterator[Any]:
        """Yield just the value of each operation (None for a failure)."""
        for _, _, _, _, _, val in self.operate(operations, **kwds):
            yield val

    def process(self, operations: Iterable[Any], **kwds: Any) -> tuple[int, list]:
        """Run every operation; return ``(failures, [value, ...])``."""
        transactions = list(self.results(operations, **kwds))
        return sum(1 for t in transactions if t is None), transactions


class implicit(connector):
    """A connector over a CIP connection (Forward Open, then SendUnitData)."""

    def __init__(self, host: str = "localhost", port: int | None = None, **kwds: Any) -> None:
        kwds["connected"] = True
        super().__init__(host=host, port=port, **kwds)


def _summary_line(op: Any, sts: Any, val: Any) -> tuple[str, Any]:
    """The printed line of one operation, and its value (a write's data when it succeeded)."""
    if not isinstance(op, dict):
        return f"{op!r} == {val!r}", val
    path = list(op.get("path") or [])
    element = None
    if path and set(path[-1]) == {"element"}:
        element = path.pop()["element"]
    tag = format_path(path)
    method = op.get("method") or ("write" if "data" in op else "read")
    writing = method in ("write", "set_attribute_single")
    if writing and val is True:
        val = op.get("data")
    count = op.get("elements", 1)
    where = tag if element is None else f"{tag}[ {element}-{element + count - 1} ]"
    if op.get("offset"):
        where += f"+{op['offset']}"
    act = "<=" if writing else "=="
    if val is None:
        return f"{where} {act} None: {status_string(sts)}", val
    return f"{where} {act} {val!r}", val


def summary_name(operations: Iterable[dict], fragment: bool) -> str:
    """The kind of I/O named in the client's summary line (``ReadFrg.``; ``Tag I/O`` if mixed)."""
    names = set()
    for op in operations:
        method = op.get("method") or ("write" if "data" in op else "read")
        if method in ("read", "write"):
            frag = fragment or op.get("offset") is not None
            method = ("read" if method == "read" else "write") + ("_frag" if frag else "")
        names.add(SUMMARY_NAMES.get(method, "Tag I/O"))
    return names.pop() if len(names) == 1 else "Tag I/O"
