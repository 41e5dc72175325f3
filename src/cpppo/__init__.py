"""cpppo: Communication Protocol Python Parser and Originator."""

from .misc import DETAIL, NORMAL, log_cfg, log_setup, timer

__version__ = "6.0.0.dev0"

__all__ = ["DETAIL", "NORMAL", "__version__", "log_cfg", "log_setup", "timer"]
