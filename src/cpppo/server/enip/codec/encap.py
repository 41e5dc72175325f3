"""EtherNet/IP encapsulation: the 24-byte header, commands, stream framing and command payloads.

Public API:
    Command (IntEnum)       NOP 0x00, LIST_SERVICES 0x04, LIST_IDENTITY 0x63, LIST_INTERFACES 0x64,
                            REGISTER_SESSION 0x65, UNREGISTER_SESSION 0x66, SEND_RR_DATA 0x6F,
                            SEND_UNIT_DATA 0x70, INDICATE_STATUS 0x72, CANCEL 0x73.
    ENIP_PORT = 44818       the registered EtherNet/IP port, TCP and UDP (the one definition).
    EncapStatus (IntEnum)   SUCCESS 0, INVALID_COMMAND 0x01, NO_MEMORY 0x02, INCORRECT_DATA 0x03,
                            INVALID_SESSION 0x64, INVALID_LENGTH 0x65, UNSUPPORTED_PROTOCOL 0x69
                            (defined in ``status.py`` with the CIP status codes).
    HEADER                  struct.Struct('<HHII8sI'); HEADER_SIZE = 24.
    EncapHeader(command, length, session, status, context, options)   NamedTuple.
    encode_encap(command, payload, session=0, status=0, context=bytes(8), options=0) -> bytes
    decode_header(buf) -> EncapHeader                  the first 24 bytes of ``buf``.
    decode_encap(buf) -> (EncapHeader, memoryview)     exactly one whole message.
    EncapFramer(max_length=65535)                      stream framer:
        .feed(data) -> list[(EncapHeader, memoryview payload)]; a header announcing more than
        ``max_length`` payload bytes raises DecodeError(encap_status=0x65, header=...) whose
        ``.frames`` holds the whole messages framed before it (the stream cannot be resynchronised
        after that: answer and close it). ``.buffered`` = bytes held.
    RegisterSession(version=1, options=0)              NamedTuple;
    encode_register_session(version=1, options=0) -> bytes / decode_register_session(buf)
    SendData(interface, timeout, items)                NamedTuple (items: list[CpfItem]);
    encode_send_data(items, interface=0, timeout=0) -> bytes / decode_send_data(buf) -> SendData
    encode_rr_data(cip, timeout=0) -> bytes            SendRRData payload: NULL + 0xB2(cip).
    decode_rr_data(buf) -> memoryview                  the 0xB2 item of a SendRRData payload.
    encode_unit_data(connection_id, sequence, cip, timeout=0) -> bytes
                                    SendUnitData payload: 0xA1(id) + 0xB1(UINT sequence + cip).
    decode_unit_data(buf) -> (connection_id, sequence, memoryview cip)
    encode_rr_message(cip, session, context=bytes(8), status=0, timeout=0) -> bytes
    encode_unit_message(cip, session, connection_id, sequence, context=bytes(8), status=0) -> bytes
                                                       whole messages (header + payload), hot path.
    decode_unit_frame(data, max_length) -> (session, context, conn id, sequence) | None
                                    a whole common SendUnitData request in one unpack (the
                                    server's fast path; its CIP at UNIT_FRAME_SIZE).

Decoding errors raise :class:`DecodeError` with ``encap_status`` set.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from enum import IntEnum
from typing import NamedTuple

from .cpf import (
    CONNECTED_ADDRESS,
    CONNECTED_DATA,
    ENIP_PORT,
    NULL,
    UNCONNECTED_DATA,
    CpfItem,
    decode_cpf,
    encode_cpf,
)
from .errors import DecodeError, EncodeError
from .status import EncapStatus

__all__ = [
    "ENIP_PORT",
    "HEADER",
    "HEADER_SIZE",
    "UNIT_FRAME_SIZE",
    "Command",
    "EncapFramer",
    "EncapHeader",
    "EncapStatus",
    "RegisterSession",
    "SendData",
    "decode_encap",
    "decode_header",
    "decode_register_session",
    "decode_rr_data",
    "decode_send_data",
    "decode_unit_data",
    "decode_unit_frame",
    "encode_encap",
    "encode_register_session",
    "encode_rr_data",
    "encode_rr_message",
    "encode_send_data",
    "encode_unit_data",
    "encode_unit_message",
]


class Command(IntEnum):
    """Encapsulation commands."""

    NOP = 0x0000
    LIST_SERVICES = 0x0004
    LIST_IDENTITY = 0x0063
    LIST_INTERFACES = 0x0064
    REGISTER_SESSION = 0x0065
    UNREGISTER_SESSION = 0x0066
    SEND_RR_DATA = 0x006F
    SEND_UNIT_DATA = 0x0070
    INDICATE_STATUS = 0x0072
    CANCEL = 0x0073


HEADER = struct.Struct("<HHII8sI")
HEADER_SIZE = HEADER.size
_ZERO_CONTEXT = bytes(8)
_SEND_UNIT_DATA = int(Command.SEND_UNIT_DATA)  # a plain int, for the hot path
_new = tuple.__new__  # builds a NamedTuple from a struct's tuple without the keyword machinery


class EncapHeader(NamedTuple):
    """The 24-byte encapsulation header."""

    command: int
    length: int
    session: int = 0
    status: int = 0
    context: bytes = _ZERO_CONTEXT
    options: int = 0


def encode_encap(
    command: int,
    payload: bytes | bytearray | memoryview = b"",
    session: int = 0,
    status: int = 0,
    context: bytes = _ZERO_CONTEXT,
    options: int = 0,
) -> bytes:
    """Encode a whole message: header (length = len(payload)) + payload.

    ``context`` may be shorter than 8 bytes (it is NUL-padded), never longer.
    """
    if len(context) > 8:
        raise EncodeError(f"sender context of {len(context)} bytes exceeds 8")
    try:
        return HEADER.pack(command, len(payload), session, status, context, options) + payload
    except struct.error as exc:
        raise EncodeError(f"encapsulation header: {exc}") from None


def decode_header(buf: bytes | bytearray | memoryview) -> EncapHeader:
    """Decode the header at the start of ``buf`` (which needs at least 24 bytes)."""
    if len(buf) < HEADER_SIZE:
        raise DecodeError(
            f"encapsulation header: {len(buf)} bytes, need 24",
            encap_status=EncapStatus.INVALID_LENGTH,
        )
    return _new(EncapHeader, HEADER.unpack_from(buf, 0))


def decode_encap(buf: bytes | bytearray | memoryview) -> tuple[EncapHeader, memoryview]:
    """Decode exactly one whole message (a UDP datagram, say): header and payload."""
    header = decode_header(buf)
    if HEADER_SIZE + header.length != len(buf):
        raise DecodeError(
            f"encapsulation length {header.length} does not match {len(buf) - 24} payload bytes",
            encap_status=EncapStatus.INVALID_LENGTH,
            header=header,
        )
    return header, memoryview(buf)[HEADER_SIZE:]


class EncapFramer:
    """Split a TCP byte stream into encapsulation messages.

    Buffers at most one incomplete message (bounded by ``max_length`` + 24 plus one chunk of input).
    Payload memoryviews refer to immutable bytes, so they stay valid after later ``feed`` calls.
    Chunks of an incomplete message are kept apart and joined once, when the bytes the framer waits
    for (a header, then the whole message) have all arrived: a message dripped in small pieces
    costs linear, not quadratic, copying.
    """

    __slots__ = ("_buffered", "_chunks", "_need", "max_length")

    def __init__(self, max_length: int = 0xFFFF) -> None:
        self.max_length = max_length
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._need = HEADER_SIZE  # bytes that must be buffered before parsing can progress

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a message."""
        return self._buffered

    def feed(self, data: bytes | bytearray | memoryview) -> list[tuple[EncapHeader, memoryview]]:
        """Add received bytes; return the messages now complete, in order."""
        chunks = self._chunks
        if not chunks and type(data) is bytes and len(data) >= HEADER_SIZE:
            # The common case, one whole message in one read with nothing held back, in one
            # unpack; anything else (several, partial or too long messages) takes the loop below.
            header = _new(EncapHeader, HEADER.unpack_from(data, 0))
            length = header.length
            if HEADER_SIZE + length == len(data) and length <= self.max_length:
                return [(header, memoryview(data)[HEADER_SIZE:])]
        if chunks:
            total = self._buffered + len(data)
            if total < self._need:
                self._chunks.append(bytes(data))
                self._buffered = total
                return []
            self._chunks.append(bytes(data))
            buf = b"".join(self._chunks)
            self._chunks = []
            self._buffered = 0
        elif isinstance(data, bytes):
            buf = data
        else:
            buf = bytes(data)
        mv = memoryview(buf)
        end = len(buf)
        pos = 0
        frames: list[tuple[EncapHeader, memoryview]] = []
        unpack = HEADER.unpack_from
        limit = self.max_length
        while end - pos >= HEADER_SIZE:
            header = _new(EncapHeader, unpack(buf, pos))
            if header.length > limit:
                self._need = HEADER_SIZE
                err = DecodeError(
                    f"encapsulation length {header.length} exceeds {limit}",
                    encap_status=EncapStatus.INVALID_LENGTH,
                    header=header,
                )
                err.frames = frames
                raise err
            stop = pos + HEADER_SIZE + header.length
            if stop > end:
                self._need = stop - pos
                break
            frames.append((header, mv[pos + HEADER_SIZE : stop]))
            pos = stop
        else:
            self._need = HEADER_SIZE
        if pos < end:
            self._chunks.append(buf[pos:])
            self._buffered = end - pos
        return frames


