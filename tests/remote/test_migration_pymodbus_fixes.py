"""Issue 16, item 7: ``cpppo.remote.pymodbus_fixes`` (spec 3.1.2) is gone on purpose.

Importing it raises an ImportError whose message points to docs/modbus.md, which says what
became of each of its classes. (The original 5.2.5's module needs pymodbus 3.8 and pyserial: in
its venv without them, importing it fails too, with a ModuleNotFoundError that says nothing.)
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize(
    "statement",
    [
        "import cpppo.remote.pymodbus_fixes",
        "from cpppo.remote import pymodbus_fixes",
        "from cpppo.remote.pymodbus_fixes import modbus_client_tcp",
    ],
)
def test_import_says_where_to_look(statement):
    done = subprocess.run(
        [sys.executable, "-c", statement], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: cpppo.remote.pymodbus_fixes is gone")
    assert "docs/modbus.md" in last and "docs/migrating.md" in last


def test_import_raises_every_time():
    for _ in range(2):
        with pytest.raises(ImportError, match=r"docs/modbus\.md") as raised:
            importlib.import_module("cpppo.remote.pymodbus_fixes")
        assert raised.value.name == "cpppo.remote.pymodbus_fixes"
        assert "cpppo.remote.pymodbus_fixes" not in sys.modules


def test_the_docs_it_names():
    """docs/modbus.md has the section the message names; docs/migrating.md lists the module."""
    assert "## What became of `cpppo.remote.pymodbus_fixes`" in (DOCS / "modbus.md").read_text()
    assert "cpppo.remote.pymodbus_fixes" in (DOCS / "migrating.md").read_text()
