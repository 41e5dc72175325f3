"""The EtherNet/IP CIP client (``python -m cpppo.server.enip.client``): connector, client,
operations.

Inside, from the wire up: :mod:`.stream` frames replies, :mod:`.routing` wraps requests in an
Unconnected Send, :mod:`.requests`/:mod:`.replies` turn operations into CIP requests and replies
into values, and :mod:`.pipeline` is the sans-IO request pipeline over them (operations in,
frames out; reply bytes in, results out). :mod:`.transport` is the blocking socket client
(``client``) and :mod:`.blocking` the ``connector`` with its generator API; :mod:`.cli` is the
command line and :mod:`.operations` parses operations. See docs/enip-client.md.
"""

from .blocking import (
    DEFAULT_PORT,
    BadReply,
    ClientError,
    CommunicationCeased,
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
    "CommunicationCeased",
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
