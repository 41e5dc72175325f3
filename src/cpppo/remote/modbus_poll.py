"""``modbus_poll``: write, then poll registers of a Modbus/TCP or RTU PLC (docs/modbus.md).

    modbus_poll -a :1502 40001-40010=0 40001-40100
    09-16 06:26:06.161 ... root WARNING main 40001 == 0 (was: None)

Any ``=values`` are written first (retried while the PLC is unreachable); then every named
address is polled and each change is logged as ``<address> == <value> (was: <value>)`` until
SIGINT/SIGTERM. ``-a`` takes ``[host]:port`` or a serial device (Modbus/RTU, ``--baudrate``
etc.).
"""

from __future__ import annotations

import logging
import sys

from ..misc import NORMAL
from .cli import (
    Parser,
    UsageError,
    add_common,
    parse_address,
    parse_specs,
    serial_options,
    setup_logging,
    stop_on_signals,
    usage_exit,
)


def make_parser() -> Parser:
    """The ``modbus_poll`` argument parser."""
    parser = Parser(
        prog="modbus_poll",
        description="Write and poll Modbus/TCP or Modbus/RTU registers, logging each change.",
    )
    parser.add_argument(
        "-a",
        "--address",
        default="localhost:502",
        help="[host]:port of a Modbus/TCP PLC (default localhost:502), or a serial device",
    )
    parser.add_argument(
        "-r", "--reach", type=int, default=100, help="unpolled addresses a read may span (100)"
    )
    parser.add_argument("-u", "--unit", type=int, help="unit id (slave address; default 1)")
    parser.add_argument(
        "-R", "--rate", type=float, default=1.0, help="poll period in seconds (default 1.0)"
    )
    parser.add_argument(
        "-t", "--timeout", type=float, default=1.0, help="reply timeout in seconds (default 1.0)"
    )
    parser.add_argument(
        "-m", "--multi", action="store_true", help="write single values with fc 15/16 too"
    )
    add_common(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Write, then poll until SIGINT/SIGTERM; returns the exit status."""
    parser = make_parser()
    args = parser.parse_args(argv)
    from .plc import PlcError, PlcOffline
    from .plc_modbus import SyncClient, poller_modbus, rtu_client, tcp_client  # needs pymodbus

    try:
        address = parse_address(args.address, 502)
        specs = parse_specs(args.registers)
        if not specs:
            raise UsageError("no registers to poll (e.g. 40001-40010)")
        for spec in specs:
            if spec.values is not None and not spec.table.writable:
                raise UsageError(f"{spec}: {spec.table.name} are read-only")
        if args.unit is not None and not 0 <= args.unit <= 255:
            raise UsageError(f"unit id {args.unit} is outside 0-255")
        if not args.rate >= 0:
            raise UsageError(f"poll rate {args.rate} is not >= 0 seconds")
        if not args.timeout > 0:
            raise UsageError(f"timeout {args.timeout} is not > 0 seconds")
        if args.reach < 0:
            raise UsageError(f"reach {args.reach} is negative")
        serial = serial_options(args)
    except UsageError as exc:
        usage_exit(parser, exc)
    setup_logging(args)
    client: SyncClient
    if isinstance(address, str):
        client = rtu_client(address, timeout=args.timeout, **serial)
    else:
        client = tcp_client(address[0], address[1], args.timeout)
    poller = poller_modbus(
        "modbus_poll",
        client=client,
        rate=args.rate,
        unit=args.unit,
        reach=args.reach,
        multi=args.multi,
    )
    stop = stop_on_signals()
    log = logging.getLogger()
    try:
        for spec in specs:
            while spec.values is not None and not stop.is_set():
                try:
                    poller.write(spec.begin, list(spec.values))
                    log.log(NORMAL, "%s written", spec)
                    break
                except PlcOffline as exc:
                    log.warning("Writing %s: %s; retrying", spec, exc)
                    stop.wait(max(args.rate, 1.0))
                except PlcError as exc:
                    log.error("Writing %s: %s", spec, exc)
                    return 1
        addresses = sorted({a for spec in specs for a in spec.addresses()})
        for address_ in addresses:
            poller.poll(address_)
        last: dict[int, object] = {}
        check = max(0.05, min(args.rate, 1.0) / 2)
        while not stop.wait(check):
            for address_ in addresses:
                value = poller.read(address_)
                if value != last.get(address_):
                    log.warning("%s == %s (was: %s)", address_, value, last.get(address_))
                    last[address_] = value
    finally:
        poller.close()
        log.log(
            NORMAL,
            "%d poll requests; %d address(es) refused; load %.3f/%.3f/%.3f",
            poller.counter,
            len(poller.failing),
            *poller.load,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
