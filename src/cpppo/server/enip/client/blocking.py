"""The blocking EtherNet/IP CIP client and its generator API: a :class:`connector` runs sequences
of operations through the sans-IO :class:`~.pipeline.Pipeline` over the socket transport
(:class:`~.transport.client`).

Public API:
    client(host='localhost', port=44818, timeout=None, udp=False, broadcast=False, ...)
        One TCP (or UDP) connection: request builders and ``next(conn)`` (see :mod:`.transport`).
    connector(host=..., port=..., timeout=..., udp=False, broadcast=False, connected=False, ...)
        A client that registers a session (TCP) on creation and runs sequences of operations:
        ``.synchronous``, ``.pipeline(depth=1)``, ``.operate(depth=0, validating=False,
        printing=False)``, ``.results``, ``.process`` -> ``(failures, transactions)``. Each yields
        ``(idx, dsc, req, rpy, sts, val)``. ``connected=True`` opens a CIP connection (Forward
        Open) and sends requests with SendUnitData; ``implicit`` is such a connector.
    parse_operations, format_path       re-exported from :mod:`.operations`.
    ClientError, ReplyTimeout, ConnectionClosed, BadReply, EncapsulationError
        the statuses of operations that got no (usable) reply (:mod:`.errors`).
    CommunicationCeased
        raised when the connection fails part way (:mod:`.errors`).
    summary_name(operations, fragment) -> str   the kind of I/O the CLI's summary line names.

A device's error status never raises: the operation is yielded with ``val`` None and ``sts`` the
status (an int, or ``(status, [ext, ...])``); so does one request's encapsulation error
(``sts`` an EncapsulationError) and an operation that cannot be encoded (``sts`` the error). When
the connection fails (timeout, closed, garbage), ``.synchronous``, ``.pipeline``, ``.operate``,
``.results`` and ``.process`` yield every operation completed before, then raise
CommunicationCeased ("Communication ceased before harvesting all pipeline responses", as the
original client; also an AssertionError), which carries the failure and the operations left.
The connector is then broken: later calls raise at once instead of waiting again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

from cpppo.misc import NORMAL

from ..codec.encap import Command
from ..codec.status import EncapStatus
from .errors import (
    BadReply,
    ClientError,
    CommunicationCeased,
    ConnectionClosed,
    EncapsulationError,
    ReplyTimeout,
)
from .operations import OperationError, format_path, parse_operations
from .pipeline import Pipeline
from .replies import status_string
from .requests import SUMMARY_NAMES
from .transport import DEFAULT_PORT, client

__all__ = [
    "DEFAULT_PORT",
    "TAGS_NEED_TCP",
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
    "parse_operations",
    "summary_name",
]

log = logging.getLogger("enip.cli")

#: Why a connector over UDP runs no operations.
TAGS_NEED_TCP = (
    "tags and attributes are read and written over TCP: their requests (SendRRData) need a "
    "registered session, which UDP has not; over UDP use List Identity, List Services or List "
    "Interfaces (enip_client -u with -i, -s or -I)"
)


class connector(client):
    """A client that registers a session and runs sequences of operations (see module doc)."""

    def __init__(
        self,
        host: str = "localhost",
        port: int | None = None,
        timeout: float | None = None,
        connected: bool = False,
        **kwds: Any,
    ) -> None:
        super().__init__(host=host, port=port, timeout=timeout, **kwds)
        try:
            if not self.udp:
                self._register(timeout)
                if connected:
                    self.forward_open(timeout=timeout)
        except BaseException:
            self.close()
            raise

    def _register(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        self.register(sender_context=b"register")
        header, _, _ = self._receive(deadline)
        if header.command != Command.REGISTER_SESSION or header.status or not header.session:
            raise EncapsulationError(
                header.status or EncapStatus.INCORRECT_DATA,
                f"RegisterSession refused by {self.host}:{self.port}: "
                f"command 0x{header.command:04X}, status 0x{header.status:04X}",
            )
        self.session = header.session

    def close(self) -> None:
        """Forward Close (if connected), UnRegisterSession, then close the socket."""
        if self._sock is not None and not self.udp and self._broken is None:
            try:
                if self.connection is not None:
                    self.forward_close(timeout=min(self.timeout or 1.0, 1.0))
                if self.session:
                    self.unregister()
            except (ClientError, OSError) as exc:
                log.info("Closing %r: %s", self, exc)
        super().close()

    # -- the transport loop around the pipeline -------------------------------------------------
    def _run(
        self,
        operations: Iterable[Any],
        index: int,
        fragment: bool,
        multiple: int,
        timeout: float | None,
        depth: int,
    ) -> Iterator[tuple]:
        """Issue ``operations`` keeping up to ``max(1, depth)`` requests in flight; yield each
        operation's 6-tuple in order as it completes. Each wait for a reply is bounded by
        ``timeout`` (None: this connector's). Raises CommunicationCeased at the first operation
        the connection's failure left without a reply; OperationError over UDP (tags and
        attributes need TCP)."""
        if self.udp:
            raise OperationError(TAGS_NEED_TCP)
        timeout = self.timeout if timeout is None else timeout
        connection = self.connection
        pipe = Pipeline(
            operations,
            session=self.session,
            router=self.router,
            connection_id=None if connection is None else connection["o_t_connection_id"],
            sequence=self.sequence,
            index=index,
            depth=depth,
            multiple=multiple,
            fragment=fragment,
            plans=self._plans,
            stream=self._stream,
        )
        if self._broken is not None:
            pipe.fail(self._broken)
        requests, results, in_flight = pipe.requests, pipe.results, pipe.in_flight
        complete = 0
        while True:
            frames = requests()
            if frames:
                unsent = len(frames)
                try:
                    self.send(frames[0] if unsent == 1 else b"".join(frames))
                except ClientError as exc:
                    self._broken = exc
                    pipe.fail(exc, unsent)
                if connection is not None:
                    self.sequence = pipe.sequence
            done = results()
            broken = pipe.broken
            if broken is not None:
                for n, result in enumerate(done):
                    if result[4] is broken:
                        yield from done[:n]
                        left = done[n:]
                        issued = sum(1 for r in left if r[0] < pipe.index)
                        raise CommunicationCeased(
                            complete + n, complete + n + issued, broken, left
                        ) from broken
            complete += len(done)
            yield from done
            if not in_flight:
                if pipe.finished:
                    return
                continue
            deadline = None if timeout is None else time.monotonic() + timeout
            try:
                pipe.receive_data(self._read(deadline)[0])
            except ClientError as exc:
                pipe.fail(exc)
            if pipe.broken is not None:
                self._broken = pipe.broken

    # -- the public generators ---------------------------------------------------------------------
    def synchronous(
        self,
        operations: Iterable[Any],
        index: int = 0,
        fragment: bool = False,
        multiple: int = 0,
        timeout: float | None = None,
    ) -> Iterator[tuple]:
        """Issue each request and wait for its reply before the next; yield each operation's
        ``(idx, dsc, req, rpy, sts, val)``. ``index`` is the first sender context."""
        return self._run(operations, index, fragment, multiple, timeout, 0)

    def pipeline(
        self,
        operations: Iterable[Any],
        index: int = 0,
        fragment: bool = False,
        multiple: int = 0,
        timeout: float | None = None,
        depth: int = 1,
    ) -> Iterator[tuple]:
        """Like ``synchronous``, with up to ``depth`` requests in flight."""
        return self._run(operations, index, fragment, multiple, timeout, depth)

    def validate(self, harvested: Iterable[tuple], printing: bool = False) -> Iterator[tuple]:
        """Log (and print, if ``printing``) a line per operation, e.g. ``SCADA[ 1-1 ] == [0]``,
        and yield each tuple with a write's value replaced by the data written."""
        for idx, dsc, req, rpy, sts, val in harvested:
            line, val = _summary_line(req, sts, val)
            log.log(NORMAL if not sts else logging.WARNING, "%s", line)
            if printing:
                print(line, flush=True)
            yield idx, dsc, req, rpy, sts, val

    def operate(
        self,
        operations: Iterable[Any],
        depth: int = 0,
        printing: bool = False,
        validating: bool = False,
        **kwds: Any,
    ) -> Iterator[tuple]:
        """Pipeline (``depth`` > 0) or run synchronously, optionally through ``validate``."""
        harvested = (
            self.pipeline(operations, depth=depth, **kwds)
            if depth
            else self.synchronous(operations, **kwds)
        )
        if printing or validating:
            harvested = self.validate(harvested, printing=printing)
        return harvested

    def results(self, operations: Iterable[Any], **kwds: Any) -> Iterator[Any]:
        """Yield just the value of each operation (None for a failure)."""
        for _, _, _, _, _, val in self.operate(operations, **kwds):
            yield val

    def process(self, operations: Iterable[Any], **kwds: Any) -> tuple[int, list]:
        """Run every operation; return ``(failures, [value, ...])``."""
        transactions = list(self.results(operations, **kwds))
        return sum(1 for t in transactions if t is None), transactions


