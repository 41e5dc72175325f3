"""The predefined Logix structures (STRING, TIMER, COUNTER, CONTROL) and user string types.

Public API:
    string_type(name, capacity, *, rules=LayoutRules()) -> Structure
                                     a user string type (LEN DINT + DATA SINT[capacity]).
    PREDEFINED                       read-only {NAME: Structure}: STRING (ASCIISTRING82,
                                     88 bytes, 0x0FCE), TIMER 0x0F83, COUNTER 0x0F82,
                                     CONTROL 0x0F81.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..codec import types as cip
from .atomic import LayoutRules
from .errors import LayoutError
from .layout import MemberDef, layout_structure
from .structure import Structure

__all__ = ["PREDEFINED", "string_type"]


def string_type(name: str, capacity: int, *, rules: LayoutRules | None = None) -> Structure:
    """A user string type: LEN DINT + DATA SINT[capacity] (family StringFamily)."""
    if not 1 <= capacity <= 65535:
        raise LayoutError(f"string type {name}: capacity {capacity} outside 1..65535")
    defs = [MemberDef("LEN", "DINT"), MemberDef("DATA", "SINT", capacity, radix="ASCII")]
    return layout_structure(name, defs, {}, rules=rules, family="StringFamily")


def _predefined(
    name: str, template_id: int, defs: list[MemberDef], **kw: Any
) -> tuple[str, Structure]:
    return name, layout_structure(
        name, defs, {}, kind="Predefined", template_id=template_id, handle=template_id, **kw
    )


def _status_bits(*names: str) -> list[MemberDef]:
    return [MemberDef(n, "BIT", target="CTL", bit=31 - i) for i, n in enumerate(names)]


_CTL = MemberDef("CTL", "DWORD", hidden=True, radix="Hex")

PREDEFINED: Mapping[str, Structure] = MappingProxyType(
    dict(
        [
            _predefined(
                "STRING",
                cip.STRING_HANDLE,
                [MemberDef("LEN", "DINT"), MemberDef("DATA", "SINT", 82, radix="ASCII")],
                family="StringFamily",
                template_name="ASCIISTRING82",
            ),
            _predefined(
                "TIMER",
                0x0F83,
                [
                    _CTL,
                    MemberDef("PRE", "DINT"),
                    MemberDef("ACC", "DINT"),
                    *_status_bits("EN", "TT", "DN"),
                ],
            ),
            _predefined(
                "COUNTER",
                0x0F82,
                [
                    _CTL,
                    MemberDef("PRE", "DINT"),
                    MemberDef("ACC", "DINT"),
                    *_status_bits("CU", "CD", "DN", "OV", "UN"),
                ],
            ),
            _predefined(
                "CONTROL",
                0x0F81,
                [
                    _CTL,
                    MemberDef("LEN", "DINT"),
                    MemberDef("POS", "DINT"),
                    *_status_bits("EN", "EU", "DN", "EM", "ER", "UL", "IN", "FD"),
                ],
            ),
        ]
    )
)
