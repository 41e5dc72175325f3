"""cpppo.cfg loading, tag specifications and command-line parsing of the simulator (no network)."""

from __future__ import annotations

import pytest

from cpppo.server.enip import DINT, INT, LOGIX_STRING, REAL, SSTRING
from cpppo.server.enip.logix import TagDBError, parse_tag_definition
from cpppo.server.enip.main import build_controller, config_values, make_parser, parse_route_path
from cpppo.server.enip.net.control import Delay, parse_delay
from cpppo.server.enip.net.server import parse_address
from cpppo.server.enip.sim.config import ConfigError, load_config, loads_json, normalize_key


def test_spec_example_loads_as_written(tmp_path, monkeypatch, enip_spec_cfg):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_config()
    assert config.loaded == ["cpppo.cfg"]
    identity, tcpip, route = config_values(config)
    assert identity == {"product name": "1756-L61/B LOGIX5561"}
    assert tcpip["host name"] == "controller"
    assert tcpip["interface configuration"] == {
        "ip_address": "192.168.0.201",
        "network_mask": "255.255.255.0",
        "dns_primary": "8.8.8.8",
        "dns_secondary": "8.8.4.4",
        "domain_name": "example.com",
    }
    assert route is ...


def test_later_files_override_and_key_spellings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (home / ".cpppo.cfg").write_text(
        "[Identity]\nSerial Number = 0x10\nProduct Revision = 21.3\n"
        "[UCMM]\nRoute Path = 1/0  # backplane slot 0\n"
    )
    (tmp_path / "cpppo.cfg").write_text("[identity]\nserial_number = 99\n")
    extra = tmp_path / "extra.cfg"
    extra.write_text(
        '[TCPIP]\nPath to Physical Link = [\n  {"class": 246},\n  {"instance": 1},\n]\n'
    )
    config = load_config(extra=[str(extra)])
    assert config.loaded[-2:] == ["cpppo.cfg", str(extra)]
    identity, tcpip, route = config_values(config)
    assert identity == {"serial number": 99, "product revision": 21 | 3 << 8}
    assert route == [{"port": 1, "link": 0}]
    assert tcpip["path to physical link"] == [{"class": 246}, {"instance": 1}]
    assert load_config(defaults=False).loaded == []


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.cfg"
    bad.write_text("no section header\n")
    with pytest.raises(ConfigError):
        load_config(extra=[str(bad)], defaults=False)
    with pytest.raises(ConfigError):
        loads_json('{"a": ')
    assert loads_json("[1, 2,]") == [1, 2]
    assert normalize_key("  Product_Name ") == "product name"


def test_tag_specifications():
    """``NAME=TYPE[dims]`` on the command line: parsed, then typed by the tag database."""
    assert parse_tag_definition("SCADA=dint[1000]").dims == (1000,)
    assert parse_tag_definition("Flow", default_type="INT") == ("Flow", "INT", (), None, None)
    assert parse_tag_definition("Tag@0x04/100/3=DINT[4]").address == (4, 100, 3)
    assert parse_tag_definition("Program:Main.X=REAL").program == "Main"
    controller = build_controller(
        ["SCADA=dint[1000]", "TEXT=SSTRING[100]", "NAME=string", "Flow", "G=REAL[2,3]"]
    )
    types = {t.name: (t.attribute.parser, t.dims, t.attribute.elements) for t in controller.tags}
    assert types["SCADA"][0].__class__ is DINT and types["SCADA"][1:] == ((1000,), 1000)
    assert types["TEXT"][0].__class__ is SSTRING
    assert types["NAME"][0].__class__ is LOGIX_STRING
    assert types["Flow"][0].__class__ is INT and types["Flow"][1:] == ((), 1)
    assert types["G"][0].__class__ is REAL and types["G"][1:] == ((2, 3), 6)
    for bad in ("1X=INT", "X=INT[0]", "X=INT[a]", "X=INT[1,2,3,4]", "X@1/2=INT"):
        with pytest.raises(TagDBError, match="bad tag definition"):
            parse_tag_definition(bad, default_type="INT")
    for bad in ("X=FOO", "X=INT[99999999]"):
        with pytest.raises(TagDBError, match="X"):
            build_controller([bad])
    with pytest.raises(TagDBError, match="already exists"):
        build_controller(["A=INT", "a=DINT"])


def test_addresses_delays_and_route_paths():
    assert parse_address(":44818") == ("", 44818)
    assert parse_address("127.0.0.1") == ("127.0.0.1", 44818)
    assert parse_address("localhost:1234") == ("localhost", 1234)
    assert parse_address("[::1]:99") == ("::1", 99)
    for bad in ("x:y", ":70000", "::1"):
        with pytest.raises(ValueError):
            parse_address(bad)
    assert parse_delay("0.5") == (0.5, None)
    assert parse_delay("0.1-0.9") == (0.1, (0.1, 0.9))
    for bad in ("x", "0.9-0.1", "-1"):
        with pytest.raises(ValueError):
            parse_delay(bad)
    delay = Delay(0.1, (0.2, 0.3))
    assert all(0.2 <= delay.sample() <= 0.3 for _ in range(20))
    assert parse_route_path(' [{"link": 0, "port": 1}] ') == [{"link": 0, "port": 1}]
    with pytest.raises(
        ValueError, match=r'did you mean \[\{"port": 2, "link": "192\.168\.1\.2"\}\]\?'
    ):
        parse_route_path('[{"link": 0, "port": "192.168.1.2"}]')  # the spec's swapped form
    assert parse_route_path("false") is False and parse_route_path("0") is False
    assert parse_route_path("1/0") == [{"port": 1, "link": 0}]
    assert parse_route_path("2/10.0.0.1") == [{"port": 2, "link": "10.0.0.1"}]
    for bad in ("[1, 2]", "{", "x/y"):
        with pytest.raises(ValueError):
            parse_route_path(bad)


def test_every_spec_option_parses():
    args = make_parser().parse_args(
        [
            "-vv",
            "-a",
            "127.0.0.1:1234",
            "-d",
            "0.1-0.2",
            "-w",
            ":8080",
            "-l",
            "x.log",
            "-p",
            "--route-path",
            "1/0",
            "-S",
            "-c",
            "a.cfg",
            "-c",
            "b.cfg",
            "--no-config",
            "-s",
            "600",
            "--no-udp",
            "-A",
            "SCADA=INT[10]",
        ]
    )
    assert (args.verbose, args.address, args.delay, args.web, args.log) == (
        2,
        "127.0.0.1:1234",
        "0.1-0.2",
        ":8080",
        "x.log",
    )
    assert args.printing and args.simple and args.no_config and args.no_udp and not args.no_tcp
    assert (args.config, args.size, args.tags) == (["a.cfg", "b.cfg"], 600, ["SCADA=INT[10]"])
