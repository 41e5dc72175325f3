"""Parsing the simulator's tag specifications: ``NAME=TYPE[n]`` (spec 2.1.1).

Accepted forms (type names in any case, as in the spec's ``SCADA=dint[1000]``)::

    SCADA                 an INT scalar (the original's default type)
    SCADA=INT             a scalar
    SCADA=INT[1000]       a one-dimensional array
    GRID=REAL[10,20]      a multi-dimensional array (up to 3 dimensions), row-major
    SCADA@4/100/3=DINT[4] also reachable as Class 4, Instance 100, Attribute 3 (Get/Set Attribute)

Numbers in ``@class/instance/attribute`` may be decimal or 0x/0o/0b prefixed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .codec.types import CipType, type_named

__all__ = ["MAX_ELEMENTS", "TagSpec", "TagSpecError", "parse_tag", "parse_tags"]

#: Largest number of elements one tag may hold (bounded memory; Logix caps arrays similarly).
MAX_ELEMENTS = 1 << 22

_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,39}"
_SPEC = re.compile(
    rf"""^\s*(?P<name>{_NAME})
        (?:@(?P<address>[^=\s]+))?
        (?:\s*=\s*(?P<type>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\[(?P<dims>[^\]]*)\])?)?
        \s*$""",
    re.VERBOSE,
)


class TagSpecError(ValueError):
    """A tag specification that cannot be used (the message names the offending text)."""


@dataclass(frozen=True)
class TagSpec:
    """One parsed tag: name, CIP type class, dimensions (() for a scalar), optional CIP address."""

    name: str
    type: type[CipType]
    dims: tuple[int, ...] = ()
    address: tuple[int, int, int] | None = None

    @property
    def elements(self) -> int:
        """The total number of elements (1 for a scalar)."""
        count = 1
        for dim in self.dims:
            count *= dim
        return count


def _number(text: str, what: str, spec: str) -> int:
    try:
        value = int(text.strip(), 0) if not text.strip().isdigit() else int(text.strip(), 10)
    except ValueError:
        raise TagSpecError(f"tag {spec!r}: {what} {text!r} is not a number") from None
    return value


def parse_tag(spec: str, default_type: str = "INT") -> TagSpec:
    """Parse one ``NAME[@cls/ins/att][=TYPE[dims]]`` specification; raise TagSpecError if bad."""
    match = _SPEC.match(spec)
    if not match:
        raise TagSpecError(f"invalid tag specification {spec!r} (expected NAME=TYPE[n])")
    type_name = match.group("type") or default_type
    try:
        cip_type = type_named(type_name)
    except KeyError:
        raise TagSpecError(f"tag {spec!r}: unknown type {type_name!r}") from None
    dims: tuple[int, ...] = ()
    if match.group("dims") is not None:
        parts = match.group("dims").split(",")
        if not 1 <= len(parts) <= 3:
            raise TagSpecError(f"tag {spec!r}: 1 to 3 dimensions allowed")
        dims = tuple(_number(part, "dimension", spec) for part in parts)
        if any(dim < 1 for dim in dims):
            raise TagSpecError(f"tag {spec!r}: dimensions must be positive")
    address = None
    if match.group("address"):
        parts = match.group("address").split("/")
        if len(parts) != 3:
            raise TagSpecError(f"tag {spec!r}: address must be @class/instance/attribute")
        cls, ins, att = (_number(part, "address", spec) for part in parts)
        if not (1 <= cls <= 0xFFFF and 1 <= ins <= 0xFFFF and 1 <= att <= 0xFFFF):
            raise TagSpecError(f"tag {spec!r}: class/instance/attribute must be 1..65535")
        address = (cls, ins, att)
    result = TagSpec(match.group("name"), cip_type, dims, address)
    if result.elements > MAX_ELEMENTS:
        raise TagSpecError(f"tag {spec!r}: {result.elements} elements exceed {MAX_ELEMENTS}")
    return result


def parse_tags(specs: list[str]) -> list[TagSpec]:
    """Parse several specifications; duplicate names (case-insensitive) are an error."""
    seen: set[str] = set()
    tags = []
    for spec in specs:
        tag = parse_tag(spec)
        if tag.name.lower() in seen:
            raise TagSpecError(f"tag {tag.name!r} is defined more than once")
        seen.add(tag.name.lower())
        tags.append(tag)
    return tags
