"""``cpppo.server.enip.historize``: the historizing simulator (its home is
:mod:`cpppo.server.enip.examples.historize`).

This documented path re-exports it and keeps ``python -m cpppo.server.enip.historize`` working.
"""

import sys

from .examples.historize import (
    Attribute_historize,
    historize_class,
    main,
)

__all__ = [
    "Attribute_historize",
    "historize_class",
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
