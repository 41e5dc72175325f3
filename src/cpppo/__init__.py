"""cpppo: Communication Protocol Python Parser and Originator."""

__version__ = "6.0.0.dev0"
