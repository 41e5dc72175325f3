"""``cpppo.server.enip.get_attribute``: the original module name of :mod:`.getattr` (same API)."""

import sys

from .tools.getattr import (
    CIP_TYPES,
    attribute_operations,
    convert,
    main,
    parameter,
    proxy,
    proxy_simple,
)

__all__ = [
    "CIP_TYPES",
    "attribute_operations",
    "convert",
    "main",
    "parameter",
    "proxy",
    "proxy_simple",
]

if __name__ == "__main__":
    sys.exit(main())
