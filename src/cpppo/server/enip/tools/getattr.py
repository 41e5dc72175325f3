"""Get/Set Attribute access to CIP devices, and the ``proxy`` API (docs/enip-client.md and
docs/poll.md).

``python -m cpppo.server.enip.getattr '@1/1' '@1/1/7'`` prints, per operation,
``<timestamp>: <idx>: Single G_A_A @0x0001/1 == [1, 0, 14, ...]``.

Public API:
    attribute_operations(paths, int_type=None, **kwds)
        parse_operations, with reads/writes turned into Get Attributes All (a path ending at an
        instance) or Get/Set Attribute Single (ending at an attribute).
    parameter(attribute, types, units)   a named device parameter (namedtuple).
    proxy(host, port=ENIP_PORT, timeout=None, depth=None, multiple=None, gateway_class=None,
          route_path=None, send_path=None, priority_time_tick=None, timeout_ticks=None,
          identity_default=None, **gateway_kwds)
        A lazily (re)opened connection ("gateway") to a device. ``PARAMETERS`` maps normalised
        names to ``parameter`` tuples (built in: Identity @1/1, Product Name @1/1/7, TCPIP
        @0xF5/1). ``.read(attributes, printing=False, checking=False)`` yields each value (a list,
        converted to the requested CIP types) lazily; an error raises where the value is taken.
        ``.close_gateway(exc=None)`` discards the connection after an error; ``with via:`` does
        it for you. ``.write`` is ``.read`` (give ``'<attribute>=<value>'``). ``.list_identity()``.
    proxy_simple(host, ...)      a proxy for a simple device (no route path, no send path).
    main(argv=None)              the command line.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, TypeAlias

from cpppo.history import timestamp
from cpppo.misc import NORMAL, log_setup

from .. import client as _client
from ..client.cli import ArgumentParser, add_routing_arguments, expand_tags, parse_address, routing
from ..client.operations import OperationError, parse_operations
from ..client.replies import parse_response, status_string
from ..codec import objects
from ..codec import types as cip_types
from ..codec.encap import ENIP_PORT, EncapHeader
from ..codec.errors import DecodeError
from ..codec.status import Status
from .parameter_names import find, substitute

__all__ = [
    "CIP_TYPES",
    "attribute_operations",
    "main",
    "parameter",
    "proxy",
    "proxy_simple",
]

log = logging.getLogger("enip.get")

#: Type names a proxy converts raw attribute data to (case-insensitive; read-only).
CIP_TYPES: Mapping[str, Any] = MappingProxyType(
    {
        "real": cip_types.REAL,
        "lreal": cip_types.LREAL,
        "sint": cip_types.SINT,
        "usint": cip_types.USINT,
        "int": cip_types.INT,
        "uint": cip_types.UINT,
        "dint": cip_types.DINT,
        "udint": cip_types.UDINT,
        "lint": cip_types.LINT,
        "ulint": cip_types.ULINT,
        "bool": cip_types.BOOL,
        "word": cip_types.WORD,
        "dword": cip_types.DWORD,
        "lword": cip_types.LWORD,
        "sstring": cip_types.SSTRING,
        "string": objects.PADDED_STRING,  # CIP STRING in an attribute: UINT length, chars, pad
        "ipaddr": objects.IPADDR,
        "epath": objects.PATH,
    }
)

#: Reply statuses that carry a value: success, and partial data (the value so far).
_VALUE_STATUSES = (Status.SUCCESS, Status.PARTIAL_TRANSFER)


class parameter(NamedTuple):
    """A device parameter: its address (eg. '@0x93/3/10'), CIP type(s) and units."""

    attribute: str
    types: Any  # a type name, code or class, or a list of them; None: raw data
    units: str | None


class Gateway(Protocol):
    """What a proxy uses of its gateway: a :class:`~..client.connector` by default."""

    @property
    def broken(self) -> BaseException | None:
        """The error that made the connection unusable, or None."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...

    def list_identity(self, timeout: float | None = None, sender_context: bytes = b"") -> Any:
        """Send a List Identity request."""
        ...

    def receive(self, timeout: float | None = None) -> tuple[EncapHeader, memoryview, Any]:
        """The next reply: its header, payload and peer."""
        ...

    def operate(self, operations: Iterable[Any], depth: int = 0, **kwds: Any) -> Iterator[tuple]:
        """Run ``operations``, yielding ``(idx, dsc, req, rpy, sts, val)`` for each."""
        ...


