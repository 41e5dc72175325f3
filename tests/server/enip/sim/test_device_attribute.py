"""device.Attribute: typed value store, item access, custom subclasses, thread safety."""

from __future__ import annotations

import sys
import threading

import pytest

from cpppo.server.enip import BOOL, DINT, INT, REAL, SSTRING, UDINT, device
from cpppo.server.enip.sim.attribute import RangeError


def test_scalar_and_array_values():
    scalar = device.Attribute("T", REAL, 1.5)
    assert (len(scalar), scalar.dims, scalar.value, scalar[0]) == (1, (), 1.5, 1.5)
    assert isinstance(scalar.parser, REAL)
    array = device.Attribute("SCADA", INT, [0] * 10)
    assert (len(array), array.dims) == (10, (10,))
    array[2:5] = [7, 8, 9]
    array[9] = -1
    assert array[0:10] == [0, 0, 7, 8, 9, 0, 0, 0, 0, -1]
    assert array.read_bytes(2, 2) == b"\x07\x00\x08\x00"
    grid = device.Attribute("G", DINT, 3, dims=(2, 3))
    assert grid.value == [3] * 6 and grid.type_name() == "DINT[2,3]"
    text = device.Attribute("TEXT", SSTRING, "", dims=(3,))
    text[1] = "hello"
    assert text.value == ["", "hello", ""] and text.read_bytes(0, 3) == b"\x00\x05hello\x00"
    assert str(array).startswith("SCADA") and "INT[10]" in str(array)


def test_validate_key_and_range_errors():
    array = device.Attribute("A", DINT, [0] * 4)
    assert array._validate_key(slice(0, 4)) is slice
    assert array._validate_key(3) is int
    for bad in (4, -1, slice(2, 5), slice(0, 4, 2)):
        with pytest.raises(RangeError):
            array._validate_key(bad)
    with pytest.raises(TypeError):
        array._validate_key("x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        array[0:2] = [1]
    with pytest.raises(ValueError):
        device.Attribute("bad", INT, [1, 2], dims=(3,))


def test_bool_and_read_modify_write():
    flags = device.Attribute("B", BOOL, [False] * 3)
    flags[1] = True
    assert flags.read_bytes(0, 3) == b"\x00\xff\x00"
    word = device.Attribute("W", INT, 0)
    word.modify_bits(0, 0x8001, 0xFFFF)
    assert word[0] == -32767


def test_custom_subclass_is_detected_and_sees_item_access():
    seen = []

    class Logged(device.Attribute):
        def __getitem__(self, key):
            seen.append(("get", key))
            return super().__getitem__(key)

    class Quiet(device.Attribute):
        blocking = False

        def __setitem__(self, key, value):
            super().__setitem__(key, value)

    assert not device.Attribute("x", INT).custom_access
    assert Logged.custom_access and Logged("x", INT).is_blocking
    assert Quiet.custom_access and not Quiet("x", INT).is_blocking
    logged = Logged("T", DINT, [1, 2, 3])
    assert logged[0:2] == [1, 2] and seen == [("get", slice(0, 2))]


def test_concurrent_read_modify_write_is_safe():
    """Each thread toggles its own bit; a lost update would leave some bit set."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    word = device.Attribute("W", UDINT, 0)

    def toggle(bit: int) -> None:
        for _ in range(500):
            word.modify_bits(0, 1 << bit, 0xFFFFFFFF)
            word.modify_bits(0, 0, 0xFFFFFFFF ^ (1 << bit))

    try:
        threads = [threading.Thread(target=toggle, args=(bit,)) for bit in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert word[0] == 0
