"""Command-line plumbing shared by ``modbus_sim`` and ``modbus_poll``."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import NoReturn

from ..misc import OneLineParser, log_setup, verbosity_level
from .addresses import RegisterSpec, SerialOptions, is_serial, parse_host_port, parse_spec


class UsageError(Exception):
    """A bad command-line argument: one line on stderr, exit status 2."""


#: The Modbus command lines' parser: a bad argument is one line, exit status 2.
Parser = OneLineParser


def add_common(parser: argparse.ArgumentParser) -> None:
    """``-v``, ``-l``, the serial line options and the register specs."""
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (repeat: -vvvv)"
    )
    parser.add_argument("-l", "--log", metavar="FILE", help="log to FILE (rotated) not stderr")
    serial = parser.add_argument_group("Modbus/RTU (when -a names a serial device)")
    serial.add_argument("--baudrate", type=int, default=19200, help="bits/s (default 19200)")
    serial.add_argument("--bytesize", type=int, choices=(5, 6, 7, 8), default=8)
    serial.add_argument("--parity", choices=("N", "E", "O"), default="N", type=str.upper)
    serial.add_argument("--stopbits", type=int, choices=(1, 2), default=1)
    parser.add_argument(
        "registers",
        nargs="*",
        metavar="REGISTER",
        help="<begin>[-<end>][=<value>[,<value>...]], e.g. 40001-40100=99",
    )


def serial_options(args: argparse.Namespace) -> SerialOptions:
    """The serial line keyword arguments from parsed options."""
    if args.baudrate <= 0:
        raise UsageError(f"baud rate {args.baudrate} is not positive")
    return {
        "baudrate": args.baudrate,
        "bytesize": args.bytesize,
        "parity": args.parity,
        "stopbits": args.stopbits,
    }


def parse_address(text: str, default_port: int) -> tuple[str, int] | str:
    """A serial device path, or ``(host, port)`` from ``[host]:port``; UsageError if bad."""
    if is_serial(text):
        return text
    try:
        return parse_host_port(text, default_port)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def parse_specs(texts: list[str]) -> list[RegisterSpec]:
    """Parsed register specs; UsageError naming the first bad one."""
    try:
        return [parse_spec(text) for text in texts]
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def setup_logging(args: argparse.Namespace) -> None:
    """Configure logging for ``-v``/``-l``; pymodbus's own chatter only at the highest level."""
    log_setup(args.verbose, args.log)
    level = verbosity_level(args.verbose)
    logging.getLogger("pymodbus").setLevel(logging.DEBUG if level <= logging.DEBUG else 100)


def usage_exit(parser: argparse.ArgumentParser, exc: Exception) -> NoReturn:
    """Report a UsageError (or ValueError) the argparse way: one line, exit status 2."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    parser.exit(2, f"{parser.prog}: error: {message}\n")


def stop_on_signals() -> threading.Event:
    """An Event set by SIGINT/SIGTERM (main thread only), so a CLI can finish cleanly."""
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
    return stop
