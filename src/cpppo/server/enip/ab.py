"""``cpppo.server.enip.ab``: Allen-Bradley device proxies (PowerFlex) (its home is
:mod:`cpppo.server.enip.tools.ab`).

This documented path re-exports it and keeps ``python -m cpppo.server.enip.ab`` working.
"""

from .tools.ab import (
    DPI_EEPROM_ATTRIBUTE,
    DPI_PARAMETER_CLASS,
    DPI_VALUE_ATTRIBUTE,
    POWERFLEX_750_PARAMETERS,
    ParameterNameError,
    dpi_parameter,
    powerflex,
    powerflex_750_series,
)

__all__ = [
    "DPI_EEPROM_ATTRIBUTE",
    "DPI_PARAMETER_CLASS",
    "DPI_VALUE_ATTRIBUTE",
    "POWERFLEX_750_PARAMETERS",
    "ParameterNameError",
    "dpi_parameter",
    "powerflex",
    "powerflex_750_series",
]
