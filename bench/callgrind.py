"""User-space instructions per request of a server, counted under valgrind's callgrind.

Wall-clock figures on a shared machine swing several-fold within minutes; the instructions a
server executes do not. A server is run twice under ``valgrind --tool=callgrind``, serving
``n`` requests in one run and ``m`` in the other; the difference of the two runs' totals over
``m - n`` is the cost of one request, without the start-up and shutdown both runs share.

callgrind makes a Python program about 50 times slower: start-up that takes 0.3 s takes 15-30 s.
valgrind is optional (Debian's ``valgrind`` package): :func:`valgrind` says whether it is there.
Used by bench/server.py; this module runs nothing by itself.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

TOTALS = re.compile(rb"^(?:totals|summary):\s+(\d+)", re.MULTILINE)


def valgrind() -> str | None:
    """The valgrind executable, or None when it is not installed."""
    return shutil.which("valgrind")


def wrapper(out: Path) -> list[str]:
    """The argv prefix that runs a program under callgrind, writing its counts to ``out``."""
    tool = valgrind()
    if tool is None:
        raise FileNotFoundError("valgrind is not installed")
    return [tool, "--tool=callgrind", f"--callgrind-out-file={out}"]


def environment() -> dict[str, str]:
    """The environment for a counted Python server: a fixed hash seed, so both runs of a pair
    hash (and so execute) alike."""
    return {**os.environ, "PYTHONHASHSEED": "0"}


def total(out: Path) -> int:
    """The instructions a callgrind output file counts (its ``totals:`` line)."""
    found = TOTALS.findall(out.read_bytes())
    if not found:
        raise RuntimeError(f"{out}: no totals (did the program end before valgrind wrote them?)")
    return int(found[-1])


def stop(process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Stop a counted server so that callgrind writes its output: SIGINT, then SIGTERM (both
    let valgrind write the counts), then SIGKILL (which does not)."""
    for send in (
        lambda: process.send_signal(signal.SIGINT),
        process.terminate,
        process.kill,
    ):
        if process.poll() is not None:
            return
        send()
        try:
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def per_request(run: Callable[[int, Path], None], n: int, m: int) -> float:
    """Instructions per request: ``run(requests, out)`` starts the server under
    :func:`wrapper` ``(out)``, makes ``requests`` requests and stops it (:func:`stop`); it is
    called with ``n`` and with ``m`` (``m > n``) and the totals are differenced."""
    if m <= n:
        raise ValueError(f"need m > n (got n={n}, m={m})")
    with tempfile.TemporaryDirectory(prefix="callgrind-") as folder:
        totals = []
        for requests in (n, m):
            out = Path(folder) / f"callgrind.out.{requests}"
            run(requests, out)
            totals.append(total(out))
    return (totals[1] - totals[0]) / (m - n)
