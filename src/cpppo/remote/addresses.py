"""Modbus data-model addresses: the classic 5/6-digit register map, register specs and merging.

Pure functions, no I/O and no pymodbus: shared by the simulator, the poller and their CLIs.

The address map (docs/modbus.md)::

    1      - 9999    coils              (read/write, bits)
    10001  - 19999   discrete inputs    (read only,  bits)
    100001 - 165536  discrete inputs
    30001  - 39999   input registers    (read only,  16-bit)
    300001 - 365536  input registers
    40001  - 99999   holding registers  (read/write, 16-bit)
    400001 - 465536  holding registers

An address names a *table* and a zero-based protocol *offset*: 40001 and 400001 are both holding
register 0. Everything here is O(addresses used), never O(address span).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypedDict

from ..misc import parse_address

Value = int | bool


@dataclass(frozen=True)
class Table:
    """One of the four Modbus data tables and its protocol limits."""

    name: str
    bits: bool
    writable: bool
    #: Function code that reads this table.
    read_fc: int
    #: Most values one read request may carry (2000 bits / 125 registers).
    max_read: int
    #: Most values one write-multiple request may carry (1968 coils / 123 registers).
    max_write: int

    def __repr__(self) -> str:
        return f"<Table {self.name}>"

    def check_value(self, value: object) -> Value:
        """Return ``value`` as this table stores it (bool or 0..65535), or raise ValueError.

        Registers also accept -32768..-1, stored as their 16-bit two's complement.
        """
        if isinstance(value, bool):
            return value if self.bits else int(value)
        if not isinstance(value, int):
            raise ValueError(f"{self.name} value {value!r} is not an integer")
        if self.bits:
            if value not in (0, 1):
                raise ValueError(f"{self.name} value {value} is not 0 or 1")
            return bool(value)
        if not -0x8000 <= value <= 0xFFFF:
            raise ValueError(f"{self.name} value {value} is outside -32768..65535")
        return value & 0xFFFF


COILS = Table("coils", bits=True, writable=True, read_fc=1, max_read=2000, max_write=1968)
DISCRETE_INPUTS = Table(
    "discrete inputs", bits=True, writable=False, read_fc=2, max_read=2000, max_write=1968
)
INPUT_REGISTERS = Table(
    "input registers", bits=False, writable=False, read_fc=4, max_read=125, max_write=123
)
HOLDING_REGISTERS = Table(
    "holding registers", bits=False, writable=True, read_fc=3, max_read=125, max_write=123
)
TABLES = (COILS, DISCRETE_INPUTS, HOLDING_REGISTERS, INPUT_REGISTERS)


@dataclass(frozen=True)
class Segment:
    """A contiguous run of data-model addresses mapping onto one table from offset 0."""

    first: int
    last: int
    table: Table

    def __contains__(self, address: object) -> bool:
        return isinstance(address, int) and self.first <= address <= self.last


#: Sorted by first address; the two spellings of each table alias the same offsets.
SEGMENTS = (
    Segment(1, 9999, COILS),
    Segment(10001, 19999, DISCRETE_INPUTS),
    Segment(30001, 39999, INPUT_REGISTERS),
    Segment(40001, 99999, HOLDING_REGISTERS),
    Segment(100001, 165536, DISCRETE_INPUTS),
    Segment(300001, 365536, INPUT_REGISTERS),
    Segment(400001, 465536, HOLDING_REGISTERS),
)
_FIRSTS = tuple(segment.first for segment in SEGMENTS)
VALID_RANGES = ", ".join(f"{s.first}-{s.last} {s.table.name}" for s in SEGMENTS)


def segment_of(address: int) -> Segment:
    """The segment holding ``address``; ValueError names the valid ranges otherwise."""
    if isinstance(address, int) and not isinstance(address, bool):
        index = bisect.bisect_right(_FIRSTS, address) - 1
        if index >= 0 and address in SEGMENTS[index]:
            return SEGMENTS[index]
    raise ValueError(f"address {address!r} is not a Modbus address (valid: {VALID_RANGES})")


def locate(address: int) -> tuple[Table, int]:
    """``(table, offset)`` of a data-model address: ``locate(40001) == (HOLDING_REGISTERS, 0)``."""
    segment = segment_of(address)
    return segment.table, address - segment.first


def address_of(table: Table, offset: int) -> int | None:
    """The data-model address of a protocol offset (5-digit form first), or None if it has none."""
    for segment in SEGMENTS:
        if segment.table is table and 0 <= offset <= segment.last - segment.first:
            return segment.first + offset
    return None


# ---------------------------------------------------------------------------------------------
# Register specs: <begin>[-<end>][=<v>[,<v>...]]
# ---------------------------------------------------------------------------------------------

_SPEC = re.compile(r"^\s*(?P<begin>[^-=\s]+)\s*(?:-\s*(?P<end>[^=\s]+)\s*)?(?:=(?P<values>.*))?$")


def _number(text: str, what: str) -> int:
    """Decimal (leading zeros allowed, as in 00001) or 0x/0o/0b prefixed integer."""
    text = text.strip()
    try:
        if text[1:2].lower() in ("x", "o", "b") or text[2:3].lower() in ("x", "o", "b"):
            return int(text, 0)
        return int(text, 10)
    except (ValueError, IndexError):
        raise ValueError(f"{what} {text!r} is not an integer") from None


@dataclass(frozen=True)
class RegisterSpec:
    """A parsed ``<begin>[-<end>][=<v>[,<v>...]]``: addresses ``begin..end`` and optional values.

    ``values`` (when given) hold exactly one value per address, already expanded by repetition
    and checked against the table.
    """

    begin: int
    end: int
    values: tuple[Value, ...] | None = None

    @property
    def table(self) -> Table:
        """The table every address of this spec belongs to."""
        return segment_of(self.begin).table

    @property
    def offset(self) -> int:
        """The protocol offset of ``begin``."""
        return locate(self.begin)[1]

    def __len__(self) -> int:
        return self.end - self.begin + 1

    def addresses(self) -> range:
        """Every data-model address the spec names."""
        return range(self.begin, self.end + 1)

    def __str__(self) -> str:
        text = str(self.begin) if self.begin == self.end else f"{self.begin}-{self.end}"
        if self.values is not None:
            text += "=" + ",".join(str(int(v)) for v in self.values)
        return text


def parse_spec(text: str) -> RegisterSpec:
    """Parse one register spec; ValueError with a one-line reason if it is wrong.

    ``40001-40100=99`` fills 100 registers with 99; ``40001-40010=1,2`` repeats 1,2 over the
    range; ``40001=1,2,3`` sets 40001..40003; ``40001-40100`` names registers without values.
    """
    match = _SPEC.match(text)
    if not match:
        raise ValueError(f"register spec {text!r} is not <begin>[-<end>][=<v>[,<v>...]]")
    begin = _number(match["begin"], "address")
    segment = segment_of(begin)
    raw_values = match["values"]
    values: list[Value] | None = None
    if raw_values is not None:
        if not raw_values.strip():
            raise ValueError(f"register spec {text!r} has '=' but no values")
        values = [segment.table.check_value(_number(v, "value")) for v in raw_values.split(",")]
    if match["end"] is not None:
        end = _number(match["end"], "address")
        if end < begin:
            raise ValueError(f"register spec {text!r}: end {end} is before begin {begin}")
    else:
        end = begin + (len(values) - 1 if values else 0)
    if end not in segment:
        raise ValueError(
            f"register spec {text!r}: {begin}-{end} leaves the {segment.table.name} range "
            f"{segment.first}-{segment.last}"
        )
    if values is not None:
        count = end - begin + 1
        if len(values) > count:
            raise ValueError(f"register spec {text!r}: {len(values)} values for {count} addresses")
        if len(values) < count:
            values = (values * (count // len(values) + 1))[:count]
    return RegisterSpec(begin, end, tuple(values) if values is not None else None)


def register_definitions(
    specs: Iterable[RegisterSpec | str], default: int = 0
) -> dict[Table, dict[int, Value]]:
    """``{table: {offset: value}}`` for specs; later specs override earlier ones.

    Specs without values define their addresses with ``default`` (0 / False), unless an earlier
    spec already gave them a value.
    """
    tables: dict[Table, dict[int, Value]] = {}
    for spec in specs:
        if isinstance(spec, str):
            spec = parse_spec(spec)
        table, offset = locate(spec.begin)
        store = tables.setdefault(table, {})
        if spec.values is None:
            fill = table.check_value(default)
            for index in range(offset, offset + len(spec)):
                store.setdefault(index, fill)
        else:
            store.update(zip(range(offset, offset + len(spec)), spec.values))
    return tables


def runs(store: dict[int, Value]) -> Iterator[tuple[int, list[Value]]]:
    """``(first offset, values)`` for each run of consecutive offsets in ``store``."""
    start = previous = 0
    values: list[Value] = []
    for offset in sorted(store):
        if values and offset != previous + 1:
            yield start, values
            values = []
        if not values:
            start = offset
        values.append(store[offset])
        previous = offset
    if values:
        yield start, values


# ---------------------------------------------------------------------------------------------
# Merging polled offsets into requests, and splitting writes
# ---------------------------------------------------------------------------------------------


def merge(offsets: Iterable[int], reach: int, limit: int) -> list[tuple[int, int]]:
    """Cover the (sorted or not) ``offsets`` of one table with few ``(first, count)`` reads.

    A polled offset joins the current read when at most ``reach`` unpolled offsets separate it
    from the previous one and the read stays within ``limit`` values.
    """
    blocks: list[tuple[int, int]] = []
    first = last = -1
    for offset in sorted(set(offsets)):
        if first >= 0 and offset - last - 1 <= reach and offset - first < limit:
            last = offset
            continue
        if first >= 0:
            blocks.append((first, last - first + 1))
        first = last = offset
    if first >= 0:
        blocks.append((first, last - first + 1))
    return blocks


def shatter(offset: int, values: Sequence[Value], limit: int) -> list[tuple[int, list[Value]]]:
    """Split a write of ``values`` from ``offset`` into requests of at most ``limit`` values."""
    return [
        (offset + start, list(values[start : start + limit]))
        for start in range(0, len(values), limit)
    ]


# ---------------------------------------------------------------------------------------------
# -a/--address
# ---------------------------------------------------------------------------------------------


class SerialOptions(TypedDict):
    """Serial line settings for an ``-a`` serial device (keywords of ``rtu_client`` and the
    simulator)."""

    baudrate: int
    bytesize: int
    parity: str
    stopbits: int


def is_serial(address: str) -> bool:
    """True when an ``-a`` argument names a serial device (``/dev/ttyS0``, ``COM3``, ``loop://``)."""
    return (
        address.startswith(("/", "."))
        or "://" in address
        or re.fullmatch(r"(?i)com\d+", address) is not None
    )


def parse_host_port(address: str, default_port: int = 502) -> tuple[str, int]:
    """``"[host]:port"``, ``"host"``, ``"[::1]:502"`` -> ``(host, port)``; host may be ``""``."""
    return parse_address(address, default_port)
