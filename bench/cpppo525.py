"""The original cpppo 5.2.5, the peer the benchmarks and the interop tests measure against.

It lives in its own virtualenv, ``bench/.venv-cpppo525`` (``pip install cpppo==5.2.5
'greenery<3'``), created on first use when allowed (that needs the package index). A file lock
keeps two processes (a bench and a test run, say) from creating it at once.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent / ".venv-cpppo525"
PYTHON = VENV / "bin" / "python"
REQUIREMENTS = ("cpppo==5.2.5", "greenery<3")
_CHECK = "import cpppo.server.enip.main, cpppo.server.enip.thruput"


class Unavailable(Exception):
    """The original cannot be had; the message says why."""


def installed() -> Path | None:
    """The venv's interpreter if cpppo 5.2.5 imports there, else None (nothing is installed)."""
    if not PYTHON.exists():
        return None
    check = subprocess.run([str(PYTHON), "-c", _CHECK], capture_output=True, timeout=60)
    return PYTHON if check.returncode == 0 else None


def original_python(timeout: float = 900.0) -> Path:
    """The venv's interpreter, (re)creating the venv if cpppo 5.2.5 does not import there.

    ``timeout`` bounds each step (venv, pip install). Raises :class:`Unavailable` (with the
    tail of the failing step's stderr) if it cannot be created.
    """
    if (python := installed()) is not None:
        return python
    VENV.parent.mkdir(exist_ok=True)
    with open(VENV.parent / ".venv-cpppo525.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (python := installed()) is not None:  # made by whoever held the lock
            return python
        steps = (
            [sys.executable, "-m", "venv", "--clear", str(VENV)],
            [str(PYTHON), "-m", "pip", "install", "-q", *REQUIREMENTS],
        )
        for step in steps:
            try:
                done = subprocess.run(step, capture_output=True, text=True, timeout=timeout)
            except (OSError, subprocess.SubprocessError) as exc:
                raise Unavailable(str(exc)) from None
            if done.returncode:
                raise Unavailable(done.stderr.strip()[-300:] or f"status {done.returncode}")
    return PYTHON
