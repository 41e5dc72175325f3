"""Codec errors.

Public API:
    DecodeError(message, *, status=None, ext_status=(), encap_status=None, header=None)
        Malformed input. ``.status`` is the CIP general status a device should answer with
        (0x04 bad path segment, 0x13 not enough data, 0x15 too much data, ...), ``.ext_status`` the
        extended status words, ``.encap_status`` the encapsulation status (0x0003 incorrect data,
        0x0065 invalid length, ...). ``.header`` optionally carries the encapsulation header that
        was decoded before the error (so a server can echo command and sender context).
    EncodeError(message)
        A value that cannot be put on the wire (out of range, too long, unknown segment).

Both subclass :class:`ValueError`; DecodeError is also a :class:`~.status.CipStatusError`.
"""

from __future__ import annotations

from typing import Any

from .status import CipStatusError

__all__ = ["DecodeError", "EncodeError"]


class DecodeError(CipStatusError, ValueError):
    """Bytes that do not decode; carries the status a device should answer with."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        ext_status: tuple[int, ...] = (),
        encap_status: int | None = None,
        header: Any = None,
    ) -> None:
        super().__init__(message, status, ext_status)
        self.encap_status = encap_status
        self.header = header
        #: Frames a stream framer decoded successfully before hitting this error.
        self.frames: list[Any] = []


class EncodeError(ValueError):
    """A value that cannot be encoded on the wire."""
