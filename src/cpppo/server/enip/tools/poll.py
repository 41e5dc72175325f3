"""Poll parameters of a CIP device at a steady rate, riding out failures (docs/poll.md).

Public API:
    poll(proxy_class=None, address=None, depth=None, multiple=None, timeout=None,
         route_path=None, send_path=None, params=None, pass_thru=None, cycle=None,
         process=None, failure=None, backoff_min=None, backoff_multiplier=None,
         backoff_max=None, latency=None)
        Make a proxy (``proxy_class`` a getattr.proxy class such as ``ab.powerflex_750_series``,
        the default; or an existing proxy instance, to share its connection) and ``run`` it.
    run(via, process, failure=None, cycle=None, params=None, pass_thru=None, ...)
        Poll ``params`` through the proxy ``via`` every ``cycle`` seconds until ``process.done``:
        ``process(param, value)`` for each value of a successful poll, ``failure(exc)`` for
        each failed one. Several threads may ``run`` on one proxy (one connection), each with
        its own params and cycle; the proxy lets one poll at a time use the connection.
    execute(via, params, targets=None) -> [(param, value), ...]    one poll.
    main(argv=None)      ``python -m cpppo.server.enip.poll [-v] [-a host:port] PARAM ...``

Timing: polls start on a fixed grid (``cycle`` apart, from the first poll); a poll that runs past
one or more grid points is logged as missing them and the next starts at the next grid point --
late polls are never queued up. After a failed poll the gateway is closed and the next attempt
comes ``backoff`` seconds after the failure: ``backoff_min`` (default ``cycle``) at first, then
each time ``backoff_multiplier`` (1.5) times longer, at most ``backoff_max`` (10 x
``backoff_min``). The first successful poll resets the back-off and starts a new grid, so values
resume within ``backoff_max`` + the time of one poll of the device's return.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import sys
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from cpppo.misc import DETAIL, NORMAL, log_setup

from ..client.cli import ArgumentParser, add_routing_arguments, parse_address, routing
from ..client.operations import OperationError
from ..codec.encap import ENIP_PORT

__all__ = ["PARAMS", "execute", "main", "poll", "run"]

log = logging.getLogger("enip.poll")

#: The parameters polled when none are named.
PARAMS = ("Output Current", "Motor Velocity")

#: The default proxy class, as ``module.class`` under ``cpppo.server.enip``.
DEFAULT_GATEWAY = "ab.powerflex_750_series"


class Proxy(Protocol):
    """What polling uses of a proxy (a :class:`~.getattr.proxy`, eg. ``ab.powerflex_750_series``).

    A proxy with a ``gateway_lock`` is held for the whole of each poll.
    """

    def parameter_substitution(
        self, iterable: Any, parameters: Mapping | None = None, pass_thru: bool | None = None
    ) -> Iterator[Any]:
        """The read targets for parameter names (and, with ``pass_thru``, tags and addresses)."""
        ...

    def read(
        self, attributes: Any, printing: bool = False, checking: bool = False
    ) -> Generator[Any, None, None]:
        """Each attribute's value, lazily."""
        ...

    def close_gateway(self, exc: BaseException | None = None) -> None:
        """Discard the connection; the next read opens a new one."""
        ...


def _print(param: Any, value: Any) -> None:
    print(f"{param}: {value!r}", flush=True)


def _warn(exc: BaseException) -> None:
    log.warning("Polling failed: %s", exc)


def _is_done(process: Any) -> bool:
    return bool(getattr(process, "done", False))


def execute(via: Proxy, params: Sequence[Any], targets: Sequence[Any] | None = None) -> list:
    """One poll: read ``params`` through ``via``; return ``[(param, value), ...]``.

    ``targets`` are the params already substituted (``via.parameter_substitution``), to save
    doing it every poll. On any failure the proxy's gateway is closed (so the next poll opens a
    new connection) and the exception raised. The proxy's gateway lock is held throughout, so
    a failure seen by one thread never closes a connection another thread has just reopened.
    """
    if targets is None:
        targets = list(via.parameter_substitution(params))
    lock = getattr(via, "gateway_lock", None) or contextlib.nullcontext()
    with lock:
        try:
            with contextlib.closing(via.read(targets)) as reader:
                values = list(reader)
            if len(values) != len(params):
                raise OperationError(f"{len(values)} values polled for {len(params)} parameters")
        except Exception as exc:
            via.close_gateway(exc=exc)
            raise
    return list(zip(params, values))


