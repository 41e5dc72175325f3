"""Connection Manager payloads: Unconnected Send, Forward Open / Large Forward Open, Forward Close.

All functions encode/decode the service DATA (what follows ``52|54|5B|4E 02 20 06 24 01``);
build the whole request with ``cip.encode_request(service, CONNECTION_MANAGER_EPATH, data)``.
Re-exported by ``codec.cip``.

Public API:
    UnconnectedSend(priority_tick, timeout_ticks, message, route_path)
        NamedTuple; ``route_path`` a list of port segments, or None when the request has none.
    encode_unconnected_send(message, route_path=None, priority_tick=5, timeout_ticks=157) -> bytes
        tick, ticks, UINT message length, message, pad if odd, [USINT words, USINT 0, route].
    decode_unconnected_send(buf) -> UnconnectedSend
    split_unconnected_send(buf) -> (message, route bytes) | None
        the embedded message (a memoryview) and the encoded route path after it (b'' if none),
        neither decoded: the server's fast path, which remembers its verdict per route encoding.
        None when the message is shorter than 2 bytes or runs past the data.
    unconnected_timeout_ms(priority_tick, timeout_ticks) -> int    2**(tick & 15) * ticks.
    ForwardOpen(...)                         dataclass of a (Large) Forward Open request; ``large``
                                             selects 32-bit connection parameters (0x5B).
    encode_forward_open(fo) -> bytes / decode_forward_open(buf, large=False) -> ForwardOpen
    ForwardOpenReply(...)                    dataclass of a successful Forward Open reply (26 B+).
    encode_forward_open_reply(r) -> bytes / decode_forward_open_reply(buf) -> ForwardOpenReply
    ConnectionFailure(connection_serial, vendor_id, originator_serial, remaining_path_size=0)
                                             data of a failed Forward Open / Forward Close reply.
    encode_connection_failure(f) -> bytes / decode_connection_failure(buf) -> ConnectionFailure
    ForwardClose(...)                        dataclass of a Forward Close request.
    encode_forward_close(fc) -> bytes / decode_forward_close(buf) -> ForwardClose
    ForwardCloseReply(connection_serial, vendor_id, originator_serial, application_reply=b'')
    encode_forward_close_reply(r) -> bytes / decode_forward_close_reply(buf) -> ForwardCloseReply
    ConnectionParameters(size, variable=True, priority=0, connection_type=2, redundant_owner=False)
    encode_connection_parameters(p, large=False) -> int
    decode_connection_parameters(value, large=False) -> ConnectionParameters
    connection_timeout_us(rpi_us, multiplier_code) -> int            rpi * (4 << code), code 0..7.

Short or inconsistent data raises :class:`DecodeError` (status 0x13 not enough data, 0x15 too much,
0x04 bad path segment).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from .epath import decode_route_path, decode_sized_epath, encode_route_path, encode_sized_epath
from .errors import DecodeError, EncodeError
from .status import Status

__all__ = [
    "ConnectionFailure",
    "ConnectionParameters",
    "ForwardClose",
    "ForwardCloseReply",
    "ForwardOpen",
    "ForwardOpenReply",
    "UnconnectedSend",
    "connection_timeout_us",
    "decode_connection_failure",
    "decode_connection_parameters",
    "decode_forward_close",
    "decode_forward_close_reply",
    "decode_forward_open",
    "decode_forward_open_reply",
    "decode_unconnected_send",
    "encode_connection_failure",
    "encode_connection_parameters",
    "encode_forward_close",
    "encode_forward_close_reply",
    "encode_forward_open",
    "encode_forward_open_reply",
    "encode_unconnected_send",
    "split_unconnected_send",
    "unconnected_timeout_ms",
]

_US_HEAD = struct.Struct("<BBH")


class UnconnectedSend(NamedTuple):
    """An Unconnected Send: timing, the embedded request, and the route path (None if absent)."""

    priority_tick: int
    timeout_ticks: int
    message: bytes | memoryview
    route_path: list[dict] | None


def encode_unconnected_send(
    message: bytes | bytearray | memoryview,
    route_path: Sequence[dict] | None = None,
    priority_tick: int = 5,
    timeout_ticks: int = 157,
) -> bytes:
    """Encode Unconnected Send data around ``message``; ``route_path`` None omits the route."""
    n = len(message)
    try:
        parts = [_US_HEAD.pack(priority_tick, timeout_ticks, n), bytes(message)]
    except struct.error as exc:
        raise EncodeError(f"Unconnected Send: {exc}") from None
    if n % 2:
        parts.append(b"\x00")
    if route_path is not None:
        parts.append(encode_route_path(route_path))
    return b"".join(parts)


def decode_unconnected_send(buf: bytes | bytearray | memoryview) -> UnconnectedSend:
    """Decode Unconnected Send data; the embedded message is a memoryview into ``buf``."""
    mv = memoryview(buf)
    end = len(mv)
    if end < 4:
        raise DecodeError(f"Unconnected Send: {end} bytes, need 4", status=Status.NOT_ENOUGH_DATA)
    tick, ticks, n = _US_HEAD.unpack_from(mv, 0)
    stop = 4 + n
    if stop > end:
        raise DecodeError(
            f"Unconnected Send: message of {n} bytes runs past {end}", status=Status.NOT_ENOUGH_DATA
        )
    message = mv[4:stop]
    pos = stop + (n & 1)
    if pos >= end:
        return UnconnectedSend(tick, ticks, message, None)
    route, pos = decode_route_path(mv, pos)
    if pos != end:
        raise DecodeError(
            f"Unconnected Send: {end - pos} bytes after the route path", status=Status.TOO_MUCH_DATA
        )
    return UnconnectedSend(tick, ticks, message, route)


def split_unconnected_send(buf: bytes | bytearray | memoryview) -> tuple[memoryview, bytes] | None:
    """The embedded message and the undecoded route path bytes of Unconnected Send data."""
    mv = memoryview(buf)
    end = len(mv)
    if end < 6:
        return None
    n = mv[2] | mv[3] << 8
    stop = 4 + n
    if n < 2 or stop > end:
        return None
    return mv[4:stop], bytes(mv[stop + (n & 1) :])


def unconnected_timeout_ms(priority_tick: int, timeout_ticks: int) -> int:
    """Milliseconds an Unconnected Send may take: 2**(tick & 0x0F) * ticks."""
    return (1 << (priority_tick & 0x0F)) * timeout_ticks


class ConnectionParameters(NamedTuple):
    """Network connection parameters of a Forward Open (O->T or T->O)."""

    size: int
    variable: bool = True
    priority: int = 0  # 0 low, 1 high, 2 scheduled, 3 urgent
    connection_type: int = 2  # 0 null, 1 multicast, 2 point-to-point
    redundant_owner: bool = False


def encode_connection_parameters(p: ConnectionParameters, large: bool = False) -> int:
    """Pack parameters into the 16-bit (Forward Open) or 32-bit (Large Forward Open) word."""
    limit = 0xFFFF if large else 0x1FF
    if not 0 <= p.size <= limit or not 0 <= p.priority <= 3 or not 0 <= p.connection_type <= 3:
        raise EncodeError(f"connection parameters {p!r} out of range")
    high = (
        (int(p.redundant_owner) << 15)
        | (p.connection_type << 13)
        | (p.priority << 10)
        | (int(p.variable) << 9)
    )
    return (high << 16 if large else high) | p.size


def decode_connection_parameters(value: int, large: bool = False) -> ConnectionParameters:
    """Unpack a connection parameters word."""
    if large:
        size = value & 0xFFFF
        high = value >> 16
    else:
        size = value & 0x1FF
        high = value
    return ConnectionParameters(
        size,
        bool(high >> 9 & 1),
        high >> 10 & 3,
        high >> 13 & 3,
        bool(high >> 15 & 1),
    )


def connection_timeout_us(rpi_us: int, multiplier_code: int) -> int:
    """Inactivity timeout of a connection: RPI x (4 << multiplier code), code 0..7 = x4..x512."""
    return rpi_us * (4 << (multiplier_code & 0x07))


@dataclass
class ForwardOpen:
    """A Forward Open (``large`` False, 0x54) or Large Forward Open (``large`` True, 0x5B)."""

    priority_tick: int = 0x0A
    timeout_ticks: int = 5
    o_t_connection_id: int = 0
    t_o_connection_id: int = 0
    connection_serial: int = 0
    vendor_id: int = 0
    originator_serial: int = 0
    timeout_multiplier: int = 0
    o_t_rpi: int = 0
    o_t_parameters: int = 0
    t_o_rpi: int = 0
    t_o_parameters: int = 0
    transport: int = 0xA3
    connection_path: list[dict] = field(default_factory=list)
    large: bool = False

    @property
    def o_t_size(self) -> int:
        """O->T connection size in bytes."""
        return decode_connection_parameters(self.o_t_parameters, self.large).size

    @property
    def t_o_size(self) -> int:
        """T->O connection size in bytes."""
        return decode_connection_parameters(self.t_o_parameters, self.large).size


_FO = struct.Struct("<BBIIHHIB3xIHIHB")
_LFO = struct.Struct("<BBIIHHIB3xIIIIB")


def encode_forward_open(fo: ForwardOpen) -> bytes:
    """Encode Forward Open data (connection path as USINT words + padded EPATH)."""
    layout = _LFO if fo.large else _FO
    try:
        head = layout.pack(
            fo.priority_tick,
            fo.timeout_ticks,
            fo.o_t_connection_id,
            fo.t_o_connection_id,
            fo.connection_serial,
            fo.vendor_id,
            fo.originator_serial,
            fo.timeout_multiplier,
            fo.o_t_rpi,
            fo.o_t_parameters,
            fo.t_o_rpi,
            fo.t_o_parameters,
            fo.transport,
        )
    except struct.error as exc:
        raise EncodeError(f"Forward Open: {exc}") from None
    return head + encode_sized_epath(fo.connection_path)


def decode_forward_open(buf: bytes | bytearray | memoryview, large: bool = False) -> ForwardOpen:
    """Decode Forward Open data (``large`` for service 0x5B)."""
    layout = _LFO if large else _FO
    if len(buf) < layout.size + 1:
        raise DecodeError(
            f"Forward Open: {len(buf)} bytes, need at least {layout.size + 1}",
            status=Status.NOT_ENOUGH_DATA,
        )
    (
        priority_tick,
        timeout_ticks,
        o_t_connection_id,
        t_o_connection_id,
        connection_serial,
        vendor_id,
        originator_serial,
        timeout_multiplier,
        o_t_rpi,
        o_t_parameters,
        t_o_rpi,
        t_o_parameters,
        transport,
    ) = layout.unpack_from(buf, 0)
    path, pos = decode_sized_epath(buf, layout.size)
    if pos != len(buf):
        raise DecodeError(
            f"Forward Open: {len(buf) - pos} bytes after the connection path",
            status=Status.TOO_MUCH_DATA,
        )
    return ForwardOpen(
        priority_tick,
        timeout_ticks,
        o_t_connection_id,
        t_o_connection_id,
        connection_serial,
        vendor_id,
        originator_serial,
        timeout_multiplier,
        o_t_rpi,
        o_t_parameters,
        t_o_rpi,
        t_o_parameters,
        transport,
        path,
        large,
    )


@dataclass
class ForwardOpenReply:
    """Data of a successful Forward Open reply."""

    o_t_connection_id: int = 0
    t_o_connection_id: int = 0
    connection_serial: int = 0
    vendor_id: int = 0
    originator_serial: int = 0
    o_t_api: int = 0
    t_o_api: int = 0
    application_reply: bytes = b""


_FO_REPLY = struct.Struct("<IIHHIIIBB")


def encode_forward_open_reply(r: ForwardOpenReply) -> bytes:
    """Encode Forward Open reply data (application reply size in words, reserved, reply)."""
    app = bytes(r.application_reply)
    if len(app) % 2 or len(app) > 510:
        raise EncodeError(f"application reply of {len(app)} bytes is not a whole number of words")
    try:
        return (
            _FO_REPLY.pack(
                r.o_t_connection_id,
                r.t_o_connection_id,
                r.connection_serial,
                r.vendor_id,
                r.originator_serial,
                r.o_t_api,
                r.t_o_api,
                len(app) // 2,
                0,
            )
            + app
        )
    except struct.error as exc:
        raise EncodeError(f"Forward Open reply: {exc}") from None


def decode_forward_open_reply(buf: bytes | bytearray | memoryview) -> ForwardOpenReply:
    """Decode successful Forward Open reply data."""
    if len(buf) < _FO_REPLY.size:
        raise DecodeError(
            f"Forward Open reply: {len(buf)} bytes, need 26", status=Status.NOT_ENOUGH_DATA
        )
    o_t_id, t_o_id, serial, vendor, originator, o_t_api, t_o_api, words, _ = _FO_REPLY.unpack_from(
        buf, 0
    )
    stop = _FO_REPLY.size + 2 * words
    if stop != len(buf):
        raise DecodeError(
            f"Forward Open reply: application reply of {words} words in {len(buf)} bytes"
        )
    application_reply = bytes(buf[_FO_REPLY.size : stop])
    return ForwardOpenReply(
        o_t_id, t_o_id, serial, vendor, originator, o_t_api, t_o_api, application_reply
    )


class ConnectionFailure(NamedTuple):
    """Data of an unsuccessful Forward Open or Forward Close reply."""

    connection_serial: int
    vendor_id: int
    originator_serial: int
    remaining_path_size: int = 0


_TRIAD = struct.Struct("<HHIBB")


def encode_connection_failure(f: ConnectionFailure) -> bytes:
    """Encode failed Forward Open/Close reply data (serial, vendor, originator, path size, 0)."""
    try:
        return _TRIAD.pack(
            f.connection_serial, f.vendor_id, f.originator_serial, f.remaining_path_size, 0
        )
    except struct.error as exc:
        raise EncodeError(f"connection failure reply: {exc}") from None


def decode_connection_failure(buf: bytes | bytearray | memoryview) -> ConnectionFailure:
    """Decode failed Forward Open/Close reply data (10 bytes)."""
    if len(buf) != _TRIAD.size:
        raise DecodeError(f"connection failure reply: {len(buf)} bytes, need 10")
    serial, vendor, originator, remaining, _ = _TRIAD.unpack_from(buf, 0)
    return ConnectionFailure(serial, vendor, originator, remaining)


@dataclass
class ForwardClose:
    """A Forward Close request."""

    priority_tick: int = 0x0A
    timeout_ticks: int = 5
    connection_serial: int = 0
    vendor_id: int = 0
    originator_serial: int = 0
    connection_path: list[dict] = field(default_factory=list)


_FC = struct.Struct("<BBHHI")


def encode_forward_close(fc: ForwardClose) -> bytes:
    """Encode Forward Close data (path as USINT words, USINT reserved, padded EPATH)."""
    try:
        head = _FC.pack(
            fc.priority_tick,
            fc.timeout_ticks,
            fc.connection_serial,
            fc.vendor_id,
            fc.originator_serial,
        )
    except struct.error as exc:
        raise EncodeError(f"Forward Close: {exc}") from None
    return head + encode_route_path(fc.connection_path)


def decode_forward_close(buf: bytes | bytearray | memoryview) -> ForwardClose:
    """Decode Forward Close data."""
    if len(buf) < _FC.size + 2:
        raise DecodeError(
            f"Forward Close: {len(buf)} bytes, need 12", status=Status.NOT_ENOUGH_DATA
        )
    priority_tick, timeout_ticks, serial, vendor, originator = _FC.unpack_from(buf, 0)
    path, pos = decode_route_path(buf, _FC.size)
    if pos != len(buf):
        raise DecodeError(
            f"Forward Close: {len(buf) - pos} bytes after the path", status=Status.TOO_MUCH_DATA
        )
    return ForwardClose(priority_tick, timeout_ticks, serial, vendor, originator, path)


class ForwardCloseReply(NamedTuple):
    """Data of a successful Forward Close reply."""

    connection_serial: int
    vendor_id: int
    originator_serial: int
    application_reply: bytes = b""


def encode_forward_close_reply(r: ForwardCloseReply) -> bytes:
    """Encode Forward Close reply data (serial, vendor, originator, reply words, 0, reply)."""
    app = bytes(r.application_reply)
    if len(app) % 2 or len(app) > 510:
        raise EncodeError(f"application reply of {len(app)} bytes is not a whole number of words")
    try:
        return (
            _TRIAD.pack(r.connection_serial, r.vendor_id, r.originator_serial, len(app) // 2, 0)
            + app
        )
    except struct.error as exc:
        raise EncodeError(f"Forward Close reply: {exc}") from None


def decode_forward_close_reply(buf: bytes | bytearray | memoryview) -> ForwardCloseReply:
    """Decode successful Forward Close reply data."""
    if len(buf) < _TRIAD.size:
        raise DecodeError(
            f"Forward Close reply: {len(buf)} bytes, need 10", status=Status.NOT_ENOUGH_DATA
        )
    serial, vendor, originator, words, _ = _TRIAD.unpack_from(buf, 0)
    stop = _TRIAD.size + 2 * words
    if stop != len(buf):
        raise DecodeError(
            f"Forward Close reply: application reply of {words} words in {len(buf)} bytes"
        )
    return ForwardCloseReply(serial, vendor, originator, bytes(buf[_TRIAD.size : stop]))
