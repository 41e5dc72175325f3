"""EPATH segments as plain dicts (the JSON form of the spec's operation syntax).

Segments:
    {'class': n} {'instance': n} {'attribute': n} {'element': n} {'connection': n}
                          logical segments; the 8/16/32-bit form is picked from the value on encode.
    {'symbolic': 'Name'}  ANSI extended symbolic segment 0x91 (ISO-8859-1 name, <= 255 bytes).
    {'port': p, 'link': l}
                          port segment; ``p`` 1..65535 (>= 15 uses the extended port word), ``l`` an
                          int 0..255 or a string (an IP address: extended link address); a port
                          segment is padded to an even length even in a packed EPATH. A lone
                          {'port': p} next to a lone {'link': l} (either order) is one segment, so
                          the spec's ``[{"link": 0}, {"port": 1}]`` route path works.
    {'key': {'vendor': v, 'device_type': t, 'product_code': c, 'major': M, 'minor': m,
             'compatibility': bool}}
                          electronic key segment 0x34 (format 4), as Forward Open paths carry it.

Public API:
    encode_epath(segments, padded=True) -> bytes       the segments only (no word count).
    decode_epath(buf, padded=True) -> list[dict]       every byte of ``buf`` must be a segment.
    encode_sized_epath(segments) -> bytes              USINT size in words + padded path
                                                       (request paths, Forward Open paths).
    decode_sized_epath(buf, offset=0) -> (segments, next_offset)
    encode_route_path(segments) -> bytes               USINT words + USINT reserved + padded path
                                                       (Unconnected Send route path, Forward Close).
    decode_route_path(buf, offset=0) -> (segments, next_offset)
    split_route_segments(segments) -> (route, rest)    leading port segments vs. the remainder.
    parse_route_path(value) -> list[dict] | None
        the route-path syntax of the command lines and configuration: None -> None (no route
        path given); False, 0, '', '0', 'false', 'no', 'none', 'null', '[]' -> [] (no route
        path); '<port>/<link>[/<port>/<link>...]' (numbers decimal or 0x/0o/0b; a link that is
        not a number is an address); a JSON list of {"port": p, "link": l} dicts or one such
        dict (as text or already parsed). Split forms such as the spec's
        ``[{"link": 0}, {"port": 1}]`` are merged into one port segment. A port is an integer
        0..65535, a link an integer or a string (an address); anything else raises EncodeError
        (a ValueError) saying what is wrong. The spec's swapped example
        ``[{"link": 0, "port": "192.168.1.2"}]`` (an address as the port) is refused with the
        form meant: ``did you mean [{"port": 2, "link": "192.168.1.2"}]?`` (port 2: the
        Ethernet port of a Logix bridge module).

Malformed paths raise :class:`DecodeError` with ``status=0x04`` (path segment error); a value that
does not fit raises :class:`EncodeError`.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import DecodeError, EncodeError
from .status import Status

__all__ = [
    "decode_epath",
    "decode_route_path",
    "decode_sized_epath",
    "encode_epath",
    "encode_route_path",
    "encode_sized_epath",
    "parse_route_path",
    "split_route_segments",
]


# Logical segment base codes (bits 4..2 = logical type); +0 8-bit, +1 16-bit, +2 32-bit value.
_LOGICAL = {"class": 0x20, "instance": 0x24, "element": 0x28, "connection": 0x2C, "attribute": 0x30}
_LOGICAL_NAME = {v: k for k, v in _LOGICAL.items()}
_SYMBOLIC = 0x91
_KEY = 0x34
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_KEY_BODY = struct.Struct("<BHHHBB")  # format(4), vendor, device type, product code, major, minor


def _logical(out: bytearray, base: int, value: Any, padded: bool) -> None:
    if type(value) is not int and (not isinstance(value, int) or isinstance(value, bool)):
        raise EncodeError(f"EPATH: {_LOGICAL_NAME[base]} value {value!r} is not an integer")
    if 0 <= value <= 0xFF:
        out += bytes((base, value))
    elif 0 <= value <= 0xFFFF:
        out += bytes((base | 1, 0)) if padded else bytes((base | 1,))
        out += _U16.pack(value)
    elif 0 <= value <= 0xFFFFFFFF:
        out += bytes((base | 2, 0)) if padded else bytes((base | 2,))
        out += _U32.pack(value)
    else:
        raise EncodeError(f"EPATH: {_LOGICAL_NAME[base]} value {value} out of range")


def _port(out: bytearray, port: Any, link: Any) -> None:
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 0xFFFF:
        raise EncodeError(f"EPATH: port {port!r} is not 1..65535")
    if isinstance(link, str):
        raw = link.encode("iso-8859-1")
        if not 1 <= len(raw) <= 255:
            raise EncodeError(f"EPATH: link address {link!r} is not 1..255 bytes")
    elif isinstance(link, int) and not isinstance(link, bool) and 0 <= link <= 0xFF:
        raw = bytes((link,))
    else:
        raise EncodeError(f"EPATH: link {link!r} is not 0..255 or an address string")
    extended = isinstance(link, str)
    start = len(out)
    code = (0x10 if extended else 0) | (port if port < 15 else 15)
    out.append(code)
    if extended:
        out.append(len(raw))
    if port >= 15:
        out += _U16.pack(port)
    out += raw
    if (len(out) - start) % 2:  # a port segment is always padded to an even length
        out.append(0)


def _key(out: bytearray, key: Any) -> None:
    try:
        major = key["major"] & 0x7F
        if key.get("compatibility"):
            major |= 0x80
        out.append(_KEY)
        out += _KEY_BODY.pack(
            4, key["vendor"], key["device_type"], key["product_code"], major, key["minor"]
        )
    except (KeyError, TypeError, struct.error) as exc:
        raise EncodeError(f"EPATH: electronic key {key!r}: {exc}") from None


def _merged(segments: Sequence[dict]) -> list[dict]:
    """Join a lone {'port': p} with a neighbouring lone {'link': l} (either order)."""
    out: list[dict] = []
    i, n = 0, len(segments)
    while i < n:
        seg = segments[i]
        if len(seg) == 1 and ("port" in seg or "link" in seg) and i + 1 < n:
            other = segments[i + 1]
            want = "link" if "port" in seg else "port"
            if len(other) == 1 and want in other:
                out.append({**seg, **other})
                i += 2
                continue
        out.append(seg)
        i += 1
    return out


def encode_epath(segments: Sequence[dict], padded: bool = True) -> bytes:
    """Encode segments (see the module docstring) as an EPATH, padded or packed."""
    return _encode(segments, padded, False)


def _encode(segments: Sequence[dict], padded: bool, merged: bool) -> bytes:
    out = bytearray()
    logical = _LOGICAL
    for seg in segments:
        if type(seg) is not dict and not isinstance(seg, Mapping):
            raise EncodeError(f"EPATH: segment {seg!r} is not a dict")
        if len(seg) == 1:
            ((name, value),) = seg.items()
            base = logical.get(name)
            if base is not None:
                if type(value) is int and 0 <= value <= 0xFF:  # the common 8-bit form
                    out.append(base)
                    out.append(value)
                else:
                    _logical(out, base, value, padded)
                continue
            if name == "symbolic":
                try:
                    raw = value.encode("iso-8859-1")
                except (AttributeError, UnicodeEncodeError):
                    raw = b""
                n = len(raw)
                if not 1 <= n <= 255:
                    raise EncodeError(f"EPATH: symbolic name {value!r} is not 1..255 characters")
                out.append(_SYMBOLIC)
                out.append(n)
                out += raw
                if padded and n & 1:
                    out.append(0)
                continue
            if name == "key":
                _key(out, value)
                continue
            if (name == "port" or name == "link") and not merged:
                return _encode(_merged(segments), padded, True)
        elif len(seg) == 2 and "port" in seg and "link" in seg:
            _port(out, seg["port"], seg["link"])
            continue
        raise EncodeError(f"EPATH: unknown segment {seg!r}")
    return bytes(out)


def _bad(message: str) -> DecodeError:
    return DecodeError(f"EPATH: {message}", status=Status.PATH_SEGMENT_ERROR)


def decode_epath(buf: bytes | bytearray | memoryview, padded: bool = True) -> list[dict]:
    """Decode an EPATH (every byte of ``buf``) into segment dicts."""
    if type(buf) is not bytes:
        buf = bytes(buf)  # paths are short; indexing bytes is faster than a memoryview
    end = len(buf)
    pos = 0
    out: list[dict] = []
    append = out.append
    while pos < end:
        code = buf[pos]
        kind = code & 0xE0
        if kind == 0x20:
            name = _LOGICAL_NAME.get(code & 0xFC)
            fmt = code & 0x03
            if name is None:
                if code == _KEY:
                    if pos + 10 > end:
                        raise _bad(f"electronic key at {pos} runs past {end} bytes")
                    form, vendor, dtype, product, major, minor = _KEY_BODY.unpack_from(buf, pos + 1)
                    if form != 4:
                        raise _bad(f"electronic key format {form} unsupported")
                    append(
                        {
                            "key": {
                                "vendor": vendor,
                                "device_type": dtype,
                                "product_code": product,
                                "major": major & 0x7F,
                                "minor": minor,
                                "compatibility": bool(major & 0x80),
                            }
                        }
                    )
                    pos += 10
                    continue
                raise _bad(f"unsupported logical segment 0x{code:02X} at {pos}")
            if fmt == 0:
                if pos + 2 > end:
                    raise _bad(f"segment 0x{code:02X} at {pos} runs past {end} bytes")
                append({name: buf[pos + 1]})
                pos += 2
            elif fmt == 1:
                at = pos + 2 if padded else pos + 1
                if at + 2 > end:
                    raise _bad(f"segment 0x{code:02X} at {pos} runs past {end} bytes")
                append({name: _U16.unpack_from(buf, at)[0]})
                pos = at + 2
            elif fmt == 2:
                at = pos + 2 if padded else pos + 1
                if at + 4 > end:
                    raise _bad(f"segment 0x{code:02X} at {pos} runs past {end} bytes")
                append({name: _U32.unpack_from(buf, at)[0]})
                pos = at + 4
            else:
                raise _bad(f"reserved logical format in 0x{code:02X} at {pos}")
        elif code == _SYMBOLIC:
            if pos + 2 > end:
                raise _bad(f"symbolic segment at {pos} runs past {end} bytes")
            length = buf[pos + 1]
            stop = pos + 2 + length
            if length == 0 or stop > end:
                raise _bad(f"symbolic segment of {length} at {pos} runs past {end} bytes")
            append({"symbolic": buf[pos + 2 : stop].decode("iso-8859-1")})
            pos = stop + (length & 1 if padded else 0)
            if pos > end:
                raise _bad(f"symbolic segment at {stop - length - 2} lacks its pad byte")
        elif kind == 0x00:
            pos = _decode_port(buf, pos, end, append)
        else:
            raise _bad(f"unsupported segment type 0x{code:02X} at {pos}")
    return out


def _decode_port(buf: Any, pos: int, end: int, append: Any) -> int:
    code = buf[pos]
    port = code & 0x0F
    extended = code & 0x10
    at = pos + 1
    if extended:
        if at >= end:
            raise _bad(f"port segment at {pos} runs past {end} bytes")
        size = buf[at]
        at += 1
        if size == 0:
            raise _bad(f"port segment at {pos} has an empty link address")
    else:
        size = 1
    if port == 15:
        if at + 2 > end:
            raise _bad(f"port segment at {pos} runs past {end} bytes")
        (port,) = _U16.unpack_from(buf, at)
        at += 2
    if port == 0:
        raise _bad(f"port segment at {pos} names reserved port 0")
    stop = at + size
    if stop > end:
        raise _bad(f"port segment at {pos} runs past {end} bytes")
    raw = bytes(buf[at:stop])
    link: int | str = raw[0]
    if extended:
        text = raw.decode("iso-8859-1")
        link = text if raw.isascii() and text.isprintable() else int.from_bytes(raw, "little")
    if (stop - pos) % 2:
        stop += 1
        if stop > end:
            raise _bad(f"port segment at {pos} lacks its pad byte")
    append({"port": port, "link": link})
    return stop


def encode_sized_epath(segments: Sequence[dict]) -> bytes:
    """USINT path size in 16-bit words, then the padded EPATH."""
    path = encode_epath(segments)
    if len(path) > 510:
        raise EncodeError(f"EPATH of {len(path)} bytes exceeds 255 words")
    return bytes((len(path) // 2,)) + path


def decode_sized_epath(
    buf: bytes | bytearray | memoryview, offset: int = 0
) -> tuple[list[dict], int]:
    """Decode USINT words + padded EPATH at ``offset``; return the segments and the next offset."""
    if offset >= len(buf):
        raise _bad("missing path size")
    stop = offset + 1 + 2 * buf[offset]
    if stop > len(buf):
        raise _bad(f"path of {buf[offset]} words runs past {len(buf)} bytes")
    return decode_epath(memoryview(buf)[offset + 1 : stop]), stop


def encode_route_path(segments: Sequence[dict]) -> bytes:
    """USINT words, USINT reserved (0), padded EPATH: the Unconnected Send / Forward Close form."""
    path = encode_epath(segments)
    if len(path) > 510:
        raise EncodeError(f"route path of {len(path)} bytes exceeds 255 words")
    return bytes((len(path) // 2, 0)) + path


def decode_route_path(
    buf: bytes | bytearray | memoryview, offset: int = 0
) -> tuple[list[dict], int]:
    """Decode USINT words + reserved + padded EPATH at ``offset``."""
    if offset + 2 > len(buf):
        raise _bad("missing route path size")
    stop = offset + 2 + 2 * buf[offset]
    if stop > len(buf):
        raise _bad(f"route path of {buf[offset]} words runs past {len(buf)} bytes")
    return decode_epath(memoryview(buf)[offset + 2 : stop]), stop


def split_route_segments(segments: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """Split a path into its leading port segments (the route) and the rest."""
    segments = _merged(list(segments))
    i = 0
    while i < len(segments) and "port" in segments[i]:
        i += 1
    return list(segments[:i]), list(segments[i:])


# ---- the route-path syntax ---------------------------------------------------------------------

#: Text meaning "no route path".
_NO_ROUTE = frozenset({"", "0", "false", "no", "none", "null", "[]"})
_NUMBER = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)\Z")


def _number(text: str) -> int | None:
    """An integer in decimal (leading zeros allowed) or 0x/0o/0b notation; None if not one."""
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    body = text.lstrip("+-")
    value = int(body, 0) if len(body) > 1 and body[1] in "xXoObB" else int(body, 10)
    return -value if text[0] == "-" else value


#: The port a swapped segment's address most likely belongs to: a bridge module's Ethernet port.
_ETHERNET_PORT = 2


def _swapped(port: Any, link: Any) -> bool:
    """True for the spec's slip: an address given as the port, a number as the link."""
    return isinstance(port, str) and _number(port) is None and isinstance(link, int)


