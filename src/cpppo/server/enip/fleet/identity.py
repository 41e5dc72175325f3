"""A fleet entry's Identity overrides: each key checked, each value a constant or a template.

Keys are those of cpppo.cfg's [Identity] section, spelled any way
:func:`~cpppo.server.enip.sim.config.normalize_key` folds together. Integer fields take an int or
an integer expression in n and i (:mod:`.expr`) and are checked against the field's range;
``product revision`` also takes ``"MAJOR.MINOR"``; ``product name`` is a ``str.format``
template (ISO-8859-1, at most 255 characters). Errors are ValueErrors with a one-line reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ..codec.identity import revision_word
from ..sim.config import normalize_key
from .expr import ExprError, IntExpr, TextTemplate

__all__ = ["IDENTITY_INTS", "IDENTITY_KEYS", "identity_fields"]

#: The integer Identity keys (cpppo.cfg spelling) and their largest values.
IDENTITY_INTS: Mapping[str, int] = MappingProxyType(
    {
        "vendor number": 0xFFFF,
        "device type": 0xFFFF,
        "product code number": 0xFFFF,
        "status word": 0xFFFF,
        "serial number": 0xFFFFFFFF,
        "state": 0xFF,
        "configuration consistency value": 0xFFFF,
        "heartbeat interval": 0xFF,
    }
)
#: Every Identity key a fleet entry may set.
IDENTITY_KEYS = frozenset({*IDENTITY_INTS, "product name", "product revision"})


class _Bad(ValueError):
    """A bad Identity value."""


_Field = Callable[[int, int], Any]


def _bounded(key: str, value: object, high: int, low: int = 0) -> int | _Field:
    """A checked constant, or a function of (n, i) checking each value, for an integer field."""
    try:
        expr = IntExpr.compile(value)  # type: ignore[arg-type]
    except ExprError as exc:
        raise _Bad(f"identity {key!r}: {exc}") from None

    def check(number: int) -> int:
        if not low <= number <= high:
            raise _Bad(f"identity {key!r} = {expr.text!r} is {number}, outside {low}..{high:#x}")
        return number

    if expr.constant is not None:
        return check(expr.constant)

    def field(n: int, i: int) -> int:
        try:
            return check(expr(n, i))
        except ExprError as exc:
            raise _Bad(f"identity {key!r}: {exc}") from None

    return field


def _revision(value: object) -> int | _Field:
    """``"MAJOR.MINOR"`` (major 1..255, minor 0..255) or the revision word as an expression."""
    if isinstance(value, str) and "." in value:
        major_text, _, minor_text = value.strip().partition(".")
        if not (major_text.isdigit() and minor_text.isdigit()):
            raise _Bad(f"identity 'product revision' {value!r} is not MAJOR.MINOR")
        major, minor = int(major_text), int(minor_text)
        if not (0 < major < 256 and 0 <= minor < 256):
            raise _Bad(f"identity 'product revision' {value!r}: major 1..255, minor 0..255")
        return revision_word(major, minor)
    if isinstance(value, float):
        raise _Bad(f"identity 'product revision' {value!r}: write MAJOR.MINOR as a string")
    return _bounded("product revision", value, 0xFFFF)


def _product_name(value: object) -> str | _Field:
    """The product name, a ``str.format`` template; ISO-8859-1, at most 255 characters."""
    try:
        template = TextTemplate.compile(value)
    except ExprError as exc:
        raise _Bad(f"identity 'product name': {exc}") from None

    def check(name: str) -> str:
        try:
            encoded = name.encode("latin-1")
        except UnicodeEncodeError:
            raise _Bad(f"identity 'product name' {name!r} is not ISO-8859-1 text") from None
        if len(encoded) > 255:
            raise _Bad(f"identity 'product name' {name[:20]!r}... is over 255 characters")
        return name

    if template.constant is not None:
        return check(template.constant)

    def field(n: int, i: int) -> str:
        try:
            return check(template(n, i))
        except ExprError as exc:
            raise _Bad(f"identity 'product name': {exc}") from None

    return field


def identity_fields(table: Mapping[str, Any], serial: object = None) -> dict[str, Any]:
    """Identity key -> a checked constant, or a function of (n, i) checking each value.

    ``table`` is the entry's ``[device.identity]``; ``serial`` its ``serial`` shorthand.
    """
    given: dict[str, Any] = {}
    for key, value in table.items():
        canonical = normalize_key(key)
        if canonical in given:
            raise _Bad(f"identity key {key!r} is given twice")
        given[canonical] = value
    if serial is not None:
        if "serial number" in given:
            raise _Bad("give serial or identity 'serial number', not both")
        given["serial number"] = serial
    fields: dict[str, Any] = {}
    for key, value in given.items():
        if key == "product name":
            fields[key] = _product_name(value)
        elif key == "product revision":
            fields[key] = _revision(value)
        elif key in IDENTITY_INTS:
            fields[key] = _bounded(key, value, IDENTITY_INTS[key])
        else:
            known = ", ".join(sorted(IDENTITY_KEYS))
            raise _Bad(f"unknown identity key {key!r} (known: {known})")
    return fields
