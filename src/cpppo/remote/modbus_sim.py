"""``modbus_sim``: a simulated Modbus/TCP or Modbus/RTU PLC (docs/modbus.md).

    modbus_sim -a :1502 40001-40100=99
    Success; Started Modbus/TCP Simulator; PID = 29854; address = :1502

``-a`` takes ``[iface]:port`` (port 0: any free port, printed) or a serial device for
Modbus/RTU (``--baudrate`` etc.; ``-u 1,2,3`` simulates several units on one multi-drop line).
Register specs ``<begin>[-<end>][=<v>[,<v>...]]`` define the registers that exist (values
repeat to fill a range; later specs override earlier ones); any other address answers
ILLEGAL DATA ADDRESS. ``-e/--evil`` injects faults into replies for testing clients
(:mod:`cpppo.remote.faults`): ``delay:0.5``, ``delay:0.1-1``, ``drop``, ``truncate[:N]``,
``corrupt[:FIELD]``, each optionally ``@P`` (a fraction of the replies).
"""

from __future__ import annotations

import logging
import os
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
from .faults import parse_fault

log = logging.getLogger(__name__)


def _units(texts: list[str]) -> list[int]:
    units: list[int] = []
    for text in texts:
        for part in text.split(","):
            try:
                unit = int(part)
            except ValueError:
                raise UsageError(f"unit id {part!r} is not a number") from None
            if not 1 <= unit <= 247:
                raise UsageError(f"unit id {unit} is outside 1-247")
            units.append(unit)
    return units


def format_address(address: tuple[str, int] | str) -> str:
    """``host:port`` (``[v6]:port``) or the serial device, as the banner prints it."""
    if isinstance(address, str):
        return address
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def make_parser() -> Parser:
    """The ``modbus_sim`` argument parser."""
    parser = Parser(
        prog="modbus_sim",
        description="Simulate a Modbus/TCP or Modbus/RTU PLC with the given registers.",
    )
    parser.add_argument(
        "-a",
        "--address",
        default="0.0.0.0:502",
        help="[iface]:port to serve Modbus/TCP (default 0.0.0.0:502; port 0: any free port), "
        "or a serial device for Modbus/RTU",
    )
    parser.add_argument(
        "-u",
        "--unit",
        action="append",
        default=[],
        metavar="ID[,ID...]",
        help="unit ids to simulate (default: answer every unit id)",
    )
    parser.add_argument(
        "-e",
        "--evil",
        "--fault",
        action="append",
        default=[],
        metavar="FAULT",
        help="reply fault: delay:S[-S], drop, truncate[:N], corrupt[:FIELD], each [@P]",
    )
    parser.add_argument("--seed", type=int, help="random seed for probabilistic faults")
    add_common(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGINT/SIGTERM; returns the exit status."""
    parser = make_parser()
    args = parser.parse_args(argv)
    from .simulator import ModbusSimulator  # needs pymodbus: not for --help

    try:
        address = parse_address(args.address, 502)
        specs = parse_specs(args.registers)
        units = _units(args.unit)
        faults = [parse_fault(text) for text in args.evil]
        simulator = ModbusSimulator(
            specs,
            address=address,
            units=units,
            faults=faults,
            seed=args.seed,
            **serial_options(args),
        )
    except (UsageError, ValueError) as exc:
        usage_exit(parser, exc)
    setup_logging(args)
    stop = stop_on_signals()
    try:
        bound = simulator.start()
    except OSError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    kind = "RTU" if simulator.rtu else "TCP"
    print(
        f"Success; Started Modbus/{kind} Simulator; PID = {os.getpid()}; "
        f"address = {format_address(bound)}",
        flush=True,
    )
    log.log(
        NORMAL,
        "Serving %d register(s), units %s, faults %s",
        sum(len(store) for store in simulator.definitions.values()),
        list(simulator.units) or "any",
        [str(f) for f in simulator.faults] or "none",
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        simulator.stop()
        log.log(NORMAL, "Served %d request(s)", simulator.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
