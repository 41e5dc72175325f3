"""Get/Set Attribute List payloads: attribute ids, and the per-attribute results of the replies.

Public API (re-exported by ``codec.cip``):
    encode_attribute_ids(ids) -> bytes / decode_attribute_ids(buf) -> list[int]
                        UINT n + UINT ids: Get Attribute List 0x03 and 0x55 request data.
    AttributeResult(id, status, value)
    encode_attribute_list_reply(results) -> bytes    UINT n, then UINT id, UINT status, value.
    decode_attribute_list_reply(buf, sizes) -> list[AttributeResult]
                        ``sizes`` maps attribute id -> value size in bytes; an id missing from it
                        is allowed only last (it takes the rest).
    encode_set_attribute_list(items) / decode_set_attribute_list(buf, sizes)
    encode_set_attribute_list_reply(results) / decode_set_attribute_list_reply(buf)
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from .errors import DecodeError, EncodeError
from .status import Status

__all__ = [
    "AttributeResult",
    "decode_attribute_ids",
    "decode_attribute_list_reply",
    "decode_set_attribute_list",
    "decode_set_attribute_list_reply",
    "encode_attribute_ids",
    "encode_attribute_list_reply",
    "encode_set_attribute_list",
    "encode_set_attribute_list_reply",
]

_U16 = struct.Struct("<H")
_U16x2 = struct.Struct("<HH")


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
    parts: list[bytes | memoryview] = []
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
