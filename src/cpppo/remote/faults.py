"""Fault injection for the Modbus simulator: delayed, dropped, truncated and corrupted replies.

Sans-IO: a :class:`FaultInjector` decides, per reply, how long to wait and what bytes (if any)
to send instead of a well-formed frame. The simulator's connection handler applies it.

Fault spec syntax (``modbus_sim -e/--evil SPEC``, repeatable)::

    delay:SECONDS[-SECONDS]   wait a fixed or uniformly random time before replying
    drop                      send no reply at all
    truncate[:BYTES]          send only the first BYTES bytes of the reply (default: half)
    corrupt[:FIELD]           damage one field: transaction, protocol, length, unit,
                              function, data (default) or crc (Modbus/RTU only)

Each spec may end in ``@P``: apply it to a fraction P (0..1) of the replies, e.g. ``drop@0.25``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("delay", "drop", "truncate", "corrupt")
FIELDS = ("transaction", "protocol", "length", "unit", "function", "data", "crc")
#: Fields of a Modbus/TCP (MBAP) frame: (start, stop) byte slices.
_TCP_FIELDS = {
    "transaction": (0, 2),
    "protocol": (2, 4),
    "length": (4, 6),
    "unit": (6, 7),
    "function": (7, 8),
}
#: Fields of a Modbus/RTU frame (data and crc depend on the frame length).
_RTU_FIELDS = {"unit": (0, 1), "function": (1, 2)}


@dataclass(frozen=True)
class Fault:
    """One parsed fault spec."""

    kind: str
    probability: float = 1.0
    #: delay: (low, high) seconds.
    delay: tuple[float, float] = (0.0, 0.0)
    #: truncate: bytes kept (None: half the frame).
    keep: int | None = None
    #: corrupt: the damaged field.
    field: str = "data"

    def __str__(self) -> str:
        text = self.kind
        if self.kind == "delay":
            low, high = self.delay
            text += f":{low:g}" + (f"-{high:g}" if high != low else "")
        elif self.kind == "truncate" and self.keep is not None:
            text += f":{self.keep}"
        elif self.kind == "corrupt":
            text += f":{self.field}"
        if self.probability != 1.0:
            text += f"@{self.probability:g}"
        return text


_FAULT = re.compile(r"^(?P<kind>[a-z]+)(?::(?P<arg>[^@]*))?(?:@(?P<p>.*))?$")


def _seconds(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"fault {spec!r}: delay {text!r} is not a number of seconds") from None
    if not 0.0 <= value <= 3600.0:
        raise ValueError(f"fault {spec!r}: delay {value:g} is outside 0-3600 seconds")
    return value


def parse_fault(spec: str) -> Fault:
    """Parse ``delay:0.5``, ``delay:0.1-0.3@0.5``, ``drop``, ``truncate:5``, ``corrupt:unit``..."""
    match = _FAULT.match(spec.strip().lower())
    if not match or match["kind"] not in KINDS:
        raise ValueError(f"fault {spec!r} is not one of {', '.join(KINDS)} (e.g. delay:0.5)")
    kind, arg = match["kind"], match["arg"]
    probability = 1.0
    if match["p"] is not None:
        try:
            probability = float(match["p"])
        except ValueError:
            probability = -1.0
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"fault {spec!r}: probability {match['p']!r} is not within 0-1")
    if kind == "delay":
        if not arg:
            raise ValueError(f"fault {spec!r}: delay needs seconds, e.g. delay:0.5 or delay:0.1-1")
        low_text, _, high_text = arg.partition("-")
        low = _seconds(low_text, spec)
        high = _seconds(high_text, spec) if high_text else low
        if high < low:
            raise ValueError(f"fault {spec!r}: delay range {low:g}-{high:g} is reversed")
        return Fault(kind, probability, delay=(low, high))
    if kind == "truncate" and arg:
        try:
            keep = int(arg)
        except ValueError:
            keep = -1
        if keep < 0:
            raise ValueError(f"fault {spec!r}: bytes to keep {arg!r} is not a count >= 0")
        return Fault(kind, probability, keep=keep)
    if kind == "corrupt" and arg:
        if arg not in FIELDS:
            raise ValueError(f"fault {spec!r}: field {arg!r} is not one of {', '.join(FIELDS)}")
        return Fault(kind, probability, field=arg)
    if arg:
        raise ValueError(f"fault {spec!r}: {kind} takes no argument")
    return Fault(kind, probability)


def truncate(frame: bytes, keep: int | None) -> bytes:
    """The first ``keep`` bytes of ``frame`` (half of it when None), always short of the whole."""
    if keep is None:
        keep = len(frame) // 2
    return frame[: min(keep, max(len(frame) - 1, 0))]


def fields(rtu: bool) -> tuple[str, ...]:
    """The fields ``corrupt`` can damage in a Modbus/RTU or a Modbus/TCP frame."""
    return ("unit", "function", "data", "crc") if rtu else (*_TCP_FIELDS, "data")


def corrupt(frame: bytes, field: str, rtu: bool) -> bytes:
    """``frame`` with every bit of one field inverted (data: the first data byte).

    On Modbus/RTU the CRC is *not* recomputed, so any damage shows as a CRC error, just as line
    noise would; on Modbus/TCP the damage is only detectable where the field is checked.
    """
    if field not in fields(rtu):
        raise ValueError(f"a Modbus/{'RTU' if rtu else 'TCP'} reply has no {field} field")
    if rtu:
        spans = {**_RTU_FIELDS, "data": (2, 3), "crc": (len(frame) - 2, len(frame))}
    else:
        spans = {**_TCP_FIELDS, "data": (8, 9)}
    start, stop = spans[field]
    if stop > len(frame) or start >= stop:
        start, stop = len(frame) - 1, len(frame)
    damaged = bytearray(frame)
    for index in range(max(start, 0), stop):
        damaged[index] ^= 0xFF
    return bytes(damaged)


@dataclass(frozen=True)
class Decision:
    """What to do with one reply."""

    delay: float = 0.0
    drop: bool = False
    truncate: Fault | None = None
    corrupt: Fault | None = None


class FaultInjector:
    """Decides per reply which faults apply; thread-compatible (one RNG per injector)."""

    def __init__(self, faults: Iterable[Fault | str] = (), seed: int | None = None) -> None:
        self.faults = tuple(parse_fault(f) if isinstance(f, str) else f for f in faults)
        self.random = random.Random(seed)

    def __bool__(self) -> bool:
        return bool(self.faults)

    def __repr__(self) -> str:
        return f"FaultInjector({[str(f) for f in self.faults]!r})"

    def check(self, rtu: bool) -> None:
        """ValueError unless every corrupt fault names a field of this framing."""
        for fault in self.faults:
            if fault.kind == "corrupt" and fault.field not in fields(rtu):
                raise ValueError(
                    f"fault {fault}: a Modbus/{'RTU' if rtu else 'TCP'} reply has no "
                    f"{fault.field} field (use one of {', '.join(fields(rtu))})"
                )

    def decide(self) -> Decision:
        """Roll the dice for one reply."""
        delay, drop, cut, damage = 0.0, False, None, None
        for fault in self.faults:
            if fault.probability < 1.0 and self.random.random() >= fault.probability:
                continue
            if fault.kind == "delay":
                low, high = fault.delay
                delay += low if high == low else self.random.uniform(low, high)
            elif fault.kind == "drop":
                drop = True
            elif fault.kind == "truncate":
                cut = fault
            else:
                damage = fault
        return Decision(delay, drop, cut, damage)

    @staticmethod
    def mangle(decision: Decision, frame: bytes, rtu: bool) -> bytes | None:
        """The bytes to send for ``frame`` under ``decision``; None to send nothing."""
        if decision.drop:
            return None
        if decision.corrupt is not None:
            frame = corrupt(frame, decision.corrupt.field, rtu)
        if decision.truncate is not None:
            frame = truncate(frame, decision.truncate.keep)
        return frame