class RegisterSession(NamedTuple):
    """RegisterSession payload: protocol version and options."""

    version: int = 1
    options: int = 0


_REGISTER = struct.Struct("<HH")


def encode_register_session(version: int = 1, options: int = 0) -> bytes:
    """Encode the RegisterSession payload (request and reply are the same shape)."""
    return _REGISTER.pack(version, options)


def decode_register_session(buf: bytes | bytearray | memoryview) -> RegisterSession:
    """Decode a RegisterSession payload (exactly 4 bytes)."""
    if len(buf) != 4:
        raise DecodeError(
            f"RegisterSession: {len(buf)} bytes, need 4", encap_status=EncapStatus.INVALID_LENGTH
        )
    return _new(RegisterSession, _REGISTER.unpack_from(buf, 0))


class SendData(NamedTuple):
    """SendRRData / SendUnitData payload: interface handle, timeout and CPF items."""

    interface: int
    timeout: int
    items: list[CpfItem]


_SEND = struct.Struct("<IH")
_RR_HEAD = struct.Struct("<IHHHHHH")  # iface, timeout, count=2, NULL, 0, 0xB2, length
_UNIT_HEAD = struct.Struct("<IHHHHIHHH")  # iface, timeout, 2, 0xA1, 4, conn id, 0xB1, len, seq
#: The common SendUnitData payload (2 items: 0xA1 of 4 bytes, then 0xB1) in one unpack.
_UNIT_REQUEST = struct.Struct("<6x6sIHHH")  # (count, 0xA1, 4), conn id, 0xB1, length, seq
_UNIT_ITEMS = _UNIT_HEAD.pack(0, 0, 2, CONNECTED_ADDRESS, 4, 0, 0, 0, 0)[6:12]
#: A whole SendUnitData message before its CIP, in one pack: the header (options 0), then the
#: fixed bytes (interface 0, timeout 0, 2 items, 0xA1 of 4 bytes), conn id, 0xB1, length, seq.
_UNIT_MESSAGE = struct.Struct("<HHII8s16sIHHH")
_UNIT_FIXED = bytes(4) + _UNIT_HEAD.pack(0, 0, 2, CONNECTED_ADDRESS, 4, 0, 0, 0, 0)[:12]
_UNIT_FRAME = struct.Struct("<HHII8sI6x6sIHHH")  # header, then as _UNIT_REQUEST
#: Bytes of a whole common SendUnitData request before its CIP (see :func:`decode_unit_frame`).
UNIT_FRAME_SIZE = _UNIT_FRAME.size


