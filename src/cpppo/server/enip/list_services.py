"""``cpppo.server.enip.list_services``: List Services / List Identity of a device (its home is
:mod:`cpppo.server.enip.tools.list_services`).

This documented path re-exports it and keeps ``python -m cpppo.server.enip.list_services``
working.
"""

import sys

from .tools.list_services import (
    main,
)

__all__ = [
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
