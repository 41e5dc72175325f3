"""Attribute value layouts of the standard CIP objects that are not elementary types.

Added by the simulator (the elementary types are in ``types.py``). Each layout is a class with the
``CipType`` interface (``code``, ``name``, ``size``, ``encode(values)``, ``decode(buf, count)``), so
an ``Attribute`` can hold it like any type; a value is one Python object per element:

    IPADDR                 UDINT holding an IPv4 address (little-endian), value '192.168.0.1'.
    PADDED_STRING          CIP STRING (UINT length + ISO-8859-1) padded to an even length, as
                           the TCP/IP object's Host Name (attribute 6) and Domain Name carry it.
    PATH                   UINT size in words + padded EPATH; value a list of segment dicts
                           (TCP/IP attribute 4, "Path to Physical Link").
    INTERFACE_CONFIGURATION
                           TCP/IP attribute 5: IP address, network mask, gateway, primary and
                           secondary name server (IPADDR each), domain name (PADDED_STRING); value
                           a dict with keys ip_address, network_mask, gateway_address, dns_primary,
                           dns_secondary, domain_name.
    MAC_ADDRESS            6 bytes (Ethernet Link attribute 3), value '00:1d:9c:00:00:01'.

Malformed input raises :class:`DecodeError` (status 0x13 when data runs short).
"""

from __future__ import annotations

import socket
import struct
from typing import Any, ClassVar

from .epath import decode_epath, encode_epath
from .errors import DecodeError, EncodeError
from .status import Status
from .types import STRING, CipType

__all__ = ["INTERFACE_CONFIGURATION", "IPADDR", "MAC_ADDRESS", "PADDED_STRING", "PATH"]

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


def _items(values: Any) -> list:
    if isinstance(values, (list, tuple)):
        return list(values)
    return [values]


def _short(name: str, need: int, have: int) -> DecodeError:
    return DecodeError(f"{name}: need {need} bytes, have {have}", status=Status.NOT_ENOUGH_DATA)


class _Variable(CipType):
    """A layout decoded one value at a time with ``decode_from``."""

    @classmethod
    def decode_from(cls, buf: Any, offset: int = 0) -> tuple[Any, int]:  # pragma: no cover
        """Decode one value at ``offset``; return it and the offset after it."""
        raise NotImplementedError

    @classmethod
    def decode(cls, buf: bytes | bytearray | memoryview, count: int | None = None) -> list:
        """Decode ``count`` values (all of ``buf`` when None)."""
        out: list[Any] = []
        offset = 0
        while (count is None and offset < len(buf)) or (count is not None and len(out) < count):
            value, offset = cls.decode_from(buf, offset)
            out.append(value)
        return out


class IPADDR(CipType):
    """An IPv4 address as a little-endian UDINT (value: dotted-quad string)."""

    code, name, size = 0xC8, "IPADDR", 4

    @classmethod
    def encode(cls, values: Any) -> bytes:
        """Encode dotted-quad strings."""
        out = bytearray()
        for value in _items(values) if not isinstance(values, str) else [values]:
            try:
                out += socket.inet_aton(str(value))[::-1]
            except OSError:
                raise EncodeError(f"IPADDR: {value!r} is not an IPv4 address") from None
        return bytes(out)

    @classmethod
    def decode(cls, buf: bytes | bytearray | memoryview, count: int | None = None) -> list:
        """Decode addresses (all of ``buf`` when ``count`` is None)."""
        if count is None:
            count = len(buf) // 4
        if count * 4 > len(buf):
            raise _short("IPADDR", count * 4, len(buf))
        return [socket.inet_ntoa(bytes(buf[i * 4 : i * 4 + 4])[::-1]) for i in range(count)]


class PADDED_STRING(_Variable):
    """CIP STRING (UINT length + characters) followed by a pad byte when the length is odd."""

    code, name, size = 0xD0, "STRING", None

    @classmethod
    def encode(cls, values: Any) -> bytes:
        """Encode strings, each padded to an even length."""
        out = bytearray()
        for value in [values] if isinstance(values, str) else _items(values):
            raw = STRING.encode([str(value)])
            out += raw + (b"\0" if len(raw) % 2 else b"")
        return bytes(out)

    @classmethod
    def decode_from(cls, buf: Any, offset: int = 0) -> tuple[str, int]:
        """Decode one padded string at ``offset`` (a missing final pad byte is tolerated)."""
        text, stop = STRING.decode_from(buf, offset)
        return text, min(len(buf), stop + ((stop - offset) & 1))


