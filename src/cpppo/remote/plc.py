"""The "poller" metaphor for remote PLC I/O (spec 3): background polling, synchronous writes.

A :class:`poller` reads the addresses it was asked to :meth:`~poller.poll` in a background
thread, at a shared poll rate, and keeps the latest values for :meth:`~poller.read`.
:meth:`~poller.write` goes to the PLC at the earliest opportunity between poll requests and
blocks until the PLC answers. The protocol is a subclass's business (see
:class:`cpppo.remote.plc_modbus.poller_modbus`); this module knows no protocol and needs no
third-party package.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
#: Windows (seconds) of the three :attr:`poller.load` figures.
LOAD_WINDOWS = (60.0, 300.0, 900.0)


class PlcError(Exception):
    """The PLC refused a request (for Modbus: it answered with an exception code)."""


class PlcOffline(PlcError):
    """The PLC could not be reached: no connection, no reply or an unintelligible reply."""


class Block(Protocol):
    """What a subclass polls with one request: at least the polled addresses it covers."""

    @property
    def addresses(self) -> Sequence[int]:
        """The polled addresses the request serves."""
        ...


#: A subclass's block type.
B = TypeVar("B", bound=Block)


class poller(Generic[B]):
    """Poll addresses of a PLC in a background thread; read cached values; write synchronously.

    ``rate`` is the poll period in seconds, shared by every polled address: ``poll(a, rate=r)``
    only ever makes polling faster. The thread starts with the first :meth:`poll` and keeps
    going (reconnecting by itself after failures) until :meth:`close`.

    Subclasses implement ``_plan``, ``_read_block``, ``_split``, ``_check_write``, ``_write``
    and ``_disconnect``; see their docstrings.
    """

    #: Seconds between attempts while the PLC is offline (at least; never faster than rate).
    retry = 0.25
    #: Seconds before addresses the PLC refused are tried again.
    replan = 30.0

    def __init__(self, description: str, rate: float = 1.0) -> None:
        if not rate >= 0:
            raise ValueError(f"poll rate {rate!r} is not a period >= 0 seconds")
        self.description = description
        self.rate = float(rate)
        #: True while the last poll cycle reached the PLC.
        self.online = False
        #: Poll requests issued so far (including failed ones).
        self.counter = 0
        #: Seconds taken by the last poll cycle.
        self.duration = 0.0
        self._values: dict[int, Any] = {}
        self._polling: set[int] = set()
        self._failing: set[int] = set()
        self._plan_cache: list[B] | None = None
        self._state = threading.Lock()
        # The I/O turn: one request at a time, writers ahead of polls.
        self._turn_cond = threading.Condition()
        self._busy = False
        self._writers = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._load = [0.0, 0.0, 0.0]
        self._history = 0.0
        self._io_seconds = 0.0
        self._reported: bool | None = None  # online state last logged
        self._replan_at: float | None = None  # when to retry refused addresses

    def __repr__(self) -> str:
        state = "online" if self.online else "offline"
        return f"<{type(self).__name__} {self.description!r} {state}, rate {self.rate:g}s>"

    # -- public API -------------------------------------------------------------------------
    @property
    def polling(self) -> frozenset[int]:
        """The addresses being polled."""
        with self._state:
            return frozenset(self._polling)

    @property
    def failing(self) -> frozenset[int]:
        """Polled addresses the PLC refuses to read (for Modbus: an exception reply)."""
        with self._state:
            return frozenset(self._failing)

    @property
    def load(self) -> tuple[float, float, float]:
        """Fractions (0.0-1.0) of the poll time spent on I/O over ~1, 5 and 15 minutes."""
        one, five, fifteen = self._load
        return (one, five, fifteen)

    def poll(self, address: int, rate: float | None = None) -> None:
        """Begin polling ``address`` in the background; ``rate`` may only shorten the period."""
        self._check_address(address)
        if rate is not None:
            if not rate >= 0:
                raise ValueError(f"poll rate {rate!r} is not a period >= 0 seconds")
            self.rate = min(self.rate, float(rate))
        with self._state:
            if address not in self._polling:
                self._polling.add(address)
                self._plan_cache = None
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(
                    target=self._run, name=f"poll {self.description}", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def read(self, address: int) -> Any:
        """The last polled value of ``address``: None if offline, not yet polled or refused."""
        if not self.online:
            return None
        return self._values.get(address)

    def write(self, address: int, value: Any) -> None:
        """Write ``value`` (or a list: consecutive addresses) now; block until the PLC answers.

        Raises ValueError for an address or value the PLC cannot hold, :class:`PlcOffline` when
        the PLC cannot be reached and :class:`PlcError` when it refuses the write.
        """
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if not values:
            raise ValueError("nothing to write")
        checked = self._check_write(address, values)
        with self._turn(writer=True):
            self._write(address, checked)

    def forget(self, address: int) -> None:
        """Stop polling ``address`` and drop its value."""
        with self._state:
            if address in self._polling:
                self._polling.discard(address)
                self._failing.discard(address)
                self._plan_cache = None
            self._values.pop(address, None)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the polling thread and drop the connection."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._turn(writer=True):
            self._disconnect()
        self.online = False

    def __enter__(self) -> poller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- subclass interface ----------------------------------------------------------------
    def _check_address(self, address: int) -> None:
        """Raise ValueError unless ``address`` can be polled."""

    def _plan(self, addresses: Sequence[int]) -> list[B]:
        """Blocks (one request each) covering the sorted polled ``addresses``."""
        raise NotImplementedError

    def _read_block(self, block: B) -> Iterable[tuple[int, Any]] | Mapping[int, Any]:
        """Read one block: ``(address, value)`` pairs (or a dict); PlcOffline / PlcError."""
        raise NotImplementedError

    def _split(self, block: B) -> list[B]:
        """Smaller blocks covering a refused multi-address block's addresses."""
        raise NotImplementedError

    def _check_write(self, address: int, values: list[Any]) -> list[Any]:
        """Validated values to write from ``address``, or ValueError."""
        raise NotImplementedError

    def _write(self, address: int, values: list[Any]) -> None:
        """Write (I/O turn held); PlcOffline / PlcError on failure."""
        raise NotImplementedError

    def _disconnect(self) -> None:
        """Drop the connection (I/O turn held); the next request reconnects."""

    # -- the I/O turn -----------------------------------------------------------------------
    @contextmanager
    def _turn(self, writer: bool) -> Iterator[None]:
        """Hold the PLC for one request; waiting writers go before the next poll request."""
        with self._turn_cond:
            if writer:
                self._writers += 1
            try:
                while self._busy or (not writer and self._writers):
                    self._turn_cond.wait()
            finally:
                if writer:
                    self._writers -= 1
            self._busy = True
        try:
            yield
        finally:
            with self._turn_cond:
                self._busy = False
                self._turn_cond.notify_all()

    def _polled(self, call: Callable[[], T]) -> T:
        """Run one poll request in its turn, adding its duration to ``_io_seconds``."""
        with self._turn(writer=False):
            self.counter += 1
            started = time.monotonic()
            try:
                return call()
            except PlcOffline:
                self._disconnect()
                raise
            finally:
                self._io_seconds += time.monotonic() - started

    # -- the polling thread -----------------------------------------------------------------
    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stopping.is_set():
            wait = next_at - time.monotonic()
            if wait > 0:
                if self._wake.wait(wait):
                    next_at = time.monotonic()  # new addresses: poll them now
                continue
            started = time.monotonic()
            self._io_seconds = 0.0
            self._cycle()
            finished = time.monotonic()
            self.duration = finished - started
            period = self.rate if self.online else max(self.rate, self.retry)
            self._account(self._io_seconds, max(period, self.duration))
            next_at = max(started + period, finished)

    def _cycle(self) -> None:
        """Poll every block of the plan once, splitting blocks the PLC refuses."""
        self._wake.clear()
        with self._state:
            if self._replan_at is not None and time.monotonic() >= self._replan_at:
                self._plan_cache = None
            if self._plan_cache is None:
                self._replan_at = None
                self._plan_cache = self._plan(sorted(self._polling))
            plan = self._plan_cache
        if not plan:
            return
        queue = list(plan)
        while queue and not self._stopping.is_set():
            block = queue.pop(0)
            try:
                values = self._polled(partial(self._read_block, block))
            except PlcOffline as exc:
                if self._reported is not False:
                    log.warning("%s: offline: %s", self.description, exc)
                    self._reported = False
                self.online = False
                with self._state:
                    self._plan_cache = None  # merge afresh when it returns
                return
            except PlcError as exc:
                pieces = self._split(block) if len(block.addresses) > 1 else []
                if pieces:
                    log.info("%s: %s refused (%s): split", self.description, block, exc)
                    queue[:0] = pieces
                self._replace(plan, block, pieces)
                if not pieces:
                    self._refused(block.addresses)
                continue
            with self._state:
                self._values.update(values)
                if self._failing:
                    self._failing.difference_update(block.addresses)
        if self._stopping.is_set():
            return
        if self._reported is not True:
            log.log(
                logging.WARNING if self._reported is False else logging.INFO,
                "%s: online",
                self.description,
            )
            self._reported = True
        self.online = True

    def _replace(self, plan: list[B], block: B, pieces: list[B]) -> None:
        """Put ``pieces`` in place of a refused ``block`` in the current plan.

        A refused single address leaves the plan; the plan is merged afresh (retrying it) when
        the polled addresses change, after the PLC was offline, or ``replan`` seconds later.
        """
        with self._state:
            if self._plan_cache is plan and block in plan:
                index = plan.index(block)
                plan[index : index + 1] = pieces
                if self._replan_at is None:
                    self._replan_at = time.monotonic() + self.replan

    def _refused(self, addresses: Sequence[int]) -> None:
        with self._state:
            for address in addresses:
                if address not in self._failing:
                    log.info("%s: %s refused by the PLC", self.description, address)
                self._failing.add(address)
                self._values.pop(address, None)

    def _account(self, busy: float, period: float) -> None:
        """Fold one cycle's I/O fraction into the 1/5/15-minute loads (a warm-up mean at first)."""
        if period <= 0:
            return
        self._history += period
        sample = min(1.0, busy / period)
        for index, window in enumerate(LOAD_WINDOWS):
            weight = max(1.0 - math.exp(-period / window), period / self._history)
            self._load[index] += (sample - self._load[index]) * min(1.0, weight)
