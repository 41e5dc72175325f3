"""The client's connection failures: the statuses of operations that got no (usable) reply.

A device's error status never raises (it is the operation's ``sts``); these are raised by the
transport, or carried as ``sts`` by every operation a failed connection affects.

Public API:
    ClientError             the connection to the device failed.
    ReplyTimeout            no reply within the timeout (also a TimeoutError).
    ConnectionClosed        the device closed the connection (also a ConnectionError).
    BadReply                a reply that cannot be framed or decoded, or answers no request.
    EncapsulationError      a reply with a non-zero encapsulation status (``.status``).
"""

from __future__ import annotations

__all__ = [
    "BadReply",
    "ClientError",
    "ConnectionClosed",
    "EncapsulationError",
    "ReplyTimeout",
]


class ClientError(Exception):
    """The connection to the device failed; operations affected carry it as their status."""


class ReplyTimeout(ClientError, TimeoutError):
    """No reply within the timeout."""


class ConnectionClosed(ClientError, ConnectionError):
    """The device closed the connection (or it could not be written to)."""


class BadReply(ClientError):
    """A reply that cannot be decoded or does not answer the request it claims to."""


class EncapsulationError(BadReply):
    """A reply with a non-zero encapsulation status (``.status``)."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message or f"encapsulation status 0x{status:04X}")
        self.status = status
