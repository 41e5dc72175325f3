"""``--replay FILE.hst[:SPEED]``: a whole history served into the tags it names, in time.

:class:`Playback` binds every name a :class:`~.replay.Recording` holds to the tag database:
a name that resolves (a tag, a member, an element) takes its recorded values there; one that
does not is created from the history's type header (a tag of that type and dimensions), and a
history without a header for it cannot be served (a :class:`~.spec.BehaviourError`).

``apply(t)`` stores, for each name, the values of the last record at or before ``t`` when they
are not the ones already stored: a client's write lasts until the next recorded value.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ...logix import Location, TagDB, TagDBError, TagPathError
from .replay import Recording, Series
from .spec import BehaviourError

__all__ = ["Playback", "parse_replay"]

log = logging.getLogger("enip.bhv")


def parse_replay(text: str) -> tuple[str, float, bool]:
    """``FILE.hst[:SPEED][:loop]`` as (file, speed, loop); BehaviourError if malformed."""
    path, speed, loop = text, 1.0, False
    for _ in range(2):
        head, colon, tail = path.rpartition(":")
        if not colon or not head:
            break
        if tail.strip().lower() == "loop" and not loop:
            loop, path = True, head
            continue
        try:
            speed = float(tail)
        except ValueError:
            break
        if not speed > 0:
            raise BehaviourError(f"--replay {text!r}: the speed must be > 0")
        path = head
    return path, speed, loop


class Playback:
    """The values of history ``path`` served into ``db`` (see the module docstring)."""

    def __init__(self, db: TagDB, path: str, *, speed: float = 1.0, loop: bool = False) -> None:
        where = f"--replay {path}"
        if not os.path.exists(path):
            raise BehaviourError(f"{where}: no such history file")
        try:
            recording = Recording(path)
        except (ValueError, OSError) as exc:
            raise BehaviourError(f"{where}: {exc}") from None
        self.path = path
        self.created: list[str] = []
        self.targets: list[tuple[Series, Location, Any]] = []
        for name in recording.names:
            location = self._location(db, recording, name, where)
            series = recording.series(name, speed=speed, loop=loop)
            root = db.get(name)
            self.targets.append((series, location, root))
        self._applied: list[Any] = [None] * len(self.targets)

    def _location(self, db: TagDB, recording: Recording, name: str, where: str) -> Location:
        try:
            return db.resolve(name)
        except TagPathError:
            pass
        kind = recording.types.get(name)
        if kind is None:
            raise BehaviourError(
                f"{where}: tag {name!r} is not defined and the history's type header does not"
                " name it (define it, eg. on the command line)"
            )
        try:
            db.add_tag(name, kind.type, kind.dims)
        except (TagDBError, KeyError, ValueError) as exc:
            message = exc.args[0] if exc.args else exc
            raise BehaviourError(f"{where}: cannot create {name} as {kind}: {message}") from None
        self.created.append(f"{name}={kind}")
        return db.resolve(name)

    def apply(self, t: float) -> None:
        """Store each name's values at replay time ``t`` (those not stored already)."""
        applied = self._applied
        for i, (series, location, root) in enumerate(self.targets):
            sample = series.at(t)
            if sample is None or sample is applied[i]:
                continue
            applied[i] = sample
            first, values = sample
            try:
                if root is not None:
                    root.set_elements(first, values)
                elif not location.dims:
                    location.set(values[0])
                elif first == 0:
                    location.set(values)
                else:
                    log.debug("%s: %s[%d..] not replayed", self.path, series.name, first)
            except (ValueError, TypeError) as exc:
                log.warning("%s: %s: cannot store %.60r: %s", self.path, series.name, values, exc)
