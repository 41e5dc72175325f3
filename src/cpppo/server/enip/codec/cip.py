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

Re-exported from ``attributes``: the Get/Set Attribute List payloads (attribute ids,
AttributeResult, encode_/decode_attribute_list_reply, encode_/decode_set_attribute_list[_reply]).
From ``connection``: UnconnectedSend, encode/decode_unconnected_send, ForwardOpen,
ForwardOpenReply, ForwardClose, ForwardCloseReply, ConnectionFailure, ConnectionParameters and
their encode_/decode_ functions. From ``tags``: TypeRef, encode/decode_type, the Read/Write Tag
[Fragmented] and Read-Modify-Write payloads, TypedData, Symbol records and type words, Template
attributes, reads and definitions. See those modules' docstrings.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from enum import IntEnum
from types import MappingProxyType
from typing import NamedTuple

from . import attributes, connection, tags
from .attributes import *  # noqa: F403
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
    "ExtStatus",
    "Reply",
    "Request",
    "Service",
    "Status",
    "decode_multiple",
    "decode_reply",
    "decode_request",
    "encode_multiple",
    "encode_reply",
    "encode_request",
    "split_request",
    "status_text",
    *attributes.__all__,
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
