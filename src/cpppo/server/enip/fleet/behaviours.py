"""Every fleet device's tag behaviours run from one task per update rate (docs/fleet.md).

A :class:`~..net.behaviour_loop.BehaviourLoop` per device would cost a task wake-up per device
per update: 1,000 devices at 10 Hz make 10,000 a second. :class:`FleetBehaviours` instead steps
every device whose behaviours update at the same rate from one task, on one fixed grid (time 0
is :meth:`FleetBehaviours.start`; an update that runs late skips the grid points it missed).
Within an update it hands the loop back whenever it has run for :data:`SLICE_SECONDS`, between
devices or between the slices of one device's values, so requests keep being served.

While it runs, each device whose behaviours refuse writes has the behaviours' guard as its
controller's ``write_guard`` (a write to such a tag is answered 0x0F, as in ``enip_server``).
A stopped (or failed) device's tags are left as they are; a disabled one's keep moving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

__all__ = ["SLICE_SECONDS", "FleetBehaviours"]

log = logging.getLogger("enip.fleet")

#: The longest the updates run before handing the loop back to waiting requests.
SLICE_SECONDS = 0.002
#: Device states whose tags are not updated.
_IDLE = frozenset({"stopped", "failed"})


class FleetBehaviours:
    """Run the behaviours of ``devices`` (those having some) on the running loop: ``start()`` /
    ``await stop()``. ``updates`` counts the updates of the whole fleet (per rate), ``cpu`` the
    CPU seconds they used (this thread's), ``late`` the grid points skipped."""

    def __init__(self, devices: Iterable[Any]) -> None:
        self.devices = [d for d in devices if d.behaviours is not None and len(d.behaviours)]
        self.updates = 0
        self.late = 0
        self.cpu = 0.0
        self._tasks: list[asyncio.Task] = []

    def __len__(self) -> int:
        return len(self.devices)

    def start(self) -> None:
        """Begin updating on the running loop (call from a coroutine or the loop's thread)."""
        if self._tasks or not self.devices:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        by_rate: dict[float, list[Any]] = {}
        for device in self.devices:
            behaviours = device.behaviours
            if device.controller is not None and behaviours.refusing:
                device.controller.write_guard = behaviours.guard
            behaviours.start(now)
            by_rate.setdefault(behaviours.rate, []).append(device)
        for rate, devices in sorted(by_rate.items()):
            name = f"fleet-behaviours-{rate:g}Hz"
            self._tasks.append(loop.create_task(self._run(devices, 1.0 / rate, now), name=name))
        count = sum(len(device.behaviours) for device in self.devices)
        log.info(
            "Updating %d tag behaviours of %d devices (%s) from %d task(s)",
            count, len(self.devices), ", ".join(f"{r:g} Hz" for r in sorted(by_rate)),
            len(self._tasks),
        )  # fmt: skip

    async def stop(self) -> None:
        """Stop updating (and drop the write guards)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        for device in self.devices:
            controller = device.controller
            if controller is not None and controller.write_guard == device.behaviours.guard:
                controller.write_guard = None

    async def _run(self, devices: list[Any], period: float, due: float) -> None:
        loop = asyncio.get_running_loop()
        clock, cpu_clock = time.perf_counter, time.thread_time
        while True:
            began, cpu = clock(), cpu_clock()
            for device in devices:
                if device.state in _IDLE:
                    continue
                for _ in device.behaviours.steps(loop.time()):
                    if clock() - began >= SLICE_SECONDS:
                        self.cpu += cpu_clock() - cpu
                        await asyncio.sleep(0)
                        began, cpu = clock(), cpu_clock()
            self.cpu += cpu_clock() - cpu
            self.updates += 1
            due += period
            now = loop.time()
            if now > due:  # late: skip to the next grid point
                skipped = (now - due) // period + 1
                self.late += int(skipped)
                due += skipped * period
            await asyncio.sleep(due - now)
