"""Embedding the simulator: the ``server`` argument of ``cpppo.server.enip.main.main``.

Besides a :class:`~.control.ServerControl`, ``main`` takes what the original cpppo took: a dict
or dotdict holding ``done`` (and ``disable``) itself (``server=dict(done=False)``) or in a
``control`` mapping (``dotdict(control=dotdict(done=False, latency=0.1))``). Setting ``done``
stops the simulator; ``disable`` closes and reopens its port.

Public API:
    control_of(server) -> (ServerControl, mapping | None)
        the ServerControl to serve with, and the caller's mapping of signals (or None).
    follow(signals, control)   (a coroutine)
        keep the mapping and the ServerControl in step, both ways, until cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, MutableMapping
from typing import Any

from .control import ServerControl

__all__ = ["control_of", "follow"]

#: The signals an embedding caller's mapping carries (as the original cpppo's server.control).
_SIGNALS = ("done", "disable")


def control_of(server: Any) -> tuple[ServerControl, MutableMapping | None]:
    """The ServerControl to serve with, and the caller's mapping of signals to follow (or None).

    ``server``: None, a ServerControl, ``{'control': ServerControl}``, or as the original
    cpppo took it, a mapping (dict, dotdict) holding ``done`` (and ``disable``) itself
    (``dict(done=False)``) or in a ``control`` mapping (``dotdict(control=dotdict())``).
    """
    if server is None:
        return ServerControl(), None
    if isinstance(server, ServerControl):
        return server, None
    if isinstance(server, Mapping):
        inner = server.get("control")
        if isinstance(inner, ServerControl):
            return inner, None
        signals = inner if isinstance(inner, MutableMapping) else server
        if isinstance(signals, MutableMapping):
            for name in _SIGNALS:
                signals.setdefault(name, False)
            latency = signals.get("latency")
            control = ServerControl()
            if isinstance(latency, (int, float)) and not isinstance(latency, bool) and latency > 0:
                control.latency = float(latency)
            return control, signals
    raise TypeError(
        "server must be a ServerControl, or a dict/dotdict holding 'done' (or a 'control' "
        "dict holding it)"
    )


async def follow(signals: MutableMapping, control: ServerControl) -> None:
    """Keep ``control`` and the caller's ``signals`` mapping in step, both ways: a change of
    ``signals['done']``/``['disable']`` (seen every ``control.latency`` seconds) is applied
    to ``control``; a change of ``control`` (a signal, the web API) is written to ``signals``."""
    seen = {name: bool(signals.get(name)) for name in _SIGNALS}

    def reflect(name: str, value: bool) -> None:
        seen[name] = value
        signals[name] = value

    for name in _SIGNALS:
        if seen[name] != getattr(control, name):
            setattr(control, name, seen[name])
    control.subscribe(reflect)
    try:
        while True:
            await asyncio.sleep(control.latency)
            for name in _SIGNALS:
                value = bool(signals.get(name))
                if value != seen[name]:
                    seen[name] = value
                    setattr(control, name, value)
    finally:
        control.unsubscribe(reflect)
