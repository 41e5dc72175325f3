"""CIP message router requests and replies, status codes, and the service payloads built on them.

Public API (this module; Forward Open/Close and Unconnected Send come from ``connection.py``, the
Logix tag, Symbol and Template payloads from ``tags.py``, and are re-exported here):
    Service (IntEnum)   service codes. 0x4E and 0x52 mean different things on the Connection
                        Manager and on a tag: FORWARD_CLOSE is READ_MODIFY_WRITE (0x4E),
                        UNCONNECTED_SEND is READ_TAG_FRAGMENTED (0x52) -- route on service AND path.
    Status (IntEnum)    general status codes (SUCCESS 0x00 ... GENERAL_ERROR 0xFF);
    ExtStatus (IntEnum) extended status words used here (0x2105, 0x2107, Connection Manager ...).
    status_text(status, ext_status=()) -> str
    REPLY_BIT = 0x80
    MESSAGE_ROUTER_PATH, CONNECTION_MANAGER_PATH     [{'class': 2}, {'instance': 1}], [{6}, {1}]
    MESSAGE_ROUTER_EPATH, CONNECTION_MANAGER_EPATH   the same pre-encoded (padded EPATH bytes).
    Request(service, path, data)                     NamedTuple; path list[dict] (or raw bytes).
    encode_request(service, path, data=b'') -> bytes path: list[dict] or padded EPATH bytes.
    decode_request(buf) -> Request                   path decoded to dicts, data a memoryview.
    split_request(buf) -> (service, path memoryview, data memoryview)   no path decoding.
    Reply(service, status=0, ext_status=(), data=b'')
                        NamedTuple; ``service`` is the REQUEST's code (no 0x80 bit).
    encode_reply(service, status=0, ext_status=(), data=b'') -> bytes   sets the 0x80 bit.
    decode_reply(buf) -> Reply                       requires the 0x80 bit; clears it.
    encode_multiple(messages) -> bytes / decode_multiple(buf) -> list[memoryview]
                        Multiple Service Packet body (UINT n, UINT offsets[n], messages); the
                        same shape carries the requests and the replies.
    encode_attribute_ids(ids) -> bytes / decode_attribute_ids(buf) -> list[int]
                        UINT n + UINT ids: Get Attribute List 0x03 and 0x55 request data.
    AttributeResult(id, status, value)
    encode_attribute_list_reply(results) -> bytes    UINT n, then UINT id, UINT status, value.
    decode_attribute_list_reply(buf, sizes) -> list[AttributeResult]
                        ``sizes`` maps attribute id -> value size in bytes; an id missing from it
                        is allowed only last (it takes the rest).
    encode_set_attribute_list(items) / decode_set_attribute_list(buf, sizes)
    encode_set_attribute_list_reply(results) / decode_set_attribute_list_reply(buf)

Re-exported from ``connection``: UnconnectedSend, encode/decode_unconnected_send, ForwardOpen,
ForwardOpenReply, ForwardClose, ForwardCloseReply, ConnectionFailure, ConnectionParameters and
their encode_/decode_ functions. From ``tags``: TypeRef, encode/decode_type, the Read/Write Tag
[Fragmented] and Read-Modify-Write payloads, TypedData, Symbol records and type words, Template
attributes, reads and definitions. See those modules' docstrings.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum
from types import MappingProxyType
from typing import NamedTuple

from . import connection, tags
from .connection import *  # noqa: F403
from .epath import decode_epath, encode_epath
from .errors import DecodeError, EncodeError
from .status import ExtStatus, Status, status_text
from .tags import *  # noqa: F403

__all__ = [
    "CONNECTION_MANAGER_EPATH",
    "CONNECTION_MANAGER_PATH",
    "MESSAGE_ROUTER_EPATH",
    "MESSAGE_ROUTER_PATH",
    "REPLY_BIT",
    "AttributeResult",
    "ExtStatus",
    "Reply",
    "Request",
    "Service",
    "Status",
    "decode_attribute_ids",
    "decode_attribute_list_reply",
    "decode_multiple",
    "decode_reply",
    "decode_request",
    "decode_set_attribute_list",
    "decode_set_attribute_list_reply",
    "encode_attribute_ids",
    "encode_attribute_list_reply",
    "encode_multiple",
    "encode_reply",
    "encode_request",
    "encode_set_attribute_list",
    "encode_set_attribute_list_reply",
    "split_request",
    "status_text",
    *connection.__all__,
    *tags.__all__,
]

REPLY_BIT = 0x80


class Service(IntEnum):
    """CIP service codes (common services, Logix tag services, Connection Manager services)."""

    GET_ATTRIBUTES_ALL = 0x01
    SET_ATTRIBUTES_ALL = 0x02
    GET_ATTRIBUTE_LIST = 0x03
    SET_ATTRIBUTE_LIST = 0x04
    RESET = 0x05
    MULTIPLE_SERVICE_PACKET = 0x0A
    GET_ATTRIBUTE_SINGLE = 0x0E
    SET_ATTRIBUTE_SINGLE = 0x10
    READ_TAG = 0x4C
    WRITE_TAG = 0x4D
    READ_MODIFY_WRITE = 0x4E
    FORWARD_CLOSE = 0x4E  # on the Connection Manager (an alias of READ_MODIFY_WRITE)
    READ_TAG_FRAGMENTED = 0x52
    UNCONNECTED_SEND = 0x52  # on the Connection Manager (an alias of READ_TAG_FRAGMENTED)
    WRITE_TAG_FRAGMENTED = 0x53
    FORWARD_OPEN = 0x54
    GET_INSTANCE_ATTRIBUTE_LIST = 0x55
    LARGE_FORWARD_OPEN = 0x5B


# Read-only segments (copy them to extend a path: [dict(s) for s in MESSAGE_ROUTER_PATH]).
MESSAGE_ROUTER_PATH: tuple[Mapping[str, int], ...] = (
    MappingProxyType({"class": 0x02}),
    MappingProxyType({"instance": 1}),
)
CONNECTION_MANAGER_PATH: tuple[Mapping[str, int], ...] = (
    MappingProxyType({"class": 0x06}),
    MappingProxyType({"instance": 1}),
)
MESSAGE_ROUTER_EPATH = encode_epath([dict(s) for s in MESSAGE_ROUTER_PATH])
CONNECTION_MANAGER_EPATH = encode_epath([dict(s) for s in CONNECTION_MANAGER_PATH])

_U16 = struct.Struct("<H")
_U16x2 = struct.Struct("<HH")
_REPLY_HEAD = struct.Struct("<BBBB")
_new = tuple.__new__


class Request(NamedTuple):
    """A CIP request: service code, path segments and service data."""

    service: int
    path: list[dict] | bytes | memoryview
    data: bytes | memoryview = b""


class Reply(NamedTuple):
    """A CIP reply: the request's service code, general status, extended status words, data."""

    service: int
    status: int = 0
    ext_status: tuple[int, ...] = ()
    data: bytes | memoryview = b""