def attribute_operations(paths: Iterable[Any], int_type: Any = None, **kwds: Any) -> Iterator[dict]:
    """Operations for Get Attributes All (path ends at an instance) or Get/Set Attribute Single
    (path ends at an attribute, element or symbol); integers default to SINT (raw bytes)."""
    for op in parse_operations(paths, int_type=int_type or "SINT", **kwds):
        last = op["path"][-1] if op["path"] else {}
        if "instance" in last:
            if "data" in op:
                raise OperationError(f"{op['path']!r}: all attributes cannot be set")
            op["method"] = "get_attributes_all"
        elif {"attribute", "element", "symbolic", "connection"} & set(last):
            op["method"] = "set_attribute_single" if "data" in op else "get_attribute_single"
        else:
            raise OperationError(f"{op['path']!r}: not a path for the Attribute services")
        op.pop("offset", None)
        yield op


def _cip_type(name: Any) -> Any:
    """A codec type for a name ('REAL'), a CIP type code (0xCA) or a type class."""
    if isinstance(name, str):
        typ = CIP_TYPES.get(name.strip().lower())
        if typ is None:
            raise OperationError(f"unknown CIP type {name!r} (known: {', '.join(CIP_TYPES)})")
        return typ
    if isinstance(name, int):
        typ = cip_types.TYPES_BY_CODE.get(name)
        if typ is None:
            raise OperationError(f"unknown CIP type code {name!r}")
        return typ
    if isinstance(name, type) and hasattr(name, "decode"):
        return name
    raise OperationError(f"not a CIP type: {name!r}")


def _decode_one(typ: Any, buf: bytes, offset: int) -> tuple[Any, int]:
    decode_from = getattr(typ, "decode_from", None)
    if decode_from is not None:
        return decode_from(buf, offset)
    size = typ.size
    if offset + size > len(buf):
        raise DecodeError(f"{typ.name}: need {size} bytes at {offset}, have {len(buf) - offset}")
    return typ.decode(buf[offset : offset + size], 1)[0], offset + size


def convert(raw: bytes, types: Any) -> list:
    """Decode raw attribute data: with one type, as many values as the data holds; with a list of
    types, one value of each in turn (eg. Identity: INT, INT, INT, INT, INT, DINT, SSTRING, ...)."""
    if isinstance(types, (list, tuple)):
        out, offset = [], 0
        for t in types:
            value, offset = _decode_one(_cip_type(t), raw, offset)
            out.append(value)
        return out
    return list(_cip_type(types).decode(raw))


