"""The Identity object's (class 0x01) Get Attributes All data.

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
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .errors import DecodeError, EncodeError
from .status import Status

__all__ = ["IdentityAttributes", "decode_identity_attributes", "encode_identity_attributes"]

_HEAD = struct.Struct(
    "<HHHHHIB"
)  # vendor, device type, product code, revision, status, serial, len
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
        name = a.product_name.encode("iso-8859-1")
        if len(name) > 255:
            raise EncodeError(f"product name of {len(name)} characters exceeds 255")
        out = _HEAD.pack(*a[:6], len(name)) + name
        if a.state is not None:
            out += bytes((a.state,))
            if a.configuration_consistency is not None:
                out += _U16.pack(a.configuration_consistency)
                if a.heartbeat_interval is not None:
                    out += bytes((a.heartbeat_interval,))
        return out
    except (struct.error, ValueError, UnicodeEncodeError) as exc:
        if isinstance(exc, EncodeError):
            raise
        raise EncodeError(f"identity attributes {a!r}: {exc}") from None


def decode_identity_attributes(buf: bytes | bytearray | memoryview) -> IdentityAttributes:
    """Decode Get Attributes All data of an Identity instance."""
    end = len(buf)
    if end < _HEAD.size:
        raise DecodeError(
            f"identity: {end} bytes, need {_HEAD.size}", status=Status.NOT_ENOUGH_DATA
        )
    *fixed, n = _HEAD.unpack_from(buf, 0)
    pos = _HEAD.size + n
    if pos > end:
        raise DecodeError(
            f"identity: product name of {n} runs past {end} bytes", status=Status.NOT_ENOUGH_DATA
        )
    name = bytes(buf[_HEAD.size : pos]).decode("iso-8859-1")
    state = ccv = heartbeat = None
    if pos < end:
        state = buf[pos]
        pos += 1
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
    return IdentityAttributes(*fixed, name, state, ccv, heartbeat)