def _did_you_mean(segments: list[dict]) -> str:
    """The route path meant by one holding swapped segments, as JSON."""
    meant = [
        {"port": _ETHERNET_PORT, "link": s["port"]} if _swapped(s["port"], s["link"]) else s
        for s in segments
    ]
    return f"did you mean {json.dumps(meant, default=repr)}?"


def _port_segment(port: Any, link: Any, where: str) -> dict:
    """A checked {"port": p, "link": l} segment."""
    if isinstance(port, bool) or not (isinstance(port, int) and 0 <= port <= 0xFFFF):
        raise EncodeError(f"route path {where}: port {port!r} must be an integer 0-65535")
    if isinstance(link, bool) or not isinstance(link, (int, str)):
        raise EncodeError(f"route path {where}: link {link!r} must be an integer or an address")
    return {"port": port, "link": link}


def _route_text(text: str) -> list[dict]:
    """``<port>/<link>[/<port>/<link>...]``."""
    parts = text.split("/")
    if len(parts) % 2:
        raise EncodeError(f"route path {text!r}: expected <port>/<link>[/...]")
    out = []
    for port_text, link_text in zip(parts[0::2], parts[1::2]):
        port = _number(port_text)
        if port is None:
            raise EncodeError(f"route path {text!r}: port {port_text.strip()!r} is not an integer")
        link = _number(link_text)
        out.append(_port_segment(port, link_text.strip() if link is None else link, repr(text)))
    return out


