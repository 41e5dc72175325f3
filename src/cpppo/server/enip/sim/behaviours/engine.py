"""Tag behaviours bound to a tag database, and the update that applies them (pure, no I/O).

:class:`Behaviours` resolves each :class:`~.spec.Entry` to a :class:`~.logix.Location` (a tag,
a member, an element or a bit), builds its generator and checks that the target can hold what it
gives: a scalar of an atomic type (a string or structure member only for ``replay``/``script``),
whose range holds the generator's bounds. Any problem is a :class:`~.spec.BehaviourError` naming
the entry: the simulator refuses to start.

``update(now)`` (or ``steps(now)``, which yields between slices so an event loop can serve
requests in between) stores every behaviour's value at ``now - start`` seconds straight into tag
memory. The work is batched by target type: one group per (atomic type, conversion), each a
tight loop of ``value = at(t); pack_into(memory, offset, value)``. Behaviours reading other tags
(``expr``, ``script``) run after the rest of the same update.

``guard(location, count)`` is the tag services' write guard: status 0x0F (privilege violation)
for a write touching a behaviour whose policy is ``refuse`` (else 0: the write stands until the
next update).
"""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Any

from ...codec.status import Status
from ...logix import Atomic, Location, TagDB, TagPathError
from .generators import Computed, Generator, Sum
from .playback import Playback
from .spec import BehaviourError, Entry, Resources, build_generator

__all__ = ["DEFAULT_RATE", "SLICE", "Behaviour", "Behaviours", "TagValues"]

log = logging.getLogger("enip.bhv")

#: Updates per second unless told otherwise.
DEFAULT_RATE = 10.0
#: Behaviours stored between two yields of ``steps`` (requests are served in between).
SLICE = 1000
#: The range of a REAL.
_REAL_MAX = 3.4028234663852886e38


class Behaviour:
    """One entry bound to its target: ``entry``, ``location``, ``generator``; ``failed`` once its
    value could not be stored (logged once; it is retried every update)."""

    __slots__ = ("entry", "failed", "generator", "location")

    def __init__(self, entry: Entry, location: Location, generator: Generator) -> None:
        self.entry = entry
        self.location = location
        self.generator = generator
        self.failed = False

    @property
    def text(self) -> str:
        """The behaviour as shown (web API, logs), with its write policy when it refuses."""
        refuse = "; writes=refuse" if self.entry.writes == "refuse" else ""
        return f"{self.generator}{refuse}"

    def report(self, exc: BaseException) -> None:
        """Log a failure to compute or store the value (once until it succeeds again)."""
        if not self.failed:
            self.failed = True
            log.warning("%s: %s = %s: %s", self.entry.where, self.entry.path, self.generator, exc)


class TagValues(Mapping[str, Any]):
    """A read-only view of a tag database's values by path (what ``script`` functions get)."""

    def __init__(self, db: TagDB) -> None:
        self._db = db
        self._cache: dict[str, Location] = {}
        self._version = -1

    def __getitem__(self, path: str) -> Any:
        if self._version != self._db.version:
            self._cache.clear()
            self._version = self._db.version
        location = self._cache.get(path)
        if location is None:
            try:
                location = self._cache[path] = self._db.resolve(path)
            except TagPathError as exc:
                raise KeyError(path) from exc
        return location.get()

    def __iter__(self) -> Iterator[str]:
        return (tag.qualified_name for tag in self._db)

    def __len__(self) -> int:
        return len(self._db)


# ---- storing values: one group per target type ---------------------------------------------
class _Group:
    """Behaviours whose values are stored the same way; ``store(t, chunk)`` for each chunk."""

    def __init__(self) -> None:
        self.items: list[tuple] = []
        self.behaviours: list[Behaviour] = []
        self.chunks: list[list[tuple]] = []

    def add(self, behaviour: Behaviour) -> None:
        """Take ``behaviour`` into this group."""
        self.behaviours.append(behaviour)
        self.items.append(self.item(behaviour))

    def item(self, behaviour: Behaviour) -> tuple:
        """What the store loop needs of ``behaviour`` (its ``at`` first, its index last)."""
        loc = behaviour.location
        return (behaviour.generator.at, loc.tag.data, loc.offset, len(self.behaviours) - 1)

    def seal(self) -> None:
        """Cut the items into chunks of at most SLICE."""
        self.chunks = [self.items[i : i + SLICE] for i in range(0, len(self.items), SLICE)]

    def run(self, t: float, chunk: list[tuple]) -> None:
        """Store the values at ``t``; on any failure, again one by one (logging the failures)."""
        try:
            self.store(t, chunk)
        except Exception:
            for item in chunk:
                behaviour = self.behaviours[item[-1]]
                try:
                    self.store(t, [item])
                except Exception as exc:
                    behaviour.report(exc)
                else:
                    behaviour.failed = False

    def store(self, t: float, chunk: list[tuple]) -> None:
        raise NotImplementedError


