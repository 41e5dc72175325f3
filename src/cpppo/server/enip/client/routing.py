"""Where an unconnected CIP request goes (sans-IO): wrapped in an Unconnected Send to the send path
(the Connection Manager @6/1 by default) carrying the route path (backplane port 1, slot 0 by
default), or sent bare to a simple device when both paths are empty.

Public API:
    Router(route_path, send_path, priority_time_tick, timeout_ticks)
        .wrap(message, key=None) -> bytes       a CIP request as it is sent.
        .key(op) -> tuple | None                an operation's own routing (None: the defaults).
        .unconnected_send(request, route_path=None, send_path=None, priority_time_tick=None,
                          timeout_ticks=None) -> bytes
        .made_for(route_path, send_path, priority_time_tick, timeout_ticks) -> bool
"""

from __future__ import annotations

from typing import Any

from ..codec.cip import Service, encode_request
from ..codec.connection import encode_unconnected_send
from ..codec.epath import encode_epath, encode_route_path
from .operations import parse_route_path, parse_send_path

__all__ = ["Router"]


class Router:
    """The routing defaults of one connection, with the default Unconnected Send pre-encoded.

    ``route_path``/``send_path`` are parsed segment lists (see
    :func:`~.operations.parse_route_path`); the Router keeps the very lists it was given, so
    :meth:`made_for` can tell when its owner has assigned new ones.
    """

    __slots__ = (
        "_route",
        "_send",
        "_simple",
        "priority_time_tick",
        "route_path",
        "send_path",
        "timeout_ticks",
    )

    def __init__(
        self,
        route_path: list[dict],
        send_path: list[dict],
        priority_time_tick: int,
        timeout_ticks: int,
    ) -> None:
        self.route_path = route_path
        self.send_path = send_path
        self.priority_time_tick = priority_time_tick
        self.timeout_ticks = timeout_ticks
        self._simple = not route_path and not send_path
        self._send = encode_epath(send_path)
        self._route = encode_route_path(route_path) if route_path else b""

    def made_for(
        self, route_path: Any, send_path: Any, priority_time_tick: int, timeout_ticks: int
    ) -> bool:
        """True if this Router was made for exactly these settings (the same path lists)."""
        return (
            self.route_path is route_path
            and self.send_path is send_path
            and self.priority_time_tick == priority_time_tick
            and self.timeout_ticks == timeout_ticks
        )

    def key(self, op: dict) -> tuple | None:
        """An operation's routing: None when it uses the defaults, else a comparable tuple
        ``(route repr, send repr, tick, ticks, route, send)`` (requests are packed together into
        a Multiple Service Packet only when their keys are equal)."""
        get = op.get
        if (
            get("route_path") is None
            and get("send_path") is None
            and get("priority_time_tick") is None
            and get("timeout_ticks") is None
        ):
            return None
        route = parse_route_path(get("route_path"))
        send = parse_send_path(get("send_path"))
        return (
            repr(self.route_path if route is None else route),
            repr(self.send_path if send is None else send),
            get("priority_time_tick"),
            get("timeout_ticks"),
            route,
            send,
        )

    def wrap(self, message: bytes, key: tuple | None = None) -> bytes:
        """``message`` as sent: in the default Unconnected Send (``key`` None), in the one
        ``key`` describes, or bare when there is no route and no send path."""
        if key is not None:
            return self.unconnected_send(message, key[4], key[5], key[2], key[3])
        if self._simple:
            return message
        data = encode_unconnected_send(message, None, self.priority_time_tick, self.timeout_ticks)
        return encode_request(Service.UNCONNECTED_SEND, self._send, data + self._route)

    def unconnected_send(
        self,
        request: bytes,
        route_path: Any = None,
        send_path: Any = None,
        priority_time_tick: int | None = None,
        timeout_ticks: int | None = None,
    ) -> bytes:
        """Wrap an encoded CIP request in an Unconnected Send to ``send_path`` carrying
        ``route_path`` (None: the defaults); returns it unchanged when both are empty."""
        route = self.route_path if route_path is None else parse_route_path(route_path)
        send = self.send_path if send_path is None else parse_send_path(send_path)
        if not route and not send:
            return bytes(request)
        tick = self.priority_time_tick if priority_time_tick is None else priority_time_tick
        ticks = self.timeout_ticks if timeout_ticks is None else timeout_ticks
        data = encode_unconnected_send(request, route or None, tick, ticks)
        return encode_request(Service.UNCONNECTED_SEND, send or [], data)
