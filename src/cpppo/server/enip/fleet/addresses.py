"""A fleet entry's addresses: one address, N consecutive ones, or an inclusive IPv4 range.

``expand_addresses("127.0.1.1", 3)`` and ``expand_addresses("127.0.1.1-127.0.1.3", None)``
both give ``["127.0.1.1", "127.0.1.2", "127.0.1.3"]``; IPv6 addresses take a count but not a
range; a host name stands for one device. IP literals come back in canonical form. Errors are
ValueErrors with a one-line reason.
"""

from __future__ import annotations

import ipaddress
import re

__all__ = ["MAX_DEVICES", "expand_addresses", "format_endpoint"]

#: The most devices one entry (a range or a count) may expand to.
MAX_DEVICES = 65536

_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?\Z")

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(text: str) -> _IP | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_hostname(text: str) -> bool:
    """A DNS name whose last label is not all digits (so ``127.0.1.300`` is not one)."""
    if len(text) > 253 or not _HOSTNAME.match(text):
        return False
    return not text.rstrip(".").rpartition(".")[2].isdigit()


def _consecutive(first: _IP, count: int) -> list[str]:
    start = int(first)
    if first.version == 4:
        return [
            f"{x >> 24}.{x >> 16 & 255}.{x >> 8 & 255}.{x & 255}"
            for x in range(start, start + count)
        ]
    return [str(ipaddress.IPv6Address(x)) for x in range(start, start + count)]


def _check_size(size: int, text: str) -> None:
    if size > MAX_DEVICES:
        raise ValueError(f"{text!r} gives {size} devices, over the limit of {MAX_DEVICES}")


def expand_addresses(address: object, count: int | None) -> list[str]:
    """The hosts of an entry's ``address`` and optional ``count`` (>= 1, checked by the caller)."""
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"address {address!r} must be a non-empty string")
    text = address.strip()
    low_text, dash, high_text = text.partition("-")
    low = _ip(low_text.strip()) if dash else None
    if low is not None:
        high = _ip(high_text.strip())
        if high is None:
            raise ValueError(f"{text!r} is not an IP address or range")
        if low.version != high.version:
            raise ValueError(f"range {text!r} mixes IPv4 and IPv6")
        if low.version != 4:
            raise ValueError(f"range {text!r}: ranges are IPv4 only (give an address and count)")
        size = int(high) - int(low) + 1
        if size < 1:
            raise ValueError(f"range {text!r} ends before it starts")
        _check_size(size, text)
        if count is not None and count != size:
            raise ValueError(f"count {count} disagrees with range {text!r} ({size} addresses)")
        return _consecutive(low, size)
    size = 1 if count is None else count
    _check_size(size, f"{text} x {size}")
    ip = _ip(text)
    if ip is None:
        if not _is_hostname(text):
            raise ValueError(f"{text!r} is not an IP address or range")
        if size != 1:
            raise ValueError(f"count {size} needs an IP address, not the host name {text!r}")
        return [text]
    if size == 1:
        return [str(ip)]
    if int(ip) + size - 1 > (1 << ip.max_prefixlen) - 1:
        raise ValueError(f"{text!r} with count {size} runs past the last IPv{ip.version} address")
    return _consecutive(ip, size)


def format_endpoint(host: str, port: int) -> str:
    """``host:port``, or ``[host]:port`` for IPv6."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
