"""Fault controls and connection statistics held by a running simulator (driven by the web API).

A :class:`ServerControl` is shared between the asyncio server, ``main()`` and any other thread (a
test, the web API). Every field may be read or set from any thread:

- ``delay.value`` / ``delay.range``: seconds to wait before each response (a range re-draws a
  uniform random value for each response);
- ``disable``: True closes the listening sockets and every connection; False re-opens them;
- ``done``: True stops the server; ``main()`` then returns;
- ``latency``: the longest a connection may take to notice eof or disable (the server applies
  them at once; the web API waits up to this long for them to take effect);
- ``timeout``: how long a connection's handler may take to finish when the server stops;
- ``address``: the bound (host, port) once serving (``wait_started()`` blocks until then);
- ``connections``: name -> :class:`ConnectionStats` (interface, port, received, requests, eof);
  setting ``eof`` True closes that connection.

Per-tag forced error codes live on each tag's ``Attribute.error`` (see ``device.Attribute``).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["ConnectionStats", "Delay", "ServerControl", "connection_name", "parse_delay"]


def parse_delay(text: str) -> tuple[float, tuple[float, float] | None]:
    """Parse ``#.#`` or ``#.#-#.#`` into (value, range); ValueError if malformed or negative."""
    text = str(text).strip()
    lo_text, sep, hi_text = text.partition("-")
    try:
        lo = float(lo_text)
        hi = float(hi_text) if sep else lo
    except ValueError:
        raise ValueError(f"invalid delay {text!r} (expected #.# or #.#-#.#)") from None
    if not (0.0 <= lo <= hi) or hi > 3600.0:
        raise ValueError(f"invalid delay {text!r} (need 0 <= low <= high <= 3600)")
    return lo, ((lo, hi) if sep else None)


class Delay:
    """A constant or randomly varying response delay, in seconds."""

    def __init__(self, value: float = 0.0, range: tuple[float, float] | None = None) -> None:
        self._value = max(0.0, float(value))
        self._range = range
        #: True when responses are delayed (a delay above 0, or a range): a plain attribute,
        #: read for every request.
        self.active = self._value > 0 or range is not None

    @property
    def value(self) -> float:
        """The delay applied to the next response (the last one drawn, when a range is set)."""
        return self._value

    @value.setter
    def value(self, value: float) -> None:
        self._value = max(0.0, float(value))
        self.active = self._value > 0 or self._range is not None

    @property
    def range(self) -> tuple[float, float] | None:
        """(low, high) to draw each delay from, or None for a constant delay."""
        return self._range

    @range.setter
    def range(self, value: tuple[float, float] | str | None) -> None:
        if isinstance(value, str):
            lo, rng = parse_delay(value)
            value = rng or (lo, lo)
        self._range = None if value is None else (float(value[0]), float(value[1]))
        self.active = self._value > 0 or self._range is not None

    def sample(self) -> float:
        """The delay for one response (draws a new value when a range is set)."""
        if self._range is not None:
            self._value = random.uniform(*self._range)
        return self._value

    def __repr__(self) -> str:
        return f"Delay(value={self._value!r}, range={self._range!r})"


def connection_name(host: str, port: int) -> str:
    """The web API's key for a connection: ``127_0_0_1_52590``."""
    return f"{host}_{port}".replace(".", "_").replace(":", "_")


@dataclass(eq=False)
class ConnectionStats:
    """Statistics of one client connection; setting ``eof`` closes it."""

    interface: str
    port: int
    received: int = 0
    requests: int = 0
    _eof: bool = False
    _on_eof: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def eof(self) -> bool:
        """True once the connection has been told to close (or has closed)."""
        return self._eof

    @eof.setter
    def eof(self, value: bool) -> None:
        self._eof = bool(value)
        if self._eof and self._on_eof is not None:
            self._on_eof()


class ServerControl:
    """Thread-safe switches of one running simulator (see the module docstring)."""

    def __init__(self, delay: Delay | None = None, latency: float = 0.1) -> None:
        self.delay = delay if delay is not None else Delay()
        self.latency = latency
        self.timeout = 2 * latency
        self.connections: dict[str, ConnectionStats] = {}
        self._done = False
        self._disable = False
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str, bool], None]] = []
        self._stopped = threading.Event()
        self._started = threading.Event()
        #: The (host, port) being served, once bound.
        self.address: tuple[str, int] | None = None
        #: Requests served by connections that have since closed (see ``total_requests``).
        self.requests_closed = 0

    def total_requests(self) -> int:
        """Requests served over TCP since the start, closed connections included."""
        return self.requests_closed + sum(s.requests for s in list(self.connections.values()))

    def subscribe(self, listener: Callable[[str, bool], None]) -> None:
        """Call ``listener(name, value)`` (in the setting thread) when done/disable change."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[str, bool], None]) -> None:
        """Stop calling ``listener``."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _notify(self, name: str, value: bool) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(name, value)

    @property
    def done(self) -> bool:
        """True asks the server to stop."""
        return self._done

    @done.setter
    def done(self, value: bool) -> None:
        self._done = bool(value)
        self._notify("done", self._done)

    @property
    def disable(self) -> bool:
        """True closes the port and every connection until set False again."""
        return self._disable

    @disable.setter
    def disable(self, value: bool) -> None:
        self._disable = bool(value)
        self._notify("disable", self._disable)

    def mark_started(self, address: tuple[str, int]) -> None:
        """Called by the server once its sockets are bound."""
        self.address = address
        self._started.set()

    def wait_started(self, timeout: float | None = None) -> tuple[str, int] | None:
        """Block until the server is bound; its (host, port), or None after ``timeout``."""
        return self.address if self._started.wait(timeout) else None

    def mark_stopped(self) -> None:
        """Called by the server when it has stopped serving."""
        self._stopped.set()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until the server has stopped (True) or ``timeout`` passes (False)."""
        return self._stopped.wait(timeout)
