"""The value generators of tag behaviours (docs/behaviours.md): pure functions of time.

Each generator is made from keyword arguments (times in seconds) and gives its value at ``t``,
the seconds since the behaviours started, with ``at(t)``. The seeded ones (``random_walk``,
``noise``) draw one sample every ``every`` seconds from their own ``random.Random(seed)``: the
value at a given time is the same whatever the update rate or the times asked before.

``bounds`` is the range of values a generator can give (None when it cannot be known, e.g. an
expression); a behaviour whose target type cannot hold it is refused before serving. ``wraps``
is True for a generator whose integers wrap around the target type (``counter``), as a PLC's
counter overflows; other integers are rounded and held within the type's range.

:data:`GENERATORS` names the classes the behaviour language calls (``expr``, ``replay`` and
``script`` are built by :mod:`.spec` with what they need).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

__all__ = [
    "GENERATORS",
    "Computed",
    "Counter",
    "Generator",
    "Noise",
    "Ramp",
    "RandomWalk",
    "Sawtooth",
    "Sine",
    "Square",
    "Sum",
    "Toggle",
]

_TAU = 2.0 * math.pi


def _steps(t: float, every: float) -> int:
    """Whole ``every``s in ``t`` (a time on a step, 0.3 s of 0.1 s ones, counts 3, not 2)."""
    return math.floor(t / every + 1e-9) if t > 0 else 0


class Generator:
    """A value as a function of time; subclasses set ``name`` and ``params`` (keyword: default)
    and implement ``at``."""

    name: ClassVar[str] = ""
    #: The keyword arguments and their defaults (None: optional, not given).
    params: ClassVar[Mapping[str, Any]] = MappingProxyType({})
    wraps: ClassVar[bool] = False
    #: True when the value reads other tags (updated after those that do not).
    reads_tags: ClassVar[bool] = False

    def __init__(self, **kwds: Any) -> None:
        unknown = sorted(set(kwds) - set(self.params))
        if unknown:
            known = ", ".join(self.params) or "none"
            raise ValueError(f"{self.name}() has no argument {unknown[0]!r} (it takes {known})")
        values = {**self.params, **kwds}
        self.args = {key: value for key, value in kwds.items() if value is not None}
        for key, value in values.items():
            setattr(self, key, value)
        self.check()

    def check(self) -> None:
        """Raise ValueError for arguments that make no sense (a period <= 0 ...)."""

    def _positive(self, *names: str) -> None:
        for key in names:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{self.name}(): {key} must be a number > 0, not {value!r}")

    def _numbers(self, *names: str) -> None:
        for key in names:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{self.name}(): {key} must be a number, not {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{self.name}(): {key} must be finite, not {value!r}")

    @property
    def bounds(self) -> tuple[float, float] | None:
        """The least and greatest value (None: not known)."""
        return None

    def at(self, t: float) -> Any:
        """The value at ``t`` seconds."""
        raise NotImplementedError

    def __str__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.args.items())
        return f"{self.name}({args})"


class _Periodic(Generator):
    """A wave of ``period`` seconds between ``min`` and ``max``, shifted by ``phase`` seconds."""

    params = MappingProxyType({"min": 0.0, "max": 100.0, "period": 60.0, "phase": 0.0})
    min: float
    max: float
    period: float
    phase: float

    def check(self) -> None:
        self._numbers("min", "max", "phase")
        self._positive("period")

    @property
    def bounds(self) -> tuple[float, float]:
        return (min(self.min, self.max), max(self.min, self.max))

    def fraction(self, t: float) -> float:
        """Where ``t`` falls in the cycle, 0 <= f < 1."""
        return ((t + self.phase) / self.period) % 1.0


class Ramp(_Periodic):
    """``ramp(min, max, period)``: rises from ``min`` to ``max`` over half the period, falls back
    over the other half (a triangle wave)."""

    name = "ramp"

    def at(self, t: float) -> float:
        f = self.fraction(t)
        rise = 2.0 * f if f < 0.5 else 2.0 - 2.0 * f
        return self.min + (self.max - self.min) * rise


class Sawtooth(_Periodic):
    """``sawtooth(min, max, period)``: rises from ``min`` to ``max`` over the period, then jumps
    back."""

    name = "sawtooth"

    def at(self, t: float) -> float:
        return self.min + (self.max - self.min) * self.fraction(t)


class Square(_Periodic):
    """``square(min=0, max=1, period, duty=0.5)``: ``max`` for the first ``duty`` of each period,
    then ``min``."""

    name = "square"
    params = MappingProxyType({"min": 0, "max": 1, "period": 60.0, "duty": 0.5, "phase": 0.0})
    duty: float

    def check(self) -> None:
        super().check()
        self._numbers("duty")
        if not 0.0 <= self.duty <= 1.0:
            raise ValueError(f"square(): duty must be 0 to 1, not {self.duty!r}")

    def at(self, t: float) -> Any:
        return self.max if self.fraction(t) < self.duty else self.min


class Sine(Generator):
    """``sine(amplitude=1, offset=0, period=60, phase=0)``:
    ``offset + amplitude * sin(2 pi (t + phase) / period)``."""

    name = "sine"
    params = MappingProxyType({"amplitude": 1.0, "offset": 0.0, "period": 60.0, "phase": 0.0})
    amplitude: float
    offset: float
    period: float
    phase: float

    def check(self) -> None:
        self._numbers("amplitude", "offset", "phase")
        self._positive("period")
        self._w = _TAU / self.period

    @property
    def bounds(self) -> tuple[float, float]:
        swing = abs(self.amplitude)
        return (self.offset - swing, self.offset + swing)

    def at(self, t: float) -> float:
        return self.offset + self.amplitude * math.sin(self._w * (t + self.phase))


class _Sampled(Generator):
    """A seeded random sequence, one sample every ``every`` seconds, drawn in order (and drawn
    again from the seed when asked for an earlier time)."""

    seed: Any
    every: float

    def check(self) -> None:
        self._positive("every")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, float, str)):
            raise ValueError(f"{self.name}(): seed must be a number or text, not {self.seed!r}")
        self._restart()

    def _restart(self) -> None:
        self._random = random.Random(self.seed)
        self._index = 0
        self._value = self.first()

    def first(self) -> float:
        """Sample 0, the value from time 0 on."""
        raise NotImplementedError

    def advance(self, value: float) -> float:
        """The next sample after ``value``."""
        raise NotImplementedError

    def at(self, t: float) -> float:
        index = _steps(t, self.every)
        if index < self._index:
            self._restart()
        value = self._value
        while self._index < index:
            value = self.advance(value)
            self._index += 1
        self._value = value
        return value


class RandomWalk(_Sampled):
    """``random_walk(step=1, min=0, max=100, seed=0, every=0.1, start=None)``: from ``start``
    (default the middle), a uniform step of at most ``step`` every ``every`` seconds, reflected
    back into ``min`` .. ``max``."""

    name = "random_walk"
    params = MappingProxyType(
        {"step": 1.0, "min": 0.0, "max": 100.0, "seed": 0, "every": 0.1, "start": None}
    )
    step: float
    min: float
    max: float
    start: float | None

    def check(self) -> None:
        self._numbers("step", "min", "max")
        if self.min >= self.max:
            raise ValueError(f"random_walk(): min {self.min!r} must be below max {self.max!r}")
        if self.start is not None:
            self._numbers("start")
            if not self.min <= self.start <= self.max:
                raise ValueError("random_walk(): start must be within min..max")
        super().check()

    @property
    def bounds(self) -> tuple[float, float]:
        return (self.min, self.max)

    def first(self) -> float:
        return (self.min + self.max) / 2.0 if self.start is None else float(self.start)

    def advance(self, value: float) -> float:
        value += self._random.uniform(-self.step, self.step)
        low, high = self.min, self.max
        while not low <= value <= high:  # reflect at the walls
            value = 2 * low - value if value < low else 2 * high - value
        return value


class Noise(_Sampled):
    """``noise(sigma=1, seed=0, every=0.1)``: Gaussian noise of mean 0, a new sample every
    ``every`` seconds; added to another behaviour with ``+``. Its bounds are taken as 6 sigma
    (values beyond are held at the target type's range)."""

    name = "noise"
    params = MappingProxyType({"sigma": 1.0, "seed": 0, "every": 0.1})
    sigma: float

    def check(self) -> None:
        self._numbers("sigma")
        if self.sigma < 0:
            raise ValueError(f"noise(): sigma must be >= 0, not {self.sigma!r}")
        super().check()

    @property
    def bounds(self) -> tuple[float, float]:
        return (-6.0 * self.sigma, 6.0 * self.sigma)

    def first(self) -> float:
        return self._random.gauss(0.0, self.sigma)

    def advance(self, value: float) -> float:
        return self._random.gauss(0.0, self.sigma)


class Counter(Generator):
    """``counter(step=1, every=1, start=0, max=None)``: ``start``, plus ``step`` every ``every``
    seconds; past ``max`` it starts again from ``start`` (without ``max``, an integer wraps
    around its type, as a PLC counter overflows)."""

    name = "counter"
    params = MappingProxyType({"step": 1, "every": 1.0, "start": 0, "max": None})
    step: float
    every: float
    start: float
    max: float | None
    wraps = True

    def check(self) -> None:
        self._numbers("step", "start")
        self._positive("every")
        if self.max is not None:
            self._numbers("max")
            if (self.max - self.start) * self.step < 0 or self.max == self.start:
                raise ValueError("counter(): max must lie beyond start in the direction of step")

    @property
    def bounds(self) -> tuple[float, float] | None:
        if self.max is None:
            return None
        return (min(self.start, self.max), max(self.start, self.max))

    def at(self, t: float) -> Any:
        count = _steps(t, self.every)
        if self.max is None:
            return self.start + self.step * count
        steps = int(abs((self.max - self.start) / self.step)) + 1  # values in one cycle
        return self.start + self.step * (count % steps)


class Toggle(Generator):
    """``toggle(every=1, start=false)``: a BOOL that changes every ``every`` seconds."""

    name = "toggle"
    params = MappingProxyType({"every": 1.0, "start": False})
    every: float
    start: bool

    def check(self) -> None:
        self._positive("every")
        if not isinstance(self.start, (bool, int)) or self.start not in (0, 1):
            raise ValueError(f"toggle(): start must be true or false, not {self.start!r}")

    @property
    def bounds(self) -> tuple[float, float]:
        return (0, 1)

    def at(self, t: float) -> bool:
        count = _steps(t, self.every)
        return bool(count & 1) != bool(self.start)


class Sum(Generator):
    """``a + b + ...``: the sum of generators (eg. a wave and its noise)."""

    name = "+"

    def __init__(self, parts: list[Generator]) -> None:
        self.parts = parts
        self.args = {}
        self._ats = [part.at for part in parts]
        self.reads_tags = any(part.reads_tags for part in parts)  # type: ignore[misc]
        self.wraps = any(part.wraps for part in parts)  # type: ignore[misc]

    @property
    def bounds(self) -> tuple[float, float] | None:
        low = high = 0.0
        for part in self.parts:
            bounds = part.bounds
            if bounds is None:
                return None
            low, high = low + bounds[0], high + bounds[1]
        return (low, high)

    def at(self, t: float) -> Any:
        total = 0
        for at in self._ats:  # no generator object: the update allocates nothing the GC tracks
            total += at(t)
        return total

    def __str__(self) -> str:
        return " + ".join(str(part) for part in self.parts)


class Computed(Generator):
    """A value computed by a function of time (an expression, a replay, a script): ``text`` is
    how it was written, ``function(t)`` gives the value."""

    def __init__(
        self, text: str, function: Callable[[float], Any], *, reads_tags: bool = False
    ) -> None:
        self.text = text
        self.args = {}
        self.function = function
        self.reads_tags = reads_tags  # type: ignore[misc]

    def at(self, t: float) -> Any:
        return self.function(t)

    def __str__(self) -> str:
        return self.text


#: The generators the behaviour language calls by name (besides expr, replay and script).
GENERATORS: Mapping[str, type[Generator]] = MappingProxyType(
    {cls.name: cls for cls in (Ramp, Sine, Square, Sawtooth, RandomWalk, Noise, Counter, Toggle)}
)
