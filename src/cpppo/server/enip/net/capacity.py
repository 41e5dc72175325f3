"""How many clients a simulator holds, and which ones it lets go (no I/O, no clock of its own).

:class:`ClientTable` keeps a server's TCP connections, bounded by ``max_connections``. Those that
have not registered a session are also kept in order of their last traffic, so that when the
table is full the longest-idle of them makes room for a newcomer (only when there is none is the
newcomer refused). :meth:`ClientTable.overdue` names the connections to close for the two
timeouts: no session registered within the grace period, and no encapsulation traffic for the
TCP/IP object's Encapsulation Inactivity Timeout. Counters record every such decision.

:func:`raise_fd_limit` lifts the process's soft limit on open files toward its hard limit, so the
table's capacity is not cut short by the default soft limit (often 1,024).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_SESSIONS",
    "FD_RESERVE",
    "REGISTRATION_GRACE",
    "ClientTable",
    "Counters",
    "raise_fd_limit",
]

log = logging.getLogger("enip.srv")

#: Simultaneous TCP connections, and sessions, a simulated device holds by default.
DEFAULT_MAX_CONNECTIONS = 4000
DEFAULT_MAX_SESSIONS = 4000
#: Seconds a TCP connection may stay open without registering a session.
REGISTRATION_GRACE = 10.0
#: File descriptors kept free for everything but client connections (listeners, logs, web API,
#: worker threads' files).
FD_RESERVE = 64
#: The soft limit is never raised past this, even when the hard limit is "unlimited".
FD_CEILING = 1 << 20


def raise_fd_limit(want: int | None = None) -> int:
    """Raise the soft RLIMIT_NOFILE toward the hard limit (to ``want`` when given and lower);
    return the soft limit in force afterwards (a large number where there are no rlimits)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return FD_CEILING
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    top = FD_CEILING if hard == resource.RLIM_INFINITY else min(hard, FD_CEILING)
    target = top if want is None else min(max(want, soft), top)
    if soft != resource.RLIM_INFINITY and target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.info("Raised the open file limit from %d to %d", soft, target)
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("Cannot raise the open file limit from %d: %s", soft, exc)
    return FD_CEILING if soft == resource.RLIM_INFINITY else soft


class Client(Protocol):
    """What the table needs of a connection: its last traffic and when it was accepted."""

    last: float
    opened: float

    def has_session(self) -> bool:
        """True once the connection has registered a session."""
        ...

    def busy(self) -> bool:
        """True while a request of the connection is being answered (not idle, however long)."""
        ...


C = TypeVar("C", bound=Client)


@dataclass
class Counters:
    """Decisions taken since the start (reported by logs, the bench and the tests)."""

    #: Idle connections without a session closed to make room for a newcomer.
    evicted: int = 0
    #: Newcomers closed at once: the table was full of connections with sessions.
    refused: int = 0
    #: Connections closed for registering no session within the grace period.
    unregistered: int = 0
    #: Connections closed for the encapsulation inactivity timeout.
    inactive: int = 0


class ClientTable(Generic[C]):
    """The TCP connections of one server, bounded by ``max_connections``."""

    def __init__(self, max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        self.max_connections = max_connections
        self.counters = Counters()
        self._all: set[C] = set()
        #: Connections without a session, least recently active first.
        self._waiting: dict[C, None] = {}

    def __len__(self) -> int:
        return len(self._all)

    def __iter__(self) -> Iterator[C]:
        return iter(list(self._all))

    def __contains__(self, client: object) -> bool:
        return client in self._all

    def admit(self, client: C) -> tuple[bool, C | None]:
        """Take ``client`` in: (True, None), or (True, victim) when the longest-idle connection
        without a session must be closed to make room, or (False, None) when it cannot be."""
        victim = None
        if len(self._all) >= self.max_connections:
            victim = self._idlest()
            if victim is None:
                self.counters.refused += 1
                return False, None
            self.discard(victim)
            self.counters.evicted += 1
        self._all.add(client)
        self._waiting[client] = None
        return True, victim

    def _idlest(self) -> C | None:
        """The longest-idle connection without a session (None if every one has a session)."""
        waiting = self._waiting
        while waiting:
            client = next(iter(waiting))
            if not client.has_session():
                return client
            del waiting[client]
        return None

    def touch(self, client: C) -> None:
        """``client`` sent something: it becomes the most recently active of those waiting."""
        waiting = self._waiting
        if client in waiting:
            del waiting[client]
            if not client.has_session():
                waiting[client] = None

    def discard(self, client: C) -> None:
        """Forget ``client`` (closed)."""
        self._all.discard(client)
        self._waiting.pop(client, None)

    def overdue(self, now: float, grace: float, inactivity: float) -> Iterator[tuple[C, str]]:
        """(connection, cause) of each connection due to be closed at ``now``: no session within
        ``grace`` seconds of being accepted, or no traffic for ``inactivity`` seconds (either
        0: never). Each is forgotten and counted as it is named."""
        if grace > 0:
            for client in list(self._waiting):
                if client.has_session():
                    del self._waiting[client]
                elif now - client.opened >= grace and not client.busy():
                    self.discard(client)
                    self.counters.unregistered += 1
                    yield client, f"no session registered within {grace:g} s"
        if inactivity > 0:
            for client in list(self._all):
                if now - client.last >= inactivity and not client.busy():
                    self.discard(client)
                    self.counters.inactive += 1
                    yield client, f"no encapsulation traffic for {inactivity:g} s"