class implicit(connector):
    """A connector over a CIP connection (Forward Open, then SendUnitData)."""

    def __init__(self, host: str = "localhost", port: int | None = None, **kwds: Any) -> None:
        kwds["connected"] = True
        super().__init__(host=host, port=port, **kwds)


def _summary_line(op: Any, sts: Any, val: Any) -> tuple[str, Any]:
    """The printed line of one operation, and its value (a write's data when it succeeded)."""
    if not isinstance(op, dict):
        return f"{op!r} == {val!r}", val
    path = list(op.get("path") or [])
    element = None
    if path and set(path[-1]) == {"element"}:
        element = path.pop()["element"]
    tag = format_path(path)
    method = op.get("method") or ("write" if "data" in op else "read")
    writing = method in ("write", "set_attribute_single")
    if writing and val is True:
        val = op.get("data")
    count = op.get("elements", 1)
    where = tag if element is None else f"{tag}[ {element}-{element + count - 1} ]"
    if op.get("offset"):
        where += f"+{op['offset']}"
    act = "<=" if writing else "=="
    if val is None:
        return f"{where} {act} None: {status_string(sts)}", val
    return f"{where} {act} {val!r}", val


def summary_name(operations: Iterable[dict], fragment: bool) -> str:
    """The kind of I/O named in the client's summary line (``ReadFrg.``; ``Tag I/O`` if mixed)."""
    names = set()
    for op in operations:
        method = op.get("method") or ("write" if "data" in op else "read")
        if method in ("read", "write"):
            frag = fragment or op.get("offset") is not None
            method = ("read" if method == "read" else "write") + ("_frag" if frag else "")
        names.add(SUMMARY_NAMES.get(method, "Tag I/O"))
    return names.pop() if len(names) == 1 else "Tag I/O"