def encode_request(
    service: int,
    path: Sequence[dict] | bytes | bytearray | memoryview,
    data: bytes | bytearray | memoryview = b"",
) -> bytes:
    """Encode service, path size (words), padded path and data.

    ``path`` may be pre-encoded padded EPATH bytes (an even number of bytes).
    """
    if not isinstance(path, (bytes, bytearray, memoryview)):
        path = encode_epath(path)
    n = len(path)
    if n % 2 or n > 510 or not 0 <= service <= 0x7F:
        raise EncodeError(f"CIP request: service 0x{service:02X} / path of {n} bytes not encodable")
    return bytes((service, n >> 1)) + path + data


def split_request(buf: bytes | bytearray | memoryview) -> tuple[int, memoryview, memoryview]:
    """(service, raw padded path, data) of a request, without decoding the path."""
    mv = memoryview(buf)
    if len(mv) < 2:
        raise DecodeError(f"CIP request: {len(mv)} bytes, need 2", status=Status.NOT_ENOUGH_DATA)
    stop = 2 + 2 * mv[1]
    if stop > len(mv):
        raise DecodeError(
            f"CIP request: path of {mv[1]} words runs past {len(mv)} bytes",
            status=Status.PATH_SEGMENT_ERROR,
        )
    return mv[0], mv[2:stop], mv[stop:]


def decode_request(buf: bytes | bytearray | memoryview) -> Request:
    """Decode a request; the path becomes segment dicts, the data a memoryview."""
    service, path, data = split_request(buf)
    return _new(Request, (service, decode_epath(path), data))


def encode_reply(
    service: int,
    status: int = 0,
    ext_status: Sequence[int] = (),
    data: bytes | bytearray | memoryview = b"",
) -> bytes:
    """Encode a reply to ``service``: service|0x80, 0, status, ext size, ext words, data."""
    try:
        head = _REPLY_HEAD.pack(service | REPLY_BIT, 0, status, len(ext_status))
        if ext_status:
            head += struct.pack(f"<{len(ext_status)}H", *ext_status)
    except struct.error as exc:
        raise EncodeError(f"CIP reply: {exc}") from None
    return head + data


