"""Helpers shared by the tests of every package (``from helpers import ...``; the root
``tests/conftest.py`` puts this folder on ``sys.path``).

- :func:`wait_until` / :func:`wait_for`: poll a condition with a deadline.
- :func:`closing_all`: a factory whose every product is stopped when the block ends (the body
  of the ``start(...)``-style fixtures).
- :func:`stop_process`: SIGTERM a subprocess, SIGKILL it if it lingers.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 5.0, step: float = 0.02) -> T:
    """Call ``predicate`` every ``step`` seconds until it is truthy; its last value (falsy once
    ``timeout`` seconds have passed)."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            return value
        time.sleep(step)
    return value


def wait_for(predicate: Callable[[], T], timeout: float = 5.0, step: float = 0.02) -> T:
    """Like :func:`wait_until`, but AssertionError if ``predicate`` stays falsy."""
    value = wait_until(predicate, timeout, step)
    if not value:
        raise AssertionError(f"timed out waiting for {predicate}")
    return value


@contextlib.contextmanager
def closing_all(make: Callable[..., T], close: Callable[[T], Any]) -> Iterator[Callable[..., T]]:
    """``make``, remembering what it returns; each of those is ``close``-d, in order, at the end
    of the block (what ``make`` raised on was never returned, so is not closed)."""
    made: list[T] = []

    def tracked(*args: Any, **kwds: Any) -> T:
        made.append(make(*args, **kwds))
        return made[-1]

    try:
        yield tracked
    finally:
        for thing in made:
            close(thing)


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGTERM ``process`` (if still running) and wait up to ``timeout`` seconds; SIGKILL if it
    has not exited by then. Its exit status."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode
