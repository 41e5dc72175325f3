"""The spec's example commands of 2.1.4-2.1.6 against our simulator, output checked by regular
expressions written from the spec's examples: enip_client, io, thruput, list_services, getattr."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import sysconfig
import time

import pytest

from cpppo.server.enip.client import cli as client_cli
from cpppo.server.enip.tools import getattr as getattr_cli
from cpppo.server.enip.tools import io, list_services, thruput

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def restore_logging():
    """The CLIs configure the root logger; put it back after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def run(main, argv, capsys) -> tuple[int, str, str]:
    """Run a CLI ``main`` in-process; return (status, stdout, stderr)."""
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def test_spec_client_example(enip_simulator, capsys):
    """python -m cpppo.server.enip.client -v --print SCADA[1]=99 SCADA[0-10]
    'TEXT[1]=(SSTRING)"Hello, world!"' TEXT[0-3]"""
    address = f"{enip_simulator.host}:{enip_simulator.port}"
    argv = ["-a", address, "-v", "--print", "SCADA[1]=99", "SCADA[0-10]"]
    argv += ['TEXT[1]=(SSTRING)"Hello, world!"', "TEXT[0-3]"]
    status, out, err = run(client_cli.main, argv, capsys)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "SCADA[ 1-1 ] <= [99]"
    assert lines[1] == "SCADA[ 0-10 ] == [0, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0]"
    assert lines[2] == "TEXT[ 1-1 ] <= ['Hello, world!']"
    assert lines[3] == "TEXT[ 0-3 ] == ['', 'Hello, world!', '', '']"
    assert re.fullmatch(r"Client Tag I/O Average \d+\.\d{3} TPS \( *\d+\.\d{3}s ea\)\.", lines[4])
    assert "NORMAL" in err and "SCADA[ 0-10 ] == [0, 99" in err  # -v logs each line too


def test_spec_docker_example_repeat(enip_simulator, capsys):
    """python -m cpppo.server.enip.client -r 10 SCADA[1] SCADA[0-10] (with --print): 20 lines
    like 'SCADA[ 1-1 ] == [0]' and the 'Client ReadFrg. Average ... TPS' summary."""
    address = f"{enip_simulator.host}:{enip_simulator.port}"
    status, out, _ = run(
        client_cli.main, ["-a", address, "-p", "-r", "10", "SCADA[1]", "SCADA[0-10]"], capsys
    )
    lines = out.splitlines()
    assert status == 0
    assert lines[0:2] == [
        "SCADA[ 1-1 ] == [0]",
        "SCADA[ 0-10 ] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]",
    ]
    assert lines[:20] == lines[:2] * 10
    assert re.fullmatch(
        r"Client ReadFrg\. Average \d+\.\d{3} TPS \( *\d+\.\d{3}s ea\)\.", lines[20]
    )
    status, out, _ = run(client_cli.main, ["-a", address, "-p", "-n", "SCADA[1]"], capsys)
    assert re.search(r"Client ReadTag\. Average", out)


def test_client_quiet_by_default_and_exit_status(enip_simulator, capsys):
    """enip_client SCADA[1]=99 ... prints nothing by default; a failed operation exits 1."""
    address = f"{enip_simulator.host}:{enip_simulator.port}"
    status, out, _ = run(client_cli.main, ["-a", address, "SCADA[1]=99", "SCADA[0-10]"], capsys)
    assert (status, out) == (0, "")
    status, out, _ = run(client_cli.main, ["-a", address, "-p", "NOPE", "SCADA[1]"], capsys)
    assert status == 1
    assert re.search(r"^NOPE == None: Status 0x0[45] \(Path .*\)$", out, re.M)
    assert "SCADA[ 1-1 ] == [" in out


@pytest.mark.parametrize(
    "numeric, expect",
    [
        (["@0xFF/01/0x1A"], r"^@0x00FF/1/26 == None: Status 0x0[45] "),
        (["@511/01/26=1"], r"^@0x01FF/1/26 <= None: Status 0x0[45] "),
    ],
)
def test_spec_numeric_addressing(enip_simulator, capsys, numeric, expect):
    """The spec's numeric examples address objects the simulator lacks: a device status, exit 1."""
    address = f"{enip_simulator.host}:{enip_simulator.port}"
    status, out, _ = run(client_cli.main, ["-a", address, "-p", *numeric], capsys)
    assert status == 1 and re.search(expect, out, re.M), out


def test_list_identity_services_interfaces(enip_simulator, capsys):
    """-i/-s/-I over TCP print 'List Identity  0 from (host, port): {...}' with the spec's keys."""
    address = f"{enip_simulator.host}:{enip_simulator.port}"
    status, out, _ = run(client_cli.main, ["-a", address, "-i", "-s", "-I"], capsys)
    assert status == 0
    peer = re.escape(repr((enip_simulator.host, enip_simulator.port)))
    assert re.search(rf"^List Services  0 from {peer}: {{\n", out, re.M)
    assert re.search(rf"^List Interfaces  0 from {peer}: ", out, re.M)
    match = re.search(rf"^List Identity  0 from {peer}: ({{\n.*?\n}})$", out, re.M | re.S)
    assert match
    for key, value in [
        ("sin_addr", r'"[\d.]+"'),
        ("status_word", "12640"),
        ("vendor_id", "1"),
        ("product_name", '"1756-L61/B LOGIX5561"'),
        ("sin_port", r"\d+"),
        ("state", "255"),
        ("version", "1"),
        ("device_type", "14"),
        ("sin_family", "2"),
        ("serial_number", "7079450"),
        ("product_code", "54"),
        ("product_revision", "2836"),
    ]:
        assert re.search(rf'^  "{key}": {value},?$', match.group(1), re.M), key


def test_spec_udp_broadcast_list_identity(enip_simulator, capsys):
    """python -m cpppo.server.enip.client --udp --broadcast --list-identity -v -a 127.0.0.1
    (loopback, never 255.255.255.255): replies are collected for the whole timeout."""
    address = f"{enip_simulator.host}:{enip_simulator.port}"
    begun = time.monotonic()
    argv = ["--udp", "--broadcast", "--list-identity", "-v", "-t", "1", "-a", address]
    status, out, _ = run(client_cli.main, argv, capsys)
    elapsed = time.monotonic() - begun
    assert status == 0
    assert re.search(r"^List Identity  0 from \('127\.0\.0\.1', \d+\): \{$", out, re.M)
    assert '"product_name": "1756-L61/B LOGIX5561"' in out
    assert 0.9 < elapsed < 3


@pytest.mark.parametrize(
    "options",
    [
        ["--route-path", '[{"link": 0, "port": 1}]'],
        ["--route-path", "1/0"],
        ["--route-path", "false"],
        ["--send-path=", "--route-path=false"],
        ["-S"],
    ],
)
def test_spec_route_and_send_paths(enip_simulator, capsys, options):
    """The spec's --route-path/--send-path/-S forms all reach the (accept-anything) simulator."""
    address = f"{enip_simulator.host}:{enip_simulator.port}"
    status, out, err = run(client_cli.main, ["-a", address, "-p", *options, "SCADA[1]"], capsys)
    assert status == 0, (out, err)
    assert out.startswith("SCADA[ 1-1 ] == [")


def test_route_path_ip_as_port_rejected(capsys):
    """--route-path '[{"link": 0, "port": "192.168.1.2"}]': a port must be a number (the IP
    address is a link): a one-line error, status 2."""
    argv = ["--route-path", '[{"link": 0, "port": "192.168.1.2"}]', "SCADA[1]"]
    status, out, err = run(client_cli.main, argv, capsys)
    assert status == 2 and out == ""
    assert re.fullmatch(r"enip_client: error: .*port '192\.168\.1\.2' must be an integer.*\n", err)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["SCADA[1-2]=1"], "count must match"),
        (["-a", "host:notaport", "SCADA"], "invalid port"),
        (["--depth", "x", "SCADA"], "invalid int value"),
        (["--bogus"], "unrecognized arguments"),
        ([], "give tags"),
        (["-n", "-f", "SCADA"], "not allowed with"),
    ],
)
def test_bad_arguments_one_line_status_2(capsys, argv, message):
    """Bad arguments: one line on stderr, exit status 2, no traceback."""
    status, out, err = run(client_cli.main, argv, capsys)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_tags_from_stdin(enip_simulator, capsys, monkeypatch):
    """A '-' among the tags reads more tags from stdin."""
    import io as stdio

    monkeypatch.setattr(sys, "stdin", stdio.StringIO("SCADA[7]=7\n\nSCADA[7]\n"))
    address = f"{enip_simulator.host}:{enip_simulator.port}"
    status, out, _ = run(client_cli.main, ["-a", address, "-p", "-", "SCADA[6]"], capsys)
    assert status == 0
    assert out.splitlines()[:3] == [
        "SCADA[ 7-7 ] <= [7]",
        "SCADA[ 7-7 ] == [7]",
        "SCADA[ 6-6 ] == [0]",
    ]