def decode_reply(buf: bytes | bytearray | memoryview) -> Reply:
    """Decode a reply; ``Reply.service`` is the request's code (the 0x80 bit cleared)."""
    mv = memoryview(buf)
    if len(mv) < 4:
        raise DecodeError(f"CIP reply: {len(mv)} bytes, need 4", status=Status.NOT_ENOUGH_DATA)
    service, _, status, words = _REPLY_HEAD.unpack_from(mv, 0)
    if not service & REPLY_BIT:
        raise DecodeError(f"CIP reply: service 0x{service:02X} lacks the reply bit")
    stop = 4 + 2 * words
    if stop > len(mv):
        raise DecodeError(
            f"CIP reply: {words} extended status words run past {len(mv)} bytes",
            status=Status.NOT_ENOUGH_DATA,
        )
    ext = struct.unpack_from(f"<{words}H", mv, 4) if words else ()
    return _new(Reply, (service & 0x7F, status, ext, mv[stop:]))


def encode_multiple(messages: Sequence[bytes | bytearray | memoryview]) -> bytes:
    """Multiple Service Packet body: UINT n, UINT offsets[n] (from the start of n), messages."""
    n = len(messages)
    offset = 2 + 2 * n
    offsets = []
    for message in messages:
        offsets.append(offset)
        offset += len(message)
    if offset > 0xFFFF:
        raise EncodeError(f"Multiple Service Packet of {offset} bytes exceeds 65535")
    return struct.pack(f"<{n + 1}H", n, *offsets) + b"".join(messages)


def decode_multiple(buf: bytes | bytearray | memoryview) -> list[memoryview]:
    """Split a Multiple Service Packet body into its messages (requests or replies)."""
    mv = memoryview(buf)
    end = len(mv)
    if end < 2:
        raise DecodeError("Multiple Service Packet: no count", status=Status.NOT_ENOUGH_DATA)
    (n,) = _U16.unpack_from(mv, 0)
    table = 2 + 2 * n
    if table > end:
        raise DecodeError(
            f"Multiple Service Packet: {n} offsets run past {end} bytes",
            status=Status.NOT_ENOUGH_DATA,
        )
    offsets = struct.unpack_from(f"<{n}H", mv, 2)
    bounds = (*offsets, end)
    out = []
    previous = table
    for i in range(n):
        start, stop = bounds[i], bounds[i + 1]
        if start < previous or stop < start or stop > end:
            raise DecodeError(
                f"Multiple Service Packet: offset {start} of message {i} is out of order",
                status=Status.INVALID_PARAMETER,
            )
        out.append(mv[start:stop])
        previous = start
    return out


def encode_attribute_ids(ids: Sequence[int]) -> bytes:
    """UINT count + UINT attribute ids (Get Attribute List / Get Instance Attribute List data)."""
    try:
        return struct.pack(f"<{len(ids) + 1}H", len(ids), *ids)
    except struct.error as exc:
        raise EncodeError(f"attribute list {ids!r}: {exc}") from None


def decode_attribute_ids(buf: bytes | bytearray | memoryview) -> list[int]:
    """Decode UINT count + UINT ids; trailing bytes are an error (0x15)."""
    if len(buf) < 2:
        raise DecodeError("attribute list: no count", status=Status.NOT_ENOUGH_DATA)
    (n,) = _U16.unpack_from(buf, 0)
    need = 2 + 2 * n
    if need > len(buf):
        raise DecodeError(
            f"attribute list: {n} ids need {need} bytes, have {len(buf)}",
            status=Status.NOT_ENOUGH_DATA,
        )
    if need < len(buf):
        raise DecodeError(
            f"attribute list: {len(buf) - need} bytes after {n} ids", status=Status.TOO_MUCH_DATA
        )
    return list(struct.unpack_from(f"<{n}H", buf, 2))


class AttributeResult(NamedTuple):
    """One entry of a Get/Set Attribute List reply."""

    id: int
    status: int = 0
    value: bytes | memoryview = b""


def encode_attribute_list_reply(results: Iterable[AttributeResult | tuple]) -> bytes:
    """Get Attribute List reply data: UINT n, then per attribute UINT id, UINT status, value.

    A value is sent only with status 0.
    """
    parts = []
    n = 0
    for attr_id, status, *value in results:
        parts.append(_U16x2.pack(attr_id, status))
        if value and status == Status.SUCCESS:
            parts.append(value[0])
        n += 1
    return _U16.pack(n) + b"".join(parts)


