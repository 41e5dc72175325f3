"""``cpppo.server.enip.io``: the connector.process example (its home is
:mod:`cpppo.server.enip.tools.io`).

This documented path re-exports it and keeps ``python -m cpppo.server.enip.io`` working.
"""

import sys

from .tools.io import (
    TAGS,
    main,
)

__all__ = [
    "TAGS",
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