def run(
    via: Proxy,
    process: Callable[[Any, Any], Any],
    failure: Callable[[BaseException], Any] | None = None,
    cycle: float | None = None,
    params: Iterable[Any] | None = None,
    pass_thru: bool | None = None,
    backoff_min: float | None = None,
    backoff_multiplier: float | None = None,
    backoff_max: float | None = None,
    latency: float | None = None,
    count: int | None = None,
) -> int:
    """Poll through ``via`` until ``process.done`` is true (or ``count`` polls succeeded);
    return the number of successful polls. See the module docstring for the timing.

    ``params`` default to :data:`PARAMS`; names the proxy does not know raise at once (a
    ParameterNameError), unless ``pass_thru`` lets tags and ``@class/instance/attribute``
    addresses through. ``latency`` bounds how long a stop request (``process.done``) waits.
    Exceptions raised by ``process`` or ``failure`` end the polling.
    """
    cycle = 1.0 if cycle is None else float(cycle)
    if not cycle > 0:
        raise ValueError(f"poll cycle must be > 0, not {cycle!r}")
    backoff_min = cycle if backoff_min is None else float(backoff_min)
    backoff_multiplier = 1.5 if backoff_multiplier is None else float(backoff_multiplier)
    backoff_max = 10 * backoff_min if backoff_max is None else float(backoff_max)
    if not (backoff_min > 0 and backoff_multiplier >= 1 and backoff_max >= backoff_min):
        raise ValueError("need backoff_min > 0, backoff_multiplier >= 1, backoff_max >= min")
    latency = min(0.5, cycle) if latency is None else float(latency)
    names = list(PARAMS if params is None else params)
    targets = list(via.parameter_substitution(names, pass_thru=pass_thru))

    polls = failures = 0
    backoff: float | None = None
    grid: float | None = None  # when the current run of successful polls began
    slot = 0  # the grid point of the last poll
    due = time.monotonic()
    while not _is_done(process) and (count is None or polls < count):
        now = time.monotonic()
        if now < due:
            time.sleep(min(latency, due - now))
            continue
        begun = now
        try:
            results = execute(via, names, targets)
        except Exception as exc:
            failures += 1
            if backoff is None:
                backoff = backoff_min
                log.log(NORMAL, "Polling failure: waiting %7.3fs; %s", backoff, exc)
            else:
                backoff = min(backoff * backoff_multiplier, backoff_max)
                log.log(DETAIL, "Polling backoff: waiting %7.3fs; %s", backoff, exc)
            grid = None
            due = time.monotonic() + backoff
            if failure is not None:
                failure(exc)
            continue
        finished = time.monotonic()
        if grid is None:
            if polls == 0:
                log.log(NORMAL, "Polling begins via: %s", via)
            else:
                log.log(NORMAL, "Polling resumes via: %s, after %d failures", via, failures)
            grid, slot, backoff, failures = begun, 0, None, 0
        polls += 1
        log.info(
            "Polling finished %7.3fs into %7.3fs poll cycle, taking %7.3fs (%5.1f TPS)",
            finished - (grid + slot * cycle),
            cycle,
            finished - begun,
            1.0 / (finished - begun) if finished > begun else math.inf,
        )
        for param, value in results:
            process(param, value)
        following = math.floor((time.monotonic() - grid) / cycle) + 1
        if following > slot + 1:
            log.log(
                NORMAL,
                "Missed %3d polls, %7.3fs past %7.3fs poll cycle",
                following - slot - 1,
                time.monotonic() - (grid + (slot + 1) * cycle),
                cycle,
            )
        slot = following
        due = grid + slot * cycle
    return polls


def make_proxy(
    proxy_class: Callable[..., Proxy] | None = None,
    address: tuple[str, int] | None = None,
    depth: int | None = None,
    multiple: int | None = None,
    timeout: float | None = None,
    route_path: Any = None,
    send_path: Any = None,
) -> Proxy:
    """A proxy of ``proxy_class`` (default ``ab.powerflex_750_series``) for ``address``
    (default ``("localhost", ENIP_PORT)``); route/send paths are passed only when given."""
    if proxy_class is None:
        proxy_class = load_gateway(DEFAULT_GATEWAY)
    host, port = address or ("localhost", ENIP_PORT)
    kwds: dict[str, Any] = {"port": port, "depth": depth, "multiple": multiple}
    if timeout is not None:
        kwds["timeout"] = timeout
    if route_path is not None:
        kwds["route_path"] = route_path
    if send_path is not None:
        kwds["send_path"] = send_path
    return proxy_class(host, **kwds)


