"""The original cpppo 5.2.5, run beside ours by the migration tests (issue 16).

It lives in its own venv (``bench/.venv-cpppo525``, made by ``bench/cpppo525.py`` when missing;
that needs the package index). When it cannot be had, the tests that need it are SKIPPED with
the reason (``pytest -ra``): they never pass without having run.

- :func:`original_python`: its interpreter (or skip).
- :func:`run_original`: run a Python snippet there, with arguments; its stdout.
- :func:`original_json`: the same, its stdout read as JSON.
- :func:`original_server`: the original simulator on a free loopback port.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from helpers import stop_process, unavailable

ROOT = Path(__file__).resolve().parents[3]
BENCH = ROOT / "bench"


def original_python() -> Path:
    """The original cpppo's interpreter, creating its venv once (under a lock) if needed."""
    spec = importlib.util.spec_from_file_location("bench_cpppo525", BENCH / "cpppo525.py")
    assert spec is not None and spec.loader is not None
    cpppo525 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cpppo525)
    try:
        return cpppo525.original_python(timeout=240)
    except cpppo525.Unavailable as exc:
        unavailable(f"cannot install the original cpppo 5.2.5: {exc}")


def run_original(code: str, *args: str, timeout: float = 60.0) -> str:
    """Run ``code`` (a script) with ``args`` in the original's venv; its stdout. The script's
    failure fails the test with its stderr."""
    python = original_python()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(python), "-W", "ignore", "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(BENCH),
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def original_json(code: str, *args: str, timeout: float = 60.0) -> Any:
    """:func:`run_original`'s stdout, read as JSON."""
    return json.loads(run_original(code, *args, timeout=timeout))


@contextlib.contextmanager
def original_server(*tags: str) -> Iterator[tuple[str, int]]:
    """The original simulator serving ``tags`` on a free loopback port: ``(host, port)``."""
    python = original_python()
    process = subprocess.Popen(
        [str(python), "-W", "ignore", "-m", "cpppo.server.enip", "-a", "127.0.0.1:0", "-A", *tags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=str(BENCH),
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    try:
        port = None
        for _ in range(4):
            match = re.search(
                r"TCP Server address = \('([\d.]+)', (\d+)\)", process.stdout.readline()
            )
            if match:
                port = int(match.group(2))
                break
        assert port, "the original simulator did not report its address"
        yield "127.0.0.1", port
    finally:
        stop_process(process, 10)
        process.stdout.close()
