"""Connection Manager object 0x06: Unconnected Send, (Large) Forward Open, Forward Close.

Pure: the object is handed a ``dispatch(cip, ctx) -> reply`` callable for the messages that
Unconnected Send carries, and keeps open connections in a :class:`ConnectionTable`.

Route paths (``route_path`` of the controller): None accepts any route; False (or ``[]``)
accepts only requests without one (a simple, non-routing device); a list of port segments must
match the request's route exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any

from ..codec.cip import Service, encode_reply
from ..codec.connection import (
    ConnectionFailure,
    ForwardCloseReply,
    ForwardOpenReply,
    decode_forward_close,
    decode_forward_open,
    decode_unconnected_send,
    encode_connection_failure,
    encode_forward_close_reply,
    encode_forward_open_reply,
    split_unconnected_send,
)
from ..codec.epath import decode_route_path, encode_epath, split_route_segments
from ..codec.errors import DecodeError, EncodeError
from ..codec.status import ExtStatus, Status
from ..codec.types import UINT
from .attribute import Attribute
from .connections import Connection, ConnectionTable
from .device import CipObject, Context

__all__ = ["ConnectionManager", "route_matches"]

#: Largest connection sizes accepted (bytes): Forward Open, Large Forward Open.
MAX_SMALL_SIZE = 511
MAX_LARGE_SIZE = 4002
#: Deepest nesting of Unconnected Send / Multiple Service Packet envelopes.
MAX_DEPTH = 4
#: Route path encodings whose verdict (accepted or not) is remembered (cleared when full).
ROUTE_CACHE_LIMIT = 256


def route_matches(expected: Sequence[dict] | bool | None, route: Sequence[dict] | None) -> bool:
    """Whether a request's route path is acceptable under the ``expected`` setting."""
    if expected is None or expected is True:
        return True
    if not route:
        return True
    if expected is False or not expected:
        return False
    try:
        return encode_epath(list(expected)) == encode_epath(list(route))
    except EncodeError:
        return False


