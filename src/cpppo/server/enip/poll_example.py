"""``cpppo.server.enip.poll_example``: the PowerFlex polling example (its home is
:mod:`cpppo.server.enip.examples.poll_example`).

This documented path re-exports it and keeps ``python -m cpppo.server.enip.poll_example``
working.
"""

import sys

from .examples.poll_example import (
    arguments,
    collector,
    main,
    report,
)

__all__ = [
    "arguments",
    "collector",
    "main",
    "report",
]

if __name__ == "__main__":
    sys.exit(main())