class _Floats(_Group):
    def __init__(self, fmt: str) -> None:
        super().__init__()
        self.pack = struct.Struct("<" + fmt).pack_into

    def store(self, t: float, chunk: list[tuple]) -> None:
        pack = self.pack
        for at, data, offset, _ in chunk:
            pack(data, offset, at(t))


class _Integers(_Group):
    """Integers (and BOOLs, as 0/1): rounded, then held within (or wrapped around) the range."""

    def __init__(self, fmt: str, low: int, high: int, wraps: bool, truth: bool) -> None:
        super().__init__()
        self.pack = struct.Struct("<" + fmt).pack_into
        self.low, self.high, self.wraps, self.truth = low, high, wraps, truth

    def store(self, t: float, chunk: list[tuple]) -> None:
        pack, low, high = self.pack, self.low, self.high
        span = high - low + 1
        wraps, truth = self.wraps, self.truth
        for at, data, offset, _ in chunk:
            value = at(t)
            if truth and not wraps:
                value = 1 if value else 0
            else:
                value = value if type(value) is int else round(value)
                if wraps:
                    value = (value - low) % span + low
                elif value < low:
                    value = low
                elif value > high:
                    value = high
            pack(data, offset, value)


class _Bits(_Group):
    def item(self, behaviour: Behaviour) -> tuple:
        loc = behaviour.location
        mask = 1 << (loc.bit or 0)
        index = len(self.behaviours) - 1
        return (behaviour.generator.at, loc.tag.data, loc.offset, mask, 0xFF ^ mask, index)

    def store(self, t: float, chunk: list[tuple]) -> None:
        for at, data, offset, mask, clear, _ in chunk:
            if at(t):
                data[offset] |= mask
            else:
                data[offset] &= clear


class _Values(_Group):
    """Anything else (strings, replayed values): stored through the Location; None is skipped."""

    def item(self, behaviour: Behaviour) -> tuple:
        return (behaviour.generator.at, behaviour.location, len(self.behaviours) - 1)

    def store(self, t: float, chunk: list[tuple]) -> None:
        for at, location, _ in chunk:
            value = at(t)
            if value is not None:
                location.set(value)


