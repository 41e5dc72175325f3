"""The EtherNet/IP CIP client (``python -m cpppo.server.enip.client``): connector, client,
operations.

The blocking socket client and its generator API are in :mod:`.blocking`; the command line is
:mod:`.cli`; operation parsing is :mod:`.operations`.
"""

from .blocking import (
    DEFAULT_PORT,
    BadReply,
    ClientError,
    ConnectionClosed,
    EncapsulationError,
    ReplyTimeout,
    client,
    connector,
    format_path,
    implicit,
    parse_operations,
)
from .cli import main

__all__ = [
    "DEFAULT_PORT",
    "BadReply",
    "ClientError",
    "ConnectionClosed",
    "EncapsulationError",
    "ReplyTimeout",
    "client",
    "connector",
    "format_path",
    "implicit",
    "main",
    "parse_operations",
]
