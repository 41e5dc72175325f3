"""The ``enip_client`` command line (``python -m cpppo.server.enip.client``), and the small helpers
the client-side tools (getattr, list_services, thruput, io) share.

Public API:
    main(argv=None) -> int           exit status: 0, 1 if any operation failed, 2 on bad arguments.
    ArgumentParser                   argparse parser whose errors are one line on stderr, status 2.
    parse_address(text, host='localhost', port=44818) -> (host, port)   ``[<host>][:<port>]``.
    expand_tags(tags) -> list[str]   a ``-`` among the tags is replaced by the lines of stdin.
    routing(args) -> (route_path, send_path)   from --route-path/--send-path/-S options.
    add_routing_arguments(parser)    --route-path, --send-path, -S/--simple.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from cpppo import misc
from cpppo.misc import NORMAL, OneLineParser, log_setup

from ..codec.errors import DecodeError
from .blocking import (
    DEFAULT_PORT,
    TAGS_NEED_TCP,
    ClientError,
    CommunicationCeased,
    client,
    connector,
    implicit,
    summary_name,
)
from .operations import OperationError, parse_operations, parse_route_path, parse_send_path
from .replies import parse_response

__all__ = [
    "ArgumentParser",
    "add_routing_arguments",
    "expand_tags",
    "main",
    "parse_address",
    "routing",
]


#: The parser of every EtherNet/IP command line: a bad argument is one line, exit status 2.
ArgumentParser = OneLineParser


def parse_address(text: str | None, host: str = "localhost", port: int = DEFAULT_PORT) -> tuple:
    """Parse ``[<host>][:<port>]`` (either part may be omitted); ValueError if malformed.

    A device's port is 1-65535 (0 only makes sense for binding a server).
    """
    name, number = misc.parse_address(text, port, default_host=host)
    if number == 0:
        raise ValueError(f"port 0 is not a device's port in address {text!r}")
    return name, number


def expand_tags(tags: Sequence[str]) -> list[str]:
    """Replace a ``-`` in ``tags`` by the (non-blank) lines read from stdin."""
    out: list[str] = []
    for tag in tags:
        if tag == "-":
            out.extend(line.strip() for line in sys.stdin if line.strip())
        else:
            out.append(tag)
    return out


def add_routing_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --route-path, --send-path and -S/--simple."""
    parser.add_argument(
        "--route-path",
        default=None,
        help='Route Path, as <port>/<link> or JSON (default: [{"port": 1, "link": 0}]); '
        "0/false for none",
    )
    parser.add_argument(
        "--send-path",
        default=None,
        help="Send Path to the UCMM (default: @6/1); '' for none",
    )
    parser.add_argument(
        "-S",
        "--simple",
        action="store_true",
        default=False,
        help="Access a simple (non-routing) device: no route path and no send path",
    )


def routing(args: argparse.Namespace) -> tuple[list[dict] | None, list[dict] | None]:
    """(route_path, send_path) from the parsed options; OperationError if malformed."""
    route = parse_route_path(args.route_path)
    send = parse_send_path(args.send_path)
    if args.simple:
        route = [] if route is None else route
        send = [] if send is None else send
    return route, send


