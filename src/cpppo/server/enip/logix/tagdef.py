"""Tag definitions as the simulator's command line and configuration give them.

Public API:
    parse_tag_definition(spec, *, default_type=None) -> TagDefinition(name, type_name, dims,
                                                 address, program)
                                                 "Name=TYPE", "Name=UDT[5]", "Name=DINT[2,3]",
                                                 "Program:P.Name=REAL", "Name@4/100/3=DINT[4]",
                                                 and "Name" alone with a default type (the
                                                 simulator's command line: INT)
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .errors import TagDBError

__all__ = ["TagDefinition", "parse_tag_definition"]

_SPEC = re.compile(
    r"""^\s*(?:[Pp][Rr][Oo][Gg][Rr][Aa][Mm]:(?P<program>[A-Za-z_][A-Za-z0-9_]*)\.)?
        (?P<name>[A-Za-z_][A-Za-z0-9_]*)
        (?:@(?P<address>[^=\s]*))?
        \s*(?:=\s*(?P<type>[A-Za-z_][A-Za-z0-9_:]*)?\s*(?:\[(?P<dims>[^\]]*)\])?)?\s*$""",
    re.VERBOSE,
)


class TagDefinition(NamedTuple):
    """A parsed tag definition: name, type name, dimensions, CIP address, program (or None)."""

    name: str
    type_name: str
    dims: tuple[int, ...] = ()
    address: tuple[int, int, int] | None = None
    program: str | None = None


def _spec_number(text: str, what: str, spec: str) -> int:
    try:
        return int(text.strip(), 10 if text.strip().isdigit() else 0)
    except ValueError:
        raise TagDBError(f"bad tag definition {spec!r}: {what} {text!r} is not a number") from None


def parse_tag_definition(spec: str, *, default_type: str | None = None) -> TagDefinition:
    """Parse ``[Program:P.]Name[@class/instance/attribute][=TYPE[dims]]``.

    TYPE is an atomic type, SSTRING/CIP_STRING, STRING, or a structure the database defines;
    dims are 1 to 3 positive numbers (``DINT[2,3]``). Without ``=TYPE`` the type is
    ``default_type`` (an error when None). ``@class/instance/attribute`` (numbers in any base)
    also exposes the tag at that CIP address. Raises TagDBError ("bad tag definition ...").
    """
    m = _SPEC.match(spec)
    if m is None or (m.group("type") is None and ("=" in spec or default_type is None)):
        raise TagDBError(f"bad tag definition {spec!r}: expected Name=TYPE[dims]")
    dims: tuple[int, ...] = ()
    if m.group("dims") is not None:
        dims = tuple(_spec_number(d, "dimension", spec) for d in m.group("dims").split(","))
        if not 1 <= len(dims) <= 3 or any(d < 1 for d in dims):
            raise TagDBError(f"bad tag definition {spec!r}: 1 to 3 positive dimensions")
    address = None
    if m.group("address") is not None:
        parts = m.group("address").split("/")
        if len(parts) != 3:
            raise TagDBError(f"bad tag definition {spec!r}: address must be @class/instance/attr")
        cls, ins, att = (_spec_number(part, "address", spec) for part in parts)
        if not (1 <= cls <= 0xFFFF and 1 <= ins <= 0xFFFF and 1 <= att <= 0xFFFF):
            raise TagDBError(f"bad tag definition {spec!r}: class/instance/attribute 1..65535")
        address = (cls, ins, att)
    type_name = m.group("type") or str(default_type)
    return TagDefinition(m.group("name"), type_name, dims, address, m.group("program"))
