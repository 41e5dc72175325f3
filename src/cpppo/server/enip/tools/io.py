"""``python -m cpppo.server.enip.io``: the spec's example of ``connector.process`` (2.1.5).

Start a simulated controller with ``python -m cpppo.server.enip Tag=DINT[10]``, then run this; it
writes Tag[4-9] (by byte offset 16), reads @0x2/1/1 and Tag[3-5], prints a line per operation
and exits 1 if any failed. ``-a [<host>][:<port>]`` picks another controller.
"""

from __future__ import annotations

import sys

from cpppo.misc import log_setup

from ..client.blocking import DEFAULT_PORT, ClientError, connector, parse_operations
from ..client.cli import ArgumentParser, parse_address

__all__ = ["TAGS", "main"]

TAGS = ("Tag[0-9]+16=(DINT)4,5,6,7,8,9", "@0x2/1/1", "Tag[3-5]")


def main(argv: list[str] | None = None) -> int:
    """Process TAGS against the controller; 0 if all succeeded, else 1."""
    ap = ArgumentParser(prog="io", description="cpppo EtherNet/IP client API example")
    ap.add_argument("-a", "--address", default=f"localhost:{DEFAULT_PORT}", help="[host][:port]")
    args = ap.parse_args(argv)
    log_setup(0)
    try:
        host, port = parse_address(args.address)
    except ValueError as exc:
        ap.error(str(exc))
    depth = 1  # Allow 1 transaction in-flight
    multiple = 0  # Don't use Multiple Service Packet
    fragment = False  # Don't force Read/Write Tag Fragmented
    timeout = 1.0  # Any PLC I/O fails if it takes > 1s
    printing = True  # Print a summary of I/O
    try:
        with connector(host=host, port=port, timeout=timeout) as connection:
            operations = parse_operations(TAGS)
            failures, _ = connection.process(
                operations=operations,
                depth=depth,
                multiple=multiple,
                fragment=fragment,
                printing=printing,
                timeout=timeout,
            )
    except (OSError, ClientError) as exc:
        print(f"io: {host}:{port}: {exc}", file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
