"""``python -m cpppo.server.enip``: the ControlLogix simulator (see :mod:`.main`)."""

import sys

from .main import main

sys.exit(main())
