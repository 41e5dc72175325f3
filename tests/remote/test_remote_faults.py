"""Fault specs and frame mangling (sans-IO)."""

from __future__ import annotations

import pytest

from cpppo.remote.faults import Fault, FaultInjector, corrupt, parse_fault, truncate

#: Read Holding Registers reply (tid 7, unit 1, 2 registers 0x0063 0x0001), Modbus/TCP.
TCP_REPLY = bytes.fromhex("0007 0000 0007 01 03 04 0063 0001")
#: The same reply on Modbus/RTU (unit 1), CRC included.
RTU_REPLY = bytes.fromhex("01 03 04 0063 0001 CBED")


@pytest.mark.parametrize(
    "text, fault",
    [
        ("delay:0.5", Fault("delay", delay=(0.5, 0.5))),
        ("delay:0.1-0.3@0.5", Fault("delay", 0.5, delay=(0.1, 0.3))),
        ("drop", Fault("drop")),
        ("DROP@0.25", Fault("drop", 0.25)),
        ("truncate", Fault("truncate")),
        ("truncate:3", Fault("truncate", keep=3)),
        ("corrupt", Fault("corrupt", field="data")),
        ("corrupt:unit@1", Fault("corrupt", field="unit")),
    ],
)
def test_parse_fault(text, fault):
    assert parse_fault(text) == fault
    assert parse_fault(str(fault)) == fault


@pytest.mark.parametrize(
    "text",
    [
        "slow",
        "delay",
        "delay:x",
        "delay:2-1",
        "delay:-1",
        "drop:3",
        "drop@2",
        "drop@x",
        "truncate:-1",
        "truncate:a",
        "corrupt:nothing",
        "",
    ],
)
def test_parse_fault_errors(text):
    with pytest.raises(ValueError) as info:
        parse_fault(text)
    assert "\n" not in str(info.value)


def test_truncate_keeps_a_prefix_never_the_whole_frame():
    assert truncate(TCP_REPLY, None) == TCP_REPLY[:6]
    assert truncate(TCP_REPLY, 3) == TCP_REPLY[:3]
    assert truncate(TCP_REPLY, 100) == TCP_REPLY[:-1]
    assert truncate(TCP_REPLY, 0) == b""


@pytest.mark.parametrize(
    "field, damaged",
    [
        ("transaction", "fff8 0000 0007 01 03 04 0063 0001"),
        ("protocol", "0007 ffff 0007 01 03 04 0063 0001"),
        ("length", "0007 0000 fff8 01 03 04 0063 0001"),
        ("unit", "0007 0000 0007 fe 03 04 0063 0001"),
        ("function", "0007 0000 0007 01 fc 04 0063 0001"),
        ("data", "0007 0000 0007 01 03 fb 0063 0001"),
    ],
)
def test_corrupt_tcp_fields(field, damaged):
    assert corrupt(TCP_REPLY, field, rtu=False) == bytes.fromhex(damaged)


@pytest.mark.parametrize(
    "field, damaged",
    [
        ("unit", "fe 03 04 0063 0001 CBED"),
        ("function", "01 fc 04 0063 0001 CBED"),
        ("data", "01 03 fb 0063 0001 CBED"),
        ("crc", "01 03 04 0063 0001 3412"),
    ],
)
def test_corrupt_rtu_fields_leave_a_bad_crc(field, damaged):
    from pymodbus.framer import FramerRTU

    result = corrupt(RTU_REPLY, field, rtu=True)
    assert result == bytes.fromhex(damaged)
    assert FramerRTU.check_CRC(RTU_REPLY[:-2], int.from_bytes(RTU_REPLY[-2:], "big"))
    assert not FramerRTU.check_CRC(result[:-2], int.from_bytes(result[-2:], "big"))


def test_corrupt_rejects_fields_the_framing_lacks():
    with pytest.raises(ValueError):
        corrupt(TCP_REPLY, "crc", rtu=False)
    with pytest.raises(ValueError):
        corrupt(RTU_REPLY, "transaction", rtu=True)
    with pytest.raises(ValueError, match="no crc field"):
        FaultInjector(["corrupt:crc"]).check(rtu=False)
    FaultInjector(["corrupt:crc"]).check(rtu=True)


def test_injector_decisions():
    assert not FaultInjector()
    assert FaultInjector().decide().delay == 0.0
    both = FaultInjector(["delay:0.25", "drop"])
    decision = both.decide()
    assert decision.delay == 0.25 and decision.drop
    assert FaultInjector.mangle(decision, TCP_REPLY, rtu=False) is None
    ranged = FaultInjector(["delay:0.1-0.2"], seed=1)
    delays = [ranged.decide().delay for _ in range(200)]
    assert all(0.1 <= d <= 0.2 for d in delays) and len(set(delays)) > 100
    mangled = FaultInjector(["corrupt:unit", "truncate:8"])
    assert FaultInjector.mangle(mangled.decide(), TCP_REPLY, rtu=False) == bytes.fromhex(
        "0007 0000 0007 fe 03"
    )


def test_injector_probability_is_a_fraction_of_replies():
    injector = FaultInjector(["drop@0.25"], seed=42)
    drops = sum(injector.decide().drop for _ in range(4000))
    assert 800 < drops < 1200
    never = FaultInjector(["drop@0"], seed=1)
    assert not any(never.decide().drop for _ in range(100))