class proxy:
    """A device reached through a lazily opened ``connector`` (the "gateway"); see module doc.

    Thread-safe: several threads may read through one proxy; each ``read`` holds the gateway
    while it runs.
    """

    parameter: TypeAlias = parameter  # proxy.parameter(...), as the original offered
    CIP_TYPES = CIP_TYPES

    PARAMETERS: Mapping[str, parameter] = MappingProxyType(
        {
            "product_name": parameter("@1/1/7", "SSTRING", None),
            "identity": parameter(
                "@1/1", ["INT", "INT", "INT", "INT", "INT", "DINT", "SSTRING", "USINT"], "Identity"
            ),
            "tcpip": parameter(
                "@0xF5/1",
                [
                    "DWORD",
                    "DWORD",
                    "DWORD",
                    "EPATH",
                    "IPADDR",
                    "IPADDR",
                    "IPADDR",
                    "IPADDR",
                    "IPADDR",
                    "STRING",
                    "STRING",
                ],
                "TCPIP",
            ),
        }
    )

    def __init__(
        self,
        host: str,
        port: int = ENIP_PORT,
        timeout: float | None = None,
        depth: int | None = None,
        multiple: int | None = None,
        gateway_class: Callable[..., Gateway] | None = None,
        route_path: Any = None,
        send_path: Any = None,
        priority_time_tick: int | None = None,
        timeout_ticks: int | None = None,
        identity_default: Any = None,
        **gateway_kwds: Any,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = 5.0 if timeout is None else timeout
        self.depth = 2 if depth is None else depth
        self.multiple = 0 if multiple is None else multiple
        self.route_path = route_path
        self.send_path = send_path
        self.priority_time_tick = priority_time_tick
        self.timeout_ticks = timeout_ticks
        self.gateway_class: Callable[..., Gateway] = gateway_class or _client.connector
        self.gateway_kwds = gateway_kwds
        self.gateway: Gateway | None = None
        self.gateway_lock = threading.RLock()
        if isinstance(identity_default, str):
            identity_default = {"product_name": identity_default}
        self.identity_default = identity_default
        self.identity = identity_default

    def __str__(self) -> str:
        name = (
            (self.identity or {}).get("product_name") if isinstance(self.identity, dict) else None
        )
        return f"{name} at {self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} via {self.gateway!r}>"

    def __enter__(self) -> proxy:
        self.open_gateway()
        return self

    def __exit__(self, typ: Any, val: Any, tbk: Any) -> None:
        if typ is not None:
            self.close_gateway(exc=val)

    def open_gateway(self) -> Gateway:
        """Open (and register) the gateway if it is not open; learn the device's identity."""
        with self.gateway_lock:
            if self.gateway is not None and self.gateway.broken is not None:
                self.close_gateway(exc=self.gateway.broken)  # unusable: open a new one
            if self.gateway is None:
                begun = time.monotonic()
                gateway = self.gateway = self.gateway_class(
                    host=self.host,
                    port=self.port,
                    timeout=self.timeout,
                    route_path=self.route_path,
                    send_path=self.send_path,
                    priority_time_tick=self.priority_time_tick,
                    timeout_ticks=self.timeout_ticks,
                    **self.gateway_kwds,
                )
                if not self.identity:
                    try:
                        self.identity = self._list_identity(gateway)
                    except Exception as exc:
                        self.close_gateway(exc=exc)
                        raise
                log.log(
                    NORMAL,
                    "Opened EtherNet/IP CIP gateway %s, in %7.3fs",
                    self,
                    time.monotonic() - begun,
                )
            return self.gateway

    def close_gateway(self, exc: BaseException | None = None) -> None:
        """Discard the gateway (after an error); the next access opens a new one."""
        with self.gateway_lock:
            gateway, self.gateway = self.gateway, None
            if gateway is not None:
                gateway.close()
                (log.warning if exc else log.info)(
                    "Closed EtherNet/IP CIP gateway %s due to: %s", self, exc or "(unknown)"
                )
            self.identity = self.identity_default

    def _list_identity(self, gateway: Gateway) -> dict:
        gateway.list_identity()
        deadline = time.monotonic() + self.timeout
        while True:
            header, payload, peer = gateway.receive(max(0.0, deadline - time.monotonic()))
            response = parse_response(header, payload, peer)
            body = response["enip"]["CIP"].get("list_identity")
            if body is None:
                continue
            if header.status:
                raise _client.EncapsulationError(header.status)
            for item in body.get("CPF", {}).get("item", []):
                if "identity_object" in item:
                    return item["identity_object"]
            raise _client.BadReply("List Identity reply without an identity item")

    def list_identity(self) -> dict:
        """List Identity of the device (updates ``.identity``); returns the identity dict."""
        with self:
            with self.gateway_lock:
                self.identity = self._list_identity(self.open_gateway())
            return self.identity

    def parameter_substitution(
        self, iterable: Any, parameters: Mapping | None = None, pass_thru: bool | None = None
    ) -> Iterator[Any]:
        """Replace parameter names (' Output Freq ' -> PARAMETERS['output_freq']; any case,
        spacing and unambiguous abbreviation) by their (attribute, types, units); see
        :func:`~.parameter_names.substitute`. Other items pass through if they are tags or
        ``@class/instance/...`` addresses, unless ``pass_thru`` is False; a name that is
        neither raises ParameterNameError: ``no such parameter 'X' (did you mean ...?)``."""
        table = self.PARAMETERS if parameters is None else parameters
        return substitute(iterable, table, True if pass_thru is None else pass_thru)

    @classmethod
    def parameter_key(cls, name: str) -> str:
        """The ``PARAMETERS`` key ``name`` designates (ParameterNameError if none or many)."""
        return find(name, cls.PARAMETERS)

    def _targets(self, attributes: Any) -> Iterator[tuple[dict, tuple]]:
        for item in self.parameter_substitution(attributes):
            if isinstance(item, str):
                att, typ, uni = item, None, None
            elif isinstance(item, (list, tuple)) and len(item) in (2, 3):
                att, typ, uni = (*item, None) if len(item) == 2 else item
            else:
                raise OperationError(f"not a valid read/write target: {item!r}")
            if not isinstance(att, str):
                raise OperationError(f"not a valid attribute address: {att!r}")
            parse = parse_operations if typ is None else attribute_operations
            (op,) = parse(
                [att],
                route_path=self.route_path,
                send_path=self.send_path,
                priority_time_tick=self.priority_time_tick,
                timeout_ticks=self.timeout_ticks,
            )
            if typ is not None and not isinstance(typ, (list, tuple)):
                op.setdefault("tag_type", getattr(_cip_type(typ), "code", None) or None)
            yield op, (att, typ, uni)

    def read_details(self, attributes: Any) -> Generator[tuple[Any, tuple], None, None]:
        """Yield ``(value, (status, (attribute, types, units)))`` per attribute; values of typed
        attributes are converted. The gateway must be open (``with via:``)."""
        targets = list(self._targets(attributes))
        if not targets:
            return
        with self.gateway_lock:
            gateway = self.open_gateway()
            results = gateway.operate(
                (op for op, _ in targets), depth=self.depth, multiple=self.multiple
            )
            for (_, (att, typ, uni)), (_, _, _, _, sts, val) in zip(targets, results):
                if isinstance(sts, _client.ClientError):
                    raise sts
                if typ is not None and isinstance(val, list) and sts in _VALUE_STATUSES:
                    val = convert(bytes(val), typ)
                yield val, (sts, (att, typ, uni))

    def read(
        self, attributes: Any, printing: bool = False, checking: bool = False
    ) -> Generator[Any, None, None]:
        """Yield each attribute's value (None if the device refused it); raises where a value is
        taken if the connection fails. With ``checking``, a refused attribute raises too."""
        bad = []
        with contextlib.closing(self.read_details(attributes)) as reader:
            for val, (sts, (att, _, uni)) in reader:
                if printing:
                    shown = val if val in (None, True) else ", ".join(map(str, val))
                    print(f"{att:>16} == {shown} {uni or ''}".rstrip())
                if sts not in _VALUE_STATUSES:
                    bad.append(f"{att}: status {sts!r}")
                    if checking:
                        raise _client.ClientError(f"read failed: {', '.join(bad)}")
                yield val

    write = read


class proxy_simple(proxy):
    """A proxy for a simple (non-routing) device: no route path, no send path."""

    def __init__(self, host: str, route_path: Any = None, send_path: Any = None, **kwds: Any):
        super().__init__(
            host,
            route_path=[] if route_path is None else route_path,
            send_path="" if send_path is None else send_path,
            **kwds,
        )


def main(argv: list[str] | None = None) -> int:
    """Get Attribute(s) Single/All of CIP objects; print ``<time>: <idx>: <dsc> == <value>``."""
    ap = ArgumentParser(
        prog="enip_getattr",
        description="Get Attributes (Single/All) from an EtherNet/IP CIP device, eg. @1/1 @1/1/7",
    )
    ap.add_argument("-v", "--verbose", default=0, action="count", help="Display logging")
    ap.add_argument("-a", "--address", default=f"localhost:{ENIP_PORT}", help="[<host>][:<port>]")
    ap.add_argument("--print", action="store_true", default=True, help="Print (default)")
    ap.add_argument("--no-print", action="store_false", dest="print", help="Do not print")
    ap.add_argument("-m", "--multiple", action="store_true", help="Multiple Service Packets")
    ap.add_argument("-d", "--depth", default=0, type=int, help="Pipelining depth (default: 0)")
    ap.add_argument("-t", "--timeout", default=5.0, type=float, help="Timeout (default: 5s)")
    ap.add_argument("-l", "--log", help="Log file")
    add_routing_arguments(ap)
    ap.add_argument("tags", nargs="+", help="@class/instance[/attribute] (- reads stdin)")
    args = ap.parse_args(argv)
    log_setup(args.verbose, args.log)
    try:
        host, port = parse_address(args.address)
        route_path, send_path = routing(args)
        operations = list(
            attribute_operations(expand_tags(args.tags), route_path=route_path, send_path=send_path)
        )
    except (ValueError, OperationError) as exc:
        ap.error(str(exc))
    if args.depth < 0 or args.timeout <= 0:
        ap.error("--depth must be >= 0 and --timeout > 0")
    failures = 0
    try:
        conn = _client.connector(
            host=host, port=port, timeout=args.timeout, route_path=route_path, send_path=send_path
        )
    except (OSError, _client.ClientError) as exc:
        print(f"enip_getattr: cannot connect to {host}:{port}: {exc}", file=sys.stderr)
        return 1
    begun = time.monotonic()
    idx = -1
    with conn:
        try:
            for idx, dsc, _, _, sts, val in conn.pipeline(
                operations, depth=args.depth, multiple=500 if args.multiple else 0
            ):
                if args.print:
                    print(f"{timestamp()}: {idx}: {dsc} == {val}", flush=True)
                if val is None:
                    failures += 1
                    log.warning("%s: %s", dsc, status_string(sts))
        except _client.ClientError as exc:  # CommunicationCeased: the connection failed
            print(f"enip_getattr: {exc}", file=sys.stderr)
            failures += 1
    elapsed = time.monotonic() - begun
    log.log(
        NORMAL,
        "%3d requests in %7.3fs at pipeline depth %2s; %7.3f TPS",
        idx + 1,
        elapsed,
        args.depth,
        (idx + 1) / elapsed if elapsed > 0 else 0.0,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
