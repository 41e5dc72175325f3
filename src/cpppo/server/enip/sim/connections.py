"""The Connection Manager's table of CIP (class 3) connections: pure state, no I/O, no clock.

Times are passed in (``now`` seconds, any monotonic clock), so tests drive expiry directly.
A connection times out after ``O->T RPI x (4 << multiplier)`` of silence, the multiplier byte of
the Forward Open being a code (0..7 = x4..x512).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

__all__ = ["PER_SESSION_LIMIT", "Connection", "ConnectionTable", "timeout_seconds"]


def timeout_seconds(rpi_us: int, multiplier: int) -> float:
    """Inactivity timeout of a connection: O->T RPI (microseconds) x (4 << multiplier code)."""
    return rpi_us * (4 << (multiplier & 0x07)) / 1e6


@dataclass(eq=False)
class Connection:
    """One open connection (identified by its triad and its O->T connection id)."""

    o_t_id: int
    t_o_id: int
    serial: int
    vendor: int
    originator_serial: int
    o_t_rpi: int
    t_o_rpi: int
    multiplier: int
    o_t_size: int
    t_o_size: int
    session: int
    opened: float
    last: float
    sequence: int | None = None
    last_reply: bytes | None = None
    requests: int = 0
    path: list[dict] = field(default_factory=list)
    #: Seconds of silence after which the connection is dropped (from the Forward Open's O->T
    #: RPI and multiplier, fixed for the life of the connection).
    timeout: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.timeout = timeout_seconds(self.o_t_rpi, self.multiplier)

    @property
    def triad(self) -> tuple[int, int, int]:
        """(connection serial number, originator vendor id, originator serial number)."""
        return (self.serial, self.vendor, self.originator_serial)


#: CIP connections one encapsulation session may hold open at once (by default).
PER_SESSION_LIMIT = 32


class ConnectionTable:
    """Open connections of one controller, looked up by O->T id or by triad; thread-safe.

    ``limit`` bounds the connections of the controller, ``per_session`` those of one session.
    """

    def __init__(
        self,
        limit: int = 128,
        rng: random.Random | None = None,
        per_session: int = PER_SESSION_LIMIT,
    ) -> None:
        self.limit = limit
        self.per_session = per_session
        self._by_id: dict[int, Connection] = {}
        self._by_triad: dict[tuple[int, int, int], Connection] = {}
        self._lock = threading.Lock()
        self._rng = rng or random.Random()
        #: Counters kept as the Connection Manager's attributes report them.
        self.open_requests = 0
        self.open_rejects = 0
        self.close_requests = 0
        self.close_rejects = 0
        self.timeouts = 0

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self):  # type: ignore[no-untyped-def]
        with self._lock:
            return iter(list(self._by_id.values()))

    def duplicate(self, triad: tuple[int, int, int]) -> bool:
        """True when a connection with this triad is already open."""
        return triad in self._by_triad

    def full(self, session: int | None = None) -> bool:
        """True when no more connections may be opened (through ``session``, when given)."""
        if len(self._by_id) >= self.limit:
            return True
        if session is None:
            return False
        with self._lock:
            held = sum(1 for c in self._by_id.values() if c.session == session)
        return held >= self.per_session

    def new_id(self) -> int:
        """A fresh, unused, non-zero O->T connection id."""
        while True:
            cid = self._rng.randrange(1, 1 << 32)
            if cid not in self._by_id:
                return cid

    def add(self, connection: Connection) -> None:
        """Register an open connection."""
        with self._lock:
            self._by_id[connection.o_t_id] = connection
            self._by_triad[connection.triad] = connection

    def get(self, o_t_id: int, now: float | None = None) -> Connection | None:
        """The live connection with this O->T id (an expired one is dropped and None returned)."""
        connection = self._by_id.get(o_t_id)
        if (
            connection is not None
            and now is not None
            and now - connection.last > connection.timeout
        ):
            self.remove(connection)
            self.timeouts += 1
            return None
        return connection

    def remove(self, connection: Connection) -> None:
        """Forget a connection."""
        with self._lock:
            self._by_id.pop(connection.o_t_id, None)
            self._by_triad.pop(connection.triad, None)

    def close(self, triad: tuple[int, int, int]) -> Connection | None:
        """Remove and return the connection with this triad (None if there is none)."""
        with self._lock:
            connection = self._by_triad.pop(triad, None)
            if connection is not None:
                self._by_id.pop(connection.o_t_id, None)
            return connection

    def close_session(self, session: int) -> int:
        """Drop every connection opened through ``session``; return how many."""
        with self._lock:
            doomed = [c for c in self._by_id.values() if c.session == session]
            for connection in doomed:
                self._by_id.pop(connection.o_t_id, None)
                self._by_triad.pop(connection.triad, None)
        return len(doomed)

    def expire(self, now: float) -> list[Connection]:
        """Drop and return every connection silent for longer than its timeout."""
        with self._lock:
            doomed = [c for c in self._by_id.values() if now - c.last > c.timeout]
            for connection in doomed:
                self._by_id.pop(connection.o_t_id, None)
                self._by_triad.pop(connection.triad, None)
        self.timeouts += len(doomed)
        return doomed
