"""The simulator's behaviour options as one :class:`~.engine.Behaviours`: ``--behaviours FILE``,
``--behave SPEC`` (repeatable), ``--behaviour-rate HZ`` and ``--replay FILE.hst[:SPEED][:loop]``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ...logix import TagDB
from .engine import DEFAULT_RATE, Behaviours
from .playback import Playback, parse_replay
from .spec import BehaviourError, load_file, parse_behave

__all__ = ["from_options"]


def from_options(
    db: TagDB,
    *,
    file: str | None = None,
    behave: Sequence[str] = (),
    rate: float | None = None,
    replay: str | None = None,
) -> Behaviours | None:
    """The behaviours the options ask for (None for none). ``rate`` (updates per second) wins
    over the file's; the default is 10. Raises BehaviourError naming the entry at fault."""
    if rate is not None and not rate > 0:
        raise BehaviourError(f"--behaviour-rate {rate!r}: updates per second, > 0")
    if not (file or behave or replay):
        return None
    loaded = load_file(file) if file else None
    if rate is None:
        rate = loaded.rate if loaded is not None and loaded.rate else DEFAULT_RATE
    base = os.path.dirname(os.path.abspath(file)) if file else os.getcwd()
    behaviours = Behaviours(db, rate=rate, base=base)
    if replay:
        path, speed, loop = parse_replay(replay)
        behaviours.add_playback(Playback(db, path, speed=speed, loop=loop))
    for entry in [*(loaded.entries if loaded else ()), *map(parse_behave, behave)]:
        behaviours.add(entry)
    return behaviours
