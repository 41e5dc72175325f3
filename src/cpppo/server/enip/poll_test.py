"""``cpppo.server.enip.poll_test``: the simulated PowerFlex drive (its home is
:mod:`cpppo.server.enip.examples.poll_test`).

This documented path re-exports it and keeps ``python -m cpppo.server.enip.poll_test`` working.
"""

import sys

from .examples.poll_test import (
    CONFIG_FILE,
    PARAMETER_VALUES,
    DpiParameter,
    add_powerflex,
    main,
)

__all__ = [
    "CONFIG_FILE",
    "PARAMETER_VALUES",
    "DpiParameter",
    "add_powerflex",
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
