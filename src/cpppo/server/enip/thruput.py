"""``cpppo.server.enip.thruput``: tag I/O thruput measurement (its home is
:mod:`cpppo.server.enip.tools.thruput`).

This documented path re-exports it and keeps ``python -m cpppo.server.enip.thruput`` working.
"""

import sys

from .tools.thruput import (
    main,
)

__all__ = [
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
