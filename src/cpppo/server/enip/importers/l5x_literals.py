"""Literals of an L5X export: decorated ``Value`` texts, quoted Logix strings and L5K value text.

Pure functions (ValueError on bad input).

Public API
    parse_literal(text, data_type, radix=None) -> int | float | bool
        a decorated ``Value`` ("2#1000_0000", "16#ff", "1.5e+002", "1.#QNAN", "'A'", "DT#...")
    parse_string_literal(text) -> str       a quoted Logix string with $-escapes
    parse_l5k(text) -> str | list           L5K value text as nested lists of literal strings
    flatten(items) -> list                  the leaves of nested lists, in order
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

from ..logix import Atomic

__all__ = ["flatten", "parse_l5k", "parse_literal", "parse_string_literal"]

_DT = re.compile(
    r"^L?DT#(\d{4})-(\d{1,2})-(\d{1,2})-(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.([\d_]+))?"
    r"(?:Z|\(UTC([+-]\d{1,2}):(\d{2})\))?$"
)
_ESCAPES = {"$": "$", "'": "'", '"': '"', "L": "\n", "N": "\n", "P": "\f", "R": "\r", "T": "\t"}


def parse_string_literal(text: str) -> str:
    """Decode a quoted Logix string (``'A$0D$L$$'``) to text (ISO-8859-1 characters)."""
    text = text.strip()
    if len(text) < 2 or text[0] != text[-1] or text[0] not in "'\"":
        raise ValueError(f"not a quoted string: {text!r}")
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1 : i + 3]
        if len(nxt) == 2 and all(c in "0123456789abcdefABCDEF" for c in nxt):
            out.append(chr(int(nxt, 16)))
            i += 3
        elif nxt[:1].upper() in _ESCAPES or nxt[:1] in _ESCAPES:
            out.append(_ESCAPES.get(nxt[:1], _ESCAPES.get(nxt[:1].upper(), "")))
            i += 2
        else:
            raise ValueError(f"bad $ escape in {text!r}")
    return "".join(out)


def _signed(value: int, atomic: Atomic) -> int:
    bits = atomic.size * 8
    if value < 0 or value >= 1 << bits:
        raise ValueError(f"{value:#x} does not fit {bits} bits")
    if atomic.min is not None and atomic.min < 0 and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def parse_literal(text: str, data_type: Atomic, radix: str | None = None) -> int | float | bool:
    """Parse a decorated data ``Value`` for an atomic type (raises ValueError)."""
    t = text.strip()
    if data_type.is_bool:
        if t in ("0", "1"):
            return t == "1"
        if t.lower() in ("true", "false"):
            return t.lower() == "true"
        raise ValueError(f"{t!r} is not a BOOL")
    if t.startswith("'"):
        raw = parse_string_literal(t).encode("iso-8859-1")
        return _signed(int.from_bytes(raw, "big"), data_type)
    if t.upper().startswith(("DT#", "LDT#")):
        m = _DT.match(t.upper())
        if m is None:
            raise ValueError(f"bad date/time {t!r}")
        y, mo, d, h, mi, s, frac, tzh, tzm = m.groups()
        frac = (frac or "").replace("_", "")
        offset = datetime.timedelta(hours=int(tzh or 0), minutes=int(tzm or 0))
        if tzh and tzh.startswith("-"):
            offset = datetime.timedelta(hours=int(tzh), minutes=-int(tzm))
        stamp = datetime.datetime(
            int(y), int(mo), int(d), int(h), int(mi), int(s),
            tzinfo=datetime.timezone(offset),
        )  # fmt: skip
        seconds = int(stamp.timestamp())
        if t.upper().startswith("LDT#"):
            return seconds * 1_000_000_000 + int((frac + "0" * 9)[:9])
        return seconds * 1_000_000 + int((frac + "0" * 6)[:6])
    sign = -1 if t.startswith("-") else 1
    body = t.lstrip("+-")
    if "#" in body and body.split("#", 1)[0] in ("2", "8", "16"):
        base, digits = body.split("#", 1)
        value = int(digits.replace("_", ""), int(base))
        if data_type.is_float:
            raise ValueError(f"{t!r}: a based integer for {data_type.name}")
        signed = _signed(value, data_type)
        return signed if sign > 0 else -signed
    if data_type.is_float:
        upper = body.upper()
        if "#QNAN" in upper or "#SNAN" in upper or "#IND" in upper or upper == "NAN":
            return math.nan
        if "#INF" in upper or upper in ("INF", "INFINITY"):
            return sign * math.inf
        return float(t)
    return int(t.replace("_", ""), 10)


# ---------------------------------------------------------------------------------------------
# L5K text values ("Format=L5K")

_L5K_TOKEN = re.compile(r"\s*(\[|\]|,|'(?:\$.|[^'$])*'|[^\s\[\],']+)")


def parse_l5k(text: str) -> Any:
    """Parse L5K value text into nested lists of literal strings (ValueError if malformed)."""
    tokens = [m.group(1) for m in _L5K_TOKEN.finditer(text)]
    rest = _L5K_TOKEN.sub("", text).strip()
    if rest:
        raise ValueError(f"unexpected L5K text {rest[:20]!r}")
    pos = 0

    def value(depth: int = 0) -> Any:
        nonlocal pos
        if depth > 32:
            raise ValueError("L5K text nests too deep")
        if pos >= len(tokens):
            raise ValueError("L5K text ends early")
        tok = tokens[pos]
        pos += 1
        if tok != "[":
            if tok in ("]", ","):
                raise ValueError(f"unexpected {tok!r} in L5K text")
            return tok
        items: list[Any] = []
        if pos < len(tokens) and tokens[pos] == "]":
            pos += 1
            return items
        while True:
            items.append(value(depth + 1))
            if pos >= len(tokens):
                raise ValueError("unclosed [ in L5K text")
            tok = tokens[pos]
            pos += 1
            if tok == "]":
                return items
            if tok != ",":
                raise ValueError(f"expected ',' or ']' in L5K text, got {tok!r}")

    result = value()
    if pos != len(tokens):
        raise ValueError("trailing L5K text")
    return result


def flatten(items: list) -> list:
    """The leaves of nested lists, in order."""
    out: list = []
    for item in items:
        if isinstance(item, list):
            out.extend(flatten(item))
        else:
            out.append(item)
    return out