class Behaviours:
    """The behaviours of one tag database (see the module docstring).

    ``entries``: the behaviours as written; ``rate``: updates per second; ``base``: the folder
    relative history files and script modules are found in. Raises BehaviourError.
    """

    def __init__(
        self,
        db: TagDB,
        entries: Iterable[Entry] = (),
        *,
        rate: float = DEFAULT_RATE,
        base: str = ".",
    ) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise BehaviourError(f"behaviour rate {rate!r}: updates per second, > 0")
        self.db = db
        self.rate = float(rate)
        self.values = TagValues(db)
        self.resources = Resources(self._getter, self.values, base)
        self.behaviours: list[Behaviour] = []
        self.start_time = 0.0
        self._groups: dict[tuple, _Group] = {}
        self._stages: list[list[_Group]] = [[], []]
        self._refused: dict[int, list[tuple[int, int, int | None]]] = {}
        self._by_tag: dict[str, dict[str, str]] = {}
        self._playbacks: list[Playback] = []
        for entry in entries:
            self.add(entry)

    @property
    def period(self) -> float:
        """Seconds between updates."""
        return 1.0 / self.rate

    def __len__(self) -> int:
        return len(self.behaviours) + len(self._playbacks)

    def _getter(self, path: str) -> Any:
        """A function reading the scalar at ``path`` (for ``expr``)."""
        try:
            location = self.db.resolve(path)
        except TagPathError as exc:
            raise ValueError(f"no tag {path!r}: {exc}") from None
        if location.dims or location.data_type.is_struct:
            raise ValueError(f"{path!r} is not a single value (name an element or a member)")
        return location.get

    # ---- building ----------------------------------------------------------------------------
    def add(self, entry: Entry) -> Behaviour:
        """Bind ``entry`` (BehaviourError naming it when it cannot be served)."""
        try:
            location = self.db.resolve(entry.path)
        except (TagPathError, KeyError) as exc:
            raise entry.error(str(exc.args[0]) if exc.args else f"no tag {entry.path!r}") from None
        if location.dims:
            shape = ",".join(map(str, location.dims))
            raise entry.error(f"{entry.path} is an array [{shape}]: name an element")
        try:
            generator = build_generator(entry.text, entry.path, self.resources)
        except (ValueError, TypeError) as exc:
            raise entry.error(str(exc)) from None
        behaviour = Behaviour(entry, location, generator)
        self._group(behaviour).add(behaviour)
        self.behaviours.append(behaviour)
        if entry.writes == "refuse":
            loc = location
            mask = None if loc.bit is None else 1 << loc.bit
            span = 1 if loc.bit is not None else loc.data_type.size
            self._refused.setdefault(id(loc.tag), []).append((loc.offset, loc.offset + span, mask))
        self._by_tag.setdefault(location.tag.qualified_name.casefold(), {})[location.name] = (
            behaviour.text
        )
        return behaviour

    def add_playback(self, playback: Playback) -> None:
        """Serve a whole history too (after the behaviours that read no tags)."""
        self._playbacks.append(playback)
        for series, location, _ in playback.targets:
            tags = self._by_tag.setdefault(location.tag.qualified_name.casefold(), {})
            tags[location.name] = f"replay({playback.path!r}, tag={series.name!r})"

    def _group(self, behaviour: Behaviour) -> _Group:
        """The group storing ``behaviour``'s values (made on first use)."""
        location, generator, entry = behaviour.location, behaviour.generator, behaviour.entry
        dtype = location.data_type
        computed = isinstance(generator, Computed) or (
            isinstance(generator, Sum) and any(isinstance(p, Computed) for p in generator.parts)
        )
        stage = 1 if generator.reads_tags else 0
        key: tuple
        make: Callable[[], _Group]
        if location.bit is not None:
            self._check_bounds(behaviour, 0, 1, truth=True)
            key, make = (stage, "bit"), _Bits
        elif not isinstance(dtype, Atomic):  # a string or a structure
            if not computed:
                raise entry.error(
                    f"{entry.path} is a {dtype.name}: only replay() and script() can set it"
                )
            key, make = (stage, "value"), _Values
        elif dtype.is_float:
            high = _REAL_MAX if dtype.size == 4 else math.inf
            self._check_bounds(behaviour, -high, high)
            fmt = str(dtype.cip.fmt)
            key, make = (stage, "float", fmt), partial(_Floats, fmt)
        else:
            low, high = (0, 1) if dtype.is_bool else (int(dtype.min or 0), int(dtype.max or 0))
            if not generator.wraps:
                self._check_bounds(behaviour, low, high, truth=dtype.is_bool)
            fmt, wraps, truth = str(dtype.cip.fmt), generator.wraps, dtype.is_bool
            key = (stage, "int", fmt, low, high, wraps, truth)
            make = partial(_Integers, fmt, low, high, wraps, truth)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = make()
            self._stages[stage].append(group)
        return group

    @staticmethod
    def _check_bounds(behaviour: Behaviour, low: float, high: float, truth: bool = False) -> None:
        """BehaviourError when the generator's values do not fit ``low .. high``."""
        bounds = behaviour.generator.bounds
        if bounds is None or (truth and isinstance(behaviour.generator, Computed)):
            return
        if bounds[0] < low or bounds[1] > high:
            dtype = behaviour.location.data_type.name
            entry = behaviour.entry
            raise entry.error(
                f"{entry.path} ({dtype}, {low:g} to {high:g}) cannot hold {behaviour.generator}"
                f" (it ranges {bounds[0]:g} to {bounds[1]:g})"
            )

    # ---- running -----------------------------------------------------------------------------
    def start(self, now: float) -> None:
        """Make ``now`` time 0 of every behaviour, and seal the groups."""
        self.start_time = now
        for stage in self._stages:
            for group in stage:
                group.seal()

    def steps(self, now: float) -> Iterator[None]:
        """Store every value at ``now``, yielding after each slice of at most SLICE."""
        t = now - self.start_time
        for stage, groups in enumerate(self._stages):
            for group in groups:
                for chunk in group.chunks:
                    group.run(t, chunk)
                    yield
            if stage == 0:
                for playback in self._playbacks:
                    playback.apply(t)
                    yield

    def update(self, now: float) -> None:
        """Store every value at ``now`` (all at once)."""
        for _ in self.steps(now):
            pass

    # ---- what clients and the web API see ----------------------------------------------------
    def guard(self, location: Location, count: int = 1) -> int:
        """The status for a write of ``count`` elements at ``location``: 0x0F when it touches a
        behaviour that refuses writes, else 0."""
        ranges = self._refused.get(id(location.tag))
        if not ranges:
            return 0
        if location.bit is not None:
            start, end, bits = location.offset, location.offset + 1, 1 << location.bit
        else:
            start = location.offset
            end = start + max(count, 1) * location.data_type.size
            bits = None
        for low, high, mask in ranges:
            if start < high and low < end and (mask is None or bits is None or mask & bits):
                return int(Status.PRIVILEGE_VIOLATION)
        return 0

    @property
    def refusing(self) -> bool:
        """True when some behaviour refuses writes (the tag services need the guard)."""
        return bool(self._refused)

    def describe(self, tag_name: str) -> dict[str, str]:
        """The behaviours on tag ``tag_name`` (a qualified name): ``{path: text}``."""
        return dict(self._by_tag.get(tag_name.casefold(), {}))

    def tag_names(self) -> set[str]:
        """The (case-folded) qualified names of the tags with a behaviour."""
        return set(self._by_tag)
