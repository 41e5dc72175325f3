"""The fleet file parser: expansion of ranges and templates, shared tag sources, and one-line
errors naming the entry for every kind of bad input."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cpppo.server.enip import main
from cpppo.server.enip.fleet.expr import ExprError, IntExpr, TextTemplate
from cpppo.server.enip.fleet.identity import IDENTITY_INTS
from cpppo.server.enip.fleet.spec import (
    DEFAULT_PORT,
    FleetError,
    TagSource,
    load_fleet,
    loads_fleet,
)


def fleet(text: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return loads_fleet(textwrap.dedent(text), path="fleet.toml", **kwargs)  # type: ignore[arg-type]


def test_count_expands_consecutive_addresses_names_and_serials() -> None:
    spec = fleet(
        """
        [[device]]
        kind = "controllogix"
        name = "plc-{n:03d}"
        address = "127.0.1.254"
        count = 4
        serial = "0x1000 + n"
        [device.identity]
        "Product_Name" = "1756-L61/B LOGIX5561 #{n}"
        vendor-number = 1
        "product code number" = "50 + i % 2"
        "product revision" = "20.11"
        """
    )
    assert [d.host for d in spec.devices] == [
        "127.0.1.254",
        "127.0.1.255",
        "127.0.2.0",
        "127.0.2.1",
    ]
    assert [d.port for d in spec.devices] == [DEFAULT_PORT] * 4
    assert [d.name for d in spec.devices] == ["plc-000", "plc-001", "plc-002", "plc-003"]
    assert [d.index for d in spec.devices] == [0, 1, 2, 3]
    last = spec.devices[3]
    assert dict(last.identity) == {
        "serial number": 0x1003,
        "product name": "1756-L61/B LOGIX5561 #3",
        "vendor number": 1,
        "product code number": 51,
        "product revision": 20 | 11 << 8,
    }
    assert last.kind == "controllogix" and last.source == TagSource(tags=main.DEMO_TAGS)
    assert last.delay is None and last.disabled is False and dict(last.errors) == {}
    assert spec.web is None and spec.path == "fleet.toml"


def test_address_range_port_range_and_defaults() -> None:
    spec = fleet(
        """
        [fleet]
        port = 2222
        web = "127.0.0.1:8080"

        [[device]]
        kind = "powerflex"
        address = "127.0.1.1-127.0.1.3"
        count = 3
        delay = "0.1-0.5"
        disabled = true
        errors = { SCADA = 8 }

        [[device]]
        kind = "modbus"
        name = "rtu-{i}"
        address = "127.0.3.1"
        port = "5020-5021"
        registers = ["40001-40100=0", "1-16=1,0"]
        units = [1, 2]

        [[device]]
        kind = "controllogix"
        address = "::1"
        count = 2
        [[device]]
        kind = "controllogix"
        address = "localhost"
        port = 44818
        """
    )
    assert spec.web == "127.0.0.1:8080"
    hosts = [(d.name, d.host, d.port) for d in spec.devices]
    assert hosts == [
        ("powerflex-0", "127.0.1.1", 2222),
        ("powerflex-1", "127.0.1.2", 2222),
        ("powerflex-2", "127.0.1.3", 2222),
        ("rtu-3", "127.0.3.1", 5020),
        ("rtu-4", "127.0.3.1", 5021),
        ("controllogix-5", "::1", 2222),
        ("controllogix-6", "::2", 2222),
        ("controllogix-7", "localhost", 44818),
    ]
    flex = spec.devices[0]
    assert flex.source == TagSource() and flex.delay == "0.1-0.5" and flex.disabled
    assert dict(flex.errors) == {"SCADA": 8}
    rtu = spec.devices[4]
    assert rtu.registers == ("40001-40100=0", "1-16=1,0") and rtu.units == (1, 2)
    assert rtu.source == TagSource() and dict(rtu.identity) == {}
    assert spec.devices[5].endpoint == "[::1]:2222"


def test_port_argument_overrides_the_default_port_only() -> None:
    text = """
        [fleet]
        port = 2222
        [[device]]
        kind = "controllogix"
        address = "127.0.1.1"
        [[device]]
        kind = "controllogix"
        address = "127.0.1.2"
        port = 3333
        """
    assert [d.port for d in fleet(text, port=4444).devices] == [4444, 3333]


def test_shared_tag_sources(tmp_path: Path) -> None:
    (tmp_path / "project.L5X").write_text("<RSLogix5000Content/>")
    (tmp_path / "tags.json").write_text("{}")
    path = tmp_path / "fleet.toml"
    path.write_text(
        textwrap.dedent(
            """
            [tagsets.line]
            tags = ["SCADA=DINT[1000]", "TEXT=SSTRING[100]"]
            [tagsets.plain]
            tags = ["COUNT"]  # no type: INT, as the CLI takes it
            [tagsets.project]
            l5x = "project.L5X"

            [[device]]
            kind = "controllogix"
            address = "127.0.1.1"
            count = 2
            tagset = "line"
            [[device]]
            kind = "controllogix"
            address = "127.0.2.1"
            tagset = "line"
            [[device]]
            kind = "controllogix"
            address = "127.0.3.1"
            tags = ["SCADA=DINT[1000]", "TEXT=SSTRING[100]"]
            [[device]]
            kind = "controllogix"
            address = "127.0.4.1"
            l5x = "project.L5X"
            [[device]]
            kind = "powerflex"
            address = "127.0.5.1"
            tag_db = "tags.json"
            [[device]]
            kind = "controllogix"
            address = "127.0.6.1"
            tagset = "project"
            """
        )
    )
    spec = load_fleet(path)
    line = spec.devices[0].source
    assert line == TagSource(tags=("SCADA=DINT[1000]", "TEXT=SSTRING[100]"))
    assert all(d.source is line for d in spec.devices[:4])  # equal inline tags: the same object
    assert len({d.source for d in spec.devices}) == 3  # hashable: line, the L5X, the JSON
    assert spec.devices[4].source == TagSource(l5x=str(tmp_path / "project.L5X"))
    assert spec.devices[4].source is spec.devices[6].source
    assert spec.devices[5].source == TagSource(tag_db=str(tmp_path / "tags.json"))
    assert spec.path == str(path)


def test_ten_thousand_devices() -> None:
    spec = fleet(
        """
        [[device]]
        kind = "controllogix"
        address = "127.0.1.1"
        count = 10000
        serial = "i"
        """
    )
    assert len(spec.devices) == 10000
    assert (
        spec.devices[-1].host == "127.0.40.16"
        and spec.devices[-1].identity["serial number"] == 9999
    )
    assert len({d.name for d in spec.devices}) == 10000


#: One controllogix device on 127.0.0.1 (fleet index 0), and the start of a modbus one.
CL = "[[device]]\nkind = 'controllogix'\naddress = '127.0.0.1'\n"
MB = "[[device]]\nkind = 'modbus'\naddress = '127.0.0.1'\n"
D0 = "device[0] (address '127.0.0.1')"
DEVICE = "[[device]]\nkind = 'controllogix'\n"

BAD = [
    (MB.replace("modbus", "plc"), D0, "kind 'plc' is not one of controllogix, powerflex, modbus"),
    (
        "[[device]]\nkind = 'modbus'\nname = 'plc-{n:03d}'\naddress = '127.0.1.300'",
        "device[0] (name 'plc-{n:03d}', address '127.0.1.300')",
        "'127.0.1.300' is not an IP address or range",
    ),
    (CL + "adress = 1", D0, "unknown key 'adress'"),
    (DEVICE + "name = 'x'", "device[0] (name 'x')", "address is missing"),
    (DEVICE + "address = '127.0.0.9-127.0.0.1'", "device[0]", "ends before it starts"),
    (DEVICE + "address = '127.0.0.1-::1'", "device[0]", "mixes IPv4 and IPv6"),
    (DEVICE + "address = '::1-::3'", "device[0] (address '::1-::3')", "IPv4 only"),
    (DEVICE + "address = '127.0.0.1-127.0.0.3'\ncount = 2", "device[0]", "count 2 disagrees"),
    (CL + "count = 0", D0, "count 0 must be"),
    (DEVICE + "address = '127.0.0.0-127.1.0.0'", "device[0]", "over the limit of 65536"),
    (DEVICE + "address = 'localhost'\ncount = 2", "device[0]", "needs an IP address"),
    (CL + "port = 0", D0, "port 0 is not a port"),
    (CL + "port = '9-2'", D0, "ends before it starts"),
    (CL + "port = 'x'", D0, "port 'x' is not"),
    (CL + "count = 3\nport = '2000-2001'", D0, "count 3 disagrees with port range"),
    (DEVICE + "address = '127.0.0.1-127.0.0.2'\nport = '2000-2001'", "device[0]", "not both"),
    (
        CL + DEVICE + "address = '127.0.0.0-127.0.0.2'",
        "device[1] #1 (name 'controllogix-2', address '127.0.0.1:44818')",
        "127.0.0.1:44818 is also device[0] #0 (name 'controllogix-0', address '127.0.0.1:44818')",
    ),
    (
        CL + "name = 'a'\n" + DEVICE + "name = 'a'\naddress = '127.0.0.2'",
        "device[1] #0 (name 'a', address '127.0.0.2:44818')",
        "the name is also device[0] #0 (name 'a'",
    ),
    (
        CL + DEVICE + "address = '0.0.0.0'",
        "device[1] #0 (name 'controllogix-1', address '0.0.0.0:44818')",
        "0.0.0.0:44818 is also device[0] #0 (name 'controllogix-0', address '127.0.0.1:44818')",
    ),
    (
        DEVICE + "address = '::'\n" + CL,
        "device[1] #0 (name 'controllogix-1', address '127.0.0.1:44818')",
        "127.0.0.1:44818 is also device[0] #0 (name 'controllogix-0', address '[::]:44818')",
    ),
    (MB + "registers = ['1=0']\nerrors = { A = 8 }", D0, "errors (tag -> CIP status) is not"),
    (DEVICE + "address = '255.255.255.254'\ncount = 3", "device[0]", "runs past the last IPv4"),
    (CL + "tagset = 'nope'", D0, "unknown tagset 'nope'"),
    (MB + "registers = ['1=0']\ntags = ['A=INT']", D0, "tags is not for kind 'modbus'"),
    (MB + "registers = ['1=0']\ntag_db = 't.json'", D0, "tag_db is not for kind 'modbus'"),
    (MB, D0, "registers is missing"),
    (MB + "registers = ['40001-39999']", D0, "end 39999 is before begin 40001"),
    (MB + "registers = ['1=0']\nunits = [300]", D0, "unit id 300 is outside 1-247"),
    (CL + "registers = ['1=0']", D0, "registers is only for kind 'modbus'"),
    (CL + "l5x = 'missing.L5X'", D0, "does not exist"),
    (CL + "tags = ['A=INT']\ntagset = 'x'", D0, "give at most one of"),
    (CL + "tags = ['A=']", D0, "bad tag definition"),
    (CL + "delay = 'soon'", D0, "invalid delay 'soon'"),
    (CL + "delay = '0.5-0.1'", D0, "invalid delay"),
    (CL + "errors = { A = 'x' }", D0, "status 'x' is not an integer 1..255"),
    (CL + "errors = { A = 256 }", D0, "1..255"),
    (CL + "disabled = 'no'", D0, "true or false"),
    (CL + "serial = '__import__(\"os\")'", D0, "is not allowed"),
    (CL + "serial = 'n.real'", D0, "is not allowed"),
    (CL + "serial = '2 ** 40'", D0, "outside 0..0xffffffff"),
    (CL + "serial = '2 ** 2 ** 10'", D0, "exponent 1024 is outside"),
    (
        CL + "count = 3\nserial = '10 // (1 - n)'",
        "device[0] #1 (name 'controllogix-1', address '127.0.0.2:44818')",
        "division by zero",
    ),
    (
        CL + "count = 3\n[device.identity]\nstate = '254 + n'",
        "device[0] #2 (name 'controllogix-2', address '127.0.0.3:44818')",
        "is 256, outside 0..0xff",
    ),
    (CL + "[device.identity]\ncolour = 1", D0, "unknown identity key 'colour'"),
    (CL + "[device.identity]\n'product revision' = '0.1'", D0, "major 1..255"),
    (CL + "name = 'plc-{x}'", "device[0] (name 'plc-{x}'", "unknown field 'x'"),
    (CL + "name = 'a b'", "device[0] #0 (name 'a b', address '127.0.0.1:44818')", "use letters"),
    ("[fleet]\nprot = 1", "[fleet]", "unknown key 'prot'"),
    ("[fleet]\nweb = '127.0.0.1'", "[fleet]", "is not host:port"),
    ("[tagsets.line]\ntags = ['A=INT']\nl5x = 'x.L5X'", "tagsets.line", "give at most one of"),
    ("[tagsets.line]\ntag = ['A=INT']", "tagsets.line", "unknown key 'tag'"),
    ("[tagsets.line]", "tagsets.line", "give exactly one of"),
    ("[[devices]]\nkind = 'modbus'", "top level", "unknown key 'devices'"),
    ("[fleet]\nport = 44818", "fleet.toml", "defines no devices"),
    ("[[device]]\nkind = \naddress = 1", "fleet.toml", "(at line 2, column 8)"),
]


@pytest.mark.parametrize(("text", "where", "message"), BAD)
def test_bad_fleet_files(text: str, where: str, message: str) -> None:
    with pytest.raises(FleetError) as caught:
        fleet(text)
    error = str(caught.value)
    assert "\n" not in error
    assert error.startswith("fleet.toml: ")
    assert where in error and message in error, error


def test_load_fleet_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match=r"missing\.toml: cannot read"):
        load_fleet(tmp_path / "missing.toml")
    path = tmp_path / "bad.toml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(FleetError, match=r"bad\.toml: not UTF-8"):
        load_fleet(path)


def test_identity_ranges_match_the_server() -> None:
    assert set(IDENTITY_INTS) == set(main._IDENTITY_INTS)


def test_expressions_and_templates() -> None:
    assert IntExpr.compile("0x10 + n * 2 - -i % 3 + 2 ** 3")(4, 2) == 0x10 + 4 * 2 - -2 % 3 + 2**3
    assert IntExpr.compile("(i // 16) % 4")(0, 50) == 3
    assert IntExpr.compile(7).constant == 7 and IntExpr.compile("0b101").constant == 5
    for bad in ("n if n else i", "n < 3", "1.5", "'a'", "[n]", "n.real", "abs(n)", "n / 2", ""):
        with pytest.raises(ExprError):
            IntExpr.compile(bad)(1, 1)
    assert TextTemplate.compile("plc-{n:03d}-{i}")(5, 9) == "plc-005-9"
    assert TextTemplate.compile("{{literal}}")(0, 0) == "{literal}"
    for bad_template in ("{x}", "{}", "{n:s}", 3):
        with pytest.raises(ExprError):
            TextTemplate.compile(bad_template)
