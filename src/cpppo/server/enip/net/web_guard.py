"""Who may use the web API: the Host a request names, the origin of a changing request, and a
log that an oversized or malformed request cannot flood (no HTTP in here but header values).

- :class:`HostPolicy`: a request's ``Host`` must name the server itself -- an address it is bound
  to (when bound to a wildcard, any address of the host's interfaces), the local address the
  request arrived on, ``localhost``, or a name given with ``--web-allow-host``. Anything else is
  answered 421: a page of another site that has its name resolve to this host (DNS rebinding)
  names its own site in ``Host``.
- :func:`same_origin`: a changing request's ``Origin`` (or ``Referer`` when there is no
  ``Origin``) must be the page's own origin, ``http://<Host>``; a request with neither (curl,
  wget, a script) is not a browser acting for another page.
- :class:`OneLineLogger`: what aiohttp logs for a request it cannot parse (too long, too many
  headers) becomes one line, without a traceback.

Header values are compared case-insensitively; IP addresses in their canonical form.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import struct
import sys
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "LOOPBACK_NAME",
    "WILDCARDS",
    "HostPolicy",
    "OneLineLogger",
    "interface_addresses",
    "same_origin",
    "split_host",
]

#: The name every loopback-bound web API answers to (the spec's examples use it).
LOOPBACK_NAME = "localhost"
#: Bind addresses that mean every interface.
WILDCARDS = frozenset({"", "0.0.0.0", "::"})
#: Seconds the host's interface addresses are remembered before they are looked up again.
INTERFACES_TTL = 10.0
_SIOCGIFADDR = 0x8915
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _canonical(host: str) -> str:
    """``host`` lower-cased without a trailing dot; an IP address in its canonical form."""
    host = host.strip().lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return host


def split_host(value: str) -> tuple[str, int | None]:
    """A ``Host`` header value (``name``, ``name:port``, ``[v6]:port``) as (canonical host,
    port or None); ("", None) when it is malformed."""
    value = value.strip()
    port_text = ""
    if value.startswith("["):
        inside, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return "", None
        host, port_text = inside, rest[1:]
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    else:
        host = value
    port = None
    if port_text:
        if not port_text.isdigit() or int(port_text) > 0xFFFF:
            return "", None
        port = int(port_text)
    return _canonical(host), port


def interface_addresses() -> frozenset[str]:
    """The IPv4 and IPv6 addresses of this host's interfaces (as far as they can be found)."""
    found: set[str] = set()
    try:
        import fcntl

        names = socket.if_nameindex()
    except (ImportError, OSError):
        names = []
    for _, name in names:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                request = struct.pack("256s", name[:15].encode())
                packed = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
            found.add(socket.inet_ntoa(packed[20:24]))
        except OSError:
            continue
    try:
        with open("/proc/net/if_inet6") as table:
            for line in table:
                found.add(str(ipaddress.IPv6Address(int(line.split()[0], 16))))
    except (OSError, ValueError, IndexError):
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(_canonical(str(info[4][0])))
    except OSError:
        pass
    return frozenset(found)


class HostPolicy:
    """The ``Host`` names a web server answers to (see the module docstring)."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allowed = {LOOPBACK_NAME} | {_canonical(name) for name in allow if name.strip()}
        self.bound: set[str] = set()
        self.wildcard = False
        self._interfaces: frozenset[str] = frozenset()
        self._looked_up = float("-inf")

    def bind(self, hosts: Iterable[str]) -> None:
        """The addresses the server listens on (a wildcard: every interface's address)."""
        for host in hosts:
            if host in WILDCARDS:
                self.wildcard = True
            else:
                self.bound.add(_canonical(host))

    def _interface(self, host: str) -> bool:
        now = time.monotonic()
        if host not in self._interfaces and now - self._looked_up > INTERFACES_TTL:
            self._interfaces = interface_addresses()
            self._looked_up = now
        return host in self._interfaces

    def allows(self, header: str | None, local: str | None = None) -> bool:
        """Whether a request whose ``Host`` header is ``header`` (None: absent, as HTTP/1.0
        allows) arriving on local address ``local`` is for this server."""
        if header is None:
            return True
        host, _ = split_host(header)
        if not host:
            return False
        if host in self.allowed or host in self.bound:
            return True
        if local is not None and host == _canonical(local):
            return True
        return self.wildcard and self._interface(host)


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, canonical host, port) of an absolute URL, or None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    return scheme, _canonical(parts.hostname), port or _DEFAULT_PORTS.get(scheme)


def same_origin(origin: str | None, referer: str | None, host: str | None) -> bool:
    """Whether a changing request comes from the page's own origin, ``http://<host>``: by its
    ``Origin``, else its ``Referer``; True when it has neither (not a browser for a page)."""
    source = origin if origin is not None else referer
    if source is None:
        return True
    if host is None:
        return False
    name, port = split_host(host)
    found = _origin(source)
    return found is not None and found == ("http", name, port or 80)


class OneLineLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server logger, where an error of one of the ``quiet`` types (a request that
    could not be parsed: too long, too many headers) is one line at INFO, without a traceback;
    any other exception is logged in full."""

    def __init__(self, logger: logging.Logger, quiet: tuple[type[BaseException], ...]) -> None:
        super().__init__(logger, {})
        self.quiet = quiet

    def exception(self, msg: Any, *args: Any, exc_info: Any = True, **kwds: Any) -> None:
        """Log ``msg``: one line for a quiet error, else with its traceback."""
        error = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if not isinstance(error, self.quiet):
            self.logger.error(msg, *args, exc_info=exc_info, **kwds)
            return
        lines = str(getattr(error, "message", None) or error).strip().splitlines()
        reason = lines[0][:120] if lines else type(error).__name__
        self.logger.info(f"{msg}: %s", *args, reason)
