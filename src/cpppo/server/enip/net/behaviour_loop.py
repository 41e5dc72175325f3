"""Tag behaviours on the simulator's event loop (docs/behaviours.md).

:class:`BehaviourLoop` applies a :class:`~.sim.behaviours.Behaviours` ``rate`` times a second on
the running loop: each update stores every value in slices, handing the loop back between
slices so that requests are served while thousands of tags change. Updates keep to a fixed
grid (time 0 is when the loop starts); an update that runs late skips the grid points it missed
instead of running them in a burst. ``behaviours.period`` is its interval.

While it runs, the controller's ``write_guard`` is the behaviours' guard (when some behaviour
refuses writes), so a write to such a tag is answered 0x0F.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

__all__ = ["BehaviourLoop"]

log = logging.getLogger("enip.bhv")


class BehaviourLoop:
    """Run ``behaviours`` for ``controller`` on the running event loop: ``start()`` / ``await
    stop()``; ``cpu`` is the CPU seconds its updates have used (this thread's), ``updates`` their
    number."""

    def __init__(self, behaviours: Any, controller: Any = None) -> None:
        self.behaviours = behaviours
        self.controller = controller
        self.updates = 0
        self.cpu = 0.0
        self._task: asyncio.Task | None = None

    def start(self) -> asyncio.Task:
        """Begin updating on the running loop (call from a coroutine or the loop's thread)."""
        if self._task is None:
            loop = asyncio.get_running_loop()
            if self.controller is not None and self.behaviours.refusing:
                self.controller.write_guard = self.behaviours.guard
            self._task = loop.create_task(self._run(), name="behaviours")
        return self._task

    async def stop(self) -> None:
        """Stop updating (and drop the write guard)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self.controller is not None and getattr(self.controller, "write_guard", None) == (
            self.behaviours.guard
        ):
            self.controller.write_guard = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        behaviours = self.behaviours
        period = behaviours.period
        due = loop.time()
        behaviours.start(due)
        log.info("Updating %d tag behaviours %g times a second", len(behaviours), behaviours.rate)
        finished = object()
        while True:
            steps = behaviours.steps(loop.time())
            while True:
                began = time.thread_time()
                step = next(steps, finished)
                self.cpu += time.thread_time() - began
                if step is finished:
                    break
                await asyncio.sleep(0)
            self.updates += 1
            due += period
            now = loop.time()
            if now > due:  # late: skip to the next grid point
                due += (now - due) // period * period + period
            await asyncio.sleep(due - now)
