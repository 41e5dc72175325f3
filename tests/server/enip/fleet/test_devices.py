"""The fleet's devices as DeviceFactory builds them: a tag source loaded once and forked per
device (own values, shared types), identities (distinct default serials, the PowerFlex's own),
forced errors and delays from the fleet file."""

from __future__ import annotations

from pathlib import Path

from cpppo.server.enip.fleet.devices import DeviceFactory
from cpppo.server.enip.fleet.spec import loads_fleet
from cpppo.server.enip.sim.device import IDENTITY_DEFAULTS

PLANT1 = Path(__file__).parents[1] / "importers" / "data" / "Plant1.L5X"


def build(text: str) -> tuple[DeviceFactory, list]:
    factory = DeviceFactory()
    return factory, [factory.device(spec) for spec in loads_fleet(text).devices]


def test_an_l5x_is_loaded_once_and_each_device_keeps_its_own_values() -> None:
    factory, devices = build(
        f"""
[tagsets.plant]
l5x = "{PLANT1}"
[[device]]
kind = "controllogix"
address = "127.0.20.1"
count = 3
tagset = "plant"
"""
    )
    assert factory.loaded == [str(PLANT1)]
    first, second, third = (device.controller for device in devices)
    name = next(tag.name for tag in first.tags if tag.data_type.name == "DINT" and not tag.dims)
    initial = third.tags.read(name)  # the export's value: each fork starts with it
    first.tags.write(name, initial + 41)
    second.tags.write(name, -7)
    assert (first.tags.read(name), second.tags.read(name)) == (initial + 41, -7)
    assert third.tags.read(name) == initial
    assert first.tags.structures == second.tags.structures  # the types are the one load's
    assert [s.name for s in first.tags.symbols()] == [s.name for s in third.tags.symbols()]


def test_serials_default_to_distinct_numbers_and_templates_apply() -> None:
    _, devices = build(
        """
[[device]]
kind = "controllogix"
address = "127.0.20.1"
count = 3
tags = ["X=DINT"]
[[device]]
kind = "controllogix"
address = "127.0.21.1"
count = 2
serial = "0x5000 + n"
"""
    )
    default = IDENTITY_DEFAULTS["serial number"]
    assert [device.serial for device in devices] == [
        default,
        default + 1,
        default + 2,
        0x5000,
        0x5001,
    ]


def test_a_powerflex_has_its_identity_and_parameters_and_a_modbus_device_its_registers() -> None:
    _, (drive, meter) = build(
        """
[[device]]
kind = "powerflex"
address = "127.0.22.1"
[[device]]
kind = "modbus"
address = "127.0.22.2"
port = 5020
registers = ["40001-40004=9"]
"""
    )
    identity = drive.controller.identity
    assert identity.value("product name") == "PowerFlex/20-COMM-E"
    assert drive.controller.route_path is False  # a simple, non-routing device
    assert drive.controller.directory.get(0x93, 1) is not None  # DPI parameter 1
    assert drive.summary()["kind"] == "powerflex"
    assert meter.controller is None and meter.serial is None
    tables = meter.modbus.definitions
    assert [sorted(table.items()) for table in tables.values() if table] == [
        [(0, 9), (1, 9), (2, 9), (3, 9)]
    ]


def test_forced_errors_and_delays_come_from_the_fleet_file() -> None:
    _, (device,) = build(
        """
[[device]]
kind = "controllogix"
address = "127.0.23.1"
tags = ["SCADA=DINT[4]", "OK=DINT"]
errors = { SCADA = 8 }
delay = "0.25-0.5"
disabled = true
"""
    )
    assert device.controller.tags["SCADA"].attribute.error == 8
    assert device.controller.tags["OK"].attribute.error == 0
    assert (device.control.delay.value, device.control.delay.range) == (0.25, (0.25, 0.5))
    assert device.control.disable is True