def poll(
    proxy_class: type[Proxy] | Proxy | None = None,
    address: tuple[str, int] | None = None,
    depth: int | None = None,
    multiple: int | None = None,
    timeout: float | None = None,
    route_path: Any = None,
    send_path: Any = None,
    params: Iterable[Any] | None = None,
    pass_thru: bool | None = None,
    cycle: float | None = None,
    process: Callable[[Any, Any], Any] | None = None,
    failure: Callable[[BaseException], Any] | None = None,
    backoff_min: float | None = None,
    backoff_multiplier: float | None = None,
    backoff_max: float | None = None,
    latency: float | None = None,
    count: int | None = None,
) -> int:
    """Poll a device until ``process.done``; ``process`` defaults to printing ``param: value``.

    ``proxy_class`` is a proxy class (a new connection is made for this poll) or a proxy
    instance (its connection is shared with whoever else uses it). Returns the number of
    successful polls.
    """
    if proxy_class is None or isinstance(proxy_class, type):
        via = make_proxy(proxy_class, address, depth, multiple, timeout, route_path, send_path)
    else:
        via = proxy_class
    return run(
        via,
        process if process is not None else _print,
        failure=failure,
        cycle=cycle,
        params=params,
        pass_thru=pass_thru,
        backoff_min=backoff_min,
        backoff_multiplier=backoff_multiplier,
        backoff_max=backoff_max,
        latency=latency,
        count=count,
    )


def load_gateway(name: str) -> Callable[..., Proxy]:
    """The proxy class ``module.class`` (relative to ``cpppo.server.enip``, or absolute)."""
    module_name, _, class_name = name.rpartition(".")
    if not module_name or not class_name:
        raise ValueError(f"--gateway {name!r}: expected <module>.<class>")
    try:
        try:
            module = importlib.import_module("." + module_name, package=__package__)
        except ModuleNotFoundError:
            module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"--gateway {name!r}: {exc}") from None
    if not isinstance(cls, type) or not hasattr(cls, "read"):
        raise ValueError(f"--gateway {name!r} is not a proxy class")
    return cls


def main(argv: Sequence[str] | None = None) -> int:
    """The ``enip_poll`` command line; prints ``<param>: <value>`` for each value polled."""
    ap = ArgumentParser(
        prog="enip_poll",
        description="Poll parameters of an EtherNet/IP CIP device (eg. an A-B PowerFlex)",
    )
    ap.add_argument("-v", "--verbose", default=0, action="count", help="Display logging")
    ap.add_argument("-l", "--log", help="Log file (rotates at 10MB, 5 copies)")
    ap.add_argument("-a", "--address", default=f"localhost:{ENIP_PORT}", help="[<host>][:<port>]")
    ap.add_argument("-c", "--cycle", default=1.0, type=float, help="Poll cycle (default: 1s)")
    ap.add_argument("-t", "--timeout", default=None, type=float, help="I/O timeout (default: 5s)")
    ap.add_argument("-n", "--count", default=None, type=int, help="Stop after N polls")
    ap.add_argument(
        "-m", "--multiple", action="store_true", help="Use Multiple Service Packets (~500 bytes)"
    )
    ap.add_argument("-d", "--depth", default=None, type=int, help="Pipeline depth (default: 2)")
    ap.add_argument(
        "-g",
        "--gateway",
        default=DEFAULT_GATEWAY,
        help=f"Proxy <module>.<class> for the device (default: {DEFAULT_GATEWAY})",
    )
    ap.add_argument(
        "-p",
        "--pass-thru",
        action="store_true",
        help="Allow tags and @class/instance/attribute addresses besides parameter names",
    )
    add_routing_arguments(ap)
    ap.add_argument("parameter", nargs="*", help=f"Parameters (default: {', '.join(PARAMS)})")
    args = ap.parse_args(argv)
    try:
        host, port = parse_address(args.address)
        route_path, send_path = routing(args)
        gateway = load_gateway(args.gateway)
        if not args.cycle > 0 or (args.timeout is not None and not args.timeout > 0):
            raise ValueError("--cycle and --timeout must be > 0")
        if args.depth is not None and args.depth < 0:
            raise ValueError("--depth must be >= 0")
        if args.count is not None and args.count < 1:
            raise ValueError("--count must be >= 1")
        via = make_proxy(
            gateway,
            (host, port),
            depth=args.depth,
            multiple=500 if args.multiple else 0,
            timeout=args.timeout,
            route_path=route_path,
            send_path=send_path,
        )
        params = args.parameter or list(PARAMS)
        list(via.parameter_substitution(params, pass_thru=args.pass_thru))
    except (ValueError, OperationError) as exc:
        ap.error(str(exc))
    log_setup(args.verbose, args.log)
    try:
        run(
            via,
            _print,
            failure=_warn,
            cycle=args.cycle,
            params=params,
            pass_thru=args.pass_thru,
            count=args.count,
        )
    except KeyboardInterrupt:
        log.info("Polling interrupted")
    finally:
        via.close_gateway()
    return 0


if __name__ == "__main__":
    sys.exit(main())
