"""The client's operation syntax (docs/enip-client.md): strings such as
``SCADA[1-3]=(DINT)4,5,6`` or ``@1/1/7`` become operation dicts a
:class:`~cpppo.server.enip.client.connector` can issue.

Pure functions, no I/O. Public API:
    parse_operations(tags, fragment=False, int_type=None, **kwds) -> iterator of operation dicts
    parse_operation(text, fragment=False, int_type=None) -> dict      one string
    parse_path(text) -> list[dict]        ``Tag.Sub[2]`` or ``@cls/ins/att/elm`` (JSON segments ok)
    parse_path_elements(text) -> (list[dict], int | None)
                                          a path that may end in a range (``Tag[1-3]``): its
                                          segments and the range's element count
    parse_int(text) -> int                decimal (leading zeros allowed), 0x.., 0o.., 0b..
    parse_route_path(value) -> list|None  --route-path values: JSON, ``port/link``, 0/false
    parse_send_path(value) -> list|None   --send-path values: ``@6/1``, '' (none)
    format_path(path, count=None) -> str  a path back in the same notation, for printing
    OperationError                        a bad operation string (subclass of ValueError)

An operation dict has the keys of the spec's table: ``method`` ('read', 'write',
'get_attribute_single', 'set_attribute_single', 'get_attributes_all'), ``path``, ``elements``,
optionally ``offset`` (a byte offset: forces the Fragmented services), ``tag_type`` (CIP type code)
and ``data`` (values to write); extra keywords (route_path, send_path, ...) are copied into each.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..codec import epath
from ..codec.errors import EncodeError
from ..codec.types import (
    INT,
    LOGIX_STRING,
    REAL,
    STRUCT_CODE,
    TYPES_BY_CODE,
    CipType,
    type_named,
)

__all__ = [
    "CAST_TYPES",
    "NUMERIC_DEFAULTS",
    "OperationError",
    "cip_type",
    "format_path",
    "parse_int",
    "parse_operation",
    "parse_operations",
    "parse_path",
    "parse_path_elements",
    "parse_route_path",
    "parse_send_path",
]

#: Type names accepted in a ``=(TYPE)`` cast.
CAST_TYPES = (
    "SINT",
    "INT",
    "DINT",
    "LINT",
    "USINT",
    "UINT",
    "UDINT",
    "ULINT",
    "REAL",
    "LREAL",
    "BOOL",
    "WORD",
    "DWORD",
    "LWORD",
    "SSTRING",
    "STRING",
)

#: The meaning of successive bare numbers in ``@<class>/<instance>/<attribute>/<element>``.
NUMERIC_DEFAULTS = ("class", "instance", "attribute", "element")

#: Segment keys a JSON segment may carry (``port`` goes with ``link``).
SEGMENT_KEYS = frozenset({"class", "instance", "attribute", "element", "connection", "symbolic"})

# Position a logical segment takes in the default numeric sequence (a connection point stands where
# an attribute would, as in the spec's ``@4/5/{"connection":100}``).
_SEQUENCE = {"class": 0, "instance": 1, "attribute": 2, "connection": 2, "element": 3}

# Distinct operation strings remembered by one parse_operations call.
_PARSED_LIMIT = 10_000

_NUMBER = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)\Z")
# A symbolic name: anything but the characters the syntax uses, and no white space.
_NAME = re.compile(r"[^\[\]\.\+=@/{}\s,]+")
_RANGE = re.compile(r"\[\s*([^\]\-\s]+)\s*(?:-\s*([^\]\s]+)\s*)?\]")
_CAST = re.compile(r"\(\s*([A-Za-z_]+)\s*\)")


class OperationError(ValueError):
    """An operation string (or dict) that cannot be understood; the message says which part."""


def parse_int(text: str) -> int:
    """Parse an integer: decimal (leading zeros are decimal, not octal), 0x, 0o or 0b prefixes."""
    text = text.strip()
    if not _NUMBER.match(text):
        raise OperationError(f"{text!r} is not an integer (decimal, 0x.., 0o.. or 0b..)")
    sign = -1 if text[0] == "-" else 1
    body = text.lstrip("+-")
    if len(body) > 1 and body[0] == "0" and body[1] in "xXoObB":
        return sign * int(body, 0)
    return sign * int(body, 10)


def cip_type(tag_type: int | str | type[CipType]) -> type[CipType]:
    """The codec type for a CIP type code (0x02A0 means the Logix STRING), name or type class."""
    if isinstance(tag_type, type) and issubclass(tag_type, CipType):
        return tag_type
    if isinstance(tag_type, str):
        try:
            return type_named(tag_type)
        except KeyError as exc:
            raise OperationError(str(exc.args[0])) from None
    if tag_type == STRUCT_CODE:
        return LOGIX_STRING
    try:
        return TYPES_BY_CODE[tag_type]
    except KeyError:
        raise OperationError(f"unknown CIP type code {tag_type!r}") from None


def _symbolic(name: str, text: str) -> dict:
    try:
        name.encode("iso-8859-1")
    except UnicodeEncodeError:
        raise OperationError(f"{text!r}: tag name {name!r} is not ISO-8859-1") from None
    return {"symbolic": name}


def _json_segment(obj: Any, text: str) -> dict:
    """Validate one JSON path segment such as {"class": 4} or {"port": 1, "link": "10.0.0.1"}."""
    if not isinstance(obj, dict) or not obj:
        raise OperationError(f"{text!r}: JSON segment {obj!r} must be a non-empty object")
    keys = set(obj)
    if keys == {"port", "link"}:
        port, link = obj["port"], obj["link"]
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 0xFFFF:
            raise OperationError(f"{text!r}: port {port!r} must be an integer 0-65535")
        if not isinstance(link, (int, str)) or isinstance(link, bool):
            raise OperationError(f"{text!r}: link {link!r} must be an integer or an IP address")
        return {"port": port, "link": link}
    if len(keys) != 1 or not keys <= SEGMENT_KEYS:
        raise OperationError(
            f"{text!r}: JSON segment {obj!r} must have one key of "
            f"{', '.join(sorted(SEGMENT_KEYS))} (or port and link)"
        )
    (key,) = keys
    value = obj[key]
    if key == "symbolic":
        if not isinstance(value, str) or not value:
            raise OperationError(f"{text!r}: symbolic segment needs a name, not {value!r}")
        return _symbolic(value, text)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise OperationError(f"{text!r}: {key} {value!r} must be a non-negative integer")
    return {key: value}


def _numeric_path(text: str, pos: int, stop: str = "[+=") -> tuple[list[dict], int]:
    """Parse ``seg/seg/...`` from ``text[pos:]`` (after the '@'); return segments and end index."""
    decoder = json.JSONDecoder()
    segments: list[dict] = []
    position = 0  # index into NUMERIC_DEFAULTS for the next bare number
    while True:
        if pos < len(text) and text[pos] == "{":
            try:
                obj, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                raise OperationError(f"{text!r}: bad JSON segment: {exc.msg}") from None
            segment = _json_segment(obj, text)
            (key,) = segment if "port" not in segment else ("port",)
            if key in _SEQUENCE:
                position = _SEQUENCE[key] + 1
        else:
            end = pos
            while end < len(text) and text[end] != "/" and text[end] not in stop:
                end += 1
            token = text[pos:end].strip()
            if not token:
                raise OperationError(f"{text!r}: empty numeric path segment at offset {pos}")
            if position >= len(NUMERIC_DEFAULTS):
                raise OperationError(
                    f"{text!r}: too many numeric segments (@class/instance/attribute/element)"
                )
            value = parse_int(token)
            if value < 0:
                raise OperationError(f"{text!r}: negative {NUMERIC_DEFAULTS[position]} {value}")
            segment = {NUMERIC_DEFAULTS[position]: value}
            position += 1
            pos = end
        segments.append(segment)
        if pos < len(text) and text[pos] == "/":
            pos += 1
            continue
        return segments, pos


def _symbolic_path(text: str, pos: int) -> tuple[list[dict], int, tuple[int, int] | None]:
    """Parse ``Name[i].Member[j-k]``; return segments, end index and the trailing range if any.

    Only the last component may carry a range ``[i-j]``; other indices become element segments.
    """
    segments: list[dict] = []
    last_range: tuple[int, int] | None = None
    while True:
        match = _NAME.match(text, pos)
        if not match:
            raise OperationError(f"{text!r}: expected a tag name at offset {pos}")
        segments.append(_symbolic(match.group(), text))
        pos = match.end()
        last_range = None
        if pos < len(text) and text[pos] == "[":
            match = _RANGE.match(text, pos)
            if not match:
                raise OperationError(f"{text!r}: bad element index at offset {pos}")
            first = parse_int(match.group(1))
            last = parse_int(match.group(2)) if match.group(2) is not None else first
            if first < 0 or last < first:
                raise OperationError(f"{text!r}: bad element range [{match.group(1)}-{last}]")
            segments.append({"element": first})
            last_range = (first, last)
            pos = match.end()
        if pos < len(text) and text[pos] == ".":
            if last_range is not None and last_range[0] != last_range[1]:
                raise OperationError(f"{text!r}: only the last component may have a range")
            pos += 1
            continue
        return segments, pos, last_range


def parse_path(text: str) -> list[dict]:
    """Parse a whole path: ``Tag``, ``Tag.Member[2].X``, ``@1/1/7`` or ``@{"class":4}/5``."""
    text = text.strip()
    if text.startswith("@"):
        segments, pos = _numeric_path(text, 1, stop="")
    else:
        segments, pos, rng = _symbolic_path(text, 0)
        if rng is not None and rng[0] != rng[1]:
            raise OperationError(f"{text!r}: a path cannot carry a range")
    if pos != len(text):
        raise OperationError(f"{text!r}: unexpected {text[pos:]!r}")
    return segments


def parse_path_elements(text: str) -> tuple[list[dict], int | None]:
    """A path as the low-level ``read``/``write`` take it (as the original cpppo's did): it may
    end in an element range. ``SCADA[1-3]`` -> (its segments, 3); ``SCADA[1]`` or ``Tag`` ->
    (segments, None)."""
    op = parse_operation(text)
    if op["method"] != "read" or "offset" in op:
        raise OperationError(f"{text!r}: a path was expected, not a write or a byte offset")
    return op["path"], op["elements"] if op["elements"] > 1 else None


def _split_values(text: str, whole: str) -> list[str]:
    """Split the comma-separated values after '=', honouring double quotes."""
    try:
        rows = list(csv.reader([text], skipinitialspace=True, strict=True))
    except csv.Error as exc:
        raise OperationError(f"{whole!r}: bad value list {text!r}: {exc}") from None
    values = rows[0] if rows else []
    if not values or any(v == "" for v in values):
        raise OperationError(f"{whole!r}: empty value in {text!r}")
    return values


def _convert(raw: str, typ: type[CipType], whole: str) -> Any:
    """Convert one written value to the Python value of ``typ``, checking its range."""
    if typ.size is None or typ is LOGIX_STRING:
        return raw
    value = raw.strip()
    if typ.fmt in ("f", "d"):
        try:
            return float(value)
        except ValueError:
            raise OperationError(f"{whole!r}: {raw!r} is not a number for {typ.name}") from None
    if typ.name == "BOOL" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        number = parse_int(value)
    except OperationError:
        hint = "" if "." not in value else " (a '.' makes all values REAL unless cast)"
        raise OperationError(f"{whole!r}: {raw!r} is not an integer for {typ.name}{hint}") from None
    low, high = typ.min, typ.max
    # Signed types also take the unsigned range of the same width (raw bytes, e.g. 255 as SINT).
    if low is not None and high is not None and low < 0:
        high = 2 * high + 1
    if low is not None and high is not None and not low <= number <= high:
        raise OperationError(f"{whole!r}: {number} is out of range for {typ.name} ({low}..{high})")
    if typ.name == "BOOL":
        return bool(number)
    return number


def _values(text: str, whole: str, int_type: type[CipType]) -> tuple[type[CipType], list]:
    """Parse ``(TYPE)v,v,...`` or ``v,v,...``; return the type and the converted values."""
    typ: type[CipType] | None = None
    match = _CAST.match(text)
    if match:
        name = match.group(1).upper()
        if name not in CAST_TYPES:
            raise OperationError(
                f"{whole!r}: unknown cast ({match.group(1)}); use one of {', '.join(CAST_TYPES)}"
            )
        typ = type_named(name)
        text = text[match.end() :]
    stripped = text.strip()
    is_string = typ is not None and (typ.size is None or typ is LOGIX_STRING)
    if not is_string and len(stripped) >= 2 and stripped[0] == "[" and stripped[-1] == "]":
        stripped = stripped[1:-1]  # Tag[0-3]=[0,1,2,3], as docs/poll.md writes
    raws = _split_values(stripped, whole)
    if typ is None:
        typ = REAL if any("." in v for v in raws) else int_type
    return typ, [_convert(raw, typ, whole) for raw in raws]


def parse_operation(text: str, fragment: bool = False, int_type: Any = None) -> dict:
    """Parse one operation string into an operation dict (see the module docstring).

    Raises :class:`OperationError` naming the operation and the part that is wrong.
    """
    try:
        return _parse_operation(text, fragment, int_type)
    except OperationError as exc:
        message = str(exc)
        if isinstance(text, str) and not message.startswith(repr(text)):
            raise OperationError(f"{text!r}: {message}") from None
        raise


def _parse_operation(text: str, fragment: bool, int_type: Any) -> dict:
    if not isinstance(text, str):
        raise OperationError(f"operation must be a string or dict, not {type(text).__name__}")
    whole = text
    text = text.strip()
    if not text:
        raise OperationError("empty operation")
    default_int = cip_type(int_type) if int_type is not None else INT
    if text.startswith("@"):
        path, pos = _numeric_path(text, 1)
        rng = None
        if pos < len(text) and text[pos] == "[":
            match = _RANGE.match(text, pos)
            if not match:
                raise OperationError(f"{whole!r}: bad element index at offset {pos}")
            first = parse_int(match.group(1))
            last = parse_int(match.group(2)) if match.group(2) is not None else first
            if first < 0 or last < first:
                raise OperationError(f"{whole!r}: bad element range {match.group()}")
            if "element" in path[-1]:
                raise OperationError(f"{whole!r}: element given twice")
            path.append({"element": first})
            rng = (first, last)
            pos = match.end()
    else:
        path, pos, rng = _symbolic_path(text, 0)
    elements = rng[1] - rng[0] + 1 if rng else 1
    op: dict[str, Any] = {"path": path}
    offset = None
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos < len(text) and text[pos] == "+":
        end = pos + 1
        while end < len(text) and text[end] != "=":
            end += 1
        offset = parse_int(text[pos + 1 : end])
        if offset < 0:
            raise OperationError(f"{whole!r}: negative byte offset {offset}")
        pos = end
    if pos < len(text) and text[pos] == "=":
        typ, data = _values(text[pos + 1 :], whole, default_int)
        if rng is None and offset is None:
            elements = len(data)  # Tag=1,2,3 writes 3 elements from the start
        if offset is None:
            if len(data) != elements:
                raise OperationError(
                    f"{whole!r}: {len(data)} value(s) given for {elements} element(s); "
                    "the count must match the range exactly"
                )
        else:
            if typ.size is None:
                raise OperationError(f"{whole!r}: a byte offset needs a fixed-size type")
            if offset % typ.size:
                raise OperationError(
                    f"{whole!r}: byte offset {offset} is not a multiple of "
                    f"{typ.name} size {typ.size}"
                )
            if offset // typ.size + len(data) > elements:
                raise OperationError(
                    f"{whole!r}: {len(data)} value(s) at byte offset {offset} overrun "
                    f"{elements} {typ.name} element(s)"
                )
        op.update(method="write", elements=elements, tag_type=typ.code, data=data)
    elif pos < len(text):
        raise OperationError(f"{whole!r}: unexpected {text[pos:]!r}")
    else:
        op.update(method="read", elements=elements)
    if offset is not None:
        op["offset"] = offset
    elif fragment:
        op["offset"] = 0
    return op


def _check_dict(op: Mapping) -> dict:
    """Copy and sanity-check an operation given as a dict."""
    result = dict(op)
    path = result.get("path")
    if isinstance(path, str):
        result["path"] = parse_path(path)
    elif not isinstance(path, (list, tuple)) or not all(isinstance(s, dict) for s in path):
        raise OperationError(f"operation {op!r}: 'path' must be a list of segment dicts")
    else:
        result["path"] = [dict(s) for s in path]
    method = result.setdefault("method", "write" if "data" in result else "read")
    if method not in (
        "read",
        "write",
        "get_attribute_single",
        "set_attribute_single",
        "get_attributes_all",
    ):
        raise OperationError(f"operation {op!r}: unknown method {method!r}")
    if method in ("write", "set_attribute_single") and "data" not in result:
        raise OperationError(f"operation {op!r}: {method} needs 'data'")
    if method in ("read", "write"):
        result.setdefault("elements", len(result["data"]) if "data" in result else 1)
    return result


def parse_operations(
    tags: Iterable[str | Mapping], fragment: bool = False, int_type: Any = None, **kwds: Any
) -> Iterator[dict]:
    """Yield an operation dict for each operation string (or dict, copied) in ``tags``.

    ``fragment`` forces the Fragmented services (``offset`` 0) where no offset was given;
    ``int_type`` is the type of integer values written without a cast (default INT). Keyword
    arguments that are not None (``route_path``, ``send_path``, ``timeout_ticks``,
    ``priority_time_tick``, ...) are added to every operation that does not already have them.
    Blank strings (e.g. empty lines read from stdin) are skipped.

    A string repeated (``tags * repeat``) is parsed once: its operations are separate dicts (and
    ``data`` lists) that share one ``path`` list, which lets a connector encode it once too.
    """
    extra = {k: v for k, v in kwds.items() if v is not None}
    parsed: dict[str, dict] = {}
    for tag in tags:
        if isinstance(tag, Mapping):
            op = _check_dict(tag)
            if fragment and op["method"] in ("read", "write"):
                op.setdefault("offset", 0)
        else:
            if isinstance(tag, str) and not tag.strip():
                continue
            known = parsed.get(tag) if isinstance(tag, str) else None
            if known is None:
                op = parse_operation(tag, fragment=fragment, int_type=int_type)
                if len(parsed) < _PARSED_LIMIT:
                    parsed[tag] = op
                op = dict(op)
            else:
                op = dict(known)
            if "data" in op:
                op["data"] = list(op["data"])
        for key, value in extra.items():
            op.setdefault(key, value)
        yield op


def parse_route_path(value: Any) -> list[dict] | None:
    """Parse a route path: None (use the default), 0/false/'' (none: ``[]``), ``"1/0"``
    (port/link), JSON port/link dicts: :func:`~..codec.epath.parse_route_path`, whose errors
    become OperationErrors."""
    try:
        return epath.parse_route_path(value)
    except EncodeError as exc:
        raise OperationError(str(exc)) from None


def parse_send_path(value: Any) -> list[dict] | None:
    """Parse a send path: None (the default ``@6/1``), '' or false (none), ``@6/1`` or a list."""
    if value is None:
        return None
    if value is False or (isinstance(value, str) and value.strip().lower() in ("", "false", "0")):
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("@"):
            raise OperationError(f"send path {text!r}: expected @<class>/<instance>")
        return parse_path(text)
    if isinstance(value, (list, tuple)) and all(isinstance(s, dict) for s in value):
        return [dict(s) for s in value]
    raise OperationError(f"send path {value!r}: expected '@<class>/<instance>' or a segment list")


def format_path(path: Any, count: int | None = None) -> str:
    """Render a path in operation syntax: ``SCADA[1-3]``, ``@0x0001/1/7``, ``Tag.Sub[2]``.

    A trailing element segment becomes ``[i]``, or ``[i-j]`` when ``count`` is given.
    """
    if isinstance(path, str):
        return path
    segments = list(path)
    element = None
    if segments and set(segments[-1]) == {"element"}:
        element = segments.pop()["element"]
    symbolic = ""
    numeric: list[str] = []
    for seg in segments:
        if "symbolic" in seg:
            symbolic += ("." if symbolic else "") + seg["symbolic"]
        elif "element" in seg and symbolic:
            symbolic += f"[{seg['element']}]"
        elif "class" in seg and not numeric:
            numeric.append(f"0x{seg['class']:04X}")
        elif "instance" in seg and len(numeric) == 1:
            numeric.append(str(seg["instance"]))
        elif "attribute" in seg and len(numeric) == 2:
            numeric.append(str(seg["attribute"]))
        else:
            numeric.append(json.dumps(seg, separators=(",", ":")))
    text = (symbolic + ("/" + "/".join(numeric) if numeric else "")) if symbolic else ""
    if not symbolic:
        text = "@" + "/".join(numeric)
    if element is not None:
        text += f"[{element}-{element + count - 1}]" if count is not None else f"[{element}]"
    return text
