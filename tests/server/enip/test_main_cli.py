"""The simulator's command line and ``main()``: the spec's own commands, run as written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading

import pylogix
import pytest

from cpppo.server.enip import DINT, device
from cpppo.server.enip.main import main
from cpppo.server.enip.net.control import ServerControl


def test_spec_command_with_print(enip_server_process):
    """Spec 2.1.1: ``python -m cpppo.server.enip --print SCADA=INT[1000] TEXT=SSTRING[100]``."""
    server = enip_server_process("--print", "SCADA=INT[1000]", "TEXT=SSTRING[100]")
    with pylogix.PLC("127.0.0.1", port=server.port) as comm:
        assert comm.Write("SCADA[1]", 99).Status == "Success"
        assert comm.Read("SCADA[0]", 11).Value == [0, 99] + [0] * 9
        assert comm.Write("TEXT[1]", "Hello, world!").Status == "Success"
        assert comm.Read("TEXT[0]", 4).Value == ["", "Hello, world!", "", ""]
    assert server.stop() == 0
    printed = server.output()
    assert "SCADA[    1-1    ] <= [99]" in printed
    assert "SCADA[    0-10   ] == [0, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0]" in printed
    assert "TEXT[    1-1    ] <= ['Hello, world!']" in printed


def test_enip_server_script_and_docker_example(enip_server_process):
    """``enip_server`` is the same program; ``SCADA=dint[1000]`` as the Docker example has it."""
    script = shutil.which("enip_server", path=os.path.dirname(sys.executable))
    assert script is not None
    process = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=30)
    assert process.returncode == 0 and "--route-path" in process.stdout
    server = enip_server_process("SCADA=dint[1000]")
    with pylogix.PLC("127.0.0.1", port=server.port) as comm:
        assert comm.Write("SCADA[999]", 2**31 - 1).Status == "Success"
        assert comm.Read("SCADA[999]").Value == 2**31 - 1


def test_no_tags_serves_the_demo_set(enip_server_process):
    server = enip_server_process("-v")
    with pylogix.PLC("127.0.0.1", port=server.port) as comm:
        assert comm.Read("SCADA[0]", 3).Value == [0, 0, 0]
    server.stop()
    log = server.errors()
    assert "No tags given; serving the demo tags: SCADA=INT[1000]" in log


def test_config_file_in_the_working_directory(enip_server_process, tmp_path):
    (tmp_path / "cpppo.cfg").write_text(
        "[Identity]\n# Generally, strings are not quoted\nProduct Name = 1756-L61/C LOGIX5561\n"
    )
    server = enip_server_process("-v", "X=DINT", cwd=str(tmp_path), env={"HOME": str(tmp_path)})
    with pylogix.PLC("127.0.0.1", port=server.port) as comm:
        assert comm.GetDeviceProperties().Value.ProductName == "1756-L61/C LOGIX5561"
    server.stop()
    assert "Loaded config files: ['cpppo.cfg']" in server.errors()


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus"],
        ["FOO=BAR"],
        ["-d", "fast"],
        ["-a", ":99999"],
        ["--route-path", "[1"],
        ["-s", "5"],
        ["X=INT", "x=DINT"],
        ["--no-tcp", "--no-udp"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(args):
    process = subprocess.run(
        [sys.executable, "-m", "cpppo.server.enip", "-a", "127.0.0.1:0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert process.returncode == 2
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("enip_server: error:"), process.stderr


def test_address_in_use_exits_1(enip_simulator):
    result = {}
    argv = ["-a", f"127.0.0.1:{enip_simulator.port}", "X=DINT"]
    thread = threading.Thread(target=lambda: result.setdefault("status", main(argv)))
    thread.start()
    thread.join(10)
    assert result["status"] == 1


def test_main_in_a_thread_with_attribute_class_and_control(capsys):
    """Spec 2.1.3: main(attribute_class=...) runs in a thread; control.done stops it."""
    seen = []

    class Recording(device.Attribute):
        def __getitem__(self, key):
            value = super().__getitem__(key)
            seen.append((self.name, key, value))
            return value

    control = ServerControl()
    result = {}
    argv = ["-a", "127.0.0.1:0", "-A", "Flow=REAL", "Count=DINT[4]"]
    thread = threading.Thread(
        target=lambda: result.setdefault("status", main(argv, Recording, server=control))
    )
    thread.start()
    try:
        host, port = control.wait_started(10)
        with pylogix.PLC(host, port=port) as comm:
            assert comm.Write("Count[2]", 5).Status == "Success"
            assert comm.Read("Count[2]").Value == 5
            assert comm.Read("Flow").Value == 0.0
    finally:
        control.done = True
        thread.join(10)
    assert result["status"] == 0
    assert capsys.readouterr().out == f"{host}:{port}\n"  # -A prints the bound address
    assert ("Count", slice(2, 3), [5]) in seen and ("Flow", slice(0, 1), [0.0]) in seen


WEATHER = '''
import sys
from cpppo.server.enip import device, REAL
from cpppo.server.enip.main import main

TEMPERATURES = {"Tokyo": 21.5, "Paris": 12}

class Attribute_weather( device.Attribute ):
    def __getitem__( self, key ):
        """The temperature of the city named like the tag (from a table, not the web)."""
        cast = float if isinstance( self.parser, REAL ) else int
        temperature = cast( TEMPERATURES[self.name] )
        return [ temperature ] if self._validate_key( key ) is slice else temperature

    def __setitem__( self, key, value ):
        raise Exception( "Changing the weather isn't that easy..." )

sys.exit( main( attribute_class=Attribute_weather ))
'''


def test_spec_weather_example_custom_attribute(tmp_path):
    script = tmp_path / "weather.py"
    script.write_text(textwrap.dedent(WEATHER))
    process = subprocess.Popen(
        [sys.executable, str(script), "-a", "127.0.0.1:0", "-A", "Tokyo=REAL", "Paris=INT"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(process.stdout.readline().strip().rpartition(":")[2])
        with pylogix.PLC("127.0.0.1", port=port) as comm:
            assert comm.Read("Tokyo").Value == 21.5
            assert comm.Read("Paris").Value == 12
            refused = comm.Write("Paris", 30)
            assert refused.Status != "Success"
            assert comm.Read("Paris").Value == 12
    finally:
        process.terminate()
        assert process.wait(10) == 0
        process.stdout.close()
        process.stderr.close()


def test_route_path_and_simple_options(enip_server_process, enip_raw_client):
    from cpppo.server.enip.codec import cip, connection, epath, tags

    message = cip.encode_request(
        0x4C, epath.encode_epath([{"symbolic": "X"}]), tags.encode_read_tag()
    )

    def via(route):
        data = connection.encode_unconnected_send(message, route)
        return cip.encode_request(0x52, cip.CONNECTION_MANAGER_EPATH, data)

    checked = enip_server_process("--route-path", '[{"link": 0, "port": 1}]', "X=DINT")
    client = enip_raw_client(checked.address)
    client.register()
    assert client.rr(via([{"port": 1, "link": 0}])).service == 0x4C
    assert client.rr(via([{"port": 1, "link": 2}])).status == 0x01
    simple = enip_server_process("-S", "X=DINT")
    client = enip_raw_client(simple.address)
    client.register()
    assert client.rr(message).status == 0  # a plain request, as a simple device gets
    assert client.rr(via([{"port": 1, "link": 0}])).status == 0x01
    assert DINT.decode(tags.decode_typed_data(client.rr(message).data).data) == [0]
