"""``python -m cpppo.server.enip.list_services``: List Services (and optionally List Identity and
List Interfaces) of an EtherNet/IP device, over TCP or UDP (optionally broadcast), printing each
reply with ``enip_format`` (one JSON line per dotted key, as docs/enip-client.md shows)."""

from __future__ import annotations

import sys
import time

from cpppo.misc import log_setup

from ..client.blocking import ClientError, client
from ..client.cli import ArgumentParser, parse_address
from ..client.replies import parse_response
from ..codec.encap import ENIP_PORT
from ..codec.format import enip_format

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Send the List requests, print every reply received within the timeout; exit 1 if none."""
    ap = ArgumentParser(
        prog="list_services",
        description="List Services (by default) on an EtherNet/IP CIP Server.",
    )
    ap.add_argument("-v", "--verbose", default=0, action="count", help="Display logging.")
    ap.add_argument(
        "-a",
        "--address",
        default=f"localhost:{ENIP_PORT}",
        help=f"EtherNet/IP interface[:port] to connect to (default: localhost:{ENIP_PORT})",
    )
    ap.add_argument("-u", "--udp", action="store_true", help="Use UDP/IP queries (default: False)")
    ap.add_argument(
        "-b",
        "--broadcast",
        action="store_true",
        help="Allow multiple peers, and use of broadcast address (default: False)",
    )
    ap.add_argument(
        "-i", "--identity", "--list-identity", action="store_true", help="List Identity"
    )
    ap.add_argument(
        "-I", "--interfaces", "--list-interfaces", action="store_true", help="List Interfaces"
    )
    ap.add_argument(
        "-t", "--timeout", default=5.0, type=float, help="EtherNet/IP timeout (default: 5s)"
    )
    args = ap.parse_args(argv)
    log_setup(args.verbose)
    try:
        host, port = parse_address(args.address)
    except ValueError as exc:
        ap.error(str(exc))
    if args.timeout <= 0:
        ap.error("--timeout must be > 0")
    try:
        conn = client(
            host=host, port=port, timeout=args.timeout, udp=args.udp, broadcast=args.broadcast
        )
    except OSError as exc:
        print(f"list_services: cannot connect to {host}:{port}: {exc}", file=sys.stderr)
        return 1
    expected = 1 + args.identity + args.interfaces
    received = 0
    with conn:
        try:
            conn.list_services()
            if args.identity:
                conn.list_identity()
            if args.interfaces:
                conn.list_interfaces()
        except ClientError as exc:
            print(f"list_services: {exc}", file=sys.stderr)
            return 1
        deadline = time.monotonic() + args.timeout
        while args.broadcast or received < expected:
            remains = deadline - time.monotonic()
            if remains <= 0:
                break
            try:
                header, payload, peer = conn.receive(timeout=remains)
            except ClientError:
                break
            print(enip_format(parse_response(header, payload, peer)), flush=True)
            received += 1
    if not received:
        print(f"list_services: no reply within {args.timeout}s", file=sys.stderr)
    return 0 if received else 1


if __name__ == "__main__":
    sys.exit(main())
