"""The Modbus address map, register specs, merging and splitting (no I/O, no pymodbus)."""

from __future__ import annotations

import time

import pytest

from cpppo.remote.addresses import (
    COILS,
    DISCRETE_INPUTS,
    HOLDING_REGISTERS,
    INPUT_REGISTERS,
    RegisterSpec,
    address_of,
    is_serial,
    locate,
    merge,
    parse_host_port,
    parse_spec,
    register_definitions,
    runs,
    shatter,
)


@pytest.mark.parametrize(
    "address, table, offset",
    [
        (1, COILS, 0),
        (9999, COILS, 9998),
        (10001, DISCRETE_INPUTS, 0),
        (19999, DISCRETE_INPUTS, 9998),
        (100001, DISCRETE_INPUTS, 0),
        (165536, DISCRETE_INPUTS, 65535),
        (30001, INPUT_REGISTERS, 0),
        (39999, INPUT_REGISTERS, 9998),
        (300001, INPUT_REGISTERS, 0),
        (365536, INPUT_REGISTERS, 65535),
        (40001, HOLDING_REGISTERS, 0),
        (99999, HOLDING_REGISTERS, 59998),
        (400001, HOLDING_REGISTERS, 0),
        (465536, HOLDING_REGISTERS, 65535),
    ],
)
def test_locate_follows_the_spec_table(address, table, offset):
    assert locate(address) == (table, offset)


@pytest.mark.parametrize(
    "address", [0, 10000, 20001, 29999, 30000, 100000, 165537, 299999, 365537, 465537, -1, True]
)
def test_locate_rejects_addresses_outside_every_table(address):
    with pytest.raises(ValueError, match="not a Modbus address"):
        locate(address)


def test_address_of_prefers_the_five_digit_form():
    assert address_of(HOLDING_REGISTERS, 0) == 40001
    assert address_of(HOLDING_REGISTERS, 59998) == 99999
    assert address_of(HOLDING_REGISTERS, 59999) == 460000
    assert address_of(DISCRETE_INPUTS, 65535) == 165536
    assert address_of(COILS, 9998) == 9999
    assert address_of(COILS, 9999) is None  # coils have no 6-digit range


def test_table_permissions_and_limits():
    assert COILS.writable and HOLDING_REGISTERS.writable
    assert not DISCRETE_INPUTS.writable and not INPUT_REGISTERS.writable
    assert (COILS.max_read, COILS.max_write) == (2000, 1968)
    assert (HOLDING_REGISTERS.max_read, HOLDING_REGISTERS.max_write) == (125, 123)
    assert [t.read_fc for t in (COILS, DISCRETE_INPUTS, HOLDING_REGISTERS, INPUT_REGISTERS)] == [
        1,
        2,
        3,
        4,
    ]


def test_check_value():
    assert HOLDING_REGISTERS.check_value(65535) == 65535
    assert HOLDING_REGISTERS.check_value(-1) == 0xFFFF
    assert COILS.check_value(1) is True and COILS.check_value(0) is False
    for table, bad in ((HOLDING_REGISTERS, 65536), (HOLDING_REGISTERS, -32769), (COILS, 2)):
        with pytest.raises(ValueError):
            table.check_value(bad)
    with pytest.raises(ValueError, match="not an integer"):
        HOLDING_REGISTERS.check_value(1.5)


