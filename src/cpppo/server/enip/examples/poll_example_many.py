"""Poll A-B PowerFlex 750 parameters at different rates over one connection (docs/poll.md).

    python -m cpppo.server.enip.poll_example_many [<host>[:<port>] [<seconds>]]

One proxy (one EtherNet/IP connection) to ``<host>`` (default localhost:44818) is shared by a
polling thread per rate: Output Frequency every 0.5s, Motor Velocity and Output Current every
second, Elapsed kWh every 5s and Speed Units every 10s. Each value and each failure is printed
with its time, for ``<seconds>`` (default: until interrupted)::

    2016-01-28 15:25:26.112: Output Frequency == [456.7799987792969]
    2016-01-28 15:25:26.765:   Output Current == [123.44999694824219]
    2016-01-28 15:25:28.096: [Errno 61] Connection refused
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Sequence
from types import MappingProxyType

import cpppo
from cpppo.server.enip.examples.poll_example import arguments, collector, report
from cpppo.server.enip.tools import poll
from cpppo.server.enip.tools.ab import powerflex_750_series

#: Poll cycle (seconds) -> the parameters polled at that rate.
TARGETS = MappingProxyType(
    {
        0.5: ("Output Frequency",),
        1.0: ("Motor Velocity", "Output Current"),
        5.0: ("Elapsed KwH",),
        10.0: ("Speed Units",),
    }
)


DESCRIPTION = (
    "Poll A-B PowerFlex 750 series parameters at different rates over one EtherNet/IP "
    "connection: Output Frequency every 0.5s, Motor Velocity and Output Current every second, "
    "Elapsed kWh every 5s, Speed Units every 10s; each value and each failure is printed with "
    "its time. Try it against python -m cpppo.server.enip.poll_test."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Poll until interrupted (or for the seconds given); see the module docstring."""
    logging.basicConfig(**cpppo.log_cfg)
    try:
        (host, port), seconds = arguments(argv, "poll_example_many", DESCRIPTION)
    except ValueError as exc:
        print(f"poll_example_many: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help, or a bad argument
        return int(exc.code or 0)
    events, process, failure = collector()
    via = powerflex_750_series(host=host, port=port, timeout=0.5)
    pollers = [
        threading.Thread(
            target=poll.run,
            kwargs={
                "via": via,
                "cycle": cycle,
                "process": process,
                "failure": failure,
                "params": params,
            },
            daemon=True,
        )
        for cycle, params in TARGETS.items()
    ]
    for poller in pollers:
        poller.start()
    try:
        report(events, None if seconds is None else time.monotonic() + seconds)
    except KeyboardInterrupt:
        pass
    finally:
        process.done = True
        for poller in pollers:
            poller.join()
        via.close_gateway()
    return 0


if __name__ == "__main__":
    sys.exit(main())
