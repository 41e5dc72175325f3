"""``cpppo.server.enip.l5x``: Studio 5000 L5X import (its home is
:mod:`cpppo.server.enip.importers.l5x`).

This documented path re-exports it and keeps ``python -m cpppo.server.enip.l5x`` working.
"""

from .importers.l5x import (
    L5XError,
    L5XImport,
    load_l5x,
    parse_literal,
    parse_string_literal,
)

__all__ = [
    "L5XError",
    "L5XImport",
    "load_l5x",
    "parse_literal",
    "parse_string_literal",
]