@pytest.mark.parametrize(
    "text, begin, end, values",
    [
        ("40001", 40001, 40001, None),
        ("40001-40100", 40001, 40100, None),
        ("40001=5", 40001, 40001, (5,)),
        ("40001=1,2,3", 40001, 40003, (1, 2, 3)),
        ("40001-40005=1,2", 40001, 40005, (1, 2, 1, 2, 1)),
        ("40001-40003=0x10", 40001, 40003, (16, 16, 16)),
        ("00001-00003=1,0", 1, 3, (True, False, True)),
        ("400001=-1", 400001, 400001, (65535,)),
    ],
)
def test_parse_spec(text, begin, end, values):
    spec = parse_spec(text)
    assert (spec.begin, spec.end, spec.values) == (begin, end, values)
    assert len(spec) == end - begin + 1


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "is not"),
        ("abc", "not an integer"),
        ("40001-", "not"),
        ("=5", "is not"),
        ("40010-40001", "before begin"),
        ("39999-40001", "leaves the input registers range"),
        ("99999=1,2", "leaves the holding registers range"),
        ("40001-40002=1,2,3", "3 values for 2 addresses"),
        ("40001=", "no values"),
        ("40001=70000", "outside"),
        ("1=2", "not 0 or 1"),
        ("20001", "not a Modbus address"),
        ("40001=x", "not an integer"),
    ],
)
def test_parse_spec_errors_are_one_clear_line(text, reason):
    with pytest.raises(ValueError, match=reason) as info:
        parse_spec(text)
    assert "\n" not in str(info.value)


def test_register_definitions_later_specs_override_earlier():
    tables = register_definitions(["40001-40100=99", "40001-40005=1,2", "40100"])
    hr = tables[HOLDING_REGISTERS]
    assert [hr[i] for i in range(7)] == [1, 2, 1, 2, 1, 99, 99]
    assert len(hr) == 100 and hr[99] == 99  # a spec without values keeps an earlier value
    tables = register_definitions(["400001=5", "40001=6", "1-2", "10001=1"])
    assert tables[HOLDING_REGISTERS] == {0: 6}  # 40001 and 400001 are the same register
    assert tables[COILS] == {0: False, 1: False}
    assert tables[DISCRETE_INPUTS] == {0: True}


def test_sparse_definitions_cost_what_is_used():
    tables = register_definitions(["40001=1", "465536=2", "1=1", "165536=1"])
    assert tables[HOLDING_REGISTERS] == {0: 1, 65535: 2}
    assert list(runs(tables[HOLDING_REGISTERS])) == [(0, [1]), (65535, [2])]
    sparse = {offset: offset for offset in range(0, 65536, 7)}
    started = time.perf_counter()
    blocks = merge(sparse, reach=0, limit=125)
    assert len(blocks) == len(sparse)  # reach 0: nothing between polled offsets is read
    assert time.perf_counter() - started < 1.0


def test_runs():
    assert list(runs({5: 1, 3: 2, 4: 3, 9: 4})) == [(3, [2, 3, 1]), (9, [4])]
    assert list(runs({})) == []


def test_merge_respects_reach_and_limit():
    assert merge([0, 1, 2, 10], reach=7, limit=125) == [(0, 11)]
    assert merge([0, 1, 2, 10], reach=6, limit=125) == [(0, 3), (10, 1)]
    assert merge(range(300), reach=100, limit=125) == [(0, 125), (125, 125), (250, 50)]
    assert merge([], reach=100, limit=125) == []
    assert merge([5, 5, 3], reach=0, limit=125) == [(3, 1), (5, 1)]
    assert merge(range(0, 5000), reach=100, limit=2000) == [(0, 2000), (2000, 2000), (4000, 1000)]


def test_shatter_splits_writes_at_the_limit():
    assert shatter(10, list(range(300)), 123) == [
        (10, list(range(123))),
        (133, list(range(123, 246))),
        (256, list(range(246, 300))),
    ]
    assert shatter(0, [True] * 1968, 1968) == [(0, [True] * 1968)]


def test_register_spec_str_roundtrip():
    assert str(parse_spec("40001-40003=1,2")) == "40001-40003=1,2,1"
    assert str(RegisterSpec(40001, 40001)) == "40001"


def test_addresses_and_serial_devices():
    assert parse_host_port(":1502") == ("", 1502)
    assert parse_host_port("localhost") == ("localhost", 502)
    assert parse_host_port("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_host_port("[::1]:1502") == ("::1", 1502)
    for bad in ("host:port", "host:70000", "[::1"):
        with pytest.raises(ValueError):
            parse_host_port(bad)
    assert is_serial("/dev/ttyUSB0") and is_serial("COM3") and is_serial("loop://")
    assert not is_serial(":1502") and not is_serial("localhost:502")
