"""``python -m cpppo.server.enip`` / ``enip_server``: run a simulated ControlLogix
(docs/enip-server.md).

``main(argv=None, attribute_class=Attribute, server=None, ...)`` parses the command line, loads
``cpppo.cfg`` and any tag database (``--l5x`` Studio 5000 export, ``--tag-db`` JSON), builds a
:class:`~.logix.Controller` with those tags and the ones given (or a demo set), and
serves it until stopped -- by SIGINT/SIGTERM, or by ``control.done = True`` from another thread
(``server`` a ServerControl, or a dict/dotdict holding ``done`` as the original cpppo took it)
-- then returns the exit status (0; 1 when the address cannot be bound; 2 for a bad argument).
It runs in any thread (signal handlers are installed only in the main thread).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any, NamedTuple

from cpppo.misc import NORMAL, OneLineParser, log_setup

from .codec import epath
from .codec.identity import revision_word
from .importers.json import load_json
from .importers.l5x import L5XError, load_l5x
from .logix import TagDB, TagDBError, TagDefinition, parse_tag_definition
from .net.behaviour_loop import BehaviourLoop
from .net.capacity import DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_SESSIONS, REGISTRATION_GRACE
from .net.control import Delay, ServerControl, parse_delay
from .net.embedding import control_of, follow
from .net.server import DEFAULT_PORT, EnipServer, parse_address, run
from .sim.attribute import Attribute
from .sim.behaviours import BehaviourError, Behaviours
from .sim.behaviours.options import from_options
from .sim.config import ConfigError, load_config, loads_json, normalize_key
from .sim.connections import PER_SESSION_LIMIT
from .sim.controller import Controller
from .sim.device import INACTIVITY_TIMEOUT_ATTRIBUTE, INACTIVITY_TIMEOUT_MAX

__all__ = [
    "DEMO_TAGS",
    "build_controller",
    "check_l5x",
    "load_tag_database",
    "main",
    "make_parser",
    "parse_route_path",
]

log = logging.getLogger("enip.srv")

#: Served when no tag is given on the command line.
DEMO_TAGS = (
    "SCADA=INT[1000]",
    "TEXT=SSTRING[100]",
    "FLOAT=REAL[100]",
    "DINTS=DINT[100]",
    "BOOLS=BOOL[32]",
    "NAME=STRING",
)

_IDENTITY_INTS = (
    "vendor number",
    "device type",
    "product code number",
    "status word",
    "serial number",
    "state",
    "configuration consistency value",
    "heartbeat interval",
)
_TCPIP_INTS = (
    "interface status",
    "configuration capability",
    "configuration control",
    "encapsulation inactivity timeout",
)


def make_parser(
    prog: str = "enip_server",
    description: str = "Simulate an Allen-Bradley ControlLogix controller (EtherNet/IP CIP).",
    usage: str | None = None,
) -> argparse.ArgumentParser:
    """The command-line parser: every option docs/enip-server.md lists. A module serving the
    simulator with options of its own (weather, poll_test) names itself, says what it
    simulates, and adds its options for ``--help``."""
    parser = OneLineParser(prog=prog, description=description, usage=usage)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument(
        "-a",
        "--address",
        default=f":{DEFAULT_PORT}",
        help=f"[interface][:port] to bind (default :{DEFAULT_PORT}, all interfaces)",
    )
    parser.add_argument("-d", "--delay", help="delay every response by #.# or #.#-#.# seconds")
    parser.add_argument(
        "-w",
        "--web",
        metavar="[HOST]:[PORT]",
        help="serve the web API: HOST:PORT binds HOST; '.' (port 80) and ':PORT' bind the"
        " interface -a names, or loopback (http://localhost:PORT) when -a names none",
    )
    parser.add_argument(
        "--web-allow-host",
        metavar="NAME",
        action="append",
        default=[],
        help="a Host name the web API also answers to (repeatable; besides its own addresses"
        " and localhost; others get HTTP 421)",
    )
    parser.add_argument(
        "--web-token",
        help="token every changing web API request must carry (default: $CPPPO_WEB_TOKEN)",
    )
    parser.add_argument("-l", "--log", help="log to FILE (rotates at 10 MB, 5 copies)")
    parser.add_argument(
        "-p", "--print", dest="printing", action="store_true", help="print each tag read/write"
    )
    parser.add_argument("--no-print", dest="printing", action="store_false")
    parser.add_argument(
        "--route-path",
        help="route path required in Unconnected Sends: JSON list, port/link, or 0/false for none",
    )
    parser.add_argument(
        "-S", "--simple", action="store_true", help="a simple device: accept no route path"
    )
    parser.add_argument(
        "-c", "--config", action="append", default=[], help="also read this config FILE"
    )
    parser.add_argument("--no-config", action="store_true", help="read no default config files")
    parser.add_argument(
        "-s", "--size", type=int, help="largest encapsulated request accepted (bytes)"
    )
    parser.add_argument(
        "--inactivity-timeout",
        type=_seconds_arg,
        metavar="SECONDS",
        help="close a TCP connection silent this long (TCP/IP attribute 13; default 120, or"
        " [TCPIP] Encapsulation Inactivity Timeout; 0 never)",
    )
    parser.add_argument(
        "--registration-grace",
        type=float,
        default=REGISTRATION_GRACE,
        metavar="SECONDS",
        help=f"close a TCP connection that registers no session within this"
        f" (default {REGISTRATION_GRACE:g}; 0 never)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=f"simultaneous TCP connections (default {DEFAULT_MAX_CONNECTIONS}; when full, the"
        " longest-idle one without a session is closed for a newcomer)",
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=DEFAULT_MAX_SESSIONS,
        metavar="N",
        help=f"registered sessions (default {DEFAULT_MAX_SESSIONS})",
    )
    parser.add_argument(
        "--max-session-connections",
        type=int,
        default=PER_SESSION_LIMIT,
        metavar="N",
        help=f"CIP connections one session may open (default {PER_SESSION_LIMIT})",
    )
    parser.add_argument("-U", "--no-udp", action="store_true", help="do not serve UDP")
    parser.add_argument("-T", "--no-tcp", action="store_true", help="do not serve TCP")
    parser.add_argument(
        "-A", "--address-output", action="store_true", help="print the bound host:port"
    )
    parser.add_argument(
        "--l5x", metavar="FILE", help="serve the types and tags of a Studio 5000 L5X export"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="with --l5x: print what the export loads (by kind and count) and every warning,"
        " then exit (0 loaded, 2 not a valid export)",
    )
    parser.add_argument(
        "--tag-db", metavar="FILE", help="serve the types and tags of a JSON tag database"
    )
    parser.add_argument(
        "--revision",
        metavar="MAJOR[.MINOR]",
        help="Identity revision (default 20.11, or the tag database's; >= 21: pycomm3 addresses"
        " tags by instance id)",
    )
    parser.add_argument(
        "--behaviours",
        metavar="FILE",
        help="a TOML file of tag behaviours (values that change by themselves)",
    )
    parser.add_argument(
        "--behave",
        metavar="SPEC",
        action="append",
        default=[],
        help="a tag behaviour, eg. 'Tank_Level=sine(amplitude=40, offset=50, period=60)'"
        " (repeatable; '; writes=refuse' after it refuses clients' writes)",
    )
    parser.add_argument(
        "--behaviour-rate",
        type=float,
        metavar="HZ",
        help="tag behaviour updates per second (default 10, or the behaviour file's rate)",
    )
    parser.add_argument(
        "--replay",
        metavar="FILE.hst[:SPEED][:loop]",
        help="serve the values of a history in time (tags its type header names are created)",
    )
    parser.add_argument(
        "tags", nargs="*", help="TAG=TYPE[n] (eg. SCADA=INT[1000], Motors=MotorUDT[4])"
    )
    return parser


def _seconds_arg(text: str) -> int:
    """``--inactivity-timeout``: whole seconds 0..3600 (attribute 13's range)."""
    value = int(text)
    if not 0 <= value <= INACTIVITY_TIMEOUT_MAX:
        raise ValueError(text)
    return value


def parse_route_path(text: str) -> list[dict] | bool | None:
    """``--route-path`` / ``[UCMM] Route Path``: ``null`` or ``any`` (None: any route path is
    accepted), ``0``/``false``/``none`` (False: none is), or a route path in any form
    :func:`~.codec.epath.parse_route_path` reads (``1/0``, JSON; JSON may have trailing commas,
    as in ``cpppo.cfg``). Raises ValueError (the spec's swapped
    ``[{"link": 0, "port": "192.168.1.2"}]`` too, naming the form meant)."""
    stripped = text.strip()
    if stripped.lower() in ("null", "any"):
        return None
    value: Any = loads_json(stripped) if stripped.startswith(("[", "{")) else stripped
    return epath.parse_route_path(value) or False


def _int(value: str, key: str) -> int:
    try:
        return int(value.strip(), 0)
    except ValueError:
        raise ConfigError(f"{key} = {value!r} is not an integer") from None


#: The default Identity's minor revision (20.11), kept with a tag database's major revision.
_DEFAULT_MINOR = 11


def _revision(value: str) -> int:
    """``MAJOR.MINOR`` (or one number: major | minor << 8) as the Identity's product revision."""
    text = value.strip()
    if "." in text:
        major_text, _, minor_text = text.partition(".")
        try:
            major, minor = int(major_text), int(minor_text)
        except ValueError:
            raise ConfigError(f"revision {value!r} is not MAJOR.MINOR") from None
        if not (0 < major < 256 and 0 <= minor < 256):
            raise ConfigError(f"revision {value!r}: major 1..255, minor 0..255")
        return revision_word(major, minor)
    return _int(text, "Product Revision")


def config_values(config: Any) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """Identity and TCP/IP overrides and the [UCMM] route path (sentinel ... if absent)."""
    identity: dict[str, Any] = {}
    for key, value in config.section("Identity").items():
        if key in _IDENTITY_INTS:
            identity[key] = _int(value, key)
        elif key == "product revision":
            identity[key] = _revision(value)
        elif key == "product name":
            identity[key] = value.strip()
    tcpip: dict[str, Any] = {}
    for key, value in config.section("TCPIP").items():
        if key in _TCPIP_INTS:
            tcpip[key] = _int(value, key)
            if key == "encapsulation inactivity timeout" and not (
                0 <= tcpip[key] <= INACTIVITY_TIMEOUT_MAX
            ):
                raise ConfigError(f"{key} = {value!r}: 0..{INACTIVITY_TIMEOUT_MAX} seconds")
        elif key in ("path to physical link", "interface configuration"):
            tcpip[key] = loads_json(value)
        elif key == "host name":
            tcpip[key] = value.strip()
    route: Any = ...
    route_text = config.section("UCMM").get(normalize_key("Route Path"))
    if route_text is not None:
        route = parse_route_path(route_text)
    return identity, tcpip, route


def build_controller(
    tags: Sequence[str | TagDefinition],
    identity: dict[str, Any] | None = None,
    tcpip: dict[str, Any] | None = None,
    route_path: Any = None,
    attribute_class: type[Attribute] = Attribute,
    db: TagDB | None = None,
) -> Controller:
    """A Controller serving the tag database ``db`` (or a new one) plus ``tags``: definitions
    like ``SCADA=INT[1000]`` or ``Motors=Motor[4]`` (a type of ``db``), as text or parsed.

    Raises TagDBError (a ValueError) for a bad definition, an unknown type or a duplicate name.
    """
    controller = Controller(identity, tcpip, route_path, attribute_class=attribute_class, tags=db)
    for tag in tags:
        spec = (
            tag if isinstance(tag, TagDefinition) else parse_tag_definition(tag, default_type="INT")
        )
        try:
            controller.add_tag(
                spec.name, spec.type_name, spec.dims, address=spec.address, program=spec.program
            )
        except KeyError as exc:
            raise TagDBError(f"tag {spec.name!r}: {exc.args[0]}") from None
    return controller


def load_tag_database(l5x: str | None = None, json_path: str | None = None) -> TagDB | None:
    """The tag database of an L5X export or a JSON file (None for neither); each type or tag
    the simulator does not model is logged as a warning. Raises L5XError or TagDBError."""
    if l5x and json_path:
        raise TagDBError("use one of --l5x and --tag-db")
    if l5x:
        result = load_l5x(l5x)
        log.log(NORMAL, "Loaded %s: %r, %d warnings", l5x, result.db, len(result.warnings))
        if not result.db.all_tags():
            log.log(NORMAL, "%s: this %s export defines no tags", l5x, result.target)
        return result.db
    if json_path:
        db = load_json(json_path)
        log.log(NORMAL, "Loaded %s: %r", json_path, db)
        return db
    return None


def check_l5x(path: str, prog: str = "enip_server") -> int:
    """``--check``: load the L5X export ``path``, print what it loads and every warning.

    Returns 0 when it loads (warnings or not), 2 when it is not a valid export.
    """
    try:
        result = load_l5x(path, quiet=True)
    except L5XError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"{path}:")
    for line in result.summary():
        print(f"  {line}")
    return 0


