"""The client's request pipeline, sans-IO in the style of h11: operations in, encapsulated request
frames out; reply bytes in, each operation's result out, in issue order. It never touches a
socket, a clock or a thread: a transport moves the bytes and decides how long to wait.

    pipe = Pipeline(operations, session=handle, router=Router(...), depth=5, multiple=500)
    while not pipe.finished:
        for frame in pipe.requests():
            sock.sendall(frame)
        for result in pipe.results():
            print(result)                       # (idx, dsc, op, reply, status, value)
        if pipe.in_flight:
            pipe.receive_data(sock.recv(65536)) # or pipe.fail(ReplyTimeout(...)), EOF, ...

What it does: plans each operation (``requests.plan``: its CIP request(s), encoded once per
distinct path); keeps up to ``depth`` requests in flight; packs consecutive requests with the same
routing into Multiple Service Packets whose request and estimated reply fit ``multiple`` bytes;
wraps them for their route (``routing.Router``) in SendRRData, or in SendUnitData over a CIP
connection; names each request by its sender context (the request index in decimal digits) or,
connected, by its sequence number; matches replies by that name, in any order; continues
fragmented reads (status 0x06) and applies each reply to its operations.

A device's error status is an operation's result, never an exception. A reply that answers no
request in flight, cannot be framed or decoded as a reply ends the pipeline (``broken``): every
operation not yet complete then fails with that BadReply, as with :meth:`Pipeline.fail`.

Public API:
    Pipeline(operations, session=0, router=None, connection_id=None, sequence=0, index=0,
             depth=1, multiple=0, fragment=False, plans=None, stream=None)
        .requests() -> list[bytes]          the frames to send now (as many as ``depth`` allows).
        .receive_data(data)                 reply bytes from a TCP stream.
        .receive_frame(header, payload)     one whole reply (a UDP datagram, say).
        .results() -> list[tuple]           the operations completed, in issue order.
        .fail(error, unsent=0)              the connection failed: fail all that is left
                                            (at most FAIL_LIMIT not yet taken).
        .in_flight                          the requests awaiting replies (a dict; falsy if none).
        .finished, .broken, .index, .sequence
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from ..codec.cip import (
    MESSAGE_ROUTER_EPATH,
    Reply,
    Service,
    decode_multiple,
    decode_reply,
    encode_multiple,
    encode_request,
)
from ..codec.encap import (
    Command,
    EncapHeader,
    decode_rr_data,
    decode_unit_data,
    encode_rr_message,
    encode_unit_message,
)
from ..codec.errors import DecodeError, EncodeError
from ..codec.status import Status
from .errors import BadReply, ClientError, EncapsulationError
from .operations import OperationError, parse_operation
from .replies import reply_status
from .requests import Operation, Part, plan
from .routing import Router
from .stream import ReplyStream

__all__ = ["Pipeline"]

# The keys with which an operation may route itself differently from the pipeline's defaults.
_ROUTING = frozenset(("route_path", "send_path", "priority_time_tick", "timeout_ticks"))
# A Multiple Service Packet reply whose parts are worth reading (0x1E: one of them failed).
_MSP_OK = (Status.SUCCESS, Status.EMBEDDED_SERVICE_ERROR)

#: Bytes a Multiple Service Packet's size limit counts besides the requests (or replies) it
#: carries: encapsulation header, CPF items, Unconnected Send and MSP headers, as estimated by the
#: original client. Each request (reply) adds its own size plus a 2-byte offset.
PACKET_OVERHEAD = 68
#: Operations not yet taken that a failed pipeline still takes, to fail each (a generator of
#: operations may never end).
FAIL_LIMIT = 10_000


def _context(index: int) -> bytes:
    """The sender context of request ``index``: its decimal digits (as the original client did)."""
    return str(index % 100_000_000).encode()


class _Request:
    """One encapsulated request in flight: its index and the parts it carries."""

    __slots__ = ("index", "multiple", "parts")

    def __init__(self, index: int, parts: list[Part], multiple: bool) -> None:
        self.index = index
        self.parts = parts
        self.multiple = multiple


class Pipeline:
    """Carry out a sequence of operations over one session (see the module doc).

    ``operations`` (operation dicts or strings, see :func:`~.operations.parse_operations`) are
    taken lazily, as there is room for them. ``session`` is the registered session handle;
    ``router`` routes unconnected requests (None: sent bare, as to a simple device);
    ``connection_id`` (the O->T id of a Forward Open) sends them over a CIP connection instead,
    numbered from ``sequence`` + 1. ``index`` is the first request's index. ``plans`` is a dict
    the caller keeps to reuse encoded paths across pipelines (see ``requests.plan``); ``stream``
    the ReplyStream that frames received bytes (shared with a transport that also reads replies
    outside the pipeline).
    """

    __slots__ = (
        "_connection_id",
        "_exhausted",
        "_fragment",
        "_limit",
        "_multiple",
        "_order",
        "_plans",
        "_router",
        "_session",
        "_source",
        "_stream",
        "_waiting",
        "broken",
        "in_flight",
        "index",
        "sequence",
    )

    def __init__(
        self,
        operations: Iterable[Any],
        session: int = 0,
        router: Router | None = None,
        connection_id: int | None = None,
        sequence: int = 0,
        index: int = 0,
        depth: int = 1,
        multiple: int = 0,
        fragment: bool = False,
        plans: dict | None = None,
        stream: ReplyStream | None = None,
    ) -> None:
        self._source = iter(operations)
        self._session = session
        self._router = router if router is not None else Router([], [], 5, 157)
        self._connection_id = connection_id
        self._limit = max(1, int(depth or 0))
        self._multiple = int(multiple or 0)
        self._fragment = fragment
        self._plans = {} if plans is None else plans
        self._stream = stream if stream is not None else ReplyStream()
        self._waiting: deque[tuple[Part, tuple | None]] = deque()  # parts ready to send
        self._order: deque[Operation] = deque()  # operations in issue order
        #: The requests sent and not yet answered, by sender context (or sequence number if
        #: connected): while there are any, feed the pipeline the replies.
        self.in_flight: dict[int | bytes, _Request] = {}
        self._exhausted = False
        #: The error that ended the pipeline (None while it runs).
        self.broken: ClientError | None = None
        #: The index (and sender context) of the next request.
        self.index = index
        #: The SendUnitData sequence number of the last connected request.
        self.sequence = sequence

    # -- state ---------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        """True when every operation has been handed out by :meth:`results` (known once
        :meth:`requests` has found the operations exhausted, or the pipeline broke)."""
        return not self._order and (
            self.broken is not None
            or (self._exhausted and not self._waiting and not self.in_flight)
        )

    def results(self) -> list[tuple]:
        """The ``(idx, dsc, op, reply, status, value)`` of each operation now complete whose
        predecessors have all been handed out, in issue order ([] if none)."""
        order = self._order
        done = []
        while order and order[0].done:
            done.append(order.popleft().result())
        return done

    # -- operations in, frames out ---------------------------------------------------------------
    def _pull(self) -> bool:
        """Plan the next operation into the waiting parts; False when there are no more."""
        try:
            op = next(self._source)
        except StopIteration:
            self._exhausted = True
            return False
        if isinstance(op, str):
            op = parse_operation(op)
        try:
            oper, parts = plan(op, None, self._fragment, self._multiple, self._plans)
            key = (
                None
                if self._connection_id is not None or _ROUTING.isdisjoint(op)
                else self._router.key(op)
            )
        except (EncodeError, OperationError) as exc:
            oper = Operation(op, self.index, "", f"Single ?? {op.get('path')!r}")
            oper.fail(exc)
            self._order.append(oper)
            return True
        self._order.append(oper)
        if len(parts) == 1:
            self._waiting.append((parts[0], key))
        else:
            self._waiting.extend((part, key) for part in parts)
        return True

    def requests(self) -> list[bytes]:
        """The encapsulated requests to send now, in order: as many as there is room for in
        flight (``depth``); [] while full, broken or out of operations.

        Consecutive requests with the same routing are packed into one Multiple Service Packet
        while the request and its estimated reply fit ``multiple`` bytes. An operation that
        cannot be encoded fails alone (its result says why) and is skipped.
        """
        frames: list[bytes] = []
        inflight = self.in_flight
        waiting = self._waiting
        multiple = self._multiple
        while len(inflight) < self._limit and self.broken is None:
            if not waiting:
                if self._exhausted or not self._pull():
                    break
                continue
            part, key = waiting.popleft()
            batch = [part]
            if multiple:
                req_size = PACKET_OVERHEAD + part.request_size
                rpy_size = PACKET_OVERHEAD + part.reply_size
                while waiting or (not self._exhausted and self._pull()):
                    if not waiting:
                        continue
                    nxt, next_key = waiting[0]
                    if (
                        next_key != key
                        or req_size + nxt.request_size + 2 > multiple
                        or rpy_size + nxt.reply_size + 2 > multiple
                    ):
                        break
                    waiting.popleft()
                    batch.append(nxt)
                    req_size += nxt.request_size + 2
                    rpy_size += nxt.reply_size + 2
            frame = self._issue(batch, key)
            if frame is not None:
                frames.append(frame)
        return frames

    def _issue(self, batch: list[Part], key: tuple | None) -> bytes | None:
        """Encode one request carrying ``batch`` and record it in flight; None (and the batch's
        operations failed) if it cannot be encoded."""
        index = self.index
        self.index = index + 1
        for p in batch:
            if p.owner.index is None:
                p.owner.index = index
        use_msp = len(batch) > 1
        if use_msp:
            message = encode_request(
                Service.MULTIPLE_SERVICE_PACKET,
                MESSAGE_ROUTER_EPATH,
                encode_multiple([p.message for p in batch]),
            )
        else:
            message = batch[0].message
        context = _context(index)
        name: int | bytes  # what the reply will be known by: sequence number, or sender context
        try:
            if self._connection_id is not None:
                self.sequence = name = (self.sequence + 1) & 0xFFFF
                frame = encode_unit_message(
                    message, self._session, self._connection_id, name, context
                )
            else:
                name = context
                frame = encode_rr_message(self._router.wrap(message, key), self._session, context)
        except (EncodeError, OperationError) as exc:
            for p in batch:
                p.owner.fail(exc)
            return None
        self.in_flight[name] = _Request(index, batch, use_msp)
        return frame

    # -- replies in, results out -----------------------------------------------------------------
    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Apply the replies in ``data``, bytes received from the TCP stream (any split)."""
        stream = self._stream
        try:
            stream.feed(data)
            frames = stream.frames
            while frames and self.broken is None:
                header, payload, _ = stream.pop()
                self.receive_frame(header, payload)
        except BadReply as exc:
            self.fail(exc)

    def receive_frame(self, header: EncapHeader, payload: memoryview) -> None:
        """Apply one whole encapsulated reply."""
        if self.broken is not None:
            return
        name: int | bytes  # the request it answers: sequence number if connected, else context
        try:
            if self._connection_id is not None:
                if header.command != Command.SEND_UNIT_DATA:
                    raise BadReply(f"unexpected command 0x{header.command:04X}")
                _, name, cip = decode_unit_data(payload)
            else:
                if header.command != Command.SEND_RR_DATA:
                    raise BadReply(f"unexpected command 0x{header.command:04X}")
                name = bytes(header.context).rstrip(b"\0")
                cip = None
            request = self.in_flight.pop(name, None)
            if request is None:
                raise BadReply(f"reply to no request in flight (context {name!r})")
        except (BadReply, DecodeError) as exc:
            self.fail(exc if isinstance(exc, BadReply) else BadReply(str(exc)))
            return
        if header.status:
            refused = EncapsulationError(header.status)
            for p in request.parts:
                p.owner.fail(refused)
            return
        try:
            if cip is None:
                cip = decode_rr_data(payload)
            reply = decode_reply(cip)
        except DecodeError as exc:
            error = BadReply(f"undecodable reply: {exc}")
            for p in request.parts:
                p.owner.fail(error)
            return
        self._apply(request, reply)

    def _apply(self, request: _Request, reply: Reply) -> None:
        """Distribute one decoded reply over the parts of its request; a fragmented read that
        must continue puts its next request first in line."""
        parts = request.parts
        if request.multiple:
            if reply.service != Service.MULTIPLE_SERVICE_PACKET or reply.status not in _MSP_OK:
                status = reply_status(reply) if reply.status else BadReply("mismatched reply")
                for p in parts:
                    p.owner.fail(status, reply)
                return
            try:
                replies = [decode_reply(m) for m in decode_multiple(reply.data)]
                if len(replies) != len(parts):
                    raise DecodeError(f"{len(replies)} replies to {len(parts)} requests")
            except DecodeError as exc:
                error = BadReply(f"undecodable Multiple Service Packet reply: {exc}")
                for p in parts:
                    p.owner.fail(error, reply)
                return
        else:
            replies = [reply]
        for p, r in zip(parts, replies):
            if r.service != p.message[0]:
                if r.status:  # e.g. an Unconnected Send routing failure
                    p.owner.fail(reply_status(r), r)
                else:
                    p.owner.fail(BadReply(f"reply to service 0x{r.service:02X}"), r)
                continue
            follow = p.owner.complete(p, r)
            if follow is not None:
                key = None if self._connection_id is not None else self._router.key(p.owner.op)
                self._waiting.appendleft((follow, key))

    # -- the connection failed ---------------------------------------------------------------------
    def fail(self, error: ClientError, unsent: int = 0) -> None:
        """End the pipeline: every operation not yet complete, and every one not yet taken from
        ``operations`` (at most :data:`FAIL_LIMIT` more of them: an endless generator is left
        where it stands), fails with ``error`` (the transport's: timeout, EOF, a failed send).

        ``unsent``: the last so many frames :meth:`requests` gave could not be sent, so the
        operations they carried count as never issued: they, and all after them, take the
        index of the first of those frames.
        """
        if self.broken is None:
            self.broken = error
        inflight = self.in_flight
        if unsent:
            first = self.index - unsent
            for request in list(inflight.values())[-unsent:]:
                for p in request.parts:
                    if p.owner.index is not None and p.owner.index > first:
                        p.owner.index = first
            self.index = first
        for request in inflight.values():
            for p in request.parts:
                p.owner.fail(error)
        inflight.clear()
        waiting = self._waiting
        for p, _ in waiting:
            p.owner.fail(error)
        waiting.clear()
        for _ in range(FAIL_LIMIT):
            if not self._pull():
                break
            for p, _ in waiting:
                p.owner.fail(error)
            waiting.clear()
        index = self.index
        for oper in self._order:
            if oper.index is None:
                oper.index = index
