"""``python -m cpppo.server.enip.poll_test``: a simulated A-B PowerFlex drive (docs/poll.md).

The simulator of ``cpppo.server.enip`` (same options and tags, eg. ``-a :44818 SCADA=INT[100]``)
made to look like a PowerFlex behind its 20-COMM-E adapter:

- Identity product name ``PowerFlex/20-COMM-E`` and the adapter's TCP/IP settings, from
  ``poll_test.cfg`` next to this module (read before any ``-c/--config`` file, so those win);
- the DPI Parameter object (class 0x93): one instance per parameter of
  :data:`~.ab.POWERFLEX_750_PARAMETERS`, attributes 9 (EEPROM) and 10 (RAM) sharing one value,
  readable and writable with Get/Set Attribute Single; the values are :data:`PARAMETER_VALUES`;
- a simple, non-routing device: requests must come without a route path. A routed Unconnected
  Send is answered as a non-routing adapter answers one that names a port it does not have:
  general status 0x01 (connection failure) with extended status 0x0311 (invalid port in the
  route path) -- the Connection Manager's answer when the route path setting is False.

``add_powerflex(controller)`` does the same to any :class:`~.logix.Controller` (tests use it on
an in-process simulator).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from ..codec.types import type_named
from ..main import main as enip_main
from ..main import make_parser
from ..sim.attribute import Attribute
from ..sim.controller import Controller
from ..sim.device import CipObject
from ..tools.ab import (
    DPI_EEPROM_ATTRIBUTE,
    DPI_PARAMETER_CLASS,
    DPI_VALUE_ATTRIBUTE,
    POWERFLEX_750_PARAMETERS,
)

__all__ = [
    "CONFIG_FILE",
    "DESCRIPTION",
    "PARAMETER_VALUES",
    "DpiParameter",
    "add_powerflex",
    "main",
]

#: The PowerFlex's Identity and TCP/IP configuration.
CONFIG_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "poll_test.cfg")

#: Simulated values, by parameter number (the spec's examples show 1, 3, 7, 14 and 300).
PARAMETER_VALUES: Mapping[int, Any] = MappingProxyType(
    {
        1: 456.78,  # Output Frequency, Hz
        3: 789.01,  # Motor Velocity (Mtr Vel Fdbk), RPM
        7: 123.45,  # Output Current, Amps
        8: 230.4,  # Output Voltage, VAC
        9: 27.5,  # Output Power, kW
        11: 0.08,  # DC Bus Volts
        13: 0.98765,  # Elapsed MWh
        14: 987.65,  # Elapsed kWh
        15: 1234.5,  # Elapsed Run Time, Hrs
        20: 480.0,  # Rated Volts
        21: 42.0,  # Rated Amps
        22: 30.0,  # Rated kW
        140: 567,  # Accel Time 1, Secs
        300: 1,  # Speed Units: RPM
    }
)


class DpiParameter(CipObject):
    """One DPI Parameter object instance (class 0x93): the parameter numbered ``instance_id``.

    Attributes 9 and 10 are the same :class:`Attribute`: a write to either is seen at both.
    """

    class_id = DPI_PARAMETER_CLASS
    class_name = "DPI Parameter"

    def __init__(self, instance_id: int, name: str, value: Attribute) -> None:
        super().__init__(instance_id, name)
        self.add_attribute(DPI_EEPROM_ATTRIBUTE, value, settable=True)
        self.add_attribute(DPI_VALUE_ATTRIBUTE, value, settable=True)


def add_powerflex(controller: Controller, values: Mapping[int, Any] | None = None) -> Controller:
    """Make ``controller`` a simulated PowerFlex: add the DPI parameters (``values`` by parameter
    number, default :data:`PARAMETER_VALUES`) and accept no route path. Returns it."""
    values = PARAMETER_VALUES if values is None else values
    numbers: dict[int, tuple[str, str]] = {}
    for name, (number, typ, _units) in POWERFLEX_750_PARAMETERS.items():
        numbers.setdefault(number, (name, typ))
    for number, (name, typ) in sorted(numbers.items()):
        title = name.replace("_", " ").title()
        default = values.get(number, 0)
        attribute = Attribute(title, type_named(typ), default, dims=())
        controller.directory.add(DpiParameter(number, title, attribute))
    controller.router.set_object_list(controller.directory.classes())
    controller.route_path = False
    return controller


DESCRIPTION = (
    "Simulate an A-B PowerFlex 750 series drive behind its 20-COMM-E adapter (EtherNet/IP "
    "CIP): the DPI Parameter object (class 0x93) with the drive's parameters (Output Frequency, "
    "Motor Velocity, Output Current, ...), readable and writable with Get/Set Attribute Single; "
    "a simple, non-routing device (send requests with no route path: poll -S, getattr -S). "
    "Poll it with python -m cpppo.server.enip.poll_example. The options and any tags are the "
    "simulator's (python -m cpppo.server.enip)."
)


def main(argv: Sequence[str] | None = None, **kwds: Any) -> int:
    """Run the simulated PowerFlex; options and tags as for ``python -m cpppo.server.enip``."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser("python -m cpppo.server.enip.poll_test", DESCRIPTION)
    return enip_main(["-c", CONFIG_FILE, *args], setup=add_powerflex, parser=parser, **kwds)


if __name__ == "__main__":
    sys.exit(main())
