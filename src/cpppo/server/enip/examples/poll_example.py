"""Poll an A-B PowerFlex 750 series drive once a second (docs/poll.md).

    python -m cpppo.server.enip.poll_example [<host>[:<port>] [<seconds>]]

polls "Motor Velocity" and "Output Current" from ``<host>`` (default localhost:44818) in a
background thread and prints each value and each failure with its time, for ``<seconds>``
(default: until interrupted)::

    2016-01-27 21:34:10.371:   Motor Velocity == [789.010009765625]
    2016-01-27 21:34:13.348: [Errno 32] Broken pipe
    2016-01-27 21:34:14.352: [Errno 61] Connection refused

Stop and restart the device (eg. ``python -m cpppo.server.enip.poll_test``) to watch polling
fail, back off and resume by itself.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence

import cpppo
from cpppo.history import timestamp
from cpppo.server.enip.client.cli import ArgumentParser, parse_address
from cpppo.server.enip.tools import poll
from cpppo.server.enip.tools.ab import powerflex_750_series

PARAMS = ("Motor Velocity", "Output Current")


def report(events: queue.Queue, until: float | None) -> None:
    """Print the ``(time, parameter, value)`` and ``(time, failure)`` events until ``until``."""
    while until is None or time.monotonic() < until:
        wait = 0.1 if until is None else max(0.0, min(0.1, until - time.monotonic()))
        try:
            event = events.get(timeout=wait)
        except queue.Empty:
            continue
        if len(event) == 3:
            when, param, value = event
            print(f"{timestamp(when)}: {param:>16} == {value!r}", flush=True)
        else:
            when, exc = event
            print(f"{timestamp(when)}: {exc}", flush=True)


DESCRIPTION = (
    'Poll "Motor Velocity" and "Output Current" of an A-B PowerFlex 750 series drive once a '
    "second, printing each value and each failure with its time. Try it against the simulated "
    "drive: python -m cpppo.server.enip.poll_test (stop and restart it to watch polling back "
    "off and resume)."
)


def arguments(
    argv: Sequence[str] | None, prog: str = "poll_example", description: str = DESCRIPTION
) -> tuple[tuple[str, int], float | None]:
    """``[<host>[:<port>] [<seconds>]]`` -> (address, seconds or None); ValueError if bad.
    ``--help`` prints the module's help (``prog``, ``description``) and raises SystemExit(0);
    a malformed number raises SystemExit(2) after one line on stderr."""
    ap = ArgumentParser(prog=f"python -m cpppo.server.enip.{prog}", description=description)
    ap.add_argument(
        "address", nargs="?", default="localhost", help="<host>[:<port>] (default: localhost:44818)"
    )
    ap.add_argument(
        "seconds", nargs="?", type=float, help="how long to poll (default: until interrupted)"
    )
    args = ap.parse_args(list(sys.argv[1:] if argv is None else argv))
    return parse_address(args.address), args.seconds


class Process:
    """The poll ``process`` callback: puts ``(time, parameter, value)`` on ``events``.

    ``done`` starts False: set it True to stop polling.
    """

    def __init__(self, events: queue.Queue) -> None:
        self.events = events
        self.done = False

    def __call__(self, param: str, value: object) -> None:
        self.events.put((cpppo.timer(), param, value))


def collector() -> tuple[queue.Queue, Process, Callable[[BaseException], None]]:
    """An event queue for :func:`report`, and the poll ``process``/``failure`` callbacks that
    put timed events on it (``process.done`` starts False: set it True to stop polling)."""
    events: queue.Queue = queue.Queue()

    def failure(exc: BaseException) -> None:
        events.put((cpppo.timer(), str(exc)))

    return events, Process(events), failure


def main(argv: Sequence[str] | None = None) -> int:
    """Poll until interrupted (or for the seconds given); see the module docstring."""
    logging.basicConfig(**cpppo.log_cfg)
    try:
        address, seconds = arguments(argv)
    except ValueError as exc:
        print(f"poll_example: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help, or a bad argument
        return int(exc.code or 0)
    events, process, failure = collector()
    poller = threading.Thread(
        target=poll.poll,
        args=(powerflex_750_series,),
        kwargs={
            "address": address,
            "cycle": 1.0,
            "timeout": 0.5,
            "process": process,
            "failure": failure,
            "params": PARAMS,
        },
        daemon=True,
    )
    poller.start()
    try:
        report(events, None if seconds is None else time.monotonic() + seconds)
    except KeyboardInterrupt:
        pass
    finally:
        process.done = True
        poller.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
