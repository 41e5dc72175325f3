"""The Identity object's (class 0x01) attributes as Get Attributes All and ListIdentity carry them.

Public API:
    IdentityAttributes(vendor_id, device_type, product_code, product_revision, status_word,
                       serial_number, product_name, state=None, configuration_consistency=None,
                       heartbeat_interval=None)
        NamedTuple of attributes 1-10. ``product_revision`` is the UINT major | minor << 8 (20.11 ->
        2836); the optional trailing attributes are None when a device leaves them out (a real
        1756-L61 stops after the product name). ``tuple(a)[:8]`` is the list the spec's poll
        output shows: [1, 14, 54, 2836, 12640, 7079450, '1756-L61/B LOGIX5561', 255].
    encode_identity_attributes(a) -> bytes      trailing None attributes are omitted.
    decode_identity_attributes(buf) -> IdentityAttributes
    decode_identity_prefix(buf, offset=0) -> (IdentityAttributes, next offset)
        attributes 1-8 (state None when the data ends after the product name), as a ListIdentity
        item carries them after its sockaddr (``cpf.decode_identity``); bytes after them are left.
    revision_word(major, minor) -> int          the product revision UINT (20, 11 -> 2836).
    revision_parts(word) -> (major, minor)      and back.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .errors import DecodeError, EncodeError
from .status import Status
from .types import SSTRING

__all__ = [
    "IdentityAttributes",
    "decode_identity_attributes",
    "decode_identity_prefix",
    "encode_identity_attributes",
    "revision_parts",
    "revision_word",
]

_FIXED = struct.Struct("<HHHHHI")  # vendor, device type, product code, revision, status, serial
_U16 = struct.Struct("<H")


class IdentityAttributes(NamedTuple):
    """Identity object attributes 1-10 as Get Attributes All returns them."""

    vendor_id: int
    device_type: int
    product_code: int
    product_revision: int
    status_word: int
    serial_number: int
    product_name: str
    state: int | None = None
    configuration_consistency: int | None = None
    heartbeat_interval: int | None = None


def encode_identity_attributes(a: IdentityAttributes) -> bytes:
    """Encode Get Attributes All data; optional attributes stop at the first None."""
    try:
        out = _FIXED.pack(*a[:6]) + SSTRING.encode([a.product_name])
        if a.state is not None:
            out += bytes((a.state,))
            if a.configuration_consistency is not None:
                out += _U16.pack(a.configuration_consistency)
                if a.heartbeat_interval is not None:
                    out += bytes((a.heartbeat_interval,))
        return out
    except (struct.error, ValueError, TypeError) as exc:
        if isinstance(exc, EncodeError):
            raise
        raise EncodeError(f"identity attributes {a!r}: {exc}") from None


def decode_identity_prefix(
    buf: bytes | bytearray | memoryview, offset: int = 0
) -> tuple[IdentityAttributes, int]:
    """Decode attributes 1-8 at ``offset`` (state None if the data ends after the name)."""
    end = len(buf)
    if offset + _FIXED.size > end:
        raise DecodeError(
            f"identity: {end - offset} bytes, need {_FIXED.size + 1}",
            status=Status.NOT_ENOUGH_DATA,
        )
    vendor, device_type, product_code, revision, status_word, serial = _FIXED.unpack_from(
        buf, offset
    )
    name, pos = SSTRING.decode_from(buf, offset + _FIXED.size)
    state = None
    if pos < end:
        state = buf[pos]
        pos += 1
    attributes = IdentityAttributes(
        vendor, device_type, product_code, revision, status_word, serial, name, state
    )
    return attributes, pos


def decode_identity_attributes(buf: bytes | bytearray | memoryview) -> IdentityAttributes:
    """Decode Get Attributes All data of an Identity instance."""
    attributes, pos = decode_identity_prefix(buf)
    end = len(buf)
    ccv = heartbeat = None
    if pos + 2 <= end:
        (ccv,) = _U16.unpack_from(buf, pos)
        pos += 2
    if pos < end:
        heartbeat = buf[pos]
        pos += 1
    if pos != end:
        raise DecodeError(
            f"identity: {end - pos} unexpected bytes at {pos}", status=Status.TOO_MUCH_DATA
        )
    return attributes._replace(configuration_consistency=ccv, heartbeat_interval=heartbeat)


def revision_word(major: int, minor: int) -> int:
    """The product revision UINT of ``major.minor``: major in the low byte, minor in the high."""
    if not (0 <= major <= 0xFF and 0 <= minor <= 0xFF):
        raise EncodeError(f"revision {major}.{minor}: major and minor must be 0..255")
    return major | minor << 8


def revision_parts(word: int) -> tuple[int, int]:
    """(major, minor) of a product revision UINT (2836 -> (20, 11))."""
    return word & 0xFF, word >> 8 & 0xFF
