"""Recent values of the tags that move: the dashboard's per-tag sparklines.

:class:`TagTrends` samples, every ``interval`` seconds, the tags with a behaviour (the value at
their first behaviour's path) and the tags whose memory changed lately (their first element:
a client or the web API wrote them), among the first ``limit`` tags the dashboard lists. A tag
that stops changing keeps its trend for ``keep`` seconds. Only numbers and BOOLs are drawn.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

from .web_api import peek

__all__ = ["TagTrends"]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    return None


class TagTrends:
    """Sparkline samples per tag: ``trend(name)`` is ``[[time, value], ...]`` or None."""

    def __init__(
        self,
        controller: Any,
        behaviours: Any = None,
        *,
        interval: float = 0.25,
        length: int = 120,
        keep: float = 60.0,
        limit: int = 500,
    ) -> None:
        self.controller = controller
        self.behaviours = behaviours
        self.interval = interval
        self.length = length
        self.keep = keep
        self.limit = limit
        self.samples: dict[str, collections.deque[list[float]]] = {}
        self._images: dict[str, bytes] = {}
        self._changed: dict[str, float] = {}
        self._paths: dict[str, Any] = {}

    def _behaviour_location(self, name: str) -> Any:
        """The location of the first behaviour on tag ``name`` (None if it has none)."""
        if self.behaviours is None:
            return None
        if name not in self._paths:
            paths = list(self.behaviours.describe(name))
            self._paths[name] = self.controller.tags.resolve(paths[0]) if paths else None
        return self._paths[name]

    def sample(self, now: float | None = None) -> None:
        """Take one sample of every tag that moves."""
        now = time.time() if now is None else now
        for count, tag in enumerate(self.controller.tags):
            if count >= self.limit:
                break
            name = tag.qualified_name
            location = self._behaviour_location(name)
            image = bytes(tag.data)
            if self._images.get(name, image) != image:
                self._changed[name] = now
            self._images[name] = image
            if location is not None:
                value = _number(location.get())
            elif now - self._changed.get(name, -1e300) <= self.keep:
                values = peek(tag.attribute, 0, 1)
                value = _number(values[0]) if values else None
            else:
                self.samples.pop(name, None)
                continue
            if value is None:
                continue
            trend = self.samples.get(name)
            if trend is None:
                trend = self.samples[name] = collections.deque(maxlen=self.length)
            trend.append([round(now, 3), value])

    def trend(self, name: str) -> list[list[float]] | None:
        """The samples of tag ``name`` (None when it does not move)."""
        trend = self.samples.get(name)
        return None if trend is None else list(trend)

    async def run(self) -> None:
        """Sample every ``interval`` seconds until cancelled."""
        while True:
            self.sample()
            await asyncio.sleep(self.interval)
