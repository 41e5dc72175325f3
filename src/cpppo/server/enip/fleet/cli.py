"""``python -m cpppo.server.enip.fleet FLEET.toml`` / ``enip_fleet``: serve a fleet of simulated
devices from one process (docs/fleet.md).

Exit status: 0 when stopped (SIGINT/SIGTERM, or the web API's ``server/control/done``); 1 when no
device could be served; 2 for a bad argument or fleet file (one line naming the entry).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.util
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from typing import Any

from cpppo.misc import OneLineParser, log_setup

from ..net.control import ServerControl
from ..net.server import parse_address, run
from .server import FleetServer
from .spec import FleetError, FleetSpec, load_fleet

__all__ = ["main", "make_parser", "select_member"]

PROG = "enip_fleet"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def make_parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    parser = OneLineParser(
        prog=PROG,
        description="Serve a fleet of simulated EtherNet/IP controllers, PowerFlex drives and"
        " Modbus devices, each on its own address, from one process (docs/fleet.md).",
    )
    parser.add_argument("fleet", metavar="FLEET.toml", help="the fleet file")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("-l", "--log", metavar="FILE", help="log to FILE (rotated)")
    parser.add_argument(
        "--port", type=int, help="the port of every device whose entry gives none (default 44818)"
    )
    parser.add_argument(
        "-w", "--web", metavar="HOST:PORT", help="serve the fleet's web API and dashboard"
    )
    parser.add_argument("--web-token", metavar="TOKEN", help="token for changes via the web API")
    parser.add_argument(
        "--web-allow-host",
        metavar="NAME",
        action="append",
        default=[],
        help="another name the web API's Host header may give (repeatable)",
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="shard the fleet over N worker processes (default 1: this process serves it)",
    )
    parser.add_argument(
        "--history", metavar="DIR", help="record each device's tag I/O in DIR/<device>.hst"
    )
    parser.add_argument(
        "--member",
        metavar="N|auto",
        help="serve only the fleet's Nth device (0-based) on --bind; 'auto' takes N from the"
        " host name's trailing number (a Kubernetes StatefulSet pod's ordinal)",
    )
    parser.add_argument(
        "--bind", default="0.0.0.0", help="the address --member serves on (default 0.0.0.0)"
    )
    parser.add_argument(
        "--max-connections",
        type=_positive,
        default=128,
        help="TCP connections per device (default 128)",
    )
    parser.add_argument(
        "--max-sessions", type=_positive, default=128, help="sessions per device (default 128)"
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=32,
        help="threads for blocking user Attributes, shared by every device (default 32)",
    )
    parser.add_argument(
        "--shard", metavar="K/N", help=argparse.SUPPRESS
    )  # a worker process's slice (--workers)
    return parser


def select_member(
    spec: FleetSpec, member: str, bind: str, hostname: str | None = None
) -> FleetSpec:
    """The fleet of one device: the ``member``-th (or, for ``auto``, the one numbered by the
    host name's trailing integer), served on ``bind``. ValueError if there is none."""
    if member == "auto":
        name = hostname if hostname is not None else socket.gethostname()
        match = re.search(r"(\d+)$", name)
        if match is None:
            raise ValueError(f"--member auto: host name {name!r} ends in no number")
        index = int(match.group(1))
    else:
        try:
            index = int(member)
        except ValueError:
            raise ValueError(f"--member {member!r}: a device number or 'auto'") from None
    if not 0 <= index < len(spec.devices):
        count = len(spec.devices)
        raise ValueError(f"--member {index}: the fleet has {count} devices (0-{count - 1})")
    device = dataclasses.replace(spec.devices[index], host=bind)
    return dataclasses.replace(spec, devices=(device,))


def shard(spec: FleetSpec, text: str) -> FleetSpec:
    """The ``K/N`` slice of the fleet's devices (every Nth, from the Kth, 0-based)."""
    k_text, _, n_text = text.partition("/")
    k, n = int(k_text), int(n_text)
    if not 0 <= k < n:
        raise ValueError(f"--shard {text!r}: K/N with 0 <= K < N")
    return dataclasses.replace(spec, devices=spec.devices[k::n])


def main(argv: Sequence[str] | None = None, control: ServerControl | None = None) -> int:
    """Serve the fleet until stopped; the exit status (see the module docstring).
    ``control``: stop it from another thread (``control.done = True``)."""
    parser = make_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.port is not None and not 0 <= args.port <= 0xFFFF:
            raise ValueError(f"--port {args.port}: 0..65535")
        spec = load_fleet(args.fleet, port=args.port)
        args.web = args.web or spec.web  # the fleet file's [fleet] web, unless -w is given
        if args.web:
            parse_address(args.web, 80)
            if importlib.util.find_spec("aiohttp") is None:
                raise ValueError("--web needs aiohttp: pip install 'cpppo[web]'")
        if args.member is not None:
            spec = select_member(spec, args.member, args.bind)
        if args.shard:
            spec = shard(spec, args.shard)
        if args.workers > 1 and args.member is not None:
            raise ValueError("--workers and --member exclude each other")
    except (FleetError, ValueError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    if threading.current_thread() is threading.main_thread() or args.verbose or args.log:
        log_setup(args.verbose, args.log)
    control = control if control is not None else ServerControl()
    if args.workers > 1:
        from .workers import serve_sharded

        return serve_sharded(spec, args, control)
    return _serve(spec, args, control)


def _serve(spec: FleetSpec, args: Any, control: ServerControl) -> int:
    """Serve ``spec`` in this process."""
    history = None
    if args.history:
        from .history import FleetHistory

        history = FleetHistory(args.history)
    fleet = FleetServer(
        spec,
        control=control,
        max_clients=args.max_connections,
        max_sessions=args.max_sessions,
        workers=args.threads,
        on_device=None if history is None else history.attach,
    )
    try:
        fleet.build()
    except (ValueError, OSError) as exc:
        if history is not None:
            history.close()
        print(f"{PROG}: error: {args.fleet}: {exc}", file=sys.stderr)
        return 2

    async def serve() -> int:
        failed = await fleet.start()
        if len(failed) == len(fleet.devices):
            print(f"{PROG}: no device could be served", file=sys.stderr)
            await fleet.stop()
            return 1
        if threading.current_thread() is threading.main_thread():
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(signum, setattr, control, "done", True)
                except (NotImplementedError, RuntimeError):
                    pass
        web = None
        if args.web:
            from .web import start_fleet_web

            try:
                web = await start_fleet_web(
                    fleet, args.web, args.web_token or os.environ.get("CPPPO_WEB_TOKEN") or None,
                    allow_hosts=tuple(args.web_allow_host),
                )  # fmt: skip
            except OSError as exc:
                print(f"{PROG}: cannot start the web API on {args.web}: {exc}", file=sys.stderr)
                await fleet.stop()
                return 1
        serving = len(fleet.devices) - len(failed)
        print(f"{PROG}: {serving} of {len(fleet.devices)} devices serving", flush=True)
        if web is not None:
            print(web.url, flush=True)
        try:
            await fleet.serve()
        finally:
            if web is not None:
                await web.stop()
            if history is not None:
                history.close()
        return 0

    try:
        return run(serve())
    except KeyboardInterrupt:
        return 0