def test_connected_multiple_depth_options(enip_simulator, capsys):
    """-c (Forward Open), -m (Multiple Service Packets), -d depth."""
    address = f"{enip_simulator.host}:{enip_simulator.port}"
    argv = ["-a", address, "-p", "-c", "-m", "-d", "5", "-r", "20", "SCADA[2]=2", "SCADA[2]"]
    status, out, _ = run(client_cli.main, argv, capsys)
    assert status == 0
    assert out.splitlines()[:40] == ["SCADA[ 2-2 ] <= [2]", "SCADA[ 2-2 ] == [2]"] * 20


def test_cannot_connect(capsys):
    """Nothing listening: a one-line message, exit 1 (no traceback)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status, _, err = run(client_cli.main, ["-a", f"127.0.0.1:{port}", "-t", "1", "X"], capsys)
    assert status == 1 and "cannot connect" in err and "Traceback" not in err


def test_spec_io_example(enip_simulator_factory, capsys):
    """python -m cpppo.server.enip Tag=DINT[10] & python -m cpppo.server.enip.io"""
    sim = enip_simulator_factory(["Tag=DINT[10]"])
    status, out, _ = run(io.main, ["-a", f"{sim.host}:{sim.port}"], capsys)
    lines = out.splitlines()
    assert lines[0] == "Tag[ 0-9 ]+16 <= [4, 5, 6, 7, 8, 9]"
    # @0x2/1/1 is Tag: the simulator maps its tags onto the Message Router's attributes 1, 2, ...
    # for the tag services, as the original did (a Read Tag of one element: Tag[0])
    assert lines[1] == "@0x0002/1/1 == [0]"
    assert lines[2] == "Tag[ 3-5 ] == [0, 4, 5]"
    assert status == 0


@pytest.mark.parametrize(
    "options",
    [
        ["--repeat", "25"],
        ["--repeat", "25", "--depth", "20"],
        ["--repeat", "25", "--depth", "20", "--multiple", "250"],
    ],
)
def test_spec_thruput(enip_simulator_factory, capsys, options):
    """python -m cpppo.server.enip.thruput -a <host> "Volume" "Temperature" --repeat 25 [...]"""
    sim = enip_simulator_factory(["Volume=REAL", "Temperature=REAL"])
    argv = ["-a", f"{sim.host}:{sim.port}", "Volume", "Temperature", *options]
    status, out, _ = run(thruput.main, argv, capsys)
    lines = out.splitlines()
    assert status == 0
    assert len(lines) == 51
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}: +\d+: \[0\.0\]", line)
        for line in lines[:50]
    )
    match = re.fullmatch(
        r" *(\d+) operations using +(\d+) requests in +[\d.]+s at pipeline depth +(\d+); "
        r"[\d.]+ TPS",
        lines[50],
    )
    assert match and match.group(1) == "50"
    requests = int(match.group(2))
    assert requests == 50 if "--multiple" not in options else requests < 10
    assert match.group(3) == ("20" if "--depth" in options else "0")


def test_spec_getattr(enip_simulator, capsys):
    """python -m cpppo.server.enip.getattr --depth 3 -v '@1/1' '@1/1/7': the Identity bytes
    equal the default Identity's, as in the spec."""
    argv = ["-a", f"{enip_simulator.host}:{enip_simulator.port}", "--depth", "3", "-v"]
    status, out, _ = run(getattr_cli.main, [*argv, "@1/1", "@1/1/7"], capsys)
    assert status == 0
    lines = out.splitlines()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"
    identity = "1, 0, 14, 0, 54, 0, 20, 11, 96, 49, 26, 6, 108, 0, 20, 49, 55, 53, 54, 45, 76, 54, "
    identity += "49, 47, 66, 32, 76, 79, 71, 73, 88, 53, 53, 54, 49, 255"
    assert re.fullmatch(rf"{stamp}: 0: Single G_A_A @0x0001/1 == \[{identity}(, \d+)*\]", lines[0])
    name = "20, 49, 55, 53, 54, 45, 76, 54, 49, 47, 66, 32, 76, 79, 71, 73, 88, 53, 53, 54, 49"
    assert re.fullmatch(rf"{stamp}: 1: Single G_A_S @0x0001/1/7 == \[{name}\]", lines[1])
    assert "".join(chr(x) for x in [int(v) for v in name.split(", ")][1:]) == (
        "1756-L61/B LOGIX5561"
    )


def test_getattr_no_print_and_failure(enip_simulator, capsys):
    """--no-print prints nothing; an unknown object exits 1."""
    argv = ["-a", f"{enip_simulator.host}:{enip_simulator.port}", "--no-print"]
    status, out, _ = run(getattr_cli.main, [*argv, "@1/1/7"], capsys)
    assert (status, out) == (0, "")
    status, out, _ = run(getattr_cli.main, [*argv, "@0x77/1/1"], capsys)
    assert status == 1


