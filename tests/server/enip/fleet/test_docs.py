"""docs/fleet.md's fleet files load and build, as a user copying them would run them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cpppo.server.enip.fleet.devices import DeviceFactory
from cpppo.server.enip.fleet.spec import loads_fleet

DOC = Path(__file__).resolve().parents[4] / "docs" / "fleet.md"
EXAMPLES = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_page_has_its_examples() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("text", EXAMPLES, ids=[f"example-{n}" for n in range(len(EXAMPLES))])
def test_each_example_loads_and_builds(text: str) -> None:
    spec = loads_fleet(text, path=str(DOC))
    assert spec.devices
    factory = DeviceFactory()
    devices = [factory.device(device) for device in spec.devices]
    assert len({device.key for device in devices}) == len(devices)
    assert all(device.controller is not None or device.modbus is not None for device in devices)