def decode_unit_frame(data: bytes, max_length: int = 0xFFFF) -> tuple[int, bytes, int, int] | None:
    """(session, sender context, connection id, sequence count) of ``data`` when it is exactly
    one whole SendUnitData request of the common shape (status 0; 2 items: 0xA1 of 4 bytes, then
    0xB1 holding the sequence count and the CIP, which starts at :data:`UNIT_FRAME_SIZE`), in
    one unpack; None for anything else (which the framer and :func:`decode_unit_data` take)."""
    if len(data) < UNIT_FRAME_SIZE:
        return None
    command, length, session, status, context, _, items, cid, item, size, sequence = (
        _UNIT_FRAME.unpack_from(data)
    )
    if (
        command != _SEND_UNIT_DATA
        or length + HEADER_SIZE != len(data)
        or size + 20 != length
        or item != CONNECTED_DATA
        or items != _UNIT_ITEMS
        or status
        or length > max_length
    ):
        return None
    return session, context, cid, sequence


def encode_send_data(
    items: Iterable[CpfItem | tuple[int, bytes]], interface: int = 0, timeout: int = 0
) -> bytes:
    """Encode a SendRRData/SendUnitData payload from any CPF items."""
    try:
        head = _SEND.pack(interface, timeout)
    except struct.error as exc:
        raise EncodeError(f"send data: {exc}") from None
    return head + encode_cpf(items)


def decode_send_data(buf: bytes | bytearray | memoryview) -> SendData:
    """Decode a SendRRData/SendUnitData payload into its CPF items."""
    if len(buf) < 6:
        raise DecodeError(
            f"send data: {len(buf)} bytes, need at least 6",
            encap_status=EncapStatus.INCORRECT_DATA,
        )
    interface, timeout = _SEND.unpack_from(buf, 0)
    return SendData(interface, timeout, decode_cpf(memoryview(buf)[6:]))