def parse_route_path(value: Any) -> list[dict] | None:
    """Parse a route path given as text or as JSON data (see the module docstring)."""
    if value is None:
        return None
    if value is False or (value == 0 and not isinstance(value, str)):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _NO_ROUTE:
            return []
        if not text.startswith(("[", "{")):
            return _route_text(text)
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EncodeError(f"route path {text!r}: bad JSON: {exc.msg}") from None
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise EncodeError(f"route path {value!r}: must be a list of port/link dicts")
    pairs: list[dict] = []
    pending: dict = {}
    for segment in value:
        if not isinstance(segment, Mapping):
            raise EncodeError(f"route path {value!r}: {segment!r} is not a dict")
        if not set(segment) <= {"port", "link"} or set(segment) & set(pending):
            raise EncodeError(f"route path {value!r}: {segment!r} is not a port/link segment")
        pending.update(segment)
        if len(pending) == 2:
            pairs.append({"port": pending["port"], "link": pending["link"]})
            pending = {}
    if pending:
        raise EncodeError(f"route path {value!r}: {pending!r} lacks its port or link")
    for p in pairs:
        if _swapped(p["port"], p["link"]):
            shown = json.dumps(value, default=repr)
            raise EncodeError(
                f"route path {shown}: port {p['port']!r} must be an integer 0-65535 (the link "
                f"may be an address): {_did_you_mean(pairs)}"
            )
    return [_port_segment(p["port"], p["link"], repr(value)) for p in pairs]