def decode_attribute_list_reply(
    buf: bytes | bytearray | memoryview, sizes: Mapping[int, int]
) -> list[AttributeResult]:
    """Decode a Get Attribute List reply, using ``sizes`` (id -> bytes) to split the values."""
    mv = memoryview(buf)
    end = len(mv)
    if end < 2:
        raise DecodeError("attribute list reply: no count", status=Status.NOT_ENOUGH_DATA)
    (n,) = _U16.unpack_from(mv, 0)
    if 4 * n > end - 2:
        raise DecodeError(f"attribute list reply: {n} entries cannot fit in {end} bytes")
    pos = 2
    out = []
    for i in range(n):
        if pos + 4 > end:
            raise DecodeError(f"attribute list reply: entry {i} runs past {end} bytes")
        attr_id, status = _U16x2.unpack_from(mv, pos)
        pos += 4
        value = mv[pos:pos]
        if status == Status.SUCCESS:
            size = sizes.get(attr_id)
            if size is None:
                if i != n - 1:
                    raise DecodeError(f"attribute list reply: size of attribute {attr_id} unknown")
                size = end - pos
            if pos + size > end:
                raise DecodeError(f"attribute list reply: attribute {attr_id} runs past {end}")
            value = mv[pos : pos + size]
            pos += size
        out.append(AttributeResult(attr_id, status, value))
    if pos != end:
        raise DecodeError(f"attribute list reply: {end - pos} bytes after {n} entries")
    return out


def encode_set_attribute_list(items: Iterable[tuple[int, bytes]]) -> bytes:
    """Set Attribute List request data: UINT n, then per attribute UINT id + value."""
    parts = []
    n = 0
    for attr_id, value in items:
        parts.append(_U16.pack(attr_id))
        parts.append(value)
        n += 1
    return _U16.pack(n) + b"".join(parts)


def decode_set_attribute_list(
    buf: bytes | bytearray | memoryview, sizes: Mapping[int, int]
) -> list[tuple[int, memoryview]]:
    """Decode Set Attribute List request data; an id missing from ``sizes`` may only come last."""
    mv = memoryview(buf)
    end = len(mv)
    if end < 2:
        raise DecodeError("set attribute list: no count", status=Status.NOT_ENOUGH_DATA)
    (n,) = _U16.unpack_from(mv, 0)
    if 2 * n > end - 2:
        raise DecodeError(
            f"set attribute list: {n} entries cannot fit", status=Status.NOT_ENOUGH_DATA
        )
    pos = 2
    out = []
    for i in range(n):
        if pos + 2 > end:
            raise DecodeError("set attribute list: truncated", status=Status.NOT_ENOUGH_DATA)
        (attr_id,) = _U16.unpack_from(mv, pos)
        pos += 2
        size = sizes.get(attr_id)
        if size is None:
            if i != n - 1:
                raise DecodeError(
                    f"set attribute list: attribute {attr_id} unknown",
                    status=Status.ATTRIBUTE_NOT_SUPPORTED,
                )
            size = end - pos
        if pos + size > end:
            raise DecodeError(
                f"set attribute list: attribute {attr_id} runs past {end}",
                status=Status.NOT_ENOUGH_DATA,
            )
        out.append((attr_id, mv[pos : pos + size]))
        pos += size
    if pos != end:
        raise DecodeError(
            f"set attribute list: {end - pos} bytes after {n} entries", status=Status.TOO_MUCH_DATA
        )
    return out


def encode_set_attribute_list_reply(results: Iterable[tuple[int, int]]) -> bytes:
    """Set Attribute List reply data: UINT n, then UINT id, UINT status per attribute."""
    results = list(results)
    flat = [v for pair in results for v in pair]
    return struct.pack(f"<{len(flat) + 1}H", len(results), *flat)


def decode_set_attribute_list_reply(buf: bytes | bytearray | memoryview) -> list[tuple[int, int]]:
    """Decode Set Attribute List reply data into (id, status) pairs."""
    if len(buf) < 2:
        raise DecodeError("set attribute list reply: no count")
    (n,) = _U16.unpack_from(buf, 0)
    if 2 + 4 * n != len(buf):
        raise DecodeError(f"set attribute list reply: {n} entries in {len(buf)} bytes")
    flat = struct.unpack_from(f"<{2 * n}H", buf, 2)
    return list(zip(flat[0::2], flat[1::2]))
