"""``cpppo.server.enip.poll``: polling CIP device parameters (its home is
:mod:`cpppo.server.enip.tools.poll`).

This documented path re-exports it and keeps ``python -m cpppo.server.enip.poll`` working.
"""

import sys

from .tools.poll import (
    PARAMS,
    execute,
    main,
    poll,
    run,
)

__all__ = [
    "PARAMS",
    "execute",
    "main",
    "poll",
    "run",
]

if __name__ == "__main__":
    sys.exit(main())