class ConnectionManager(CipObject):
    """Connection Manager 0x06, instance 1."""

    class_id = 0x06
    class_name = "Connection Manager"
    services = MappingProxyType(
        {
            **CipObject.services,
            Service.UNCONNECTED_SEND: "unconnected_send",
            Service.FORWARD_OPEN: "forward_open",
            Service.LARGE_FORWARD_OPEN: "forward_open",
            Service.FORWARD_CLOSE: "forward_close",
        }
    )

    def __init__(
        self,
        dispatch: Callable[[Any, Context], bytes],
        table: ConnectionTable,
        route_path: Sequence[dict] | bool | None = None,
        instance_id: int = 1,
    ) -> None:
        super().__init__(instance_id)
        self.dispatch = dispatch
        self.table = table
        #: Encoded route path (as an Unconnected Send carries it) -> accepted or not.
        self._verdicts: dict[bytes, bool] = {}
        self.route_path = route_path
        names = (
            "Open Requests",
            "Open Format Rejects",
            "Open Resource Rejects",
            "Open Other Rejects",
            "Close Requests",
            "Close Format Requests",
            "Close Other Requests",
            "Connection Timeouts",
        )
        for attr_id, name in enumerate(names, 1):
            self.add_attribute(attr_id, Attribute(name, UINT, 0, dims=()))

    @property
    def route_path(self) -> Sequence[dict] | bool | None:
        """The route path requests must carry: None (any), False or [] (none) or port segments.

        Assign a new value to change it (the verdicts on routes seen so far are then dropped).
        """
        return self._route_path

    @route_path.setter
    def route_path(self, value: Sequence[dict] | bool | None) -> None:
        self._route_path = value
        self._verdicts = {}

    def value_bytes(self, attr_id: int) -> bytes:
        """Counters are read from the connection table when asked for."""
        table = self.table
        counters = {
            1: table.open_requests,
            4: table.open_rejects,
            5: table.close_requests,
            7: table.close_rejects,
            8: table.timeouts,
        }
        if attr_id in counters:
            self.attributes[attr_id][0] = counters[attr_id] & 0xFFFF
        return super().value_bytes(attr_id)

    # ---- Unconnected Send ---------------------------------------------------------------
    def _accepts(self, route: bytes) -> bool:
        """Whether an Unconnected Send's encoded route path (``route`` empty: none) is acceptable
        and well formed (nothing after it); remembered per encoding."""
        verdict = self._verdicts.get(route)
        if verdict is None:
            if not route:
                verdict = route_matches(self._route_path, None)
            else:
                try:
                    segments, end = decode_route_path(route)
                    verdict = end == len(route) and route_matches(self._route_path, segments)
                except DecodeError:
                    verdict = False
            if len(self._verdicts) >= ROUTE_CACHE_LIMIT:
                self._verdicts.clear()
            self._verdicts[route] = verdict
        return verdict

    def unwrap(self, data: memoryview) -> memoryview | None:
        """The message Unconnected Send ``data`` carries when it is well formed, at least a
        service and a path size long, and routed acceptably; else None (``unconnected_send``
        answers such a request with the right error). The route's verdict is cached, so a
        familiar envelope is unwrapped without decoding it."""
        parts = split_unconnected_send(data)
        if parts is not None and self._accepts(parts[1]):
            return parts[0]
        return None

    def unconnected_send(
        self, service: int, attr_id: int | None, data: memoryview, ctx: Context
    ) -> bytes:
        """Unwrap the embedded message, check its route path, and return its reply as is."""
        if attr_id is not None:
            return encode_reply(service, Status.SERVICE_NOT_SUPPORTED)
        try:
            request = decode_unconnected_send(data)
        except DecodeError as exc:
            return encode_reply(service, exc.status or Status.NOT_ENOUGH_DATA)
        if not route_matches(self.route_path, request.route_path):
            return encode_reply(
                service, Status.CONNECTION_FAILURE, (ExtStatus.INVALID_PORT,), b"\x00"
            )
        if ctx.depth >= MAX_DEPTH or len(request.message) < 2:
            return encode_reply(service, Status.INVALID_PARAMETER)
        nested = Context(
            ctx.max_reply, ctx.session, ctx.connection, ctx.peer, ctx.inline, ctx.depth + 1, ctx.now
        )
        return self.dispatch(request.message, nested)

    # ---- Forward Open / Forward Close ---------------------------------------------------
    def _failure(self, service: int, ext: int, fo: Any) -> bytes:
        self.table.open_rejects += 1
        body = encode_connection_failure(
            ConnectionFailure(fo.connection_serial, fo.vendor_id, fo.originator_serial, 0)
        )
        return encode_reply(service, Status.CONNECTION_FAILURE, (ext,), body)

    def forward_open(
        self, service: int, attr_id: int | None, data: memoryview, ctx: Context
    ) -> bytes:
        """Open a class 3 connection to the Message Router; answer with the chosen O->T id."""
        large = service == Service.LARGE_FORWARD_OPEN
        self.table.open_requests += 1
        try:
            fo = decode_forward_open(data, large=large)
        except DecodeError as exc:
            self.table.open_rejects += 1
            return encode_reply(service, exc.status or Status.NOT_ENOUGH_DATA)
        try:
            route, rest = split_route_segments(fo.connection_path)
        except EncodeError:
            return self._failure(service, ExtStatus.INVALID_SEGMENT_IN_PATH, fo)
        if not route_matches(self.route_path, route):
            return self._failure(service, ExtStatus.INVALID_PORT, fo)
        target = [seg for seg in rest if "key" not in seg]
        if target not in ([{"class": 2}, {"instance": 1}], [{"class": 2}]):
            return self._failure(service, ExtStatus.INVALID_SEGMENT_IN_PATH, fo)
        if fo.transport & 0x0F != 3:
            return self._failure(service, ExtStatus.INVALID_CONNECTION_TYPE, fo)
        limit = MAX_LARGE_SIZE if large else MAX_SMALL_SIZE
        if not (8 <= fo.o_t_size <= limit and 8 <= fo.t_o_size <= limit):
            return self._failure(service, ExtStatus.INVALID_CONNECTION_SIZE, fo)
        triad = (fo.connection_serial, fo.vendor_id, fo.originator_serial)
        if self.table.duplicate(triad):
            return self._failure(service, ExtStatus.DUPLICATE_FORWARD_OPEN, fo)
        if self.table.full(ctx.session):
            return self._failure(service, ExtStatus.OUT_OF_CONNECTIONS, fo)
        connection = Connection(
            o_t_id=self.table.new_id(),
            t_o_id=fo.t_o_connection_id,
            serial=fo.connection_serial,
            vendor=fo.vendor_id,
            originator_serial=fo.originator_serial,
            o_t_rpi=fo.o_t_rpi,
            t_o_rpi=fo.t_o_rpi,
            multiplier=fo.timeout_multiplier,
            o_t_size=fo.o_t_size,
            t_o_size=fo.t_o_size,
            session=ctx.session,
            opened=ctx.now,
            last=ctx.now,
            path=list(fo.connection_path),
        )
        self.table.add(connection)
        body = encode_forward_open_reply(
            ForwardOpenReply(
                connection.o_t_id,
                connection.t_o_id,
                fo.connection_serial,
                fo.vendor_id,
                fo.originator_serial,
                fo.o_t_rpi,
                fo.t_o_rpi,
            )
        )
        return encode_reply(service, Status.SUCCESS, (), body)

    def forward_close(
        self, service: int, attr_id: int | None, data: memoryview, ctx: Context
    ) -> bytes:
        """Close the connection with the request's triad."""
        self.table.close_requests += 1
        try:
            fc = decode_forward_close(data)
        except DecodeError as exc:
            self.table.close_rejects += 1
            return encode_reply(service, exc.status or Status.NOT_ENOUGH_DATA)
        triad = (fc.connection_serial, fc.vendor_id, fc.originator_serial)
        if self.table.close(triad) is None:
            self.table.close_rejects += 1
            body = encode_connection_failure(ConnectionFailure(*triad, 0))
            return encode_reply(
                service, Status.CONNECTION_FAILURE, (ExtStatus.CONNECTION_NOT_FOUND,), body
            )
        return encode_reply(
            service, Status.SUCCESS, (), encode_forward_close_reply(ForwardCloseReply(*triad))
        )
