"""Every module path the documentation names works: the ``python -m cpppo...`` commands and the
``import cpppo...`` / ``from cpppo... import name`` lines of docs/*.md, README.md and the spec
(../shared/spec/cpppo-readme.txt).

The paths are found by regular expression when the tests are collected, so a page or a line
added to the docs is covered without touching this file. Each path is its own test:

- ``import M`` imports; ``from M import N`` runs as written and gives N;
- ``python -m M --help`` exits 0 within :data:`TIMEOUT` seconds and prints a usage text, except
  the modules of :data:`RUN_WITH`, which take no options and are run as their docs show them,
  against a closed loopback port for one second.

No path is left out silently: one that cannot be checked goes in :data:`UNCHECKED` with the
reason, and a test fails when an entry of either table no longer appears in the docs.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from helpers import unavailable

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT.parent / "shared" / "spec" / "cpppo-readme.txt"
TIMEOUT = 60.0

RUN = re.compile(r"-m\s+(cpppo(?:\.\w+)*)")
IMPORT = re.compile(r"\bimport\s+(cpppo(?:\.\w+)*)")
FROM = re.compile(r"\bfrom\s+(cpppo(?:\.\w+)*)\s+import\s+(\([^)]*\)|[^\n#`]*)")
NAME = re.compile(r"\s*([A-Za-z_]\w*|\*)(?:\s+as\s+\w+)?\s*$")

#: ``python -m`` modules with no --help: the arguments they run with instead ("{closed}" is a
#: loopback address where nothing listens), and why.
RUN_WITH: dict[str, tuple[tuple[str, ...], str]] = {
    "cpppo.server.enip.poll_example": (
        ("{closed}", "1"),
        "takes [host[:port] [seconds]] only; polls a closed port for 1 s, printing the failures",
    ),
    "cpppo.server.enip.poll_example_many": (
        ("{closed}", "1"),
        "takes [host[:port] [seconds]] only; polls a closed port for 1 s, printing the failures",
    ),
}

#: Documented paths that cannot be checked here: path -> reason. Empty: every path is checked.
UNCHECKED: dict[str, str] = {}


def documents() -> list[Path]:
    """The pages whose paths are checked (the spec when ../shared is beside the project)."""
    pages = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    return pages + ([SPEC] if SPEC.is_file() else [])


def imported_names(clause: str) -> list[str]:
    """The names of a ``from M import <clause>`` (parentheses, comments, ``as`` aliases and
    trailing prose dropped: the list stops at the first item that is not a name)."""
    names = []
    for item in re.sub(r"#.*", "", clause).strip().strip("()").split(","):
        if not item.strip():
            continue
        match = NAME.match(item)
        if match is None:
            break
        names.append(match.group(1))
    return names


def documented_paths() -> dict[str, list[str]]:
    """Each documented path, as the statement that checks it ("python -m M", "import M",
    "from M import N"), -> the places (page:line) that name it."""
    found: dict[str, list[str]] = defaultdict(list)
    for page in documents():
        shown = page.name if page == SPEC else str(page.relative_to(ROOT))
        for number, line in enumerate(page.read_text().splitlines(), 1):
            where = f"{shown}:{number}"
            for module in RUN.findall(line):
                found[f"python -m {module}"].append(where)
            for module in IMPORT.findall(line):
                found[f"import {module}"].append(where)
        text = page.read_text()
        for match in FROM.finditer(text):
            where = f"{shown}:{text.count(chr(10), 0, match.start()) + 1}"
            for name in imported_names(match.group(2)):
                found[f"from {match.group(1)} import {name}"].append(where)
    return dict(sorted(found.items()))


PATHS = documented_paths()
CHECKED = [path for path in PATHS if path not in UNCHECKED]


def test_the_docs_name_paths():
    """The extraction works: the spec's and the docs' best-known paths are among those found."""
    assert "python -m cpppo.server.enip" in PATHS
    assert "from cpppo.server.enip import client" in PATHS
    assert "python -m cpppo.history" in PATHS


def test_the_spec_is_read():
    if not SPEC.is_file():
        unavailable(f"the spec is not at {SPEC}: its paths are not checked")
    assert any(where.startswith(f"{SPEC.name}:") for places in PATHS.values() for where in places)


def test_the_tables_are_current():
    """Every module of RUN_WITH and every path of UNCHECKED is still documented."""
    stale = [f"python -m {module}" for module in RUN_WITH if f"python -m {module}" not in PATHS]
    stale += [path for path in UNCHECKED if path not in PATHS]
    assert not stale, f"no longer in the docs: {stale}"


def test_imported_names():
    assert imported_names("timestamp # requires") == ["timestamp"]
    assert imported_names("device, REAL") == ["device", "REAL"]
    assert imported_names("(\n    WebServer,\n    make_app as app,\n)") == ["WebServer", "make_app"]
    assert imported_names("proxy_simple and then prose") == []


def closed_address() -> str:
    """A loopback host:port where nothing listened a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize("path", CHECKED)
def test_documented_path(path):
    where = ", ".join(PATHS[path])
    kind, _, rest = path.partition(" ")
    if kind in ("import", "from"):
        try:
            exec(path, {})  # exactly the documented statement
        except Exception as exc:
            pytest.fail(f"{path!r} (documented at {where}) fails: {exc!r}")
        return
    module = rest.removeprefix("-m ")
    if module in RUN_WITH:
        argv = [arg.format(closed=closed_address()) for arg in RUN_WITH[module][0]]
    else:
        argv = ["--help"]
    try:
        done = subprocess.run(
            [sys.executable, "-m", module, *argv],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"python -m {module} {' '.join(argv)} (at {where}) ran over {TIMEOUT}s")
    assert done.returncode == 0, (
        f"python -m {module} {' '.join(argv)} (documented at {where}) exited "
        f"{done.returncode}:\n{done.stderr[-2000:]}"
    )
    if argv == ["--help"]:
        assert "usage" in done.stdout.lower(), f"python -m {module} --help printed no usage"
