"""``cpppo.server.enip.getattr``: Get/Set Attribute access and the proxy API (its home is
:mod:`cpppo.server.enip.tools.getattr`).

This documented path re-exports it and keeps ``python -m cpppo.server.enip.getattr`` working.
"""

import sys

from .tools.getattr import (
    CIP_TYPES,
    attribute_operations,
    main,
    parameter,
    proxy,
    proxy_simple,
)

__all__ = [
    "CIP_TYPES",
    "attribute_operations",
    "main",
    "parameter",
    "proxy",
    "proxy_simple",
]

if __name__ == "__main__":
    sys.exit(main())
