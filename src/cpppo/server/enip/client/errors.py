"""The client's connection failures: the statuses of operations that got no (usable) reply.

A device's error status never raises (it is the operation's ``sts``); these are raised by the
transport, or carried as ``sts`` by every operation a failed connection affects.

Public API:
    ClientError             the connection to the device failed.
    ReplyTimeout            no reply within the timeout (also a TimeoutError).
    ConnectionClosed        the device closed the connection (also a ConnectionError).
    BadReply                a reply that cannot be framed or decoded, or answers no request.
    EncapsulationError      a reply with a non-zero encapsulation status (``.status``).
    CommunicationCeased     raised by a connector's ``.pipeline``, ``.synchronous``,
                            ``.operate``, ``.results`` and ``.process`` when the connection fails
                            before every operation had its reply (also an AssertionError, as the
                            original cpppo raised one).
"""

from __future__ import annotations

__all__ = [
    "BadReply",
    "ClientError",
    "CommunicationCeased",
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


class CommunicationCeased(ClientError, AssertionError):
    """The connection failed before every operation had its reply.

    Its message is the original cpppo's, ``Communication ceased before harvesting all pipeline
    responses: <complete>/<issued>``, followed by the failure. ``complete``: the operations
    handed out before it; ``issued``: those plus the ones sent and left unanswered; ``error``
    (also ``__cause__``): the failure (a ReplyTimeout, ConnectionClosed, BadReply, ...);
    ``results``: the ``(idx, dsc, req, rpy, sts, val)`` of every operation left, each with
    ``sts`` that error and ``val`` None.
    """

    def __init__(self, complete: int, issued: int, error: ClientError, results: list) -> None:
        super().__init__(
            "Communication ceased before harvesting all pipeline responses: "
            f"{complete:3d}/{issued:3d} ({error})"
        )
        self.complete = complete
        self.issued = issued
        self.error = error
        self.results = results
