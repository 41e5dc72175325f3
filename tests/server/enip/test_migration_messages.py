"""Issue 16, item 6: help and messages a cpppo 5.x user meets first.

- every ``python -m`` module's ``--help`` is its own (weather lists its URL and key options,
  poll_test says it simulates a PowerFlex, the poll examples take ``--help`` instead of polling
  a host named ``--help``);
- a proxy read of an unknown parameter says ``no such parameter 'X' (did you mean ...?)``
  (the original's proxy passed it on as a tag, failing with a parse error);
- a tag read over UDP says tags need TCP, and sends nothing (the original's waits for the
  timeout and reports that communication ceased);
- the dashboard's alarm text follows the current response delay.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from original525 import run_original

from cpppo.server.enip import client
from cpppo.server.enip.client.operations import OperationError
from cpppo.server.enip.tools.ab import powerflex_750_series
from cpppo.server.enip.tools.getattr import proxy
from cpppo.server.enip.tools.parameter_names import ParameterNameError

pytestmark = pytest.mark.timeout(120)

#: ``python -m`` module -> texts its --help must show (its own usage line first).
HELP = {
    "cpppo.server.enip": ["usage: enip_server", "--route-path", "--web"],
    "cpppo.server.enip.client": ["usage: enip_client", "--list-identity", "--udp"],
    "cpppo.server.enip.getattr": ["usage: enip_getattr", "--depth"],
    "cpppo.server.enip.get_attribute": ["usage: enip_getattr", "--depth"],
    "cpppo.server.enip.list_services": ["usage: list_services", "--identity"],
    "cpppo.server.enip.thruput": ["usage: thruput", "--repeat"],
    "cpppo.server.enip.io": ["usage: io", "--address"],
    "cpppo.server.enip.poll": ["usage: enip_poll", "--cycle", "--gateway"],
    "cpppo.server.enip.weather": [
        "usage: python -m cpppo.server.enip.weather",
        "--weather-url URL",
        "--weather-appid KEY",
        "--weather-units",
        "--weather-timeout SECONDS",
        "temperature",
    ],
    "cpppo.server.enip.poll_test": [
        "usage: python -m cpppo.server.enip.poll_test",
        "PowerFlex 750",
        "DPI Parameter",
    ],
    "cpppo.server.enip.historize": [
        "usage: python -m cpppo.server.enip.historize FILE",
        "history",
        "--route-path",
    ],
    "cpppo.server.enip.poll_example": [
        "usage: python -m cpppo.server.enip.poll_example [-h] [address] [seconds]",
        "PowerFlex",
    ],
    "cpppo.server.enip.poll_example_many": [
        "usage: python -m cpppo.server.enip.poll_example_many",
        "Output Frequency every 0.5s",
    ],
    "cpppo.history": ["usage: python -m cpppo.history"],
    "cpppo.remote.modbus_sim": ["usage: modbus_sim"],
    "cpppo.remote.modbus_poll": ["usage: modbus_poll"],
}


@pytest.mark.parametrize("module", sorted(HELP))
def test_help_is_the_modules_own(module):
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(HELP[module][0]), done.stdout[:200]
    for text in HELP[module][1:]:
        assert text in " ".join(done.stdout.split()), (module, text)


def test_unknown_parameter_names():
    """``no such parameter 'X'`` with the nearest names, for a plain proxy and a PowerFlex; a
    name that is a tag still reads that tag."""
    via = proxy("127.0.0.1", port=1)
    with pytest.raises(
        ParameterNameError,
        match=r"^no such parameter 'Prodct Name' \(did you mean product_name\?\)$",
    ):
        list(via.read("Prodct Name"))
    assert list(via.parameter_substitution(["Product Nam", "SCADA[1]"])) == [
        ("@1/1/7", "SSTRING", None),
        "SCADA[1]",
    ]
    drive = powerflex_750_series("127.0.0.1", port=1)
    with pytest.raises(ParameterNameError, match=r"no such parameter 'Output Curent' \(did you"):
        list(drive.read(["Output Curent"]))
    with pytest.raises(ParameterNameError, match="did you mean output_current"):
        list(drive.read(["Output Curent"]))


def test_unknown_parameter_in_poll_cli(capsys):
    from cpppo.server.enip.tools import poll

    with pytest.raises(SystemExit) as exited:
        poll.main(["-a", "127.0.0.1:1", "Motor Velocty"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and len(err) == 1
    assert "no such parameter 'Motor Velocty' (did you mean motor_velocity" in err[0]


def test_tag_read_over_udp_says_tcp():
    """enip_client -u with tags: one line, status 2, no datagram sent; the API refuses too."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        command = [sys.executable, "-m", "cpppo.server.enip.client", "-u"]
        command += ["-a", f"127.0.0.1:{port}", "-t", "1", "SCADA[0]"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        assert done.returncode == 2
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and "tags and attributes are read and written over TCP" in lines[0]
        with (
            client.connector("127.0.0.1", port, timeout=1, udp=True) as conn,
            pytest.raises(OperationError, match="over TCP"),
        ):
            list(conn.synchronous(client.parse_operations(["SCADA[0]"])))
        with pytest.raises(TimeoutError):
            listener.recvfrom(65536)  # nothing was sent


def test_tag_read_over_udp_beside_the_original(enip_simulator):
    """The original sends the read over UDP and, getting no reply, fails after the timeout
    without saying why."""
    code = (
        "import sys\nfrom cpppo.server.enip.client import main\n"
        "sys.exit(main(['-u', '-a', sys.argv[1], '-t', '1', 'SCADA[0]']))"
    )
    with pytest.raises(AssertionError, match="Communication ceased"):
        run_original(code, f"{enip_simulator.host}:{enip_simulator.port}")


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_dashboard_alarm_follows_the_delay(enip_server_process):
    """The alarm the dashboard shows (``/state``) names the delay in force: a value, or a range
    with the delay drawn last; none once it is 0."""
    server = enip_server_process("-w", "127.0.0.1:0", "SCADA=INT[10]")
    deadline = time.monotonic() + 10
    while not any(line.startswith("http://") for line in server.stdout_lines):
        assert time.monotonic() < deadline, server.errors()
        time.sleep(0.02)
    url = next(line.strip() for line in server.stdout_lines if line.startswith("http://"))
    assert _get(url + "state")["alarm"] == []
    for value in ("0.25", "0.125"):
        _get(url + f"api/options/delay/value={value}")
        assert _get(url + "state")["alarm"] == [f"options.delay.value: responses delayed {value} s"]
    _get(url + "api/options/delay/range=0.01-0.02")
    with client.connector(server.host, server.port, timeout=5) as conn:
        list(conn.synchronous(client.parse_operations(["SCADA[0]"])))
    state = _get(url + "state")
    drawn = state["delay"]["value"]
    assert 0.01 <= drawn <= 0.02
    assert state["alarm"] == [
        f"options.delay.range: responses delayed 0.01-0.02 s (now {drawn:.6g} s)"
    ]
    _get(url + "api/options/delay/range=none")
    _get(url + "api/options/delay/value=0")
    assert _get(url + "state")["alarm"] == []