def _parser() -> ArgumentParser:
    ap = ArgumentParser(
        prog="enip_client",
        description="An EtherNet/IP CIP client: read/write Tags and Attributes.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""\
Tags: Tag, Tag[<first>], Tag[<first>-<last>], Tag.Member[2].X, @<class>/<instance>/<attribute>,
optionally +<byte offset> (forces the Fragmented services), and =<value>,... to write (the value
count must match the range), with an optional cast (SINT|INT|DINT|LINT|USINT|UINT|UDINT|REAL|
LREAL|BOOL|SSTRING|STRING), eg. 'SCADA[1-3]=(DINT)4,5,6'.  Values are INT unless one contains a
'.' (then REAL).  Read/Write Tag Fragmented are used by default; -n for the plain services.""",
    )
    ap.add_argument("-v", "--verbose", default=0, action="count", help="Display logging")
    ap.add_argument(
        "-a",
        "--address",
        default=f"localhost:{DEFAULT_PORT}",
        help=f"EtherNet/IP [<host>][:<port>] to connect to (default: localhost:{DEFAULT_PORT})",
    )
    ap.add_argument("-u", "--udp", action="store_true", help="Use UDP/IP (default: TCP/IP)")
    ap.add_argument(
        "-b",
        "--broadcast",
        action="store_true",
        help="Allow broadcast; collect replies from many peers for the whole timeout",
    )
    ap.add_argument("-i", "--list-identity", action="store_true", help="Send List Identity")
    ap.add_argument("-s", "--list-services", action="store_true", help="Send List Services")
    ap.add_argument("-I", "--list-interfaces", action="store_true", help="Send List Interfaces")
    ap.add_argument("-t", "--timeout", default=5.0, type=float, help="Timeout (default: 5s)")
    ap.add_argument("-r", "--repeat", default=1, type=int, help="Repeat the operations N times")
    add_routing_arguments(ap)
    ap.add_argument("--priority-time-tick", type=int, default=None, help="Unconnected Send tick")
    ap.add_argument("--timeout-ticks", type=int, default=None, help="Unconnected Send ticks")
    ap.add_argument("-l", "--log", help="Log file (rotates at 10MB, 5 copies)")
    ap.add_argument(
        "-p", "--print", action="store_true", default=False, help="Print a line per operation"
    )
    ap.add_argument("--no-print", action="store_false", dest="print", help="Do not print")
    ap.add_argument(
        "-m",
        "--multiple",
        action="store_true",
        help="Pack requests into Multiple Service Packets of up to 500 bytes",
    )
    frag = ap.add_mutually_exclusive_group()
    frag.add_argument(
        "-n",
        "--no-fragment",
        dest="fragment",
        action="store_false",
        default=True,
        help="Use plain Read/Write Tag instead of the Fragmented services",
    )
    frag.add_argument(
        "-f",
        "--fragment",
        dest="fragment",
        action="store_true",
        help="Use Read/Write Tag Fragmented (the default)",
    )
    ap.add_argument("-d", "--depth", default=1, type=int, help="Requests in flight (default: 1)")
    ap.add_argument(
        "-c", "--connected", action="store_true", help="Use a CIP connection (Forward Open)"
    )
    ap.add_argument("tags", nargs="*", help="Tags to read/write (- reads them from stdin)")
    return ap


_LISTS = (
    ("list_services", "List Services", "communications_service"),
    ("list_identity", "List Identity", "identity_object"),
    ("list_interfaces", "List Interfaces", None),
)


def _list_payload(response: dict, method: str, key: str | None) -> Any:
    """The interesting part of a List reply: the item body (all items, or the CPF if none)."""
    body = response["enip"]["CIP"].get(method, {})
    items = body.get("CPF", {}).get("item", [])
    found = [item[key] for item in items if key and key in item]
    if len(found) == 1:
        return found[0]
    return found or body.get("CPF", body)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray)):
        return repr(bytes(obj))
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _lists(conn: client, args: argparse.Namespace) -> int:
    """Send the List* requests asked for and print the replies; return the failure count."""
    failures = 0
    for method, desc, key in _LISTS:
        if not getattr(args, method):
            continue
        getattr(conn, method)()
        begun = time.monotonic()
        count = 0
        while True:
            remains = args.timeout - (time.monotonic() - begun)
            if remains <= 0:
                break
            try:
                header, payload, peer = conn.receive(timeout=remains)
            except ClientError:
                break
            response = parse_response(header, payload, peer)
            if method not in response["enip"]["CIP"]:
                continue  # a stray reply to something else
            body = json.dumps(_list_payload(response, method, key), indent=2, default=_jsonable)
            print(f"{desc} {count:2d} from {peer!r}: {body}", flush=True)
            count += 1
            if not args.broadcast:
                break
        if not count:
            print(f"No {desc} reply within {args.timeout:.3f}s", file=sys.stderr)
            failures += 1
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the client; see ``enip_client --help``."""
    ap = _parser()
    args = ap.parse_args(argv)
    log_setup(args.verbose, args.log)
    try:
        host, port = parse_address(args.address)
        route_path, send_path = routing(args)
        tags = expand_tags(args.tags)
        operations = list(
            parse_operations(
                tags * max(args.repeat, 0),
                route_path=route_path,
                send_path=send_path,
                priority_time_tick=args.priority_time_tick,
                timeout_ticks=args.timeout_ticks,
            )
        )
    except (ValueError, OperationError) as exc:
        ap.error(str(exc))
    if args.depth < 0 or args.timeout <= 0:
        ap.error("--depth must be >= 0 and --timeout > 0")
    lists = args.list_identity or args.list_services or args.list_interfaces
    if not operations and not lists:
        ap.error("give tags to read/write, or -i/-s/-I")
    if operations and args.udp:
        ap.error(TAGS_NEED_TCP)
    failures = 0
    cls = implicit if args.connected else connector
    try:
        if operations:
            conn: client = cls(
                host=host,
                port=port,
                timeout=args.timeout,
                udp=args.udp,
                broadcast=args.broadcast,
                route_path=route_path,
                send_path=send_path,
            )
        else:
            conn = client(
                host=host, port=port, timeout=args.timeout, udp=args.udp, broadcast=args.broadcast
            )
    except (OSError, ClientError, DecodeError) as exc:
        print(f"enip_client: cannot connect to {host}:{port}: {exc}", file=sys.stderr)
        return 1
    with conn:
        if lists:
            failures += _lists(conn, args)
        if isinstance(conn, connector):  # there are operations to run
            begun = time.monotonic()
            try:
                failed, transactions = conn.process(
                    operations,
                    depth=args.depth,
                    multiple=500 if args.multiple else 0,
                    fragment=args.fragment,
                    printing=args.print,
                    validating=True,
                    timeout=args.timeout,
                )
            except CommunicationCeased as exc:
                print(f"enip_client: {exc}", file=sys.stderr)
                return 1
            failures += failed
            elapsed = time.monotonic() - begun
            count = len(transactions)
            line = (
                f"Client {summary_name(operations, args.fragment)} Average "
                f"{count / elapsed if elapsed > 0 else 0.0:.3f} TPS "
                f"({elapsed / count:6.3f}s ea)."
            )
            logging.getLogger("enip.cli").log(NORMAL, "%s", line)
            if args.print:
                print(line, flush=True)
    return 1 if failures else 0