def test_spec_list_services(enip_simulator, capsys):
    """python -m cpppo.server.enip.list_services [--identity] [-u]: JSON keyed by dotted paths."""
    address = f"{enip_simulator.host}:{enip_simulator.port}"
    status, out, _ = run(list_services.main, ["-a", address, "--identity", "-t", "2"], capsys)
    assert status == 0
    assert re.search(
        r'^    "enip\.CIP\.list_services\.CPF\.item\[0\]\.communications_service'
        r'\.service_name": "Communications",?$',
        out,
        re.M,
    )
    for key, value in [
        ("sin_addr", r'"[\d.]+"'),
        ("status_word", "12640"),
        ("vendor_id", "1"),
        ("product_name", '"1756-L61/B LOGIX5561"'),
        ("product_revision", "2836"),
    ]:
        pattern = (
            rf'^    "enip\.CIP\.list_identity\.CPF\.item\[0\]\.identity_object\.{key}": {value},'
        )
        assert re.search(pattern, out, re.M), key
    assert re.search(r'^    "enip\.command": 99,$', out, re.M)
    assert re.search(r'^    "enip\.CIP\.list_identity\.CPF\.item\[0\]\.type_id": 12,$', out, re.M)
    status, out, _ = run(list_services.main, ["-a", address, "-u", "-t", "2"], capsys)
    assert status == 0 and '"enip.command": 4,' in out


def test_list_services_help(capsys):
    """--help shows the spec's usage line and options."""
    status, out, _ = run(list_services.main, ["--help"], capsys)
    assert status == 0
    assert re.match(r"usage: list_services(\.py)? \[-h\] \[-v\] \[-a ADDRESS\] \[-u\] \[-b\]", out)
    for option in ["--identity", "--interfaces", "-t TIMEOUT, --timeout TIMEOUT", "(default: 5s)"]:
        assert option in out


def _script(name: str) -> str:
    path = os.path.join(sysconfig.get_path("scripts"), name)
    return path if os.path.exists(path) else os.path.join(os.path.dirname(sys.executable), name)


@pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "-m", "cpppo.server.enip.client"],
        [_script("enip_client")],
    ],
)
def test_entry_points(enip_server_process, argv):
    """`python -m cpppo.server.enip.client` and the enip_client console script, as processes
    against a simulator process."""
    server = enip_server_process("SCADA=INT[1000]", "TEXT=SSTRING[100]")
    command = [*argv, "-a", f"{server.host}:{server.port}", "-p", "SCADA[1]=99", "SCADA[0-2]"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == ["SCADA[ 1-1 ] <= [99]", "SCADA[ 0-2 ] == [0, 99, 0]"]


def test_get_attribute_alias_module(enip_server_process):
    """python -m cpppo.server.enip.get_attribute is the same tool."""
    server = enip_server_process("SCADA=INT[10]")
    command = [sys.executable, "-m", "cpppo.server.enip.get_attribute"]
    command += ["-a", f"{server.host}:{server.port}", "@1/1/7"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"\S+ \S+: 0: Single G_A_S @0x0001/1/7 == \[20, 49, .*\]\n", done.stdout)


def test_log_file(enip_simulator, capsys, tmp_path):
    """-l FILE sends the log (here -v lines) to a file instead of stderr."""
    log = tmp_path / "client.log"
    address = f"{enip_simulator.host}:{enip_simulator.port}"
    status, _, err = run(client_cli.main, ["-a", address, "-v", "-l", str(log), "SCADA[2]"], capsys)
    assert status == 0 and err == ""
    assert "SCADA[ 2-2 ] == [" in log.read_text()


@pytest.mark.parametrize(
    "text, expect",
    [
        ("", ("localhost", 44818)),
        ("host", ("host", 44818)),
        ("host:1234", ("host", 1234)),
        (":1234", ("localhost", 1234)),
        ("127.0.0.1:44818", ("127.0.0.1", 44818)),
        ("[::1]:5000", ("::1", 5000)),
        ("[::1]", ("::1", 44818)),
        ("::1", ("::1", 44818)),
    ],
)
def test_parse_address(text, expect):
    """[<host>][:<port>], with bracketed or bare IPv6 hosts."""
    assert client_cli.parse_address(text) == expect


@pytest.mark.parametrize("text", ["[::1", "[::1]x", "host:port", "host:0", "host:65536"])
def test_parse_address_bad(text):
    """Malformed addresses raise ValueError (the CLIs turn it into a one-line error)."""
    with pytest.raises(ValueError):
        client_cli.parse_address(text)
