"""A-B PowerFlex proxies (``ab``), parameter-name look-up and the simulated PowerFlex
(``poll_test``), over loopback: names to DPI addresses, typed values, a routed request refused
as a simple device refuses it, attributes 9 and 10 sharing one value, the spec 2.1.6 example."""

from __future__ import annotations

import math
import threading

import pytest

from cpppo.server.enip.codec import cip, connection, epath
from cpppo.server.enip.examples import poll_test
from cpppo.server.enip.net.control import ServerControl
from cpppo.server.enip.tools.ab import (
    POWERFLEX_750_PARAMETERS,
    dpi_parameter,
    powerflex,
    powerflex_750_series,
)
from cpppo.server.enip.tools.getattr import proxy, proxy_simple
from cpppo.server.enip.tools.parameter_names import ParameterNameError, find, normalize, substitute

pytestmark = pytest.mark.timeout(60)

SPEC_VALUES = {
    "Output Frequency": 456.78,
    "Motor Velocity": 789.01,
    "Output Current": 123.45,
    "Elapsed kWh": 987.65,
}


def _near(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6)


@pytest.fixture
def powerflex_sim(enip_simulator_factory):
    """An in-process simulated PowerFlex (poll_test's objects) with one Logix tag."""
    sim = enip_simulator_factory(["SCADA=INT[100]"])
    poll_test.add_powerflex(sim.controller)
    return sim


# ---- names -----------------------------------------------------------------------------------


def test_normalize_and_find():
    table = powerflex_750_series.PARAMETERS
    assert normalize("  Output   Freq ") == "output_freq"
    assert normalize("output-frequency") == "output_frequency"
    assert find("Output Frequency", table) == "output_frequency"
    assert find("OUTPUT_CURRENT", table) == "output_current"
    assert find("Elapsed KwH", table) == "elapsed_kwh"
    # abbreviated words, unambiguous
    assert find("Motor Vel", table) == "motor_velocity"
    assert find("Elapsed Run", table) == "elapsed_run_time"
    # aliases of one parameter count as one match: "Output Fr" is output_freq/output_frequency
    assert table[find("Output Fr", table)] == table["output_frequency"]
    assert find("Output Freq", {"output_frequency": 1, "output_current": 2}) == "output_frequency"


def test_find_errors_name_candidates():
    table = powerflex_750_series.PARAMETERS
    with pytest.raises(ParameterNameError) as ambiguous:
        find("Elapsed", table)
    assert ambiguous.value.candidates == ["elapsed_kwh", "elapsed_mwh", "elapsed_run_time"]
    assert "ambiguous" in str(ambiguous.value) and "elapsed_kwh" in str(ambiguous.value)
    with pytest.raises(ParameterNameError) as unknown:
        find("Output Frequncy", table)
    assert unknown.value.candidates == []
    assert "did you mean output_frequency" in str(unknown.value)
    with pytest.raises(ParameterNameError, match=r"no such parameter 'Zebra'$"):
        find("Zebra", table)
    with pytest.raises(ParameterNameError):
        find("", table)
    with pytest.raises(ParameterNameError):  # a word that begins no word of any name
        find("spd units", {"speed_units": 1})


def test_substitute_pass_thru():
    table = powerflex_750_series.PARAMETERS
    items = ["Output Freq", "Speed Units=1", "SCADA[0-3]", ("@1/1/1", "INT"), "@0x93/7/10"]
    assert list(substitute(items, table)) == [
        ("@0x93/1/10", "REAL", "Hz"),
        ("@0x93/300/10=(DINT)1", "DINT", "Hz/RPM"),
        "SCADA[0-3]",
        ("@1/1/1", "INT"),
        "@0x93/7/10",
    ]
    assert list(substitute("Motor Velocity", table)) == [("@0x93/3/10", "REAL", "Hz/RPM")]
    assert list(substitute(["Output Current=(INT)3"], table)) == [
        ("@0x93/7/10=(INT)3", "REAL", "Amps")
    ]
    with pytest.raises(ParameterNameError, match="did you mean"):
        list(substitute(["Output Frequncy"], table))  # not a tag either (a space)
    with pytest.raises(ParameterNameError, match="ambiguous"):
        list(substitute(["Elapsed"], table))  # a valid tag name, but it abbreviates names
    with pytest.raises(ParameterNameError):
        list(substitute(["SCADA[0-3]"], table, pass_thru=False))


def test_powerflex_table_and_dpi_parameter():
    table = powerflex_750_series.PARAMETERS
    assert table["motor_velocity"] == ("@0x93/3/10", "REAL", "Hz/RPM")
    assert table["elapsed_kwh"] == ("@0x93/14/10", "REAL", "kWh")
    assert table["speed_units"] == ("@0x93/300/10", "DINT", "Hz/RPM")
    assert table["identity"] == proxy.PARAMETERS["identity"]  # the built-ins stay
    assert len(table) == len(proxy.PARAMETERS) + len(POWERFLEX_750_PARAMETERS)
    assert dpi_parameter(140, "INT", "Secs", attribute=9) == ("@0x93/140/9", "INT", "Secs")
    with pytest.raises(ValueError):
        dpi_parameter(0, "INT")
    via = powerflex_750_series("127.0.0.1")
    assert isinstance(via, proxy_simple)
    assert (via.route_path, via.send_path) == ([], "")
    assert powerflex_750_series.parameter_key("Output Curr") == "output_current"


