"""Allen-Bradley devices reached through simple (non-routing) CIP proxies (docs/poll.md).

``powerflex``: a PowerFlex AC drive behind its EtherNet/IP adapter (eg. 20-COMM-E). It routes
nothing (no route path, no send path) and offers Get/Set Attribute Single on the DPI Parameter
object: class 0x93, instance = parameter number, attribute 10 = the value in RAM (attribute 9
writes the EEPROM copy).

``powerflex_750_series``: a ``powerflex`` whose ``PARAMETERS`` name the 750 series' parameters,
so ``via.read(["Motor Velocity", "Output Current"])`` works. Names are looked up forgivingly
(:mod:`~.parameter_names`): any case or spacing, abbreviated words when unambiguous (``"Output
Freq"``, ``"Elapsed kWh"``); an unknown name raises a ParameterNameError naming near matches.

>>> via = powerflex_750_series(host="127.0.0.1", port=44818, timeout=1.0)  # doctest: +SKIP
>>> velocity, current = via.read(["Motor Velocity", "Output Current"])     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .getattr import parameter, proxy_simple
from .parameter_names import ParameterNameError

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

#: The DPI Parameter object: one instance per drive parameter (instance = parameter number).
DPI_PARAMETER_CLASS = 0x93
#: Attribute 10 is the parameter's value in RAM; attribute 9 the same value, written to EEPROM.
DPI_VALUE_ATTRIBUTE = 10
DPI_EEPROM_ATTRIBUTE = 9

#: PowerFlex 750 series parameters: name -> (parameter number, CIP type, units).
#: Both ``output_freq`` and ``output_frequency`` (and ``mtr_vel_fdbk``/``motor_velocity``) are
#: kept, as the original tables name them. Speed Units: 0 = Hz, 1 = RPM.
POWERFLEX_750_PARAMETERS: Mapping[str, tuple[int, str, str]] = MappingProxyType(
    {
        "output_frequency": (1, "REAL", "Hz"),
        "output_freq": (1, "REAL", "Hz"),
        "mtr_vel_fdbk": (3, "REAL", "Hz/RPM"),
        "motor_velocity": (3, "REAL", "Hz/RPM"),
        "output_current": (7, "REAL", "Amps"),
        "output_voltage": (8, "REAL", "VAC"),
        "output_power": (9, "REAL", "kW"),
        "dc_bus_volts": (11, "REAL", "VDC"),
        "elapsed_mwh": (13, "REAL", "MWh"),
        "elapsed_kwh": (14, "REAL", "kWh"),
        "elapsed_run_time": (15, "REAL", "Hrs"),
        "rated_volts": (20, "REAL", "VAC"),
        "rated_amps": (21, "REAL", "Amps"),
        "rated_kw": (22, "REAL", "kW"),
        "accel_time_1": (140, "INT", "Secs"),
        "speed_units": (300, "DINT", "Hz/RPM"),
    }
)


def dpi_parameter(
    number: int, types: Any, units: str | None = None, attribute: int = DPI_VALUE_ATTRIBUTE
) -> parameter:
    """The ``parameter`` for DPI parameter ``number`` (``@0x93/<number>/10``)."""
    if not 0 < number <= 0xFFFF:
        raise ValueError(f"DPI parameter number {number} out of range 1-65535")
    return parameter(f"@0x{DPI_PARAMETER_CLASS:02X}/{number}/{attribute}", types, units)


class powerflex(proxy_simple):
    """An A-B PowerFlex drive: a simple (non-routing) CIP device."""


class powerflex_750_series(powerflex):
    """The PowerFlex 750 series AC drives' parameters (see ``POWERFLEX_750_PARAMETERS``)."""

    PARAMETERS = MappingProxyType(
        dict(
            powerflex.PARAMETERS,
            **{
                name: dpi_parameter(number, typ, units)
                for name, (number, typ, units) in POWERFLEX_750_PARAMETERS.items()
            },
        )
    )
