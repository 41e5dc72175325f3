"""Root of the tests: being a conftest in a folder without ``__init__.py``, pytest puts this
folder on ``sys.path``, so every test can ``from helpers import ...`` (tests/helpers.py)."""