# ---- against the simulated PowerFlex ---------------------------------------------------------


def test_read_named_parameters(powerflex_sim):
    via = powerflex_750_series(powerflex_sim.host, port=powerflex_sim.port, timeout=5)
    try:
        values = list(via.read(list(SPEC_VALUES)))
        assert all(_near(v[0], SPEC_VALUES[n]) for n, v in zip(SPEC_VALUES, values))
        assert values[1] == [789.010009765625]  # the REAL the spec prints
        units, accel = via.read(["Speed Units", "Accel Time 1"])
        assert (units, accel) == ([1], [567])
        identity, name = via.read(["Identity", "Product Name"])
        assert identity == [1, 14, 54, 2836, 12640, 7079450, "1756-L61/B LOGIX5561", 255]
        assert name == ["1756-L61/B LOGIX5561"]
        (scada,) = via.read(["SCADA[0-3]"])  # a Logix tag passes through
        assert scada == [0, 0, 0, 0]
    finally:
        via.close_gateway()


def test_spec_2_1_6_some_sensor(powerflex_sim):
    """The spec's example: a proxy_simple subclass naming '@0x93/1/10' 'A Sensor Parameter'."""

    class some_sensor(proxy_simple):
        PARAMETERS = dict(
            proxy_simple.PARAMETERS,
            a_sensor_parameter=powerflex.parameter("@0x93/1/10", "REAL", "Hz"),
        )

    via = some_sensor(host=powerflex_sim.host, port=powerflex_sim.port, timeout=5)
    try:
        (value,) = via.read("A Sensor Parameter")
    except Exception as exc:  # the spec's pattern
        via.close_gateway(exc=exc)
        raise
    assert _near(value[0], 456.78)
    via.close_gateway()


def test_write_attribute_9_is_seen_at_10(powerflex_sim):
    via = powerflex_750_series(powerflex_sim.host, port=powerflex_sim.port, timeout=5)
    try:
        (ok,) = via.write([("@0x93/7/9=(REAL)99.5", "REAL")])
        assert ok is True
        (current,) = via.read(["Output Current"])
        assert current == [99.5]
        (ok,) = via.write(["Speed Units=0"])  # written as the parameter's DINT
        assert ok is True
        assert list(via.read(["Speed Units"])) == [[0]]
        assert powerflex_sim.controller.directory.get(0x93, 300).attributes[10][0] == 0
    finally:
        via.close_gateway()


def test_routed_unconnected_send_refused_as_a_simple_device(powerflex_sim, enip_raw_client):
    """A non-routing device: a request with a route path gets 0x01/0x0311; without, it works."""
    get = cip.encode_request(
        0x0E, epath.encode_epath([{"class": 0x93}, {"instance": 3}, {"attribute": 10}])
    )
    raw = enip_raw_client(powerflex_sim.address)
    raw.register()
    routed = connection.encode_unconnected_send(get, [{"port": 1, "link": 0}])
    reply = raw.rr(cip.encode_request(0x52, cip.CONNECTION_MANAGER_EPATH, routed))
    assert (reply.status, list(reply.ext_status)) == (0x01, [0x0311])
    reply = raw.rr(get)
    assert reply.status == 0 and len(reply.data) == 4
    # a routing proxy (default route path 1/0) gets no value; the simple one does
    routed_proxy = proxy(powerflex_sim.host, port=powerflex_sim.port, timeout=5)
    try:
        assert list(routed_proxy.read([("@0x93/3/10", "REAL")])) == [None]
    finally:
        routed_proxy.close_gateway()
    # unknown parameter instance: path destination unknown
    reply = raw.rr(
        cip.encode_request(
            0x0E, epath.encode_epath([{"class": 0x93}, {"instance": 2}, {"attribute": 10}])
        )
    )
    assert reply.status == 0x05


def test_poll_test_main_uses_config_and_setup_hook(tmp_path, monkeypatch):
    """poll_test.main: the simulator's options, the PowerFlex identity from poll_test.cfg
    (a later -c file still wins), the DPI objects via main's setup hook."""
    monkeypatch.chdir(tmp_path)  # no ./cpppo.cfg
    override = tmp_path / "mine.cfg"
    override.write_text("[TCPIP]\nHost Name = drive7\n")
    control = ServerControl()
    status = {}
    argv = ["-a", "127.0.0.1:0", "-c", str(override), "SCADA=INT[10]"]
    thread = threading.Thread(
        target=lambda: status.setdefault("rc", poll_test.main(argv, server=control))
    )
    thread.start()
    try:
        address = control.wait_started(10)
        assert address is not None
        via = powerflex_750_series(address[0], port=address[1], timeout=5)
        try:
            identity, tcpip, velocity = via.read(["Identity", "TCPIP", "Motor Velocity"])
        finally:
            via.close_gateway()
    finally:
        control.done = True
        thread.join(10)
    assert status == {"rc": 0}
    assert identity == [1, 14, 54, 2836, 12640, 7079450, "PowerFlex/20-COMM-E", 255]
    assert tcpip[:4] == [2, 48, 16, [{"class": 246}, {"instance": 1}]]
    assert tcpip[4:] == [
        "10.0.0.4",
        "255.255.252.0",
        "10.0.0.1",
        "10.0.0.1",
        "8.8.8.8",
        "example.com",
        "drive7",
    ]
    assert velocity == [789.010009765625]
