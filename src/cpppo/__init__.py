"""cpppo: Communication Protocol Python Parser and Originator."""

from .automata import (
    NonTerminal,
    decide,
    dfa,
    peekable,
    regex,
    regex_bytes,
    state,
    state_drop,
    state_input,
)
from .dotdict import dotdict
from .misc import DETAIL, NORMAL, log_cfg, log_setup, timer

__version__ = "6.0.0.dev0"

__all__ = [
    "DETAIL",
    "NORMAL",
    "NonTerminal",
    "__version__",
    "decide",
    "dfa",
    "dotdict",
    "log_cfg",
    "log_setup",
    "peekable",
    "regex",
    "regex_bytes",
    "state",
    "state_drop",
    "state_input",
    "timer",
]