def _printer(tag: Any, index: int, values: list, kind: str) -> None:
    last = index + max(len(values), 1) - 1
    arrow = "<=" if kind == "write" else "=="
    name = getattr(tag, "qualified_name", None) or tag.name  # a Location's name is its path
    print(f"{name:>15}[{index:5d}-{last:<5d}] {arrow} {values!r}", flush=True)


def main(
    argv: Sequence[str] | None = None,
    attribute_class: type[Attribute] = Attribute,
    server: ServerControl | dict | None = None,
    setup: Callable[[Controller], Any] | None = None,
    parser: argparse.ArgumentParser | None = None,
    **kwds: Any,
) -> int:
    """Run the simulator until stopped; return the exit status (see the module docstring).

    ``attribute_class``: the Attribute class every tag gets (docs/enip-server.md, Customising
    tag I/O); ``server``: a :class:`ServerControl` to drive it from another thread
    (``server.done = True`` stops it), or as with the original cpppo a dict or dotdict holding
    ``done`` (``server=dict(done=False)``; ``server["done"] = True`` stops it) or a ``control``
    dict holding it (``server=dotdict(control=dotdict(done=False))``); ``disable`` too.
    ``setup``: called with the Controller once built, to add objects (eg. ``poll_test``'s DPI
    parameters) or change its settings before it is served. ``parser``: the command line's
    parser (default :func:`make_parser`), for a module with a ``--help`` of its own.
    Other keywords go to :class:`EnipServer` (``max_clients``, ``workers``).
    """
    parser = make_parser() if parser is None else parser
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        control, signals = control_of(server)
        host, port = parse_address(args.address)
        delay = Delay(*parse_delay(args.delay)) if args.delay else None
        if args.web and args.web != ".":
            parse_address(args.web, 80)
        if args.web and importlib.util.find_spec("aiohttp") is None:
            raise ValueError("--web needs aiohttp: pip install 'cpppo[web]'")
        route_arg = parse_route_path(args.route_path) if args.route_path is not None else ...
        specs = [parse_tag_definition(tag, default_type="INT") for tag in args.tags]
        revision = _revision(args.revision) if args.revision is not None else None
        if args.size is not None and not 24 <= args.size <= 0xFFFF:
            raise ValueError(f"--size {args.size} must be 24..65535")
        if args.no_tcp and args.no_udp:
            raise ValueError("--no-tcp and --no-udp leave nothing to serve")
        for name in ("max_connections", "max_sessions", "max_session_connections"):
            if getattr(args, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if args.registration_grace < 0:
            raise ValueError("--registration-grace must not be negative")
        if args.check and not args.l5x:
            raise ValueError("--check needs --l5x FILE")
    except (ValueError, TypeError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        return check_l5x(args.l5x, parser.prog)

    # Configure logging for the command line; an embedding thread keeps its host's logging.
    if threading.current_thread() is threading.main_thread() or args.verbose or args.log:
        log_setup(args.verbose, args.log)
    try:
        config = load_config(extra=args.config, defaults=not args.no_config)
        identity, tcpip, config_route = config_values(config)
    except (ConfigError, ValueError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    if config.loaded:
        log.log(NORMAL, "Loaded config files: %r", config.loaded)

    if args.simple:
        route_path: Any = False
    elif route_arg is not ...:
        route_path = route_arg
    elif config_route is not ...:
        route_path = config_route
    else:
        route_path = None

    try:
        db = load_tag_database(args.l5x, args.tag_db)
        if revision is not None:
            identity["product revision"] = revision
        elif db is not None and "product revision" not in identity:
            identity["product revision"] = revision_word(db.revision, _DEFAULT_MINOR)
        if not specs and db is None and not args.replay:  # a replay makes its own tags
            specs = [parse_tag_definition(tag) for tag in DEMO_TAGS]
            log.warning("No tags given; serving the demo tags: %s", " ".join(DEMO_TAGS))
        controller = build_controller(specs, identity, tcpip, route_path, attribute_class, db)
    except (ValueError, OSError) as exc:  # L5XError, TagDBError: a bad file or tag; nothing runs
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    if setup is not None:
        setup(controller)
    try:
        behaviours = from_options(
            controller.tags,
            file=args.behaviours,
            behave=args.behave,
            rate=args.behaviour_rate,
            replay=args.replay,
        )
    except BehaviourError as exc:  # a bad behaviour: one line naming it; nothing runs
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.printing:
        controller.on_access = _printer
    controller.connections.per_session = args.max_session_connections
    if args.inactivity_timeout is not None:
        controller.tcpip.attributes[INACTIVITY_TIMEOUT_ATTRIBUTE][0] = args.inactivity_timeout
    if delay is not None:
        control.delay.value = delay.value
        control.delay.range = delay.range
    web = None
    if args.web:
        web = _WebOptions(
            args.web,
            args.web_token or os.environ.get("CPPPO_WEB_TOKEN") or None,
            tuple(args.web_allow_host),
            host,
        )

    options: dict[str, Any] = {
        "max_clients": args.max_connections,
        "max_sessions": args.max_sessions,
        "registration_grace": args.registration_grace,
        **kwds,
    }
    if args.size is not None:
        options["max_size"] = args.size - 24
    enip = EnipServer(
        controller,
        (host, port),
        control=control,
        tcp=not args.no_tcp,
        udp=not args.no_udp,
        **options,
    )
    return _run(enip, control, args.address_output, web, behaviours, signals)


class _WebOptions(NamedTuple):
    """What ``-w``, ``--web-token`` and ``--web-allow-host`` ask of the web API; ``interface``
    is the host ``-a`` names ("" for none)."""

    text: str
    token: str | None
    allow_hosts: tuple[str, ...]
    interface: str


def _run(
    enip: EnipServer,
    control: ServerControl,
    address_output: bool,
    web: _WebOptions | None = None,
    behaviours: Behaviours | None = None,
    signals: MutableMapping | None = None,
) -> int:
    """Serve until done (updating ``behaviours``, following an embedding caller's ``signals``
    mapping); 1 if the address cannot be bound."""

    async def serve() -> int:
        try:
            host, port = await enip.start()
        except OSError as exc:
            log.error("Cannot bind %s:%d: %s", enip.host, enip.port, exc)
            print(f"enip_server: cannot bind {enip.host}:{enip.port}: {exc}", file=sys.stderr)
            return 1
        # Handle signals before announcing the address: a starter may signal as soon as it reads it.
        if threading.current_thread() is threading.main_thread():
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(signum, setattr, control, "done", True)
                except (NotImplementedError, RuntimeError):
                    pass
        if address_output:
            print(f"{host}:{port}", flush=True)
        web_server = None
        if web is not None:
            from .net.web import start_web  # aiohttp is an optional dependency

            try:
                web_server = await start_web(
                    enip,
                    web.text,
                    web.token,
                    allow_hosts=web.allow_hosts,
                    interface=web.interface,
                    behaviours=behaviours,
                )
            except OSError as exc:
                print(
                    f"enip_server: cannot start the web API on {web.text}: {exc}", file=sys.stderr
                )
                await enip.stop()
                return 1
            if address_output:
                print(web_server.url, flush=True)
        updater = None if behaviours is None else BehaviourLoop(behaviours, enip.controller)
        follower = None if signals is None else asyncio.create_task(follow(signals, control))
        try:
            if updater is not None:
                updater.start()
            await enip.serve()
        finally:
            if follower is not None:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower
            if updater is not None:
                await updater.stop()
            if web_server is not None:
                await web_server.stop()
        return 0

    try:
        return run(serve())
    except KeyboardInterrupt:
        return 0
