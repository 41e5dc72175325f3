"""``python -m cpppo.server.enip.client``: the ``enip_client`` command line."""

import sys

from .cli import main

sys.exit(main())
