"""Common Packet Format (CPF): the item list inside SendRRData, SendUnitData and the List* replies.

Public API:
    Item type constants: NULL 0x0000, IDENTITY 0x000C, CONNECTED_ADDRESS 0x00A1,
        CONNECTED_DATA 0x00B1, UNCONNECTED_DATA 0x00B2, SERVICES 0x0100, SOCKADDR_O_T 0x8000,
        SOCKADDR_T_O 0x8001, SEQUENCED_ADDRESS 0x8002; the same as ``ItemType`` (IntEnum).
    CpfItem(type_id, data)                       NamedTuple; ``data`` bytes or memoryview.
    encode_cpf(items) -> bytes                   items: CpfItem or (type_id, data) pairs.
    decode_cpf(buf) -> list[CpfItem]             the whole of ``buf`` must be the item list.
    SockAddr(family, port, addr)                 NamedTuple; addr a dotted IPv4 string; port
                                                 ENIP_PORT (44818) by default.
    encode_sockaddr(sa) -> bytes / decode_sockaddr(buf, offset=0) -> SockAddr
                                                 16-byte sockaddr_in, big-endian (items 0x8000/1).
    IdentityItem                                 dataclass: version, sin_family, sin_port, sin_addr,
                                                 vendor_id, device_type, product_code,
                                                 product_revision (UINT: major | minor << 8),
                                                 status_word, serial_number, product_name, state.
    encode_identity(item) -> bytes / decode_identity(buf) -> IdentityItem
                                                 body of a ListIdentity item (type 0x000C).
    ServicesItem(version=1, capability=0x0120, service_name="Communications")
    encode_services(item) -> bytes / decode_services(buf) -> ServicesItem
                                                 body of a ListServices item (type 0x0100).

Malformed input raises :class:`DecodeError` with ``encap_status=0x0003`` (incorrect data).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from .errors import DecodeError, EncodeError
from .identity import (
    IdentityAttributes,
    decode_identity_prefix,
    encode_identity_attributes,
    revision_parts,
)
from .status import EncapStatus

__all__ = [
    "CONNECTED_ADDRESS",
    "CONNECTED_DATA",
    "IDENTITY",
    "NULL",
    "SEQUENCED_ADDRESS",
    "SERVICES",
    "SOCKADDR_O_T",
    "SOCKADDR_T_O",
    "UNCONNECTED_DATA",
    "CpfItem",
    "IdentityItem",
    "ItemType",
    "ServicesItem",
    "SockAddr",
    "decode_cpf",
    "decode_identity",
    "decode_services",
    "decode_sockaddr",
    "encode_cpf",
    "encode_identity",
    "encode_services",
    "encode_sockaddr",
]


class ItemType(IntEnum):
    """CPF item type ids."""

    NULL = 0x0000
    IDENTITY = 0x000C
    CONNECTED_ADDRESS = 0x00A1
    CONNECTED_DATA = 0x00B1
    UNCONNECTED_DATA = 0x00B2
    SERVICES = 0x0100
    SOCKADDR_O_T = 0x8000
    SOCKADDR_T_O = 0x8001
    SEQUENCED_ADDRESS = 0x8002


# Plain-int module constants for the hot paths; the values are defined once, in ItemType.
NULL = int(ItemType.NULL)
IDENTITY = int(ItemType.IDENTITY)
CONNECTED_ADDRESS = int(ItemType.CONNECTED_ADDRESS)
CONNECTED_DATA = int(ItemType.CONNECTED_DATA)
UNCONNECTED_DATA = int(ItemType.UNCONNECTED_DATA)
SERVICES = int(ItemType.SERVICES)
SOCKADDR_O_T = int(ItemType.SOCKADDR_O_T)
SOCKADDR_T_O = int(ItemType.SOCKADDR_T_O)
SEQUENCED_ADDRESS = int(ItemType.SEQUENCED_ADDRESS)

_COUNT = struct.Struct("<H")
_ITEM = struct.Struct("<HH")


class CpfItem(NamedTuple):
    """One CPF item: type id and its data."""

    type_id: int
    data: bytes | memoryview


def _bad(message: str) -> DecodeError:
    return DecodeError(message, encap_status=EncapStatus.INCORRECT_DATA)


def encode_cpf(items: Iterable[CpfItem | tuple[int, bytes]]) -> bytes:
    """Encode an item list: UINT count, then per item UINT type, UINT length, data."""
    items = list(items)
    parts: list[bytes | memoryview] = [_COUNT.pack(len(items))]
    for type_id, data in items:
        try:
            parts.append(_ITEM.pack(type_id, len(data)))
        except struct.error:
            raise EncodeError(f"CPF item {type_id!r} of {len(data)} bytes not encodable") from None
        parts.append(data)
    return b"".join(parts)


def decode_cpf(buf: bytes | bytearray | memoryview) -> list[CpfItem]:
    """Decode an item list; every byte of ``buf`` must belong to it."""
    mv = memoryview(buf)
    end = len(mv)
    if end < 2:
        raise _bad(f"CPF: {end} bytes, need an item count")
    (count,) = _COUNT.unpack_from(mv, 0)
    if count * 4 > end - 2:
        raise _bad(f"CPF: {count} items cannot fit in {end - 2} bytes")
    items = []
    pos = 2
    for _ in range(count):
        if pos + 4 > end:
            raise _bad(f"CPF: item header at {pos} runs past {end} bytes")
        type_id, length = _ITEM.unpack_from(mv, pos)
        pos += 4
        stop = pos + length
        if stop > end:
            raise _bad(f"CPF: item 0x{type_id:04X} of {length} bytes runs past {end} bytes")
        items.append(CpfItem(type_id, mv[pos:stop]))
        pos = stop
    if pos != end:
        raise _bad(f"CPF: {end - pos} bytes after the last of {count} items")
    return items


#: The registered EtherNet/IP port (TCP and UDP); exported by ``codec.encap``, defined here
#: because the sockaddr of CPF items (below the encapsulation) defaults to it.
ENIP_PORT = 44818


class SockAddr(NamedTuple):
    """A sockaddr_in as CPF items and ListIdentity carry it (big-endian on the wire)."""

    family: int = 2
    port: int = ENIP_PORT
    addr: str = "0.0.0.0"


_SOCKADDR = struct.Struct(">hH4s8x")


def encode_sockaddr(sa: SockAddr) -> bytes:
    """Encode a 16-byte sockaddr_in (family, port, IPv4 address, 8 zero bytes)."""
    try:
        return _SOCKADDR.pack(sa.family, sa.port, socket.inet_aton(sa.addr))
    except (OSError, struct.error) as exc:
        raise EncodeError(f"sockaddr {sa!r}: {exc}") from None


def decode_sockaddr(buf: bytes | bytearray | memoryview, offset: int = 0) -> SockAddr:
    """Decode a 16-byte sockaddr_in at ``offset``."""
    if offset + 16 > len(buf):
        raise _bad(f"sockaddr: need 16 bytes at {offset}, have {len(buf) - offset}")
    family, port, addr = _SOCKADDR.unpack_from(buf, offset)
    return SockAddr(family, port, socket.inet_ntoa(addr))


@dataclass
class IdentityItem:
    """The body of a ListIdentity CPF item (field names as the spec's list_identity output)."""

    version: int = 1
    sin_family: int = 2
    sin_port: int = ENIP_PORT
    sin_addr: str = "0.0.0.0"
    vendor_id: int = 0
    device_type: int = 0
    product_code: int = 0
    product_revision: int = 0
    status_word: int = 0
    serial_number: int = 0
    product_name: str = ""
    state: int = 0xFF

    @property
    def major(self) -> int:
        """Major revision (low byte of product_revision)."""
        return revision_parts(self.product_revision)[0]

    @property
    def minor(self) -> int:
        """Minor revision (high byte of product_revision)."""
        return revision_parts(self.product_revision)[1]


_ID_HEAD = struct.Struct("<H")
_ID_MIN = 2 + 16 + 14 + 1 + 1  # version, sockaddr, vendor .. serial, empty name, state


def encode_identity(item: IdentityItem) -> bytes:
    """Encode a ListIdentity item body: version, sockaddr, then Identity attributes 1-8."""
    attributes = IdentityAttributes(
        item.vendor_id,
        item.device_type,
        item.product_code,
        item.product_revision,
        item.status_word,
        item.serial_number,
        item.product_name,
        item.state,
    )
    try:
        head = _ID_HEAD.pack(item.version)
    except struct.error as exc:
        raise EncodeError(f"identity item {item!r}: {exc}") from None
    sockaddr = encode_sockaddr(SockAddr(item.sin_family, item.sin_port, item.sin_addr))
    return head + sockaddr + encode_identity_attributes(attributes)


def decode_identity(buf: bytes | bytearray | memoryview) -> IdentityItem:
    """Decode a ListIdentity item body (bytes after the state byte are ignored)."""
    if len(buf) < _ID_MIN:
        raise _bad(f"identity item: {len(buf)} bytes, need at least {_ID_MIN}")
    (version,) = _ID_HEAD.unpack_from(buf, 0)
    sa = decode_sockaddr(buf, 2)
    try:
        attributes, _ = decode_identity_prefix(buf, 18)
    except DecodeError as exc:
        raise _bad(f"identity item: {exc}") from None
    if attributes.state is None:
        raise _bad(f"identity item: no state after the product name in {len(buf)} bytes")
    return IdentityItem(version, sa.family, sa.port, sa.addr, *attributes[:7], attributes.state)


@dataclass
class ServicesItem:
    """The body of a ListServices CPF item."""

    version: int = 1
    capability: int = 0x0120
    service_name: str = "Communications"


_SERVICES = struct.Struct("<HH16s")


def encode_services(item: ServicesItem) -> bytes:
    """Encode a ListServices item body (name NUL-padded to 16 bytes)."""
    name = item.service_name.encode("iso-8859-1")
    if len(name) > 16:
        raise EncodeError(f"service name {item.service_name!r} exceeds 16 bytes")
    return _SERVICES.pack(item.version, item.capability, name)


def decode_services(buf: bytes | bytearray | memoryview) -> ServicesItem:
    """Decode a ListServices item body."""
    if len(buf) != _SERVICES.size:
        raise _bad(f"services item: {len(buf)} bytes, need {_SERVICES.size}")
    version, capability, name = _SERVICES.unpack_from(buf, 0)
    return ServicesItem(version, capability, name.split(b"\0", 1)[0].decode("iso-8859-1"))
