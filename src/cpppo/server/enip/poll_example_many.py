"""``cpppo.server.enip.poll_example_many``: the multi-rate PowerFlex polling example (its home is
:mod:`cpppo.server.enip.examples.poll_example_many`).

This documented path re-exports it and keeps ``python -m cpppo.server.enip.poll_example_many``
working.
"""

import sys

from .examples.poll_example_many import (
    main,
)

__all__ = [
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
