"""The client's side of a CIP class 3 connection (sans-IO): the Forward Open and Forward Close
requests it sends to the Connection Manager, and the connection a Forward Open reply grants.

Public API:
    forward_open_request(connection_path, size=500, rpi_us=2_000_000, timeout_multiplier=5,
                         vendor_id=0x1337) -> (ForwardOpen, bytes)
        the request (fresh random connection id and serial numbers) and its encoded message.
    forward_open_connection(request, reply, size) -> dict
        the connection granted (``o_t_connection_id``, ..., as ``client.connection`` holds it);
        ClientError if the device refused.
    forward_close_request(connection) -> bytes     the Forward Close of that connection.
"""

from __future__ import annotations

import random

from ..codec.cip import CONNECTION_MANAGER_EPATH, Reply, Service, encode_request
from ..codec.connection import (
    ConnectionParameters,
    ForwardClose,
    ForwardOpen,
    decode_connection_failure,
    decode_forward_open_reply,
    encode_connection_parameters,
    encode_forward_close,
    encode_forward_open,
)
from ..codec.status import Status
from .errors import ClientError
from .replies import reply_status, status_string

__all__ = ["forward_close_request", "forward_open_connection", "forward_open_request"]

# Priority/tick time and timeout ticks of the Forward Open/Close requests themselves.
_PRIORITY_TICK = 0x0A
_TIMEOUT_TICKS = 5
# Transport class and trigger: class 3, application triggered, server.
_TRANSPORT = 0xA3


def forward_open_request(
    connection_path: list[dict],
    size: int = 500,
    rpi_us: int = 2_000_000,
    timeout_multiplier: int = 5,
    vendor_id: int = 0x1337,
) -> tuple[ForwardOpen, bytes]:
    """A Forward Open to ``connection_path`` for ``size``-byte messages both ways: the request
    (with fresh random T->O connection id and serial numbers) and its encoded CIP message."""
    params = encode_connection_parameters(ConnectionParameters(size))
    fo = ForwardOpen(
        priority_tick=_PRIORITY_TICK,
        timeout_ticks=_TIMEOUT_TICKS,
        o_t_connection_id=0,
        t_o_connection_id=random.randint(1, 0x7FFFFFFF),
        connection_serial=random.randint(1, 0xFFFF),
        vendor_id=vendor_id,
        originator_serial=random.randint(1, 0x7FFFFFFF),
        timeout_multiplier=timeout_multiplier,
        o_t_rpi=rpi_us,
        o_t_parameters=params,
        t_o_rpi=rpi_us,
        t_o_parameters=params,
        transport=_TRANSPORT,
        connection_path=connection_path,
    )
    message = encode_request(
        Service.FORWARD_OPEN, CONNECTION_MANAGER_EPATH, encode_forward_open(fo)
    )
    return fo, message


def forward_open_connection(request: ForwardOpen, reply: Reply, size: int) -> dict:
    """The connection a Forward Open ``reply`` grants to ``request``; ClientError if refused
    (naming the extended status and, when the reply carries it, the connection failure)."""
    if reply.service != Service.FORWARD_OPEN or reply.status != Status.SUCCESS:
        detail = ""
        if reply.status and len(reply.data) == 10:
            detail = f" ({decode_connection_failure(reply.data)})"
        raise ClientError(f"Forward Open refused: {status_string(reply_status(reply))}{detail}")
    granted = decode_forward_open_reply(reply.data)
    return {
        "o_t_connection_id": granted.o_t_connection_id,
        "t_o_connection_id": granted.t_o_connection_id,
        "connection_serial": request.connection_serial,
        "vendor_id": request.vendor_id,
        "originator_serial": request.originator_serial,
        "connection_path": request.connection_path,
        "size": size,
    }


def forward_close_request(connection: dict) -> bytes:
    """The encoded Forward Close of a connection as :func:`forward_open_connection` gave it."""
    fc = ForwardClose(
        priority_tick=_PRIORITY_TICK,
        timeout_ticks=_TIMEOUT_TICKS,
        connection_serial=connection["connection_serial"],
        vendor_id=connection["vendor_id"],
        originator_serial=connection["originator_serial"],
        connection_path=connection["connection_path"],
    )
    return encode_request(Service.FORWARD_CLOSE, CONNECTION_MANAGER_EPATH, encode_forward_close(fc))