class PATH(_Variable):
    """UINT path size in words followed by a padded EPATH (value: list of segment dicts)."""

    code, name, size = 0, "EPATH", None

    @classmethod
    def encode(cls, values: Any) -> bytes:
        """Encode one path (a list of segment dicts) or a list of such paths."""
        paths = [values] if values and isinstance(values[0], dict) else _items(values)
        if not values:
            paths = [[]]
        out = bytearray()
        for path in paths:
            raw = encode_epath(path)
            out += _U16.pack(len(raw) // 2) + raw
        return bytes(out)

    @classmethod
    def decode_from(cls, buf: Any, offset: int = 0) -> tuple[list[dict], int]:
        """Decode one sized path at ``offset``."""
        if offset + 2 > len(buf):
            raise _short("EPATH", offset + 2, len(buf))
        (words,) = _U16.unpack_from(buf, offset)
        stop = offset + 2 + 2 * words
        if stop > len(buf):
            raise _short("EPATH", stop, len(buf))
        return decode_epath(memoryview(buf)[offset + 2 : stop]), stop


class INTERFACE_CONFIGURATION(_Variable):
    """TCP/IP object attribute 5: five IPv4 addresses and a padded domain name."""

    code, name, size = 0, "IFACEADDRS", None
    FIELDS: ClassVar[tuple[str, ...]] = (
        "ip_address",
        "network_mask",
        "gateway_address",
        "dns_primary",
        "dns_secondary",
    )

    @classmethod
    def encode(cls, values: Any) -> bytes:
        """Encode one configuration dict (missing addresses are 0.0.0.0) or a list of them."""
        out = bytearray()
        for value in [values] if isinstance(values, dict) else _items(values):
            if not isinstance(value, dict):
                raise EncodeError(f"IFACEADDRS: {value!r} is not a dict")
            unknown = set(value) - set(cls.FIELDS) - {"domain_name"}
            if unknown:
                raise EncodeError(f"IFACEADDRS: unknown keys {sorted(unknown)}")
            out += IPADDR.encode([value.get(key) or "0.0.0.0" for key in cls.FIELDS])
            out += PADDED_STRING.encode([value.get("domain_name") or ""])
        return bytes(out)

    @classmethod
    def decode_from(cls, buf: Any, offset: int = 0) -> tuple[dict, int]:
        """Decode one configuration at ``offset``."""
        if offset + 20 > len(buf):
            raise _short("IFACEADDRS", offset + 20, len(buf))
        addresses = IPADDR.decode(memoryview(buf)[offset : offset + 20], 5)
        domain, stop = PADDED_STRING.decode_from(buf, offset + 20)
        return {**dict(zip(cls.FIELDS, addresses)), "domain_name": domain}, stop


class MAC_ADDRESS(CipType):
    """A 6-byte Ethernet address (value: 'aa:bb:cc:dd:ee:ff')."""

    code, name, size = 0, "MAC", 6

    @classmethod
    def encode(cls, values: Any) -> bytes:
        """Encode colon-separated hex addresses."""
        out = bytearray()
        for value in [values] if isinstance(values, str) else _items(values):
            try:
                raw = bytes(int(part, 16) for part in str(value).split(":"))
            except ValueError:
                raw = b""
            if len(raw) != 6:
                raise EncodeError(f"MAC: {value!r} is not six hex octets")
            out += raw
        return bytes(out)

    @classmethod
    def decode(cls, buf: bytes | bytearray | memoryview, count: int | None = None) -> list:
        """Decode addresses (all of ``buf`` when ``count`` is None)."""
        if count is None:
            count = len(buf) // 6
        if count * 6 > len(buf):
            raise _short("MAC", count * 6, len(buf))
        return [":".join(f"{b:02x}" for b in bytes(buf[i * 6 : i * 6 + 6])) for i in range(count)]