def encode_rr_data(cip: bytes | bytearray | memoryview, timeout: int = 0) -> bytes:
    """SendRRData payload carrying one unconnected CIP message (NULL address + 0xB2 data item)."""
    if len(cip) > 0xFFFF - 16:
        raise EncodeError(f"CIP message of {len(cip)} bytes is too long")
    try:
        return _RR_HEAD.pack(0, timeout, 2, NULL, 0, UNCONNECTED_DATA, len(cip)) + cip
    except struct.error as exc:
        raise EncodeError(f"SendRRData payload: {exc}") from None


def decode_rr_data(buf: bytes | bytearray | memoryview) -> memoryview:
    """The CIP message (0xB2 item) of a SendRRData payload; other address items are allowed."""
    mv = memoryview(buf)
    if len(mv) >= 16:
        _, _, count, t0, l0, t1, l1 = _RR_HEAD.unpack_from(mv, 0)
        if count == 2 and t0 == NULL and l0 == 0 and t1 == UNCONNECTED_DATA and 16 + l1 == len(mv):
            return mv[16:]
    for item in decode_send_data(mv).items:
        if item.type_id == UNCONNECTED_DATA:
            return memoryview(item.data)
    raise DecodeError(
        "SendRRData without an unconnected data item", encap_status=EncapStatus.INCORRECT_DATA
    )


def encode_unit_data(
    connection_id: int, sequence: int, cip: bytes | bytearray | memoryview, timeout: int = 0
) -> bytes:
    """SendUnitData payload: connected address (0xA1) + connected data (0xB1: UINT seq + CIP)."""
    if len(cip) > 0xFFFF - 24:
        raise EncodeError(f"CIP message of {len(cip)} bytes is too long")
    try:
        head = _UNIT_HEAD.pack(
            0,
            timeout,
            2,
            CONNECTED_ADDRESS,
            4,
            connection_id,
            CONNECTED_DATA,
            len(cip) + 2,
            sequence,
        )
    except struct.error as exc:
        raise EncodeError(f"SendUnitData payload: {exc}") from None
    return head + cip


def decode_unit_data(buf: bytes | bytearray | memoryview) -> tuple[int, int, memoryview]:
    """(connection id, sequence count, CIP message) of a SendUnitData payload."""
    size = len(buf)
    if size >= 22:
        fixed, cid, t1, l1, seq = _UNIT_REQUEST.unpack_from(buf, 0)
        if fixed == _UNIT_ITEMS and t1 == CONNECTED_DATA and l1 >= 2 and 20 + l1 == size:
            return cid, seq, (buf if type(buf) is memoryview else memoryview(buf))[22:]
    mv = memoryview(buf)
    items = decode_send_data(mv).items
    cid = data = None
    for item in items:
        if item.type_id == CONNECTED_ADDRESS and len(item.data) == 4:
            (cid,) = struct.unpack_from("<I", item.data)
        elif item.type_id == CONNECTED_DATA and len(item.data) >= 2:
            data = memoryview(item.data)
    if cid is None or data is None:
        raise DecodeError(
            "SendUnitData needs a connected address and a connected data item",
            encap_status=EncapStatus.INCORRECT_DATA,
        )
    (seq,) = struct.unpack_from("<H", data)
    return cid, seq, data[2:]


def encode_rr_message(
    cip: bytes | bytearray | memoryview,
    session: int,
    context: bytes = _ZERO_CONTEXT,
    status: int = 0,
    timeout: int = 0,
) -> bytes:
    """A whole SendRRData message around one CIP message (one concatenation)."""
    if len(context) > 8:
        raise EncodeError(f"sender context of {len(context)} bytes exceeds 8")
    n = len(cip)
    try:
        return (
            HEADER.pack(Command.SEND_RR_DATA, n + 16, session, status, context, 0)
            + _RR_HEAD.pack(0, timeout, 2, NULL, 0, UNCONNECTED_DATA, n)
            + cip
        )
    except struct.error as exc:
        raise EncodeError(f"SendRRData message: {exc}") from None


def encode_unit_message(
    cip: bytes | bytearray | memoryview,
    session: int,
    connection_id: int,
    sequence: int,
    context: bytes = _ZERO_CONTEXT,
    status: int = 0,
) -> bytes:
    """A whole SendUnitData message around one connected CIP message."""
    if len(context) > 8:
        raise EncodeError(f"sender context of {len(context)} bytes exceeds 8")
    n = len(cip)
    try:
        head = _UNIT_MESSAGE.pack(
            _SEND_UNIT_DATA, n + 22, session, status, context, _UNIT_FIXED, connection_id,
            CONNECTED_DATA, n + 2, sequence,
        )  # fmt: skip
    except struct.error as exc:
        raise EncodeError(f"SendUnitData message: {exc}") from None
    return head + cip
