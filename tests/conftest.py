"""Root of the tests: being a conftest in a folder without ``__init__.py``, pytest puts this
folder on ``sys.path``, so every test can ``from helpers import ...`` (tests/helpers.py).

It also provides ``shared_data``: the folder of third-party test data (../shared/data next to
the project), which the project does not carry a copy of."""

from pathlib import Path

import pytest

from helpers import unavailable

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; skip the test when it is absent, but fail under CI=true."""
    if not SHARED_DATA.is_dir():
        unavailable("third-party test data not found at ../shared/data")
    return SHARED_DATA
