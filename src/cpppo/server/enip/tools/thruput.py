"""``python -m cpppo.server.enip.thruput``: measure Tag I/O thruput with pipelining
(docs/enip-client.md).

    python -m cpppo.server.enip.thruput -a <host> "Volume" "Temperature" --repeat 25 --depth 20

prints each value as it arrives, then ``N operations using M requests in Xs at pipeline depth D;
T TPS``. ``--multiple <bytes>`` packs requests into Multiple Service Packets.
"""

from __future__ import annotations

import sys
import time

from cpppo.history import timestamp
from cpppo.misc import log_setup

from ..client.blocking import ClientError, connector
from ..client.cli import ArgumentParser, parse_address
from ..client.operations import OperationError, parse_operations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the operations; print each value and the thruput summary. Exit 1 on any failure."""
    ap = ArgumentParser(prog="thruput", description="EtherNet/IP CIP Tag I/O thruput")
    ap.add_argument("-d", "--depth", default=0, type=int, help="Pipelining depth")
    ap.add_argument("-m", "--multiple", default=0, type=int, help="Multiple Service Packet bytes")
    ap.add_argument("-r", "--repeat", default=1, type=int, help="Repeat requests this many times")
    ap.add_argument("-a", "--address", default="localhost", help="[<host>][:<port>] of the target")
    ap.add_argument("-t", "--timeout", default=None, type=float, help="I/O timeout seconds")
    ap.add_argument("-v", "--verbose", default=0, action="count", help="Display logging")
    ap.add_argument("tags", nargs="+", help="Tags to read/write")
    args = ap.parse_args(argv)
    log_setup(args.verbose)
    try:
        host, port = parse_address(args.address)
        list(parse_operations(args.tags))  # report a bad tag before connecting
    except (ValueError, OperationError) as exc:
        ap.error(str(exc))
    if args.depth < 0 or args.multiple < 0 or args.repeat < 0:
        ap.error("--depth, --multiple and --repeat must not be negative")
    operations = parse_operations(args.tags * args.repeat)
    failures = 0
    try:
        conn = connector(host=host, port=port, timeout=args.timeout)
    except (OSError, ClientError) as exc:
        print(f"thruput: cannot connect to {host}:{port}: {exc}", file=sys.stderr)
        return 1
    with conn:
        start = time.monotonic()
        num, idx = 0, -1
        try:
            for idx, _, _, _, _, val in conn.pipeline(
                operations=operations, depth=args.depth, multiple=args.multiple, timeout=None
            ):
                print(f"{timestamp()}: {idx:3d}: {val}")
                num += 1
                failures += val is None
        except ClientError as exc:  # CommunicationCeased: the connection failed
            print(f"thruput: {exc}", file=sys.stderr)
            failures += 1
        elapsed = time.monotonic() - start
    print(
        f"{num:3d} operations using {idx + 1:3d} requests in {elapsed:7.2f}s at pipeline "
        f"depth {args.depth:2d}; {num / elapsed if elapsed > 0 else 0.0:5.1f} TPS",
        flush=True,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
